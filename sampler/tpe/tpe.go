package tpe

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/a6b40afc/retune"
)

// Options configures a Sampler. Zero values are the documented defaults.
type Options struct {
	// StartupTrials is how many COMPLETE or PRUNED trials the study must have before the
	// model is used; until then params are drawn uniformly (retune.SampleUniform). 0 means
	// 10; a negative value means none.
	StartupTrials int
	// Candidates is how many points are drawn from l and scored by log l(x) - log g(x)
	// for each proposal. Default 24.
	Candidates int
	// Multivariate models the joint search space (req.Space) with product kernels, so
	// interactions between params are used; params outside the joint space are sampled
	// one at a time. Default false: every param is modelled on its own.
	Multivariate bool
	// Group splits the params seen so far into groups of params that always appear
	// together (conditional search spaces) and models each group jointly on the trials
	// that have it. It implies Multivariate.
	Group bool
	// ConstantLiar counts the running trials (req.Running) as observations worse than
	// any finished one, so workers asking at the same time spread out instead of piling on
	// the same promising point. Default false, so that a trial's params depend only on the
	// finished trials (the seed guarantee); turn it on for many parallel workers.
	ConstantLiar bool
	// PriorWeight is the weight of the prior kernel (centred, as wide as the range, uniform
	// over choices) in both densities, against a weight of 1 for a recent observation (both
	// then scaled by bandwidth, see the package doc). 0 means 1. The prior is always
	// present: it keeps every density positive.
	PriorWeight float64
	// GammaFunc returns how many of n finished trials are "good" and modelled by l; the
	// rest (and running ones, with ConstantLiar) are modelled by g. Default
	// min(ceil(0.1·n), 25).
	GammaFunc func(n int) int
	// WeightFunc returns the weights of n observations of one density, oldest first (in
	// finish order). Default: 1 for all when n < 25; otherwise the n-25 oldest ramp
	// linearly from 1/n up to 1 and the 25 newest weigh 1.
	WeightFunc func(n int) []float64
}

// Sampler is the Tree-structured Parzen Estimator. It is safe for concurrent use. It keeps
// what it derives from a study's finished trials between asks; it can serve several studies
// but does so fastest when it serves one.
type Sampler struct {
	startup, candidates int
	multivariate, group bool
	liar                bool
	priorWeight         float64
	gamma               func(int) int
	weights             func(int) []float64
	customG, customW    bool

	mu   sync.Mutex // guards hist and free
	hist *history
	free []*work // scratch memory kept between proposals
}

var (
	_ retune.Sampler      = (*Sampler)(nil)
	_ retune.SpaceSampler = (*Sampler)(nil)
	_ retune.Specer       = (*Sampler)(nil)
)

// New returns a TPE sampler. It panics if an option is invalid (negative Candidates, a
// negative or non-finite PriorWeight).
func New(o Options) *Sampler {
	s := &Sampler{
		startup: o.StartupTrials, candidates: o.Candidates,
		multivariate: o.Multivariate || o.Group, group: o.Group, liar: o.ConstantLiar,
		priorWeight: o.PriorWeight, gamma: o.GammaFunc, weights: o.WeightFunc,
		customG: o.GammaFunc != nil, customW: o.WeightFunc != nil,
	}
	switch {
	case o.Candidates < 0:
		panic(fmt.Sprintf("tpe: Candidates %d: want >= 1 (or 0 for 24)", o.Candidates))
	case o.PriorWeight < 0 || math.IsNaN(o.PriorWeight) || math.IsInf(o.PriorWeight, 0):
		panic(fmt.Sprintf("tpe: PriorWeight %v: want a finite weight > 0 (or 0 for 1)", o.PriorWeight))
	}
	switch {
	case s.startup == 0:
		s.startup = 10
	case s.startup < 0:
		s.startup = 0
	}
	if s.candidates == 0 {
		s.candidates = 24
	}
	if s.priorWeight == 0 {
		s.priorWeight = 1
	}
	if s.gamma == nil {
		s.gamma = defaultGamma
	}
	return s
}

