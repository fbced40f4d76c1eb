package problem

import "math"

// DTLZ returns the m minimized objectives of problem DTLZ1…DTLZ7 (which = 1…7) of Deb,
// Thiele, Laumanns and Zitzler, "Scalable test problems for evolutionary multiobjective
// optimization" (2005), at x, whose n = m + k - 1 values lie in [0, 1]: the first m-1 place a
// point along the front, the last k (the distance params) set g, which is 0 on the front.
//
//   - DTLZ1: linear front Σ f = 1/2; g is Rastrigin-like with 11^k - 1 local fronts.
//   - DTLZ2: concave front Σ f² = 1 (the unit sphere's positive part); g = Σ (x - 1/2)².
//   - DTLZ3: DTLZ2's front with DTLZ1's multimodal g.
//   - DTLZ4: DTLZ2 with x_i → x_i^100 for the position params, which crowds points near the
//     front's edges and the objectives' axes.
//   - DTLZ5 and DTLZ6: a degenerate front, a curve on the sphere (for m = 3); DTLZ6's g is
//     Σ x^0.1, harder to drive to 0.
//   - DTLZ7: 2^(m-1) disconnected regions; f_i = x_i for i < m.
//
// Invalid input (which outside 1…7, m < 2, len(x) < m, a value outside [0, 1] or NaN) gives
// m NaNs (nil for m < 1).
func DTLZ(which int, x []float64, m int) []float64 {
	if m < 1 {
		return nil
	}
	f := make([]float64, m)
	bad := which < 1 || which > 7 || m < 2 || len(x) < m
	for _, v := range x {
		bad = bad || !(v >= 0 && v <= 1)
	}
	if bad {
		for i := range f {
			f[i] = math.NaN()
		}
		return f
	}
	pos, dist := x[:m-1], x[m-1:]
	k := float64(len(dist))
	var g float64
	switch which {
	case 1, 3:
		s := 0.0
		for _, v := range dist {
			d := v - 0.5
			s += d*d - math.Cos(20*math.Pi*d)
		}
		g = 100 * (k + s)
	case 6:
		for _, v := range dist {
			g += math.Pow(v, 0.1)
		}
	case 7:
		for _, v := range dist {
			g += v
		}
		g = 1 + 9*g/k
	default:
		for _, v := range dist {
			d := v - 0.5
			g += d * d
		}
	}
	switch which {
	case 1:
		// f_i = ½(1+g) x_1…x_{m-i} (1 - x_{m-i+1}), the last factor absent for i = 1.
		for i := range m {
			v := 0.5 * (1 + g)
			for j := range m - 1 - i {
				v *= pos[j]
			}
			if i > 0 {
				v *= 1 - pos[m-1-i]
			}
			f[i] = v
		}
	case 7:
		h := float64(m)
		for i := range m - 1 {
			f[i] = pos[i]
			h -= pos[i] / (1 + g) * (1 + math.Sin(3*math.Pi*pos[i]))
		}
		f[m-1] = (1 + g) * h
	default:
		theta := make([]float64, m-1)
		for j, v := range pos {
			switch {
			case which == 4:
				theta[j] = math.Pow(v, 100) * math.Pi / 2
			case (which == 5 || which == 6) && j > 0:
				theta[j] = math.Pi / (4 * (1 + g)) * (1 + 2*g*v)
			default:
				theta[j] = v * math.Pi / 2
			}
		}
		// f_i = (1+g) cos θ_1 … cos θ_{m-i} · sin θ_{m-i+1}, the sine absent for i = 1.
		for i := range m {
			v := 1 + g
			for j := range m - 1 - i {
				v *= math.Cos(theta[j])
			}
			if i > 0 {
				v *= math.Sin(theta[m-1-i])
			}
			f[i] = v
		}
	}
	return f
}

// DTLZDistance is the number of distance params of DTLZ1…DTLZ7 that the benchmark uses, as
// Deb et al. recommend: 5 for DTLZ1, 20 for DTLZ7, 10 for the others. A problem with m
// objectives then has m - 1 + DTLZDistance(which) params.
func DTLZDistance(which int) int {
	switch which {
	case 1:
		return 5
	case 7:
		return 20
	}
	return 10
}
