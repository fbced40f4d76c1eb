package cmaes

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/mat"
)

// Bound is the closed interval a coordinate is kept in.
type Bound struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Restart strategies for Options.Restart.
const (
	RestartNone  = ""
	RestartIPOP  = "ipop"
	RestartBIPOP = "bipop"
)

// Options configures an Optimizer. Zero values are the documented defaults.
type Options struct {
	// PopSize is the population size λ, the number of candidates per generation.
	// 0 means 4 + floor(3 ln n).
	PopSize int
	// Seed seeds the candidates: the same seed, mean, sigma, options and told values give
	// the same candidates.
	Seed uint64
	// Bounds keeps each coordinate in [Low, High] (nil: unbounded). A candidate outside is
	// redrawn up to 100 times, then clipped into the box.
	Bounds []Bound
	// Cov is the initial covariance matrix C (n×n, symmetric positive definite; the search
	// distribution is N(mean, sigma²·C)). nil means the identity. With Separable only its
	// diagonal is used.
	Cov [][]float64
	// Separable restricts C to a diagonal (sep-CMA-ES, Ros and Hansen 2008): no
	// eigendecomposition, O(n) per candidate, and covariance learning rates (n+2)/3 times
	// larger. Suited to high dimensions and nearly separable problems.
	Separable bool
	// Restart is what happens when a run stagnates (see Optimizer.ShouldStop): ""
	// (nothing, the run goes on), "ipop" (restart with PopSizeFactor times the population)
	// or "bipop" (alternate large IPOP runs and small runs with a smaller step size, giving
	// each regime a similar evaluation budget). A restart draws a new mean uniformly in
	// Bounds (or reuses the initial mean without bounds), resets sigma to its initial value
	// and C to the identity.
	Restart string
	// PopSizeFactor multiplies the population of each IPOP (or BIPOP large) restart.
	// 0 means 2.
	PopSizeFactor float64
	// Grids marks discrete coordinates (nil or a zero Grid: continuous). For those the
	// optimizer keeps the probability of moving off the value nearest the mean at least
	// Margin (CMA-ES with margin, Hamano et al. 2022; see the package doc). Candidates stay
	// continuous: evaluate Discretize(x) and tell x.
	Grids []Grid
	// Margin is the margin α for Grids. 0 means 1/(n·λ); negative turns the correction off.
	Margin float64
	// TolFun stops a run when all values of at least 10+ceil(30n/λ) generations in a row
	// lie within TolFun of each other. 0 means 1e-12.
	TolFun float64
	// TolX stops a run when every coordinate's standard deviation and step is below TolX
	// times the initial sigma. 0 means 1e-12.
	TolX float64
}

// Solution is a candidate and its objective value (minimized).
type Solution struct {
	X     []float64
	Value float64
}

// Optimizer is CMA-ES with an ask/tell interface, minimizing. It is not safe for concurrent
// use. Its whole state, options included, survives MarshalJSON/UnmarshalJSON, so a
// restored optimizer proposes the same candidates.
type Optimizer struct {
	st state
	p  params
}

// state is everything that defines an Optimizer; params are derived from it.
type state struct {
	N          int       `json:"n"`
	Seed       string    `json:"seed"` // decimal uint64: JSON numbers lose bits above 2^53
	Separable  bool      `json:"separable,omitempty"`
	Restart    string    `json:"restart,omitempty"`
	PopFactor  float64   `json:"popsize_factor"`
	MarginOpt  float64   `json:"margin_option"`
	TolFun     float64   `json:"tolfun"`
	TolX       float64   `json:"tolx"`
	Bounds     []Bound   `json:"bounds,omitempty"`
	Grids      []Grid    `json:"grids,omitempty"`
	Mean0      []float64 `json:"mean0"`
	Sigma0     float64   `json:"sigma0"`
	Lambda0    int       `json:"lambda0"`
	Lambda     int       `json:"lambda"`
	Mean       []float64 `json:"mean"`
	Sigma      float64   `json:"sigma"`
	C          []float64 `json:"c"`           // n×n row-major, or its diagonal when separable
	B          []float64 `json:"b,omitempty"` // eigenvectors of C (columns) used for sampling
	D          []float64 `json:"d"`           // square roots of C's eigenvalues used for sampling
	EigenGen   int       `json:"eigen_gen"`   // Gen at which B and D were computed
	Pc         []float64 `json:"pc"`
	Ps         []float64 `json:"ps"`
	A          []float64 `json:"a,omitempty"` // margin scaling per coordinate
	Gen        int       `json:"gen"`         // generations of the current run
	Total      int       `json:"total"`       // generations since creation
	Asked      int       `json:"asked"`       // candidates handed out by Ask this generation
	FlatGens   int       `json:"flat_gens"`   // generations in a row with values within TolFun
	FlatLo     float64   `json:"flat_lo"`     // lowest value of those generations
	FlatHi     float64   `json:"flat_hi"`     // highest value of those generations
	Restarts   int       `json:"restarts"`
	LargeRuns  int       `json:"large_runs"`
	EvalsLarge int       `json:"evals_large"`
	EvalsSmall int       `json:"evals_small"`
	Small      bool      `json:"small,omitempty"` // the current run is a BIPOP small one
}

