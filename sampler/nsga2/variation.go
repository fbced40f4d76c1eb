package nsga2

import (
	"math"
	"math/rand/v2"
)

// sbx is simulated binary crossover (Deb and Agrawal 1995) of a and b in [0, 1], in the
// bounded form of Deb's NSGA-II code: the spread factor's distribution is truncated so
// that both children stay inside the bounds. It returns one of the two children, chosen at
// random.
func sbx(r *rand.Rand, a, b, eta float64) float64 {
	y1, y2 := min(a, b), max(a, b)
	if y2-y1 < 1e-14 {
		if r.IntN(2) == 0 {
			return a
		}
		return b
	}
	u := r.Float64()
	// spread returns the spread factor for a child on the side whose bound is dist away
	// from the nearer parent.
	spread := func(dist float64) float64 {
		beta := 1 + 2*dist/(y2-y1)
		alpha := 2 - math.Pow(beta, -(eta+1))
		if u <= 1/alpha {
			return math.Pow(u*alpha, 1/(eta+1))
		}
		return math.Pow(1/(2-u*alpha), 1/(eta+1))
	}
	var c float64
	if r.IntN(2) == 0 {
		c = 0.5 * ((y1 + y2) - spread(y1)*(y2-y1))
	} else {
		c = 0.5 * ((y1 + y2) + spread(1-y2)*(y2-y1))
	}
	return clamp01(c)
}

// polynomialMutation perturbs y in [0, 1] with the bounded polynomial distribution of
// index eta (Deb and Goyal 1996, as in Deb's NSGA-II code): the perturbation never leaves
// the bounds, and a larger eta keeps it closer to y.
func polynomialMutation(r *rand.Rand, y, eta float64) float64 {
	u := r.Float64()
	p := 1 / (eta + 1)
	var dq float64
	if u < 0.5 {
		xy := 1 - y
		v := 2*u + (1-2*u)*math.Pow(xy, eta+1)
		dq = math.Pow(v, p) - 1
	} else {
		xy := y
		v := 2*(1-u) + 2*(u-0.5)*math.Pow(xy, eta+1)
		dq = 1 - math.Pow(v, p)
	}
	return clamp01(y + dq)
}

func clamp01(x float64) float64 {
	if !(x > 0) {
		return 0
	}
	return math.Min(x, 1)
}
