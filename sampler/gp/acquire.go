package gp

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/a6b40afc/retune/internal/lowdisc"
)

// acquirer maximizes log expected improvement, plus the log probability of feasibility
// under each constraint's GP, over the model space of dims.
type acquirer struct {
	ps   *posterior
	dims []dim
	best float64 // the best (smallest) standardized feasible value observed; NaN: none
	cont []int   // indexes of the continuous dims
	cons []conPost
	cdmu []float64 // scratch: a constraint's gradients
	cdv  []float64

	k, g, b   []float64
	dmu, dv   []float64
	x, lines  []float64
	bestLocal []float64
	z, lo, hi []float64
	opt       *lbfgs
	// boxLo and boxHi bound each dim's model-space value (0 and 1 but for a trust region);
	// minWeight is the smallest of the box's per-dim scales (box sets it; 0 with no
	// numeric dim).
	boxLo, boxHi []float64
	minWeight    float64
}

// conPost is a constraint's GP posterior (of standardized constraint values) and the
// standardized value of 0, below which the constraint holds.
type conPost struct {
	ps  *posterior
	thr float64
}

// logPoF returns the log probability that the constraint holds at x, given the posterior
// mean and variance there, and its derivatives by the mean and by the variance.
func (c conPost) logPoF(mu, v float64) (lp, dmu, dvar float64) {
	sigma := math.Sqrt(v)
	z := (c.thr - mu) / sigma
	lp, dz := logPhi(z)
	return lp, -dz / sigma, -dz * z / sigma / (2 * sigma)
}

func newAcquirer(ps *posterior, dims []dim, best float64, cons []conPost) *acquirer {
	a := &acquirer{ps: ps, dims: dims, best: best, cons: cons}
	for j := range dims {
		if dims[j].kind == continuous {
			a.cont = append(a.cont, j)
		}
	}
	n, d := ps.n, ps.d
	a.k, a.g, a.b = make([]float64, n), make([]float64, n), make([]float64, n)
	a.dmu, a.dv, a.x = make([]float64, d), make([]float64, d), make([]float64, d)
	a.cdmu, a.cdv = make([]float64, d), make([]float64, d)
	a.bestLocal = make([]float64, d)
	nc := len(a.cont)
	a.z, a.lo, a.hi = make([]float64, nc), make([]float64, nc), make([]float64, nc)
	a.boxLo, a.boxHi = make([]float64, d), make([]float64, d)
	for j := range a.boxHi {
		a.boxHi[j] = 1
	}
	a.opt = newLBFGS(nc, 8)
	a.opt.maxIter, a.opt.maxEvals, a.opt.gtol, a.opt.ftol = 30, 40, 1e-6, 1e-7
	return a
}

// value returns the acquisition value at x: log EI (none when no feasible value is
// known) plus the log probability of feasibility.
func (a *acquirer) value(x []float64) float64 {
	ei := 0.0
	if !math.IsNaN(a.best) {
		mu, v := a.ps.predict(x, a.k)
		ei, _, _ = logEI(mu, math.Sqrt(v), a.best)
	}
	return ei + a.feasibility(x)
}

// feasibility returns the log probability that x satisfies every modelled constraint.
func (a *acquirer) feasibility(x []float64) float64 {
	s := 0.0
	for _, c := range a.cons {
		mu, v := c.ps.predict(x, a.k)
		lp, _, _ := c.logPoF(mu, v)
		s += lp
	}
	return s
}

// candidates draws c points of a scrambled Sobol sequence (uniform points if the space
// has more dimensions than the sequence supports), each put on the params' grids, and
// returns them (c×d) with their values.
func (a *acquirer) candidates(c int, r *rand.Rand) (xs, vals []float64) {
	d := len(a.dims)
	xs = make([]float64, c*d)
	var seq *lowdisc.Sobol
	if d <= lowdisc.MaxSobolDim {
		seq, _ = lowdisc.NewSobol(d, true, r.Uint64())
	}
	for i := range c {
		row := xs[i*d : i*d+d]
		if seq != nil {
			seq.Point(uint64(i), row)
		} else {
			for j := range row {
				row[j] = r.Float64()
			}
		}
		for j := range a.dims {
			dm := &a.dims[j]
			if dm.kind == categorical {
				row[j] = math.Min(math.Floor(row[j]*float64(dm.k)), float64(dm.k-1))
			} else {
				row[j] = dm.snap(a.boxLo[j] + (a.boxHi[j]-a.boxLo[j])*row[j])
			}
		}
	}
	vals = a.score(xs, c)
	return xs, vals
}