// params are the strategy parameters of Hansen's tutorial (arXiv 1604.00772, appendix A).
type params struct {
	mu                      int
	w                       []float64 // λ weights, negative ones scaled as in the tutorial
	mueff                   float64
	cc, cs, c1, cmu, ds, cm float64
	chiN                    float64
	eigenEvery              float64 // generations between eigendecompositions
	margin                  float64
}

const (
	maxResample = 100
	sigmaMax    = 1e32
	maxPopSize  = 1 << 20
)

// DefaultPopSize is the default population size 4 + floor(3 ln n) for dimension n.
func DefaultPopSize(n int) int { return 4 + int(math.Floor(3*math.Log(float64(n)))) }

// NewOptimizer returns an optimizer whose first generation is drawn from
// N(mean, sigma²·C). It panics on invalid arguments (empty mean, sigma ≤ 0, options of the
// wrong dimension or out of range, a mean outside Bounds).
func NewOptimizer(mean []float64, sigma float64, o Options) *Optimizer {
	n := len(mean)
	switch {
	case n == 0:
		panic("cmaes: empty mean")
	case !(sigma > 0) || math.IsInf(sigma, 0):
		panic(fmt.Sprintf("cmaes: sigma %v: want a finite sigma > 0", sigma))
	case o.PopSize < 0 || o.PopSize == 1 || o.PopSize > maxPopSize:
		panic(fmt.Sprintf("cmaes: PopSize %d: want 2..%d (or 0 for the default)", o.PopSize, maxPopSize))
	case o.Bounds != nil && len(o.Bounds) != n:
		panic(fmt.Sprintf("cmaes: %d bounds for dimension %d", len(o.Bounds), n))
	case o.Grids != nil && len(o.Grids) != n:
		panic(fmt.Sprintf("cmaes: %d grids for dimension %d", len(o.Grids), n))
	case o.Cov != nil && len(o.Cov) != n:
		panic(fmt.Sprintf("cmaes: covariance has %d rows for dimension %d", len(o.Cov), n))
	case o.Restart != RestartNone && o.Restart != RestartIPOP && o.Restart != RestartBIPOP:
		panic(fmt.Sprintf("cmaes: Restart %q: want \"\", \"ipop\" or \"bipop\"", o.Restart))
	case o.PopSizeFactor != 0 && !(o.PopSizeFactor > 1 && o.PopSizeFactor <= 100):
		panic(fmt.Sprintf("cmaes: PopSizeFactor %v: want a factor in (1, 100] (or 0 for 2)", o.PopSizeFactor))
	case math.IsNaN(o.Margin) || o.Margin >= 0.5:
		panic(fmt.Sprintf("cmaes: Margin %v: want a margin < 0.5", o.Margin))
	case o.TolFun < 0 || o.TolX < 0:
		panic("cmaes: negative TolFun or TolX")
	}
	for i, x := range mean {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			panic(fmt.Sprintf("cmaes: mean[%d] = %v: want finite", i, x))
		}
		if o.Bounds != nil {
			b := o.Bounds[i]
			if !(b.Low <= b.High) || math.IsInf(b.Low, 1) || math.IsInf(b.High, -1) {
				panic(fmt.Sprintf("cmaes: bound %d [%v, %v]: want low <= high", i, b.Low, b.High))
			}
			if x < b.Low || x > b.High {
				panic(fmt.Sprintf("cmaes: mean[%d] = %v outside its bound [%v, %v]", i, x, b.Low, b.High))
			}
		}
	}
	for i, g := range o.Grids {
		if err := g.validate(); err != nil {
			panic(fmt.Sprintf("cmaes: grid %d: %v", i, err))
		}
	}
	st := state{
		N: n, Seed: strconv.FormatUint(o.Seed, 10), Separable: o.Separable, Restart: o.Restart,
		PopFactor: o.PopSizeFactor, MarginOpt: o.Margin, TolFun: o.TolFun, TolX: o.TolX,
		Bounds: slices.Clone(o.Bounds), Mean0: slices.Clone(mean), Sigma0: sigma,
		Lambda0: o.PopSize,
	}
	if st.PopFactor == 0 {
		st.PopFactor = 2
	}
	if st.TolFun == 0 {
		st.TolFun = 1e-12
	}
	if st.TolX == 0 {
		st.TolX = 1e-12
	}
	if st.Lambda0 == 0 {
		st.Lambda0 = DefaultPopSize(n)
	}
	for _, g := range o.Grids {
		if g.Count > 0 {
			st.Grids = slices.Clone(o.Grids)
			break
		}
	}
	opt := &Optimizer{st: st}
	opt.startRun(mean, sigma, st.Lambda0)
	if o.Cov != nil {
		opt.setCov(o.Cov)
	}
	return opt
}

