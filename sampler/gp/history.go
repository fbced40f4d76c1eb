package gp

import (
	"math"
	"math/bits"
	"strings"

	"github.com/a6b40afc/retune"
)

// history is what a Sampler derives from one study's finished trials for one search space:
// the observations in model space and the hyperparameters fitted at checkpoints.
// req.Trials only grows at its end, so everything derived from a prefix is computed once.
// Slices handed to a request are cut to its length and never written to again below it.
type history struct {
	key    string
	dims   []dim
	cat    []bool
	dir    retune.Direction
	trials []retune.FrozenTrial
	// obsUpTo[i] is the number of observations among the first i trials.
	obsUpTo []int
	x       []float64 // observations in model space, len(dims) per row
	y       series    // values to minimize (±Inf kept)
	// cons holds one series per constraint value (retune.FrozenTrial.Constraints) once an
	// observation has constraints: NaN (unknown) is kept as +Inf, the worst; an
	// observation with fewer values than cons gets +Inf for the missing ones.
	cons []series
}

// series is one modelled value of the observations, with its own GP: the values, the
// hyperparameters fitted at checkpoints, and the Cholesky factor kept between requests.
type series struct {
	v    []float64
	fits map[int]kernelParams // by checkpoint (a number of observations)

	// chol is the packed Cholesky factor of the first cholN observations under the
	// hyperparameters fitted at checkpoint cholC.
	chol         []float64
	cholN, cholC int
	krow         []float64
}

func newSeries(n int) series {
	return series{v: make([]float64, n, max(n, 8)), fits: map[int]kernelParams{}, cholC: -1}
}

// spaceKey identifies a modelled space and direction.
func spaceKey(dims []dim, dir retune.Direction) string {
	var b strings.Builder
	b.WriteString(dir.String())
	for _, dm := range dims {
		b.WriteString("|")
		b.WriteString(dm.name)
		b.WriteString("=")
		b.WriteString(dm.d.String())
	}
	return b.String()
}

func newHistory(key string, dims []dim, dir retune.Direction) *history {
	h := &history{key: key, dims: dims, dir: dir, obsUpTo: []int{0}, y: newSeries(0)}
	h.cat = make([]bool, len(dims))
	for j := range dims {
		h.cat[j] = dims[j].kind == categorical
	}
	return h
}

// matches reports whether trials and the trials h has seen agree on their common prefix.
func (h *history) matches(trials []retune.FrozenTrial) bool {
	for i := range min(len(trials), len(h.trials)) {
		a, b := &trials[i], &h.trials[i]
		if a.Number != b.Number || a.State != b.State || !a.End.Equal(b.End) {
			return false
		}
	}
	return true
}

// extend encodes the trials beyond those h has seen.
func (h *history) extend(trials []retune.FrozenTrial) {
	if len(trials) <= len(h.trials) {
		return
	}
	d := len(h.dims)
	row := make([]float64, d)
	for i := len(h.trials); i < len(trials); i++ {
		ft := &trials[i]
		if y, ok := h.encodeTrial(ft, row); ok {
			n := len(h.y.v)
			h.x = append(h.x, row...)
			h.y.v = append(h.y.v, y)
			cv := ft.Constraints()
			for len(h.cons) < len(cv) { // a constraint first seen: earlier observations lack it
				c := newSeries(n)
				for k := range c.v {
					c.v[k] = math.Inf(1)
				}
				h.cons = append(h.cons, c)
			}
			for k := range h.cons {
				c := math.Inf(1)
				if k < len(cv) && !math.IsNaN(cv[k]) {
					c = cv[k]
				}
				h.cons[k].v = append(h.cons[k].v, c)
			}
		}
		h.obsUpTo = append(h.obsUpTo, len(h.y.v))
	}
	h.trials = trials
}

// encodeTrial returns a COMPLETE trial's value to minimize and writes its params in model
// space to row; ok is false if the trial is not usable: not COMPLETE, NaN, or some param
// missing, of another kind, or outside its current distribution.
func (h *history) encodeTrial(ft *retune.FrozenTrial, row []float64) (float64, bool) {
	if ft.State != retune.TrialComplete || len(ft.Values) != 1 || math.IsNaN(ft.Values[0]) {
		return 0, false
	}
	if !encodeParams(h.dims, ft, row) {
		return 0, false
	}
	y := ft.Values[0]
	if h.dir == retune.Maximize {
		y = -y
	}
	return y, true
}