func defaultGamma(n int) int { return min((n+9)/10, 25) }

// Spec implements retune.Specer: name "tpe" and the options in effect. Custom GammaFunc and
// WeightFunc appear as "custom".
func (s *Sampler) Spec() retune.Spec {
	o := map[string]any{
		"startup_trials": s.startup, "candidates": s.candidates,
		"multivariate": s.multivariate, "group": s.group, "constant_liar": s.liar,
		"prior_weight": s.priorWeight,
	}
	if s.customG {
		o["gamma"] = "custom"
	}
	if s.customW {
		o["weights"] = "custom"
	}
	return retune.Spec{Name: "tpe", Options: o}
}

// Space implements retune.SpaceSampler. Without Multivariate it returns no joint space
// (every param is sampled by Independent); with Multivariate, req.Space (params every
// COMPLETE trial has); with Group, every param of the COMPLETE and PRUNED trials, with the
// distribution of the latest trial that has it.
func (s *Sampler) Space(_ context.Context, req *retune.SampleRequest) (map[string]retune.Distribution, error) {
	switch {
	case !s.multivariate:
		return nil, nil
	case !s.group:
		return req.Space, nil
	}
	h, v := s.sync(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	return h.groupsAt(&v).space(), nil
}

// sync brings the cached history up to req.Trials and returns it with the request's view.
func (s *Sampler) sync(req *retune.SampleRequest) (*history, view) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hist
	if h == nil || !h.matches(req.Trials, req.Directions) {
		h = newHistory(req.Directions)
		h.matches(req.Trials, req.Directions)
		s.hist = h
	}
	h.extend(req.Trials)
	return h, h.view(len(req.Trials))
}

func (s *Sampler) gammaOf(n int) int { return max(0, min(n, s.gamma(n))) }

// weightsOf returns the weights of n observations, oldest first.
func (s *Sampler) weightsOf(n int, buf *[]float64) ([]float64, error) {
	if s.weights != nil {
		w := s.weights(n)
		if len(w) != n {
			return nil, fmt.Errorf("tpe: WeightFunc(%d) returned %d weights, want %d", n, len(w), n)
		}
		for _, x := range w {
			if !(x >= 0) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("tpe: WeightFunc(%d) returned weight %v, want finite weights >= 0", n, x)
			}
		}
		return w, nil
	}
	w := resize(*buf, n)
	*buf = w
	for i := range w {
		w[i] = 1
	}
	if ramp := n - 25; ramp > 0 {
		first := 1 / float64(n)
		step := 0.0
		if ramp > 1 {
			step = (1 - first) / float64(ramp-1)
		}
		for i := range ramp {
			w[i] = first + float64(i)*step
		}
	}
	return w, nil
}

// work is the scratch memory of one proposal, kept in the Sampler's free list.
type work struct {
	pool, run, below []int32
	rank             []int32
	isBelow          []bool
	runX             []float64
	lo, hi           []obs
	tail             []sortedObs
	lw, gw, lf       []float64
	l, g             parzen1
	lc, gc           cat1
	cand, score      []float64

	lmu, gmu []float64
	gz       []float64
	ln, gn   parzenN
	sc       scratch
	xs       []float64
	ll, lg   []float64
}

// maxFree is how many scratch memories a Sampler keeps: enough for as many concurrent
// proposals, and their memory is reused rather than collected and reallocated.
const maxFree = 8

func (s *Sampler) getWork() *work {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := len(s.free); k > 0 {
		w := s.free[k-1]
		s.free = s.free[:k-1]
		return w
	}
	return new(work)
}

func (s *Sampler) putWork(w *work) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.free) < maxFree {
		s.free = append(s.free, w)
	}
}

