package problem

import "math"

// This file implements the WFG test suite, WFG1 to WFG9, of S. Huband,
// P. Hingston, L. Barone and L. While, "A review of multiobjective test
// problems and a scalable test problem toolkit", IEEE Transactions on
// Evolutionary Computation 10(5):477-506, 2006. bench/wfg.py is its Python
// twin, written to the same operation order; bench/testdata/wfg_values.txt
// holds values that file prints, and the tests reproduce them.
//
// Where the paper leaves a detail open, the code follows the authors' C++
// toolkit (2005, updated in 2006 for that paper):
//   - b_param's u is computed from the transition's input vector, not from
//     entries already transformed in the same transition (WFG7, WFG8, WFG9).
//   - Every transformation and shape function result is corrected to
//     [0, 1]. The toolkit snaps values within 1e-10 of the interval and
//     asserts on anything further out; here they are clamped. The functions
//     map [0, 1] into [0, 1], so the two differ only on rounding.
//   - WFG1's reductions weigh the i-th (1-based) decision variable by 2i,
//     position and distance parameters alike.
//   - The degenerate problem WFG3 uses A = (1, 0, ..., 0).

// WFGDims returns the number of position-related parameters k and of
// distance-related parameters l that the benchmark uses with m >= 2
// objectives: k = 2(m-1) and l = 20, the values Huband et al. (IEEE TEC 2006)
// recommend, except that for two objectives they use k = 4 where this gives
// 2. A WFG problem then has n = k + l decision variables.
func WFGDims(m int) (k, l int) {
	return 2 * (m - 1), 20
}

// WFG returns the m objectives (all minimized) of problem WFGwhich, which in
// 1..9, at the decision vector z. z has n = k + l entries with z[i] in
// [0, 2(i+1)]; the first k are the position-related parameters, the rest the
// distance-related ones. The paper's constants apply: D = 1 and S_j = 2j, so
// f_j = x_m + 2j h_j(x_1, ..., x_{m-1}) for j = 1..m.
//
// m must be at least 2, k at least 1 and a multiple of m-1, l at least 1,
// and even for WFG2 and WFG3. Any other argument, or a z[i] outside its
// domain (NaN included), gives a slice of m NaNs (nil if m < 1).
//
// A point lies on the Pareto-optimal set when its normalized distance
// parameters y_i = z_i/(2(i+1)), i >= k, are optimal: y_i = 0.35 for WFG1 to
// WFG7. WFG8 and WFG9 first pass y_i through b_param, so there the optimal
// y_i = 0.35^(1/(0.02 + 49.98 v(u))), where u is the mean of all y before
// y_i (WFG8) or after it (WFG9; the last one is 0.35) and v is b_param's
// v(u) = A - (1-2u)|floor(0.5-u) + A| with A = 0.98/49.98.
//
// Front shapes: WFG1 convex with a mixed last objective, WFG2 convex and
// disconnected, WFG3 linear (sum_j f_j/(2j) = 1) and degenerate: optimal
// distance parameters give x_2 = ... = x_{m-1} = 1/2, a line. Later studies
// found WFG3 only partially degenerate for m >= 3 (some points off that line
// are non-dominated too), so the line is where optimal distance parameters
// lead, not all of the Pareto front. WFG4 to WFG9: the sphere
// sum_j (f_j/(2j))^2 = 1.
//
// In float64, y_i = 0.35 is out of reach for the i with 2(i+1) in
// {6, 12, 24, 48, 96, 106, ...}: no z gives z/(2(i+1)) == 0.35. In WFG1 the
// one-ulp residue passes through b_poly(., 0.02) and becomes about 0.48, so
// WFG1's front is reached only if no distance parameter has such an index;
// with WFGDims's k and l that holds for no m in 2..12. The toolkit computes
// the same.
func WFG(which int, z []float64, m, k int) []float64 {
	if m < 1 {
		return nil
	}
	n := len(z)
	if which < 1 || which > 9 || m < 2 || k < 1 || k%(m-1) != 0 || k >= n {
		return nanSlice(m)
	}
	if (which == 2 || which == 3) && (n-k)%2 != 0 {
		return nanSlice(m)
	}
	y := make([]float64, n)
	for i, v := range z {
		hi := 2 * float64(i+1)
		if !(v >= 0 && v <= hi) {
			return nanSlice(m)
		}
		y[i] = v / hi
	}

	var t []float64 // the m reduced parameters t^p
	switch which {
	case 1:
		y = wfgLinearDistance(y, k)
		for i := k; i < n; i++ {
			y[i] = bFlat(y[i], 0.8, 0.75, 0.85)
		}
		for i := range y {
			y[i] = bPoly(y[i], 0.02)
		}
		w := make([]float64, n)
		for i := range w {
			w[i] = 2 * float64(i+1)
		}
		t = wfgReduce(y, m, k, func(lo, hi int) float64 { return rSum(y[lo:hi], w[lo:hi]) })
	case 2, 3:
		y = wfgLinearDistance(y, k)
		// Non-separable pairs shrink the distance part to l/2 entries.
		pairs := y[:k:k]
		for i := k; i < n; i += 2 {
			pairs = append(pairs, rNonsep(y[i:i+2], 2))
		}
		t = wfgReduce(pairs, m, k, func(lo, hi int) float64 { return rMean(pairs[lo:hi]) })
	case 4:
		for i := range y {
			y[i] = sMulti(y[i], 30, 10, 0.35)
		}
		t = wfgReduce(y, m, k, func(lo, hi int) float64 { return rMean(y[lo:hi]) })
	case 5:
		for i := range y {
			y[i] = sDecept(y[i], 0.35, 0.001, 0.05)
		}
		t = wfgReduce(y, m, k, func(lo, hi int) float64 { return rMean(y[lo:hi]) })
	case 6:
		y = wfgLinearDistance(y, k)
		t = wfgReduce(y, m, k, func(lo, hi int) float64 { return rNonsep(y[lo:hi], hi-lo) })
	case 7:
		u := make([]float64, n)
		copy(u, y)
		for i := range k {
			y[i] = bParam(u[i], rMean(u[i+1:]), 0.98/49.98, 0.02, 50)
		}
		y = wfgLinearDistance(y, k)
		t = wfgReduce(y, m, k, func(lo, hi int) float64 { return rMean(y[lo:hi]) })
	case 8:
		u := make([]float64, n)
		copy(u, y)
		for i := k; i < n; i++ {
			y[i] = bParam(u[i], rMean(u[:i]), 0.98/49.98, 0.02, 50)
		}
		y = wfgLinearDistance(y, k)
		t = wfgReduce(y, m, k, func(lo, hi int) float64 { return rMean(y[lo:hi]) })
	case 9:
		u := make([]float64, n)
		copy(u, y)
		for i := range n - 1 {
			y[i] = bParam(u[i], rMean(u[i+1:]), 0.98/49.98, 0.02, 50)
		}
		for i := range k {
			y[i] = sDecept(y[i], 0.35, 0.001, 0.05)
		}
		for i := k; i < n; i++ {
			y[i] = sMulti(y[i], 30, 95, 0.35)
		}
		t = wfgReduce(y, m, k, func(lo, hi int) float64 { return rNonsep(y[lo:hi], hi-lo) })
	}

	// x_j = max(t_m, A_j)(t_j - 0.5) + 0.5 with A_j = 1, except WFG3's
	// degeneracy constants A_2 = ... = A_{m-1} = 0; x_m = t_m.
	tm := t[m-1]
	x := make([]float64, m-1)
	for j := range x {
		a := 1.0
		if which == 3 && j > 0 {
			a = 0
		}
		x[j] = math.Max(tm, a)*(t[j]-0.5) + 0.5
	}

	f := make([]float64, m)
	for j := range f {
		var h float64
		switch {
		case which == 1 && j == m-1:
			h = shapeMixed(x[0], 5, 1)
		case which == 2 && j == m-1:
			h = shapeDisc(x[0], 5, 1, 1)
		case which == 1 || which == 2:
			h = shapeConvex(x, j+1)
		case which == 3:
			h = shapeLinear(x, j+1)
		default:
			h = shapeConcave(x, j+1)
		}
		f[j] = tm + 2*float64(j+1)*h
	}
	return f
}