// setCov installs an initial covariance matrix.
func (o *Optimizer) setCov(cov [][]float64) {
	n := o.st.N
	for i, row := range cov {
		if len(row) != n {
			panic(fmt.Sprintf("cmaes: covariance row %d has %d entries, want %d", i, len(row), n))
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) || (i == j && v <= 0) || v != cov[j][i] {
				panic(fmt.Sprintf("cmaes: covariance[%d][%d] = %v: want a finite symmetric matrix with a positive diagonal", i, j, v))
			}
		}
	}
	if o.st.Separable {
		for i := range n {
			o.st.C[i] = cov[i][i]
		}
	} else {
		for i := range n {
			copy(o.st.C[i*n:(i+1)*n], cov[i])
		}
	}
	if !o.decompose() {
		panic("cmaes: covariance is not positive definite")
	}
}

// startRun resets the search distribution for a new run.
func (o *Optimizer) startRun(mean []float64, sigma float64, lambda int) {
	st := &o.st
	n := st.N
	st.Lambda = lambda
	st.Mean = slices.Clone(mean)
	st.Sigma = sigma
	if st.Separable {
		st.C, st.B = ones(n), nil
	} else {
		st.C, st.B = identity(n), identity(n)
	}
	st.D = ones(n)
	st.Pc, st.Ps = make([]float64, n), make([]float64, n)
	st.A = nil
	if st.Grids != nil {
		st.A = ones(n)
	}
	st.Gen, st.EigenGen, st.Asked = 0, 0, 0
	st.FlatGens, st.FlatLo, st.FlatHi = 0, 0, 0
	o.p = newParams(n, lambda, st.Separable, st.MarginOpt)
}