// Independent implements retune.Sampler: it models the one param with univariate
// estimators. It draws uniformly during startup and when no usable trial has the param.
func (s *Sampler) Independent(_ context.Context, req *retune.SampleRequest, name string, d retune.Distribution) (any, error) {
	dm := newDim(d)
	if dm.single {
		return dm.only(), nil
	}
	h, v := s.sync(req)
	if v.used < s.startup {
		return retune.SampleUniform(req.Rand, d), nil
	}
	w := s.getWork()
	defer s.putWork(w)
	lo, hi, err := s.observe1(req, h, &v, name, &dm, w)
	if err != nil {
		return nil, err
	}
	if len(lo) == 0 && len(hi) == 0 {
		return retune.SampleUniform(req.Rand, d), nil
	}
	return s.propose1(req, &dm, w, lo, hi), nil
}

// splitMulti returns the split of a multi-objective request (pool: its usable finished
// trials, run: its running ones), appended to buf[:0], and the factors of l's weights
// (splitter.lFactors; nil for none). Every param of a proposal asks for the same split, and
// thinning a front by hypervolume costs more than the rest of a proposal, so without
// running trials it is cached in h (the factors are shared: read them only).
func (s *Sampler) splitMulti(h *history, v *view, k int, pool, run, buf []int32) ([]int32, []float64) {
	n := len(v.trials)
	if len(run) == 0 {
		s.mu.Lock()
		c := h.multi
		s.mu.Unlock()
		if c.below != nil && c.n == n && c.k == k {
			return append(buf[:0], c.below...), c.factors
		}
	}
	sp := splitter{v: v, n: n}
	below := sp.best(k, nil, 0, nil, pool, run, buf)
	f := sp.lFactors(below)
	if len(run) == 0 {
		s.mu.Lock()
		h.multi = multiSplit{n: n, k: k, below: slices.Clone(below), factors: f}
		s.mu.Unlock()
	}
	return below, f
}

