package cmaes

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/a6b40afc/retune"
)

// SamplerOptions configures a Sampler. Zero values are the documented defaults.
type SamplerOptions struct {
	// PopSize is the population size λ. 0 means 4 + floor(3 ln n) for n modelled params.
	PopSize int
	// Sigma0 is the initial step size in the unit cube every param is mapped to. 0 means
	// 1/6.
	Sigma0 float64
	// Restart is "" (no restarts), "ipop" or "bipop"; see Options.Restart.
	Restart string
	// PopSizeFactor multiplies the population at each IPOP (BIPOP large) restart. 0 means 2.
	PopSizeFactor float64
	// Separable uses a diagonal covariance matrix (sep-CMA-ES).
	Separable bool
	// Margin is the margin α for int params and floats with a step: the probability of
	// moving off the value nearest the mean is kept at least α (see the package doc).
	// 0 means 1/(n·λ); negative turns the correction off (plain rounding).
	Margin float64
	// WarmStart starts a fresh search from the study's COMPLETE trials when there are at
	// least 10 usable ones (Nomura et al. 2021): the mean is the mean of the best
	// WarmStartGamma fraction, the covariance Σ is their covariance plus WarmStartAlpha²·I
	// (in unit coordinates), σ0 = det(Σ)^(1/2n) and C = Σ/σ0².
	WarmStart bool
	// WarmStartGamma is the fraction of the best trials used by WarmStart. 0 means 0.1.
	WarmStartGamma float64
	// WarmStartAlpha is the prior spread added by WarmStart. 0 means 0.1.
	WarmStartAlpha float64
}

// Sampler proposes the numeric params of a study's joint space with CMA-ES. It is safe
// for concurrent use; one Sampler may serve several studies.
type Sampler struct {
	o SamplerOptions

	mu      sync.Mutex
	cache   map[string]*sstate // decoded states by their canonical JSON
	keys    []string           // cache keys, oldest first
	pending map[*retune.SampleRequest]json.RawMessage
}

var (
	_ retune.Sampler         = (*Sampler)(nil)
	_ retune.StatefulSampler = (*Sampler)(nil)
	_ retune.Specer          = (*Sampler)(nil)
)

// stateVersion is the version of the stored sampler state; another version starts afresh.
const stateVersion = 1

// warmStartMin is how many usable COMPLETE trials WarmStart needs.
const warmStartMin = 10

// sstate is the sampler state stored in the study.
type sstate struct {
	Version int `json:"version"`
	// Space lists the modelled params as name and distribution JSON, sorted by name.
	Space [][2]string `json:"space"`
	// Start is the first trial number of the current generation: trial n proposes
	// candidate n of the generation's stream.
	Start int        `json:"start"`
	Opt   *Optimizer `json:"optimizer"`
}

// New returns a CMA-ES sampler. It panics on invalid options.
func New(o SamplerOptions) *Sampler {
	switch {
	case o.Sigma0 < 0 || math.IsNaN(o.Sigma0) || math.IsInf(o.Sigma0, 0):
		panic(fmt.Sprintf("cmaes: Sigma0 %v: want a finite sigma > 0 (or 0 for 1/6)", o.Sigma0))
	case o.WarmStartGamma < 0 || o.WarmStartGamma > 1:
		panic(fmt.Sprintf("cmaes: WarmStartGamma %v: want a fraction in (0, 1] (or 0 for 0.1)", o.WarmStartGamma))
	case o.WarmStartAlpha < 0 || math.IsNaN(o.WarmStartAlpha) || math.IsInf(o.WarmStartAlpha, 0):
		panic(fmt.Sprintf("cmaes: WarmStartAlpha %v: want a finite alpha > 0 (or 0 for 0.1)", o.WarmStartAlpha))
	}
	if o.Sigma0 == 0 {
		o.Sigma0 = 1.0 / 6
	}
	if o.WarmStartGamma == 0 {
		o.WarmStartGamma = 0.1
	}
	if o.WarmStartAlpha == 0 {
		o.WarmStartAlpha = 0.1
	}
	if o.PopSizeFactor == 0 {
		o.PopSizeFactor = 2
	}
	// The optimizer checks the rest; fail now rather than at the first ask.
	NewOptimizer([]float64{0.5, 0.5}, o.Sigma0, Options{PopSize: o.PopSize, Restart: o.Restart, PopSizeFactor: o.PopSizeFactor, Margin: o.Margin})
	return &Sampler{o: o, cache: map[string]*sstate{}, pending: map[*retune.SampleRequest]json.RawMessage{}}
}