func ones(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

func identity(n int) []float64 {
	v := make([]float64, n*n)
	for i := range n {
		v[i*n+i] = 1
	}
	return v
}

func newParams(n, lambda int, separable bool, marginOpt float64) params {
	nf, lf := float64(n), float64(lambda)
	mu := lambda / 2
	w := make([]float64, lambda)
	var sumPos, sumPos2, sumNeg, sumNeg2 float64
	for i := range w {
		w[i] = math.Log((lf+1)/2) - math.Log(float64(i+1))
		if i < mu {
			sumPos += w[i]
			sumPos2 += w[i] * w[i]
		} else {
			sumNeg -= w[i]
			sumNeg2 += w[i] * w[i]
		}
	}
	mueff := sumPos * sumPos / sumPos2
	c1 := 2 / ((nf+1.3)*(nf+1.3) + mueff)
	cmu := math.Min(1-c1, 2*(mueff-2+1/mueff)/((nf+2)*(nf+2)+mueff))
	if separable {
		c1 *= (nf + 2) / 3
		cmu = math.Min(1-c1, cmu*(nf+2)/3)
	}
	cmu = math.Max(cmu, 0)
	cs := (mueff + 2) / (nf + mueff + 5)
	p := params{
		mu: mu, w: w, mueff: mueff, c1: c1, cmu: cmu, cs: cs, cm: 1,
		cc:   (4 + mueff/nf) / (nf + 4 + 2*mueff/nf),
		ds:   1 + 2*math.Max(0, math.Sqrt((mueff-1)/(nf+1))-1) + cs,
		chiN: math.Sqrt(nf) * (1 - 1/(4*nf) + 1/(21*nf*nf)),
	}
	negScale := 0.0
	if sumNeg > 0 && cmu > 0 {
		mueffNeg := sumNeg * sumNeg / sumNeg2
		negScale = math.Min(1+c1/cmu, math.Min(1+2*mueffNeg/(mueff+2), (1-c1-cmu)/(nf*cmu)))
		negScale = math.Max(negScale, 0)
	}
	for i := range w {
		if i < mu {
			w[i] /= sumPos
		} else if sumNeg > 0 {
			w[i] *= negScale / sumNeg
		}
	}
	if c1+cmu > 0 {
		p.eigenEvery = 1 / ((c1 + cmu) * nf * 10)
	}
	p.margin = marginOpt
	if marginOpt == 0 {
		p.margin = 1 / (nf * lf)
	}
	return p
}

// Dim returns the dimension n.
func (o *Optimizer) Dim() int { return o.st.N }

// PopSize returns the population size λ of the current generation (it changes on IPOP and
// BIPOP restarts).
func (o *Optimizer) PopSize() int { return o.st.Lambda }

// Generation returns how many generations have been told since the optimizer was created.
func (o *Optimizer) Generation() int { return o.st.Total }

// Restarts returns how many restarts have happened.
func (o *Optimizer) Restarts() int { return o.st.Restarts }

// Mean returns a copy of the mean of the search distribution.
func (o *Optimizer) Mean() []float64 { return slices.Clone(o.st.Mean) }

// Sigma returns the step size σ.
func (o *Optimizer) Sigma() float64 { return o.st.Sigma }

// Ask returns the next candidate of the current generation. Candidates beyond the
// population size are further draws from the same distribution (to replace failed
// evaluations). Candidate k of a generation depends only on the state and k.
func (o *Optimizer) Ask() []float64 {
	x := o.Candidate(o.st.Asked)
	o.st.Asked++
	return x
}

// Candidate returns candidate k of the current generation without advancing Ask: the same
// point for the same k and state, a different one for each k.
func (o *Optimizer) Candidate(k int) []float64 {
	n := o.st.N
	x := make([]float64, n)
	z := make([]float64, 2*n)
	o.candidate(k, x, z)
	return x
}

// Discretize returns x with each coordinate that has a Grid replaced by the nearest grid
// value: the point to evaluate for candidate x.
func (o *Optimizer) Discretize(x []float64) []float64 {
	out := slices.Clone(x)
	for i, g := range o.st.Grids {
		if g.Count > 0 {
			out[i] = g.Value(g.Nearest(x[i]))
		}
	}
	return out
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (o *Optimizer) rng(stream uint64) *rand.Rand {
	seed, _ := strconv.ParseUint(o.st.Seed, 10, 64)
	return rand.New(rand.NewPCG(splitmix(seed), splitmix(stream^splitmix(seed+1))))
}

// candidate writes candidate k into x, using z (2n long) as scratch.
func (o *Optimizer) candidate(k int, x, z []float64) {
	st := &o.st
	r := o.rng(uint64(st.Total)<<32 | uint64(uint32(k)))
	for try := 0; ; try++ {
		o.sample(r, x, z)
		if st.Bounds == nil || inBounds(x, st.Bounds) || try == maxResample-1 {
			break
		}
	}
	for i, b := range st.Bounds {
		x[i] = math.Max(b.Low, math.Min(b.High, x[i]))
	}
}

// sample draws x = m + σ·A·B·D·z with z standard normal.
func (o *Optimizer) sample(r *rand.Rand, x, z []float64) {
	st := &o.st
	n := st.N
	zz, y := z[:n], z[n:]
	for i := range zz {
		zz[i] = r.NormFloat64() * st.D[i]
	}
	if st.Separable {
		copy(y, zz)
	} else {
		for i := range n {
			s := 0.0
			row := st.B[i*n : (i+1)*n]
			for j, v := range zz {
				s += row[j] * v
			}
			y[i] = s
		}
	}
	for i := range n {
		a := 1.0
		if st.A != nil {
			a = st.A[i]
		}
		x[i] = st.Mean[i] + st.Sigma*a*y[i]
	}
}

func inBounds(x []float64, bounds []Bound) bool {
	for i, b := range bounds {
		if x[i] < b.Low || x[i] > b.High {
			return false
		}
	}
	return true
}

// Tell updates the distribution with one evaluated generation: exactly PopSize solutions,
// usually the candidates Ask returned (clipped into Bounds; for Grids the continuous x, not
// the discretized one), though any points may be told (injected). Values are minimized;
// ±Inf are ordinary extremes, NaN is an error. Each step y = (x-m)/σ is shortened to a
// Mahalanobis length of at most sqrt(n)+2n/(n+2), which only affects points the current
// distribution would rarely draw (Hansen 2011, "Injecting external solutions into CMA-ES").
// After the update, a run that meets a stopping criterion restarts if Restart says so.
func (o *Optimizer) Tell(sols []Solution) error {
	if len(sols) != o.st.Lambda {
		return fmt.Errorf("cmaes: told %d solutions, want the population size %d", len(sols), o.st.Lambda)
	}
	xs := make([][]float64, len(sols))
	fs := make([]float64, len(sols))
	for i, s := range sols {
		if len(s.X) != o.st.N {
			return fmt.Errorf("cmaes: solution %d has %d coordinates, want %d", i, len(s.X), o.st.N)
		}
		for _, v := range s.X {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("cmaes: solution %d has a non-finite coordinate %v", i, v)
			}
		}
		if math.IsNaN(s.Value) {
			return errors.New("cmaes: solution value is NaN")
		}
		xs[i], fs[i] = s.X, s.Value
	}
	o.tell(xs, fs)
	return nil
}

// tell is Tell without the checks: len(xs) == λ, finite coordinates, no NaN values. One
// generation: rank the points, move the mean, update the evolution paths, adapt C and σ,
// then watch for stagnation and restarts.
func (o *Optimizer) tell(xs [][]float64, fs []float64) {
	st := &o.st
	order := rank(fs)
	ys, zs, norm2 := o.steps(xs, order)
	psn, hsig := o.moveMean(ys, zs)
	o.adaptCovariance(ys, norm2, hsig)
	p := &o.p
	st.Sigma *= math.Exp(math.Min(1, (p.cs/p.ds)*(psn/p.chiN-1)))
	st.Sigma = math.Min(st.Sigma, sigmaMax)
	o.endGeneration(fs[order[0]], fs[order[len(order)-1]])
}

// rank returns the indices of fs from the best (lowest) value to the worst, stable.
func rank(fs []float64) []int {
	order := make([]int, len(fs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case fs[a] < fs[b]:
			return -1
		case fs[a] > fs[b]:
			return 1
		}
		return 0
	})
	return order
}