// nanSlice returns m NaNs.
func nanSlice(m int) []float64 {
	f := make([]float64, m)
	for i := range f {
		f[i] = math.NaN()
	}
	return f
}

// wfgLinearDistance applies s_linear(., 0.35) to the distance parameters
// y[k:] in place and returns y.
func wfgLinearDistance(y []float64, k int) []float64 {
	for i := k; i < len(y); i++ {
		y[i] = sLinear(y[i], 0.35)
	}
	return y
}

// wfgReduce returns the m reduced parameters: red over each of the m-1
// position groups of k/(m-1) consecutive entries of y, then red over the
// rest, y[k:].
func wfgReduce(y []float64, m, k int, red func(lo, hi int) float64) []float64 {
	t := make([]float64, m)
	g := k / (m - 1)
	for j := range m - 1 {
		t[j] = red(j*g, (j+1)*g)
	}
	t[m-1] = red(k, len(y))
	return t
}

// clamp01 corrects a value that rounding pushed just outside [0, 1].
func clamp01(v float64) float64 {
	return math.Min(math.Max(v, 0), 1)
}

// bPoly is the polynomial bias y^alpha.
func bPoly(y, alpha float64) float64 {
	return clamp01(math.Pow(y, alpha))
}

// bFlat is the flat-region bias: y in [b, c] maps to a, and the two sides
// rise linearly to 0 at y = 0 and to 1 at y = 1.
func bFlat(y, a, b, c float64) float64 {
	lo := math.Min(0, math.Floor(y-b)) * a * (b - y) / b
	hi := math.Min(0, math.Floor(c-y)) * (1 - a) * (y - c) / (1 - c)
	return clamp01(a + lo - hi)
}