// score returns the log EI of the c points xs.
func (a *acquirer) score(xs []float64, c int) []float64 {
	ps, d, n := a.ps, a.ps.d, a.ps.n
	if len(a.cons) > 0 || math.IsNaN(a.best) {
		vals := make([]float64, c)
		for i := range c {
			vals[i] = a.value(xs[i*d : i*d+d])
		}
		return vals
	}
	vals := make([]float64, c)
	var ks [4][]float64
	buf := make([]float64, 4*n)
	for q := range ks {
		ks[q] = buf[q*n : q*n+n]
	}
	var pts [4][]float64
	var mu, v [4]float64
	i := 0
	for ; i+4 <= c; i += 4 {
		for q := range 4 {
			pts[q] = xs[(i+q)*d : (i+q+1)*d]
		}
		ps.predict4(&pts, &ks, &mu, &v)
		for q := range 4 {
			vals[i+q], _, _ = logEI(mu[q], math.Sqrt(v[q]), a.best)
		}
	}
	for ; i < c; i++ {
		vals[i] = a.value(xs[i*d : i*d+d])
	}
	return vals
}

// cmpDesc orders numbers from largest to smallest.
func cmpDesc(x, y float64) int {
	switch {
	case x > y:
		return -1
	case x < y:
		return 1
	}
	return 0
}

// refine improves x in place by local search and returns its value: the continuous
// coordinates by L-BFGS, each discrete or categorical one by a line search over its
// values, alternating while the line searches improve.
func (a *acquirer) refine(x []float64, val float64) float64 {
	for range 3 {
		if len(a.cont) > 0 {
			val = a.gradientStep(x, val)
		}
		improved := false
		for j := range a.dims {
			dm := &a.dims[j]
			if dm.kind == continuous {
				continue
			}
			a.lines = dm.lineValues(x[j], a.lines)
			orig, bestU := x[j], x[j]
			for _, u := range a.lines {
				if u == orig || dm.kind != categorical && (u < a.boxLo[j] || u > a.boxHi[j]) {
					continue
				}
				x[j] = u
				if v := a.value(x); v > val {
					val, bestU, improved = v, u, true
				}
			}
			x[j] = bestU
		}
		if !improved || len(a.cont) == 0 {
			break
		}
	}
	return val
}

// gradientStep maximizes log EI over the continuous coordinates of x (in [0, 1]) with
// L-BFGS and returns the value at the best point found, to which it moves x.
func (a *acquirer) gradientStep(x []float64, val float64) float64 {
	cont := a.cont
	z, lo, hi := a.z[:len(cont)], a.lo[:len(cont)], a.hi[:len(cont)]
	for q, j := range cont {
		z[q], lo[q], hi[q] = x[j], a.boxLo[j], a.boxHi[j]
	}
	copy(a.x, x)
	copy(a.bestLocal, x)
	bestVal := val
	a.opt.minimize(func(z, g []float64) float64 {
		for q, j := range cont {
			a.x[j] = z[q]
		}
		ei := 0.0
		clear(g)
		if !math.IsNaN(a.best) {
			mu, v := a.ps.predictGrad(a.x, a.k, a.g, a.b, a.dmu, a.dv)
			sigma := math.Sqrt(v)
			var dmu, dsigma float64
			ei, dmu, dsigma = logEI(mu, sigma, a.best)
			dvar := dsigma / (2 * sigma)
			for q, j := range cont {
				g[q] = -(dmu*a.dmu[j] + dvar*a.dv[j])
			}
		}
		for _, c := range a.cons {
			mu, v := c.ps.predictGrad(a.x, a.k, a.g, a.b, a.cdmu, a.cdv)
			lp, dmu, dvar := c.logPoF(mu, v)
			ei += lp
			for q, j := range cont {
				g[q] -= dmu*a.cdmu[j] + dvar*a.cdv[j]
			}
		}
		if math.IsNaN(ei) || math.IsInf(ei, 0) {
			clear(g)
			return math.Inf(1)
		}
		if ei > bestVal {
			bestVal = ei
			copy(a.bestLocal, a.x)
		}
		return -ei
	}, z, lo, hi)
	copy(x, a.bestLocal)
	return bestVal
}