// Spec implements retune.Specer: name "cmaes" and the options in effect.
func (s *Sampler) Spec() retune.Spec {
	o := map[string]any{
		"popsize": s.o.PopSize, "sigma0": s.o.Sigma0, "restart": s.o.Restart,
		"popsize_factor": s.o.PopSizeFactor, "separable": s.o.Separable, "margin": s.o.Margin,
		"warm_start": s.o.WarmStart,
	}
	if s.o.WarmStart {
		o["warm_start_gamma"] = s.o.WarmStartGamma
		o["warm_start_alpha"] = s.o.WarmStartAlpha
	}
	return retune.Spec{Name: "cmaes", Options: o}
}

// Independent implements retune.Sampler: params outside the modelled space (categorical
// ones, and params no COMPLETE trial has yet) are drawn uniformly.
func (s *Sampler) Independent(_ context.Context, req *retune.SampleRequest, _ string, d retune.Distribution) (any, error) {
	return retune.SampleUniform(req.Rand, d), nil
}

// Relative implements retune.Sampler: it proposes every float and int param of req.Space
// (see the package doc for how trials map to candidates). It returns an error for a study
// with several objectives.
func (s *Sampler) Relative(_ context.Context, req *retune.SampleRequest) (map[string]any, error) {
	if len(req.Directions) > 1 {
		return nil, fmt.Errorf("cmaes: study has %d objectives: CMA-ES needs a single objective (use nsga2 or tpe)", len(req.Directions))
	}
	ds, fixed := dims(req.Space)
	if len(ds) == 0 {
		return fixed, nil
	}
	st, changed, err := s.advance(req, ds)
	if err != nil {
		return nil, err
	}
	// Candidates are keyed by trial number, not by position in the generation: two asks
	// that raced to create or advance the state (and so hold different Starts) still get
	// distinct candidates.
	x := st.Opt.Candidate(req.Trial.Number)
	out := make(map[string]any, len(ds)+len(fixed))
	for name, v := range fixed {
		out[name] = v
	}
	for i := range ds {
		out[ds[i].name] = ds[i].external(x[i])
	}
	if changed {
		b, err := s.encode(st)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.pending[req] = b
		s.mu.Unlock()
	}
	return out, nil
}

// NextState implements retune.StatefulSampler: the state after the last Relative call
// with req, or nil when it did not change.
func (s *Sampler) NextState(_ context.Context, req *retune.SampleRequest) (json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.pending[req]
	if !ok {
		return nil, nil
	}
	delete(s.pending, req)
	return b, nil
}

// advance returns the state for req: the stored one, or a fresh one when there is none or
// it was made for another space, brought up to date by telling every generation that has
// PopSize usable COMPLETE trials.
func (s *Sampler) advance(req *retune.SampleRequest, ds []dim) (*sstate, bool, error) {
	sig, err := signature(ds)
	if err != nil {
		return nil, false, err
	}
	st := s.load(req.State)
	changed := false
	if st == nil || !slices.Equal(st.Space, sig) || st.Opt.Dim() != len(ds) {
		st, changed = s.fresh(req, ds, sig), true
	}
	minimize := len(req.Directions) == 0 || req.Directions[0] != retune.Maximize
	for {
		ms := members(req.Trials, ds, st.Start, st.Opt.PopSize(), minimize)
		if len(ms) < st.Opt.PopSize() {
			return st, changed, nil
		}
		if !changed {
			st = &sstate{Version: st.Version, Space: st.Space, Start: st.Start, Opt: st.Opt.clone()}
			changed = true
		}
		tellMembers(st, ds, ms)
	}
}

// member is a COMPLETE trial counted in a generation.
type member struct {
	t     *retune.FrozenTrial
	value float64 // to minimize
}