// bParam is the parameter-dependent bias y^(b + (c-b) v(u)) with
// v(u) = a - (1 - 2u)|floor(0.5 - u) + a|.
func bParam(y, u, a, b, c float64) float64 {
	v := a - (1-2*u)*math.Abs(math.Floor(0.5-u)+a)
	return clamp01(math.Pow(y, b+(c-b)*v))
}

// sLinear is the linear shift |y - a| / |floor(a - y) + a|, 0 at y = a.
func sLinear(y, a float64) float64 {
	return clamp01(math.Abs(y-a) / math.Abs(math.Floor(a-y)+a))
}

// sDecept is the deceptive shift: global minimum 0 at y = a within a
// basin of width 2b, deceptive minima of value c at y = 0 and y = 1.
func sDecept(y, a, b, c float64) float64 {
	t1 := math.Floor(y-a+b) * (1 - c + (a-b)/b) / (a - b)
	t2 := math.Floor(a+b-y) * (1 - c + (1-a-b)/b) / (1 - a - b)
	return clamp01(1 + (math.Abs(y-a)-b)*(t1+t2+1/b))
}

// sMulti is the multi-modal shift with a minima, hill size b and global
// minimum 0 at y = c.
func sMulti(y, a, b, c float64) float64 {
	t1 := math.Abs(y-c) / (2 * (math.Floor(c-y) + c))
	t2 := (4*a + 2) * math.Pi * (0.5 - t1)
	return clamp01((1 + math.Cos(t2) + 4*b*(t1*t1)) / (b + 2))
}

// rSum is the weighted mean sum w_i y_i / sum w_i.
func rSum(y, w []float64) float64 {
	num, den := 0.0, 0.0
	for i, v := range y {
		num += w[i] * v
		den += w[i]
	}
	return clamp01(num / den)
}

// rMean is rSum with unit weights.
func rMean(y []float64) float64 {
	s := 0.0
	for _, v := range y {
		s += v
	}
	return clamp01(s / float64(len(y)))
}

// rNonsep is the non-separable reduction with degree a, which divides
// len(y): each y_j plus its absolute differences to the a-1 entries after
// it (cyclically), normalized by
// (len(y)/a) ceil(a/2) (1 + 2a - 2 ceil(a/2)).
func rNonsep(y []float64, a int) float64 {
	n := len(y)
	num := 0.0
	for j := range n {
		num += y[j]
		for d := 0; d <= a-2; d++ {
			num += math.Abs(y[j] - y[(j+d+1)%n])
		}
	}
	c := math.Ceil(float64(a) / 2)
	den := float64(n) * c * (1 + 2*float64(a) - 2*c) / float64(a)
	return clamp01(num / den)
}

// The shape functions take x = (x_1, ..., x_{M-1}) for M objectives and
// return h_j for j in 1..M, as the paper numbers them.

// shapeLinear: h_1 = prod x_i; h_j = prod_{i<=M-j} x_i (1 - x_{M-j+1}).
func shapeLinear(x []float64, j int) float64 {
	mm := len(x) + 1
	r := 1.0
	for i := 0; i < mm-j; i++ {
		r *= x[i]
	}
	if j != 1 {
		r *= 1 - x[mm-j]
	}
	return clamp01(r)
}

// shapeConvex: h_1 = prod (1 - cos(x_i pi/2));
// h_j = prod_{i<=M-j} (1 - cos(x_i pi/2)) (1 - sin(x_{M-j+1} pi/2)).
func shapeConvex(x []float64, j int) float64 {
	mm := len(x) + 1
	r := 1.0
	for i := 0; i < mm-j; i++ {
		r *= 1 - math.Cos(x[i]*math.Pi/2)
	}
	if j != 1 {
		r *= 1 - math.Sin(x[mm-j]*math.Pi/2)
	}
	return clamp01(r)
}

// shapeConcave: h_1 = prod sin(x_i pi/2);
// h_j = prod_{i<=M-j} sin(x_i pi/2) cos(x_{M-j+1} pi/2).
func shapeConcave(x []float64, j int) float64 {
	mm := len(x) + 1
	r := 1.0
	for i := 0; i < mm-j; i++ {
		r *= math.Sin(x[i] * math.Pi / 2)
	}
	if j != 1 {
		r *= math.Cos(x[mm-j] * math.Pi / 2)
	}
	return clamp01(r)
}

// shapeMixed is the last objective's mixed convex/concave shape with a
// segments: (1 - x1 - cos(2 a pi x1 + pi/2) / (2 a pi))^alpha.
func shapeMixed(x1, a, alpha float64) float64 {
	t := 2 * a * math.Pi
	return clamp01(math.Pow(1-x1-math.Cos(t*x1+math.Pi/2)/t, alpha))
}

// shapeDisc is the last objective's disconnected shape with a regions:
// 1 - x1^alpha cos^2(a x1^beta pi).
func shapeDisc(x1, a, alpha, beta float64) float64 {
	c := math.Cos(a * math.Pow(x1, beta) * math.Pi)
	return clamp01(1 - math.Pow(x1, alpha)*(c*c))
}