// encodeParams writes ft's params in model space to row, and reports whether it has
// every param of dims, of the same kind and inside the current distribution.
func encodeParams(dims []dim, ft *retune.FrozenTrial, row []float64) bool {
	for j := range dims {
		dm := &dims[j]
		v, ok := ft.Params[dm.name]
		if !ok {
			return false
		}
		if pd, ok := ft.Distributions[dm.name]; ok && !retune.SameKind(pd, dm.d) {
			return false
		}
		x, ok := dm.d.ToInternal(v)
		if !ok {
			return false
		}
		row[j] = dm.toU(x)
	}
	return true
}

// standardize writes the values to out with ±Inf clipped to the largest and smallest
// finite values, centred and scaled to unit variance; all values are 0 when none is finite
// or all are equal. It returns the map from a raw value r to its standardized one,
// (r - mean)/sd, as mean and sd; sd is 0 when all values became 0.
func standardize(y, out []float64) (mean, sd float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range y {
		if !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if lo > hi {
		clear(out[:len(y)])
		return 0, 0
	}
	for i, v := range y {
		out[i] = math.Max(lo, math.Min(v, hi))
		mean += out[i]
	}
	mean /= float64(len(y))
	ss := 0.0
	for i := range y {
		out[i] -= mean
		ss += out[i] * out[i]
	}
	sd = math.Sqrt(ss / float64(len(y)))
	if sd < 1e-12*math.Max(1, math.Abs(mean)) {
		clear(out[:len(y)])
		return mean, 0
	}
	for i := range y {
		out[i] /= sd
	}
	return mean, sd
}

// Hyperparameters are fitted at checkpoints, numbers of observations: every one up to 40,
// then every m/20-th up to 256 and every m/10-th beyond, and every power of two. A request with m observations uses the fit
// at the last checkpoint at or before m. A fit starts from the fit at the power of two
// before its checkpoint (8 or more), or from default hyperparameters, so it depends only on
// the observations, however many asks came before.

func isCheckpoint(m int) bool { return m&(m-1) == 0 || m%checkpointStep(m) == 0 }

func checkpointStep(m int) int {
	if m > 256 {
		return m / 10
	}
	return max(1, m/20)
}

func checkpoint(m int) int {
	for !isCheckpoint(m) {
		m--
	}
	return m
}

// parentCheckpoint returns the checkpoint whose fit a fit at c starts from, or 0.
func parentCheckpoint(c int) int {
	p := 1 << (bits.Len(uint(c)) - 1)
	if p == c {
		p = c / 2
	}
	if p < 8 {
		return 0
	}
	return p
}

// fitAt returns the hyperparameters of series s fitted at checkpoint c, fitting them (and
// their parents) if needed.
func (h *history) fitAt(s *series, c int, fixNoise bool) kernelParams {
	if p, ok := s.fits[c]; ok {
		return p
	}
	d := len(h.dims)
	init, iters := defaultParams(d, fixNoise), 60
	if pc := parentCheckpoint(c); pc > 0 {
		init, iters = h.fitAt(s, pc, fixNoise), 30
	}
	y := make([]float64, c)
	standardize(s.v[:c], y)
	f := newFitter(h.x[:c*d], c, d, h.cat, y, fixNoise)
	p := f.fit(f.theta(init), iters)
	s.fits[c] = p
	return p
}

// factor returns the hyperparameters of series s for m observations and the packed
// Cholesky factor of their kernel matrix, kept and extended between requests.
func (h *history) factor(s *series, m int, fixNoise bool) (kernelParams, []float64) {
	c := checkpoint(m)
	p := h.fitAt(s, c, fixNoise)
	d := len(h.dims)
	switch {
	case s.cholC == c:
		if s.cholN < m {
			s.chol, s.krow = extendFactor(s.chol, s.cholN, m, h.x, d, h.cat, p, s.krow)
			s.cholN = m
		}
	case c > s.cholC:
		s.chol, s.krow = extendFactor(nil, 0, m, h.x, d, h.cat, p, s.krow)
		s.cholC, s.cholN = c, m
	default: // an older request than the factor kept
		l, _ := extendFactor(nil, 0, m, h.x, d, h.cat, p, nil)
		return p, l
	}
	n := rowStart(m)
	return p, s.chol[:n:n]
}