// steps returns the steps y_r = (x - m)/(σA) of the points in rank order (λ·n values, row r
// for rank r) and their whitened forms z_r = C^(-1/2)·y_r in B's basis, each clipped so
// that ‖z_r‖ is at most √n + 2n/(n+2), and the squared lengths ‖z_r‖².
func (o *Optimizer) steps(xs [][]float64, order []int) (ys, zs, norm2 []float64) {
	st := &o.st
	n, lambda := st.N, st.Lambda
	ys = make([]float64, lambda*n)
	zs = make([]float64, lambda*n)
	norm2 = make([]float64, lambda)
	cy := math.Sqrt(float64(n)) + 2*float64(n)/float64(n+2)
	for r, idx := range order {
		y, z := ys[r*n:(r+1)*n], zs[r*n:(r+1)*n]
		for i := range n {
			a := 1.0
			if st.A != nil {
				a = st.A[i]
			}
			y[i] = (xs[idx][i] - st.Mean[i]) / (st.Sigma * a)
		}
		o.whiten(y, z)
		nz := 0.0
		for _, v := range z {
			nz += v * v
		}
		if l := math.Sqrt(nz); l > cy {
			f := cy / l
			for i := range n {
				y[i] *= f
				z[i] *= f
			}
			nz = cy * cy
		}
		norm2[r] = nz
	}
	return ys, zs, norm2
}

