package gp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/qmc"
)

// ErrMultiObjective is returned for a study with more than one objective.
var ErrMultiObjective = errors.New("gp: the GP sampler models a single objective: use another sampler for several")

// Options configures a Sampler. Zero values are the documented defaults.
type Options struct {
	// StartupTrials is how many usable observations (COMPLETE trials with every param of
	// the joint space) the study must have before the GP is used; until then params come
	// from a scrambled Sobol sequence (package qmc). 0 means 10; a negative value means 1,
	// the fewest a GP can be fitted to.
	StartupTrials int
	// Candidates is how many quasi-random points are scored by log expected improvement
	// for each proposal. Default 2048. Scoring one costs time linear in the observations
	// and a triangular solve quadratic in them, so beyond 128 observations the number
	// shrinks in proportion to 1/n, to no fewer than 512.
	Candidates int
	// LocalSearches is how many of the best candidates are refined by local search, in
	// addition to the best point observed. Default 4.
	LocalSearches int
	// DeterministicObjective fixes the noise variance at its minimum (1e-6 of the
	// standardized variance) instead of fitting it: for objectives that return the same
	// value for the same params.
	DeterministicObjective bool
	// TrustRegion restricts each proposal to a box around the best observation (TuRBO-1,
	// Eriksson et al., NeurIPS 2019): see the package doc.
	TrustRegion bool
}

// Sampler is the Gaussian-process sampler. It is safe for concurrent use. It keeps what it
// derives from a study's finished trials (observations, fitted hyperparameters, the
// factored kernel matrix) between asks; it can serve several studies but does so fastest
// when it serves one.
type Sampler struct {
	startup, candidates, local int
	fixNoise, trust            bool
	qmc                        *qmc.Sampler

	mu   sync.Mutex // guards hist and its contents
	hist *history
}

var (
	_ retune.Sampler = (*Sampler)(nil)
	_ retune.Specer  = (*Sampler)(nil)
)

// New returns a GP sampler. It panics if Candidates or LocalSearches is negative.
func New(o Options) *Sampler {
	if o.Candidates < 0 {
		panic(fmt.Sprintf("gp: Candidates %d: want >= 1 (or 0 for 2048)", o.Candidates))
	}
	if o.LocalSearches < 0 {
		panic(fmt.Sprintf("gp: LocalSearches %d: want >= 1 (or 0 for 4)", o.LocalSearches))
	}
	s := &Sampler{startup: o.StartupTrials, candidates: o.Candidates, local: o.LocalSearches,
		fixNoise: o.DeterministicObjective, trust: o.TrustRegion, qmc: qmc.New(qmc.Options{})}
	switch {
	case s.startup == 0:
		s.startup = 10
	case s.startup < 0:
		s.startup = 1
	}
	if s.candidates == 0 {
		s.candidates = 2048
	}
	if s.local == 0 {
		s.local = 4
	}
	return s
}

// Spec implements retune.Specer: name "gp" and the options in effect; "trust_region" only
// when set, so that the spec of a study stored before the option existed still matches.
func (s *Sampler) Spec() retune.Spec {
	o := map[string]any{
		"startup_trials": s.startup, "candidates": s.candidates,
		"local_searches": s.local, "deterministic_objective": s.fixNoise,
	}
	if s.trust {
		o["trust_region"] = true
	}
	return retune.Spec{Name: "gp", Options: o}
}

// Independent implements retune.Sampler. Params outside the joint space are drawn by the
// Sobol sequence of package qmc during startup (fewer COMPLETE trials than StartupTrials)
// and uniformly (retune.SampleUniform) after.
func (s *Sampler) Independent(ctx context.Context, req *retune.SampleRequest, name string, d retune.Distribution) (any, error) {
	if len(req.Directions) != 1 {
		return nil, ErrMultiObjective
	}
	complete := 0
	for i := range req.Trials {
		if req.Trials[i].State == retune.TrialComplete {
			complete++
		}
	}
	if complete < s.startup {
		return s.qmc.Independent(ctx, req, name, d)
	}
	return retune.SampleUniform(req.Rand, d), nil
}