// members returns up to lambda usable COMPLETE trials numbered start or later, in the order
// they finished: trials with a finite or infinite value and every modelled param inside its
// current distribution.
func members(trials []retune.FrozenTrial, ds []dim, start, lambda int, minimize bool) []member {
	var out []member
	for i := range trials {
		t := &trials[i]
		if t.Number < start || t.State != retune.TrialComplete || len(t.Values) != 1 || math.IsNaN(t.Values[0]) {
			continue
		}
		ok := true
		for j := range ds {
			if v, has := t.Params[ds[j].name]; !has || !ds[j].dist.Contains(v) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		v := t.Values[0]
		if !minimize {
			v = -v
		}
		out = append(out, member{t: t, value: v})
		if len(out) == lambda {
			break
		}
	}
	return out
}

// tellMembers tells one generation. A member whose params are what candidate number
// encodes to is told as that continuous candidate; any other (an enqueued
// trial, one proposed by an earlier generation) is told as injected, at its own params.
// The next generation starts after the highest member number.
func tellMembers(st *sstate, ds []dim, ms []member) {
	n := len(ds)
	xs := make([][]float64, len(ms))
	fs := make([]float64, len(ms))
	last := st.Start
	for i, m := range ms {
		last = max(last, m.t.Number)
		fs[i] = m.value
		cand := st.Opt.Candidate(m.t.Number)
		match := true
		for j := range ds {
			if !ds[j].same(ds[j].external(cand[j]), m.t.Params[ds[j].name]) {
				match = false
				break
			}
		}
		if match {
			xs[i] = cand
			continue
		}
		x := make([]float64, n)
		for j := range ds {
			x[j], _ = ds[j].unit(m.t.Params[ds[j].name])
		}
		xs[i] = x
	}
	st.Opt.tell(xs, fs)
	st.Start = last + 1
}

// fresh returns a new state for the space ds.
func (s *Sampler) fresh(req *retune.SampleRequest, ds []dim, sig [][2]string) *sstate {
	n := len(ds)
	mean := make([]float64, n)
	for i := range mean {
		mean[i] = 0.5
	}
	sigma := s.o.Sigma0
	var cov [][]float64
	if s.o.WarmStart {
		if m, sg, c, ok := s.warmStart(req, ds); ok {
			mean, sigma, cov = m, sg, c
		}
	}
	bounds := make([]Bound, n)
	grids := make([]Grid, n)
	for i := range ds {
		bounds[i] = Bound{0, 1}
		grids[i] = ds[i].grid
	}
	margin := s.o.Margin
	if margin < 0 {
		grids = nil
	}
	start := 0
	for i := range req.Trials {
		start = max(start, req.Trials[i].Number+1)
	}
	opt := NewOptimizer(mean, sigma, Options{
		PopSize: s.o.PopSize, Seed: splitmix(req.Seed), Bounds: bounds, Cov: cov,
		Separable: s.o.Separable, Restart: s.o.Restart, PopSizeFactor: s.o.PopSizeFactor,
		Grids: grids, Margin: max(margin, 0),
	})
	return &sstate{Version: stateVersion, Space: sig, Start: start, Opt: opt}
}

// warmStart fits the initial distribution to the best COMPLETE trials.
func (s *Sampler) warmStart(req *retune.SampleRequest, ds []dim) (mean []float64, sigma float64, cov [][]float64, ok bool) {
	n := len(ds)
	type point struct {
		x []float64
		v float64
	}
	minimize := len(req.Directions) == 0 || req.Directions[0] != retune.Maximize
	var pts []point
	for i := range req.Trials {
		t := &req.Trials[i]
		if t.State != retune.TrialComplete || len(t.Values) != 1 || math.IsNaN(t.Values[0]) {
			continue
		}
		x := make([]float64, n)
		usable := true
		for j := range ds {
			v, has := t.Params[ds[j].name]
			if !has {
				usable = false
				break
			}
			if x[j], usable = ds[j].unit(v); !usable {
				break
			}
		}
		if usable {
			v := t.Values[0]
			if !minimize {
				v = -v
			}
			pts = append(pts, point{x, v})
		}
	}
	if len(pts) < warmStartMin {
		return nil, 0, nil, false
	}
	slices.SortStableFunc(pts, func(a, b point) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	top := pts[:max(1, int(math.Ceil(s.o.WarmStartGamma*float64(len(pts)))))]
	mean = make([]float64, n)
	for _, p := range top {
		for j, v := range p.x {
			mean[j] += v / float64(len(top))
		}
	}
	for j := range mean { // a sum of values on a bound may round past it
		mean[j] = min(max(mean[j], 0), 1)
	}
	cov = make([][]float64, n)
	a2 := s.o.WarmStartAlpha * s.o.WarmStartAlpha
	for i := range cov {
		cov[i] = make([]float64, n)
		for j := range cov[i] {
			for _, p := range top {
				cov[i][j] += (p.x[i] - mean[i]) * (p.x[j] - mean[j]) / float64(len(top))
			}
			if i == j {
				cov[i][j] += a2
			}
		}
	}
	for i := range cov { // exact symmetry
		for j := range i {
			cov[i][j] = cov[j][i]
		}
	}
	logdet, ok := logDet(cov)
	if !ok {
		return nil, 0, nil, false
	}
	sigma = math.Exp(logdet / float64(2*n))
	for i := range cov {
		for j := range cov[i] {
			cov[i][j] /= sigma * sigma
		}
	}
	return mean, sigma, cov, true
}

// signature describes the modelled space for the stored state.
func signature(ds []dim) ([][2]string, error) {
	sig := make([][2]string, len(ds))
	for i := range ds {
		b, err := retune.MarshalDistribution(ds[i].dist)
		if err != nil {
			return nil, fmt.Errorf("cmaes: param %q: %w", ds[i].name, err)
		}
		sig[i] = [2]string{ds[i].name, string(b)}
	}
	return sig, nil
}

// cacheSize is how many decoded states a Sampler keeps.
const cacheSize = 8

// encode returns the canonical JSON of st — what the study hands back as req.State after
// storing it — and caches st under it.
func (s *Sampler) encode(st *sstate) (json.RawMessage, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("cmaes: encode state: %w", err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("cmaes: encode state: %w", err)
	}
	if b, err = json.Marshal(v); err != nil {
		return nil, fmt.Errorf("cmaes: encode state: %w", err)
	}
	s.mu.Lock()
	s.remember(string(b), st)
	s.mu.Unlock()
	return b, nil
}

func (s *Sampler) remember(key string, st *sstate) {
	if _, ok := s.cache[key]; ok {
		return
	}
	if len(s.keys) == cacheSize {
		delete(s.cache, s.keys[0])
		s.keys = s.keys[1:]
	}
	s.cache[key] = st
	s.keys = append(s.keys, key)
}

// load decodes a stored state (nil if there is none, or it is unreadable or of another
// version). The result is shared: callers must not modify it.
func (s *Sampler) load(raw json.RawMessage) *sstate {
	if len(raw) == 0 {
		return nil
	}
	key := string(raw)
	s.mu.Lock()
	st, ok := s.cache[key]
	s.mu.Unlock()
	if ok {
		return st
	}
	st = new(sstate)
	if err := json.Unmarshal(raw, st); err != nil || st.Version != stateVersion || st.Opt == nil {
		return nil
	}
	s.mu.Lock()
	s.remember(key, st)
	s.mu.Unlock()
	return st
}

// logDet returns the log determinant of a symmetric positive definite matrix by Cholesky.
func logDet(a [][]float64) (float64, bool) {
	n := len(a)
	l := make([]float64, n*n)
	ld := 0.0
	for i := range n {
		for j := 0; j <= i; j++ {
			s := a[i][j]
			for k := range j {
				s -= l[i*n+k] * l[j*n+k]
			}
			if i == j {
				if !(s > 0) {
					return 0, false
				}
				l[i*n+i] = math.Sqrt(s)
				ld += 2 * math.Log(l[i*n+i])
			} else {
				l[i*n+j] = s / l[j*n+j]
			}
		}
	}
	return ld, true
}