// moveMean moves the mean by the weighted step of the best μ and updates the evolution
// paths. It returns ‖p_σ‖ and h_σ (0 when p_σ is too long, stalling p_c).
func (o *Optimizer) moveMean(ys, zs []float64) (psn, hsig float64) {
	st, p := &o.st, &o.p
	n := st.N
	yw := make([]float64, n)
	zw := make([]float64, n)
	for r := range p.mu {
		w := p.w[r]
		for i := range n {
			yw[i] += w * ys[r*n+i]
			zw[i] += w * zs[r*n+i]
		}
	}
	for i := range n {
		a := 1.0
		if st.A != nil {
			a = st.A[i]
		}
		st.Mean[i] += p.cm * st.Sigma * a * yw[i]
	}
	// C^(-1/2)·y_w = B·(D^-1 Bᵀ y_w); zw holds D^-1 Bᵀ y_w.
	cinv := o.unwhiten(zw)
	csn := math.Sqrt(p.cs * (2 - p.cs) * p.mueff)
	for i := range n {
		st.Ps[i] = (1-p.cs)*st.Ps[i] + csn*cinv[i]
		psn += st.Ps[i] * st.Ps[i]
	}
	psn = math.Sqrt(psn)
	if psn/math.Sqrt(1-math.Pow(1-p.cs, 2*float64(st.Gen+1))) < (1.4+2/float64(n+1))*p.chiN {
		hsig = 1
	}
	ccn := math.Sqrt(p.cc * (2 - p.cc) * p.mueff)
	for i := range n {
		st.Pc[i] = (1-p.cc)*st.Pc[i] + hsig*ccn*yw[i]
	}
	return psn, hsig
}

// adaptCovariance applies the rank-one and rank-μ updates to C, with negative weights
// rescaled by n/‖C^(-1/2)y‖².
func (o *Optimizer) adaptCovariance(ys, norm2 []float64, hsig float64) {
	st, p := &o.st, &o.p
	n, lambda := st.N, st.Lambda
	wsum := 0.0
	wo := make([]float64, lambda)
	for r := range lambda {
		w := p.w[r]
		wsum += w
		if w < 0 {
			if norm2[r] > 0 {
				w *= float64(n) / norm2[r]
			} else {
				w = 0
			}
		}
		wo[r] = w
	}
	delta := (1 - hsig) * p.cc * (2 - p.cc)
	decay := 1 + p.c1*delta - p.c1 - p.cmu*wsum
	if st.Separable {
		for i := range n {
			s := 0.0
			for r := range lambda {
				y := ys[r*n+i]
				s += wo[r] * y * y
			}
			st.C[i] = decay*st.C[i] + p.c1*st.Pc[i]*st.Pc[i] + p.cmu*s
		}
		return
	}
	for i := range n {
		for j := i; j < n; j++ {
			s := 0.0
			for r := range lambda {
				s += wo[r] * ys[r*n+i] * ys[r*n+j]
			}
			v := decay*st.C[i*n+j] + p.c1*st.Pc[i]*st.Pc[j] + p.cmu*s
			st.C[i*n+j], st.C[j*n+i] = v, v
		}
	}
}

// endGeneration counts the generation, tracks flat fitness from its best and worst value,
// refreshes the eigendecomposition and the integer margin, and restarts a run that
// degenerated or, with restarts, stopped.
func (o *Optimizer) endGeneration(bestValue, worstValue float64) {
	st, p := &o.st, &o.p
	st.Gen++
	st.Total++
	st.Asked = 0
	if st.Small {
		st.EvalsSmall += st.Lambda
	} else {
		st.EvalsLarge += st.Lambda
	}
	best, worst := clampInf(bestValue), clampInf(worstValue)
	switch {
	case st.FlatGens > 0 && math.Max(st.FlatHi, worst)-math.Min(st.FlatLo, best) < st.TolFun:
		st.FlatGens++
		st.FlatLo, st.FlatHi = math.Min(st.FlatLo, best), math.Max(st.FlatHi, worst)
	case worst-best < st.TolFun:
		st.FlatGens, st.FlatLo, st.FlatHi = 1, best, worst
	default:
		st.FlatGens, st.FlatLo, st.FlatHi = 0, 0, 0
	}
	if st.Separable || float64(st.Gen-st.EigenGen) >= p.eigenEvery {
		if !o.decompose() {
			o.startRun(st.Mean0, st.Sigma0, st.Lambda) // C degenerated: begin again
			return
		}
	}
	if st.Grids != nil && p.margin > 0 {
		o.applyMargin()
	}
	if !o.finite() {
		o.startRun(st.Mean0, st.Sigma0, st.Lambda)
		return
	}
	if st.Restart != RestartNone && o.ShouldStop() {
		o.restart()
	}
}

func clampInf(v float64) float64 { return math.Max(-math.MaxFloat64, math.Min(math.MaxFloat64, v)) }