// Relative implements retune.Sampler: it proposes every param of req.Space, jointly, by
// maximizing log expected improvement under the GP fitted to the usable observations.
func (s *Sampler) Relative(ctx context.Context, req *retune.SampleRequest) (map[string]any, error) {
	if len(req.Directions) != 1 {
		return nil, ErrMultiObjective
	}
	if len(req.Space) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(req.Space))
	for name := range req.Space {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make(map[string]any, len(names))
	var dims []dim
	for _, name := range names {
		d := req.Space[name]
		dm, ok := newDim(name, d)
		if !ok {
			out[name] = d.ToExternal(math.NaN()) // the only value
			continue
		}
		dims = append(dims, dm)
	}
	if len(dims) == 0 {
		return out, nil
	}
	D := len(dims)

	s.mu.Lock()
	key := spaceKey(dims, req.Directions[0])
	h := s.hist
	if h == nil || h.key != key || !h.matches(req.Trials) {
		h = newHistory(key, dims, req.Directions[0])
		s.hist = h
	}
	h.extend(req.Trials)
	m := h.obsUpTo[len(req.Trials)]
	if m < s.startup {
		s.mu.Unlock()
		return s.qmc.Relative(ctx, req)
	}
	x, yraw := h.x[:m*D:m*D], h.y.v[:m:m]
	p, l := h.factor(&h.y, m, s.fixNoise)
	type consFit struct {
		raw []float64
		p   kernelParams
		l   []float64
	}
	fits := make([]consFit, len(h.cons))
	for k := range h.cons {
		c := &h.cons[k]
		fits[k].raw = c.v[:m:m]
		fits[k].p, fits[k].l = h.factor(c, m, s.fixNoise)
	}
	dims, cat := h.dims, h.cat
	s.mu.Unlock()

	y := make([]float64, m)
	standardize(yraw, y)
	ps := &posterior{d: D, cat: cat, p: p, x: x, n: m, l: l, alpha: slices.Clone(y)}
	forwardSolve(l, m, ps.alpha)
	backSolve(l, m, ps.alpha)

	// Constraints: a GP per constraint value; the acquisition adds the log probability
	// that each is <= 0 (constrained EI, Gardner et al. 2014). A constraint whose values
	// are all equal (or all unknown) carries no information and is left out.
	var cons []conPost
	feasible := make([]bool, m)
	viol := make([]float64, m)
	for i := range m {
		feasible[i] = true
		for _, f := range fits {
			if r := f.raw[i]; r > 0 {
				feasible[i] = false
				viol[i] += r
			}
		}
	}
	for _, f := range fits {
		cy := make([]float64, m)
		mean, sd := standardize(f.raw, cy)
		if sd == 0 {
			continue
		}
		cp := &posterior{d: D, cat: cat, p: f.p, x: x, n: m, l: f.l, alpha: cy}
		forwardSolve(f.l, m, cp.alpha)
		backSolve(f.l, m, cp.alpha)
		cons = append(cons, conPost{ps: cp, thr: -mean / sd})
	}
	// The incumbent is the best feasible observation; with none feasible, the least
	// violating one, and the acquisition is the probability of feasibility alone.
	bestI, best := -1, math.NaN()
	for i, v := range y {
		if feasible[i] && (bestI < 0 || v < y[bestI]) {
			bestI = i
		}
	}
	if bestI >= 0 {
		best = y[bestI]
	} else {
		bestI = 0
		for i := range viol {
			if viol[i] < viol[bestI] {
				bestI = i
			}
		}
	}
	incumbent := x[bestI*D : bestI*D+D]

	// Kriging believer: running trials join as observations of the posterior mean. The
	// mean is unchanged; the variance drops near them, and with it the expected
	// improvement over the best value, observed or believed.
	if bp := s.believe(ps, req.Running, dims); bp.n > m {
		yb := append(slices.Clone(y), make([]float64, bp.n-m)...)
		k := make([]float64, m)
		for i := m; i < bp.n; i++ {
			ps.kvec(bp.x[i*D:i*D+D], k)
			yb[i] = dot(k, ps.alpha)
			if !math.IsNaN(best) {
				best = math.Min(best, yb[i]) // the believed values count as observed
			}
		}
		forwardSolve(bp.l, bp.n, yb)
		backSolve(bp.l, bp.n, yb)
		bp.alpha, ps = yb, bp
	}

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a := newAcquirer(ps, dims, best, cons)
	nc := candidates(s.candidates, ps.n)
	var u []float64
	if s.trust {
		// In a small box the believed running trials barely change which point is best, so
		// parallel asks could all propose one point: while the proposal repeats a running
		// trial, the box doubles, until it spans the cube.
		L := trustLength(yraw, s.startup, D)
		for {
			a.box(incumbent, p.invLS2, L)
			u = a.maximize(req.Rand, nc, s.local, incumbent)
			// A smallest side of 2 spans the cube in every dim; with no numeric dim
			// (minWeight 0) the box is the cube already.
			if a.minWeight == 0 || L*a.minWeight >= 2 || !a.repeats(u, ps.x[m*D:ps.n*D]) {
				break
			}
			L *= 2
		}
	} else {
		u = a.maximize(req.Rand, nc, s.local, incumbent)
	}
	for j := range dims {
		out[dims[j].name] = dims[j].external(u[j])
	}
	return out, nil
}

// believe returns ps extended by the running trials that have every param of dims, or ps
// itself if there are none. The observations' values are set by the caller.
func (s *Sampler) believe(ps *posterior, running []retune.FrozenTrial, dims []dim) *posterior {
	D := ps.d
	row := make([]float64, D)
	var extra []float64
	for i := range running {
		if encodeParams(dims, &running[i], row) {
			extra = append(extra, row...)
		}
	}
	if len(extra) == 0 {
		return ps
	}
	n := ps.n + len(extra)/D
	x := append(slices.Clip(ps.x), extra...)
	l := slices.Clip(ps.l)
	l, _ = extendFactor(l, ps.n, n, x, D, ps.cat, ps.p, nil)
	return &posterior{d: D, cat: ps.cat, p: ps.p, x: x, n: n, l: l}
}

// candidates returns how many candidates to score with n observations.
func candidates(c, n int) int {
	if n <= 128 {
		return c
	}
	return max(c*128/n, min(c, 512))
}