// observe1 returns the observations of l and of g for one param, weighted; g's sorted by
// value unless the param is categorical.
func (s *Sampler) observe1(req *retune.SampleRequest, h *history, vp *view, name string, dm *dim, w *work) (lo, hi []obs, err error) {
	v := *vp
	n := len(v.trials)
	s.mu.Lock()
	col := h.column(name, *dm, n)
	order, orderLen := h.ranking()
	s.mu.Unlock()

	// The split is over every usable finished trial, then the running ones with params
	// (constant liar); those without the param are then left out of both densities.
	runX, run := w.runX[:0], w.run[:0]
	if s.liar {
		for j := range req.Running {
			rt := &req.Running[j]
			if len(rt.Params) == 0 {
				continue
			}
			run = append(run, int32(n+len(runX)))
			runX = append(runX, dm.model(rt, name))
		}
	}
	pool := w.pool[:0]
	if v.m > 1 {
		for i, c := range v.class {
			if c >= 0 {
				pool = append(pool, int32(i))
			}
		}
	}
	k := s.gammaOf(v.used) // running trials do not count
	var below []int32
	var factors []float64 // of l's weights, one per entry of below (two objectives)
	if v.m > 1 {
		below, factors = s.splitMulti(h, &v, k, pool, run, w.below)
	} else {
		below = splitter{v: &v, n: n}.best(k, order, orderLen, nil, pool, run, w.below)
	}
	w.pool, w.runX, w.run, w.below = pool, runX, run, below
	total := n + len(runX)
	isBelow := resize(w.isBelow, total)
	clear(isBelow)
	w.isBelow = isBelow
	for _, i := range below {
		isBelow[i] = true
	}
	xOf := func(i int) float64 {
		if i < n {
			return col.x[i]
		}
		return runX[i-n]
	}

	// l's observations: the valid below ones, weighted by age (and, with two objectives, by
	// hypervolume contribution).
	lo = w.lo[:0]
	for _, i := range below {
		if x := xOf(int(i)); !math.IsNaN(x) {
			lo = append(lo, obs{x: x})
		}
	}
	lw, err := s.weightsOf(len(lo), &w.lw)
	if err != nil {
		return nil, nil, err
	}
	for r := range lo {
		lo[r].w = lw[r]
	}
	if factors != nil {
		r := 0
		for a, i := range below {
			if !math.IsNaN(xOf(int(i))) {
				lo[r].w *= factors[a]
				r++
			}
		}
	}
	// g's observations: ranked by age, then sorted by value.
	rank := resize(w.rank, total)
	w.rank = rank
	m := int32(0)
	for i, x := range col.x {
		if !isBelow[i] && !math.IsNaN(x) {
			rank[i] = m
			m++
		}
	}
	for j, x := range runX {
		if !isBelow[n+j] && !math.IsNaN(x) {
			rank[n+j] = m
			m++
		}
	}
	gw, err := s.weightsOf(int(m), &w.gw)
	if err != nil {
		return nil, nil, err
	}
	hi = w.hi[:0]
	if dm.kind == categorical {
		for i := range total {
			if x := xOf(i); !isBelow[i] && !math.IsNaN(x) {
				hi = append(hi, obs{x, gw[rank[i]]})
			}
		}
	} else {
		// Merge the column's sorted copy with the few trials after it.
		tail := w.tail[:0]
		for i := col.sortedLen; i < n; i++ {
			if x := col.x[i]; !isBelow[i] && !math.IsNaN(x) {
				tail = append(tail, sortedObs{x, int32(i)})
			}
		}
		for j, x := range runX {
			if !isBelow[n+j] && !math.IsNaN(x) {
				tail = append(tail, sortedObs{x, int32(n + j)})
			}
		}
		sortObs(tail)
		w.tail = tail
		t := 0
		for _, so := range col.sorted {
			if int(so.i) >= n || isBelow[so.i] {
				continue
			}
			for ; t < len(tail) && obsLess(tail[t], so); t++ {
				hi = append(hi, obs{tail[t].x, gw[rank[tail[t].i]]})
			}
			hi = append(hi, obs{so.x, gw[rank[so.i]]})
		}
		for ; t < len(tail); t++ {
			hi = append(hi, obs{tail[t].x, gw[rank[tail[t].i]]})
		}
	}
	w.lo, w.hi = lo, hi
	return lo, hi, nil
}

// propose1 draws the candidates from l and returns the one with the largest
// log l(x) - log g(x), as an external value.
func (s *Sampler) propose1(req *retune.SampleRequest, dm *dim, w *work, lo, hi []obs) any {
	r := req.Rand
	if dm.kind == categorical {
		w.lc.build(dm.k, lo, s.priorWeight)
		w.gc.build(dm.k, hi, s.priorWeight)
		best, bestScore := 0, math.Inf(-1)
		for range s.candidates {
			c := w.lc.sample(r)
			if sc := math.Log(w.lc.p[c]) - math.Log(w.gc.p[c]); sc > bestScore {
				best, bestScore = c, sc
			}
		}
		return dm.external(float64(best))
	}
	slices.SortFunc(lo, func(a, b obs) int {
		switch {
		case a.x < b.x:
			return -1
		case a.x > b.x:
			return 1
		}
		return 0
	})
	cont := dm.kind == continuous
	w.l.build(dm.lo, dm.hi, lo, s.priorWeight, cont, true)
	w.g.build(dm.lo, dm.hi, hi, s.priorWeight, cont, false)
	cand, score := w.cand[:0], w.score[:0]
	best, bestScore := 0.0, math.Inf(-1)
	for range s.candidates {
		x := w.l.sample(r)
		var sc float64
		if dm.kind == discrete {
			x = dm.snap(x)
			if k := slices.Index(cand, x); k >= 0 {
				sc = score[k]
			} else {
				a, b := dm.cell(x)
				sc = w.l.logMass(a, b) - w.g.logMass(a, b)
			}
		} else {
			sc = w.l.logPDF(x) - w.g.logPDF(x)
		}
		cand, score = append(cand, x), append(score, sc)
		if sc > bestScore {
			best, bestScore = x, sc
		}
	}
	w.cand, w.score = cand, score
	return dm.external(best)
}