func (o *Optimizer) histLen() int {
	return 10 + int(math.Ceil(30*float64(o.st.N)/float64(o.st.Lambda)))
}

// whiten writes D^-1·Bᵀ·y into z: ‖z‖ is the Mahalanobis length of y.
func (o *Optimizer) whiten(y, z []float64) {
	st := &o.st
	n := st.N
	if st.Separable {
		for i := range n {
			z[i] = y[i] / st.D[i]
		}
		return
	}
	for j := range n {
		s := 0.0
		for i := range n {
			s += st.B[i*n+j] * y[i]
		}
		z[j] = s / st.D[j]
	}
}

// unwhiten returns B·z (z already in B's basis): C^(-1/2)·y for z = whiten(y).
func (o *Optimizer) unwhiten(z []float64) []float64 {
	st := &o.st
	n := st.N
	if st.Separable {
		return slices.Clone(z)
	}
	out := make([]float64, n)
	for i := range n {
		s := 0.0
		for j := range n {
			s += st.B[i*n+j] * z[j]
		}
		out[i] = s
	}
	return out
}

// decompose recomputes B and D from C. It reports false when C is unusable.
func (o *Optimizer) decompose() bool {
	st := &o.st
	n := st.N
	st.EigenGen = st.Gen
	if st.Separable {
		for i, c := range st.C {
			if !(c > 0) || math.IsInf(c, 0) {
				return false
			}
			st.D[i] = math.Sqrt(c)
		}
		return true
	}
	sym := mat.NewSymDense(n, slices.Clone(st.C))
	var es mat.EigenSym
	if !es.Factorize(sym, true) {
		return false
	}
	vals := es.Values(nil)
	maxV := slices.Max(vals)
	if !(maxV > 0) || math.IsInf(maxV, 0) {
		return false
	}
	floor := maxV * 1e-20
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	for j, v := range vals {
		if v < floor {
			v = floor
		}
		st.D[j] = math.Sqrt(v)
	}
	for i := range n {
		for j := range n {
			st.B[i*n+j] = vecs.At(i, j)
		}
	}
	return true
}

func (o *Optimizer) finite() bool {
	st := &o.st
	ok := func(v []float64) bool {
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return false
			}
		}
		return true
	}
	return st.Sigma > 0 && ok(st.Mean) && ok(st.C) && ok(st.Pc) && ok(st.Ps) && ok(st.A)
}