// maximize returns the best point found (in model space): the top candidates and the
// incumbent start local searches.
func (a *acquirer) maximize(r *rand.Rand, nCand, nLocal int, incumbent []float64) []float64 {
	d := len(a.dims)
	xs, vals := a.candidates(nCand, r)
	order := make([]int, nCand)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmpDesc(vals[i], vals[j]) })
	starts := [][]float64{slices.Clone(incumbent)}
	for _, i := range order[:min(nLocal, len(order))] {
		starts = append(starts, slices.Clone(xs[i*d:i*d+d]))
	}
	best := slices.Clone(xs[order[0]*d : order[0]*d+d])
	bestVal := vals[order[0]]
	for _, x := range starts {
		v := a.refine(x, a.value(x))
		if v > bestVal {
			best, bestVal = x, v
		}
	}
	return best
}

// Trust region constants, as TuRBO-1's: the initial, smallest and largest side of the box
// (as a share of the unit cube's side, before scaling by the lengthscales), and the
// successes in a row that double it.
const (
	trInit, trMin, trMax = 0.8, 1.0 / 128, 1.6
	trSuccesses          = 3
)

// trustLength returns the side of the trust region after the observations y (in order;
// the first startup are the quasi-random design) in d dims, replayed as TuRBO-1 updates
// it: an observation better than the best before it by 1e-3 of its magnitude is a
// success, any other a failure; trSuccesses successes in a row double the side (up to
// trMax), max(4, d) failures in a row halve it. Below trMin the box starts again at trInit.
func trustLength(y []float64, startup, d int) float64 {
	L := trInit
	fails := max(4, d)
	succ, fail := 0, 0
	if len(y) == 0 {
		return L
	}
	best := y[0]
	for i := 1; i < len(y); i++ {
		better := y[i] < best-1e-3*math.Abs(best)
		best = math.Min(best, y[i])
		if i < startup {
			continue
		}
		if better {
			succ, fail = succ+1, 0
		} else {
			succ, fail = 0, fail+1
		}
		if succ == trSuccesses {
			L, succ = math.Min(2*L, trMax), 0
		}
		if fail == fails {
			L, fail = L/2, 0
		}
		if L < trMin {
			L, succ, fail = trInit, 0, 0
		}
	}
	return L
}

// box restricts the acquisition to the trust region of side L around center: in each
// numeric dim a side of L times the dim's lengthscale over their geometric mean, clipped to
// the unit cube. Categorical dims stay whole.
func (a *acquirer) box(center, invLS2 []float64, L float64) {
	logMean, n := 0.0, 0
	for j := range a.dims {
		if a.dims[j].kind != categorical {
			logMean += -0.5 * math.Log(invLS2[j])
			n++
		}
	}
	if n == 0 {
		a.minWeight = 0
		return
	}
	logMean /= float64(n)
	a.minWeight = math.Inf(1)
	for j := range a.dims {
		if a.dims[j].kind == categorical {
			continue
		}
		w := math.Exp(-0.5*math.Log(invLS2[j]) - logMean)
		a.minWeight = math.Min(a.minWeight, w)
		a.boxLo[j] = math.Max(0, center[j]-w*L/2)
		a.boxHi[j] = math.Min(1, center[j]+w*L/2)
	}
}

// repeats reports whether u is, in effect, one of the points in rows (len(dims) each): in
// every numeric dim within a hundredth of the box's side (a discrete one on the same grid
// value), and in every categorical dim the same choice.
func (a *acquirer) repeats(u, rows []float64) bool {
	d := len(a.dims)
	for i := 0; i+d <= len(rows); i += d {
		r, same := rows[i:i+d], true
		for j := range a.dims {
			tol := 0.0
			if a.dims[j].kind == continuous {
				tol = 0.01 * (a.boxHi[j] - a.boxLo[j])
			}
			if math.Abs(u[j]-r[j]) > tol {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}