// Relative implements retune.Sampler. With Multivariate it proposes every param of
// req.Space, each group of params jointly (one group of all of them without Group). A group
// no usable trial has entirely is left to Independent. Before StartupTrials it proposes
// nothing.
func (s *Sampler) Relative(_ context.Context, req *retune.SampleRequest) (map[string]any, error) {
	if !s.multivariate || len(req.Space) == 0 {
		return nil, nil
	}
	h, v := s.sync(req)
	if v.used < s.startup {
		return nil, nil
	}
	var groups [][]string
	if s.group {
		s.mu.Lock()
		groups = h.groupsAt(&v).groups(req.Space)
		s.mu.Unlock()
	} else {
		names := make([]string, 0, len(req.Space))
		for name := range req.Space {
			names = append(names, name)
		}
		slices.Sort(names)
		groups = [][]string{names}
	}
	out := make(map[string]any)
	for _, g := range groups {
		if err := s.sampleJoint(req, h, &v, g, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sampleJoint proposes the params names jointly into out: params with a single value are
// set at once; the others are modelled together, l on the good observations and g on the
// rest, and the best of the candidates drawn from l by log l − log g is proposed.
func (s *Sampler) sampleJoint(req *retune.SampleRequest, h *history, v *view, names []string, out map[string]any) error {
	j := joint{v: v, n: len(v.trials)}
	for _, name := range names {
		dm := newDim(req.Space[name])
		if dm.single {
			out[name] = dm.only()
			continue
		}
		j.dims, j.model = append(j.dims, &dm), append(j.model, name)
	}
	if len(j.dims) == 0 {
		return nil
	}
	j.cols = make([]colView, len(j.dims))
	s.mu.Lock()
	for d, dm := range j.dims {
		j.cols[d] = h.column(j.model[d], *dm, j.n)
	}
	j.order, j.orderLen = h.ranking()
	s.mu.Unlock()
	w := s.getWork()
	defer s.putWork(w)
	if !j.observations(req, w, s.liar) {
		return nil
	}
	if err := s.densities(&j, w); err != nil {
		return err
	}
	j.propose(req, w, s.candidates, out)
	return nil
}

// joint is one joint proposal's view of the history: the modelled params and their columns.
type joint struct {
	v        *view
	n        int // finished trials in the view
	dims     []*dim
	model    []string // the names of dims
	cols     []colView
	order    []int32
	orderLen int
}

// has reports whether observation i (a finished trial) has every modelled param.
func (j *joint) has(i int32) bool {
	for d := range j.cols {
		if math.IsNaN(j.cols[d].x[i]) {
			return false
		}
	}
	return true
}

// observations collects into w the finished trials that have every modelled param and,
// with the constant liar, the running trials that do (their values in w.runX, numbered
// from n). It reports whether there is any observation.
func (j *joint) observations(req *retune.SampleRequest, w *work, liar bool) bool {
	D := len(j.dims)
	pool := w.pool[:0]
	for i, c := range j.v.class {
		if c >= 0 && j.has(int32(i)) {
			pool = append(pool, int32(i))
		}
	}
	runX, run := w.runX[:0], w.run[:0] // D values per running trial
	if liar {
		for k := range req.Running {
			rt := &req.Running[k]
			start := len(runX)
			for d, dm := range j.dims {
				x := dm.model(rt, j.model[d])
				if math.IsNaN(x) {
					break
				}
				runX = append(runX, x)
			}
			if len(runX)-start < D {
				runX = runX[:start]
				continue
			}
			run = append(run, int32(j.n+start/D))
		}
	}
	w.pool, w.runX, w.run = pool, runX, run
	return len(pool)+len(run) > 0
}

// densities splits the observations into the good (below) and the rest and builds l and g
// in w.ln and w.gn. g's kernels take the truncation masses of discrete params from the
// columns, kept between proposals.
func (s *Sampler) densities(j *joint, w *work) error {
	D, n := len(j.dims), j.n
	pool, run, runX := w.pool, w.run, w.runX
	k := s.gammaOf(len(pool)) // running trials do not count
	below := splitter{v: j.v, n: n}.best(k, j.order, j.orderLen, j.has, pool, run, w.below)
	w.below = below
	var lz [][]float64
	gsigma := make([]float64, D)
	mg := len(pool) + len(run) - len(below)
	s.mu.Lock()
	for d, dm := range j.dims {
		if dm.kind == discrete {
			gsigma[d] = jointBandwidth(dm.hi-dm.lo, mg, D)
			lz = append(lz, j.cols[d].col.logTrunc(gsigma[d]))
		}
	}
	s.mu.Unlock()
	lmu, gmu, gz := w.lmu[:0], w.gmu[:0], w.gz[:0]
	b := 0
	add := func(i int32) {
		isBelow := b < len(below) && below[b] == i
		if isBelow {
			b++
		}
		for d := range D {
			var x float64
			if int(i) < n {
				x = j.cols[d].x[i]
			} else {
				x = runX[(int(i)-n)*D+d]
			}
			if isBelow {
				lmu = append(lmu, x)
			} else {
				gmu = append(gmu, x)
			}
		}
		if isBelow {
			return
		}
		z := 0.0
		if int(i) < n {
			for _, c := range lz {
				z += c[i]
			}
		} else {
			for d, dm := range j.dims {
				if dm.kind == discrete {
					z += math.Log(truncMass(runX[(int(i)-n)*D+d], gsigma[d], dm.lo, dm.hi))
				}
			}
		}
		gz = append(gz, z)
	}
	for _, i := range pool {
		add(i)
	}
	for _, i := range run {
		add(i)
	}
	w.lmu, w.gmu, w.gz = lmu, gmu, gz
	lw, err := s.weightsOf(len(lmu)/D, &w.lw)
	if err != nil {
		return err
	}
	// l's observations are below's entries in order; with two objectives their weights
	// are also scaled by hypervolume contribution (into a copy: lw may be WeightFunc's).
	if f := (splitter{v: j.v, n: n}).lFactors(below); f != nil {
		scaled := resize(w.lf, len(lw))
		for a := range lw {
			scaled[a] = lw[a] * f[a]
		}
		w.lf, lw = scaled, scaled
	}
	gw, err := s.weightsOf(len(gmu)/D, &w.gw)
	if err != nil {
		return err
	}
	w.ln.build(j.dims, lmu, lw, s.priorWeight, nil)
	w.gn.build(j.dims, gmu, gw, s.priorWeight, gz)
	return nil
}

// propose draws C candidates from l and puts the one with the best log l − log g in out.
func (j *joint) propose(req *retune.SampleRequest, w *work, C int, out map[string]any) {
	D := len(j.dims)
	xs := resize(w.xs, C*D)
	for c := range C {
		w.ln.sample(req.Rand, xs[c*D:c*D+D])
	}
	ll, lg := resize(w.ll, C), resize(w.lg, C)
	w.xs, w.ll, w.lg = xs, ll, lg
	w.ln.logDensities(xs, C, ll, &w.sc)
	w.gn.logDensities(xs, C, lg, &w.sc)
	best, bestScore := 0, math.Inf(-1)
	for c := range C {
		if sc := ll[c] - lg[c]; sc > bestScore {
			best, bestScore = c, sc
		}
	}
	for d, dm := range j.dims {
		out[j.model[d]] = dm.external(xs[best*D+d])
	}
}