// ShouldStop reports whether the current run meets one of Hansen's stopping criteria:
// TolFun (values flat for 10+ceil(30n/λ) generations), TolX (steps and deviations tiny), no effect of a step along
// an axis or a coordinate on the mean, the condition number of C above 1e14, or σ·max(D)
// grown 1e4 times beyond the initial sigma.
func (o *Optimizer) ShouldStop() bool {
	st := &o.st
	n := st.N
	a := func(i int) float64 {
		if st.A != nil {
			return st.A[i]
		}
		return 1
	}
	if st.FlatGens >= o.histLen() {
		return true
	}
	tolx := st.TolX * st.Sigma0
	small := true
	for i := range n {
		if st.Sigma*a(i)*math.Sqrt(o.cii(i)) >= tolx || st.Sigma*math.Abs(st.Pc[i]) >= tolx {
			small = false
			break
		}
	}
	if small {
		return true
	}
	maxD, minD := slices.Max(st.D), slices.Min(st.D)
	if maxD*maxD > 1e14*minD*minD {
		return true
	}
	maxA := 1.0
	if st.A != nil {
		maxA = slices.Max(st.A)
	}
	if st.Sigma*maxD*maxA > 1e4*st.Sigma0 {
		return true
	}
	for i := range n {
		if st.Mean[i]+0.2*st.Sigma*a(i)*math.Sqrt(o.cii(i)) == st.Mean[i] {
			return true
		}
	}
	if !st.Separable {
		ax := st.Gen % n
		same := true
		for i := range n {
			if st.Mean[i]+0.1*st.Sigma*a(i)*st.D[ax]*st.B[i*n+ax] != st.Mean[i] {
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

func (o *Optimizer) cii(i int) float64 {
	if o.st.Separable {
		return o.st.C[i]
	}
	return o.st.C[i*o.st.N+i]
}

// restart begins a new run as Restart prescribes.
func (o *Optimizer) restart() {
	st := &o.st
	st.Restarts++
	r := o.rng(1<<63 | uint64(st.Restarts))
	lambda, sigma := st.Lambda0, st.Sigma0
	st.Small = false
	switch st.Restart {
	case RestartIPOP:
		st.LargeRuns++
		lambda = popPow(st.Lambda0, st.PopFactor, st.LargeRuns)
	case RestartBIPOP:
		if st.EvalsSmall < st.EvalsLarge {
			u := r.Float64()
			large := float64(popPow(st.Lambda0, st.PopFactor, st.LargeRuns))
			lambda = max(2, int(math.Floor(float64(st.Lambda0)*math.Pow(large/(2*float64(st.Lambda0)), u*u))))
			sigma = st.Sigma0 * math.Pow(10, -2*u)
			st.Small = true
		} else {
			st.LargeRuns++
			lambda = popPow(st.Lambda0, st.PopFactor, st.LargeRuns)
		}
	}
	mean := slices.Clone(st.Mean0)
	if st.Bounds != nil {
		for i, b := range st.Bounds {
			if !math.IsInf(b.Low, 0) && !math.IsInf(b.High, 0) {
				mean[i] = b.Low + r.Float64()*(b.High-b.Low)
			}
		}
	}
	o.startRun(mean, sigma, lambda)
}

func popPow(l0 int, f float64, k int) int {
	return min(maxPopSize, int(math.Round(float64(l0)*math.Pow(f, float64(k)))))
}

// MarshalJSON encodes the optimizer's whole state.
func (o *Optimizer) MarshalJSON() ([]byte, error) {
	if !o.finite() {
		return nil, errors.New("cmaes: optimizer state is not finite")
	}
	return json.Marshal(&o.st)
}

// UnmarshalJSON restores a state written by MarshalJSON.
func (o *Optimizer) UnmarshalJSON(b []byte) error {
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("cmaes: decode optimizer: %w", err)
	}
	if err := st.check(); err != nil {
		return fmt.Errorf("cmaes: decode optimizer: %w", err)
	}
	o.st = st
	o.p = newParams(st.N, st.Lambda, st.Separable, st.MarginOpt)
	return nil
}

// check verifies the shapes of a decoded state.
func (st *state) check() error {
	n := st.N
	nc := n * n
	if st.Separable {
		nc = n
	}
	switch {
	case n <= 0:
		return fmt.Errorf("dimension %d", n)
	case st.Lambda < 2 || st.Lambda > maxPopSize || st.Lambda0 < 2:
		return fmt.Errorf("population size %d", st.Lambda)
	case len(st.Mean) != n || len(st.Mean0) != n || len(st.Pc) != n || len(st.Ps) != n || len(st.D) != n:
		return errors.New("vector lengths do not match the dimension")
	case len(st.C) != nc || (!st.Separable && len(st.B) != nc):
		return errors.New("matrix sizes do not match the dimension")
	case st.Bounds != nil && len(st.Bounds) != n:
		return errors.New("bounds do not match the dimension")
	case st.Grids != nil && (len(st.Grids) != n || len(st.A) != n):
		return errors.New("grids do not match the dimension")
	case st.Restart != RestartNone && st.Restart != RestartIPOP && st.Restart != RestartBIPOP:
		return fmt.Errorf("restart %q", st.Restart)
	case !(st.Sigma > 0) || !(st.Sigma0 > 0) || !(st.PopFactor > 1):
		return errors.New("invalid sigma or population factor")
	}
	if _, err := strconv.ParseUint(st.Seed, 10, 64); err != nil {
		return fmt.Errorf("seed %q", st.Seed)
	}
	for i, g := range st.Grids {
		if err := g.validate(); err != nil {
			return fmt.Errorf("grid %d: %v", i, err)
		}
	}
	return nil
}

// clone returns an independent copy.
func (o *Optimizer) clone() *Optimizer {
	c := &Optimizer{st: o.st, p: o.p}
	s := &c.st
	s.Bounds, s.Grids, s.Mean0 = slices.Clone(s.Bounds), slices.Clone(s.Grids), slices.Clone(s.Mean0)
	s.Mean, s.C, s.B, s.D = slices.Clone(s.Mean), slices.Clone(s.C), slices.Clone(s.B), slices.Clone(s.D)
	s.Pc, s.Ps, s.A = slices.Clone(s.Pc), slices.Clone(s.Ps), slices.Clone(s.A)
	return c
}
