package tpe

import (
	"math"
	"reflect"
	"slices"

	"github.com/a6b40afc/retune"
)

// Score classes, best first. A trial's class and then its step and values order it.
const (
	classComplete    int8 = iota // COMPLETE and feasible: ordered by values
	classInfeasible              // COMPLETE but infeasible: by constraint violation, then values
	classPruned                  // PRUNED with intermediate values: by step reached, then values
	classPrunedEmpty             // PRUNED before reporting anything
	classRunning                 // running, counted as the worst by the constant liar
	classUnused      int8 = -1   // FAIL, or values that do not match the directions
)

// history is what the sampler derives from one study's finished trials, trial by trial.
// req.Trials only ever grows at its end, so the derived data of a prefix never changes and
// is computed once. Everything here is append-only: a slice handed to a reader (always cut to
// the reader's length) is never written to again, so readers need no lock.
type history struct {
	dirs   []retune.Direction
	trials []retune.FrozenTrial
	// arrays are backing arrays of req.Trials known to hold this history (their first
	// element), so a request is matched without comparing its trials.
	arrays [4]*retune.FrozenTrial
	next   int

	class  []int8
	step   []int64
	viol   []float64 // constraint violation (retune.FrozenTrial.Violation) of infeasible trials
	vals   []float64 // len(dirs) values per trial, minimized, NaN replaced by +Inf
	usable []int32   // usable[i] = number of COMPLETE and PRUNED trials among the first i

	cols   map[string]*column
	groups *groupState

	// order holds the usable trials among the first orderLen by rank (single objective),
	// best first. It is replaced, never modified.
	order    []int32
	orderLen int

	// multi caches the last multi-objective split without running trials, which every param
	// of one proposal asks for (Sampler.splitMulti). Its slices are replaced, never modified.
	multi multiSplit
}

// multiSplit is the split of a history's first n trials into the k best (below, in index
// order) and the rest, with the factors of l's weights (splitter.lFactors).
type multiSplit struct {
	n, k    int
	below   []int32
	factors []float64
}

// view is the part of a history a request sees: its first n trials.
type view struct {
	trials []retune.FrozenTrial
	class  []int8
	step   []int64
	viol   []float64
	vals   []float64
	m      int
	// used is the number of COMPLETE and PRUNED trials.
	used int
}

func newHistory(dirs []retune.Direction) *history {
	return &history{dirs: slices.Clone(dirs), usable: []int32{0}, cols: make(map[string]*column)}
}

// matches reports whether trials is a view of h: same directions, and the common prefix
// holds the same trials. It remembers arrays it has checked.
func (h *history) matches(trials []retune.FrozenTrial, dirs []retune.Direction) bool {
	if !slices.Equal(h.dirs, dirs) {
		return false
	}
	if len(trials) == 0 {
		return true
	}
	first := &trials[0]
	for _, a := range h.arrays {
		if a == first {
			return true
		}
	}
	for i := range min(len(trials), len(h.trials)) {
		if !sameTrial(&trials[i], &h.trials[i]) {
			return false
		}
	}
	h.arrays[h.next] = first
	h.next = (h.next + 1) % len(h.arrays)
	return true
}

// sameTrial reports whether a and b are the same stored trial: same number, state and end,
// and the same params map.
func sameTrial(a, b *retune.FrozenTrial) bool {
	return a.Number == b.Number && a.State == b.State && a.End.Equal(b.End) &&
		len(a.Params) == len(b.Params) && mapPointer(a.Params) == mapPointer(b.Params)
}

func mapPointer(m map[string]any) uintptr {
	if m == nil {
		return 0
	}
	return uintptr(reflect.ValueOf(m).UnsafePointer())
}

// extend derives the data of trials beyond those h knows.
func (h *history) extend(trials []retune.FrozenTrial) {
	if len(trials) <= len(h.trials) {
		return
	}
	m := len(h.dirs)
	for i := len(h.trials); i < len(trials); i++ {
		ft := &trials[i]
		class, step, vals := classify(ft, m)
		viol := 0.0
		if class == classInfeasible {
			viol = ft.Violation()
		}
		h.class = append(h.class, class)
		h.step = append(h.step, step)
		h.viol = append(h.viol, viol)
		for j := range m {
			v := math.Inf(1)
			if j < len(vals) {
				v = minimized(h.dirs[j], vals[j])
			}
			h.vals = append(h.vals, v)
		}
		u := h.usable[len(h.usable)-1]
		if class >= 0 {
			u++
		}
		h.usable = append(h.usable, u)
	}
	h.trials = trials
}

// classify returns a finished trial's class, step and raw values.
func classify(ft *retune.FrozenTrial, m int) (int8, int64, []float64) {
	switch ft.State {
	case retune.TrialComplete:
		if len(ft.Values) != m {
			return classUnused, 0, nil
		}
		if !ft.Feasible() {
			return classInfeasible, 0, ft.Values
		}
		return classComplete, 0, ft.Values
	case retune.TrialPruned:
		step, vals, ok := ft.LastStep()
		if !ok || len(vals) != m {
			return classPrunedEmpty, 0, nil
		}
		return classPruned, step, vals
	}
	return classUnused, 0, nil
}

// minimized turns a value into one to minimize; NaN becomes +Inf (the worst).
func minimized(d retune.Direction, v float64) float64 {
	if math.IsNaN(v) {
		return math.Inf(1)
	}
	if d == retune.Maximize {
		return -v
	}
	return v
}

func (h *history) view(n int) view {
	m := len(h.dirs)
	return view{
		trials: h.trials[:n:n],
		class:  h.class[:n:n],
		step:   h.step[:n:n],
		viol:   h.viol[:n:n],
		vals:   h.vals[: n*m : n*m],
		m:      m,
		used:   int(h.usable[n]),
	}
}

// ranking returns the ranking snapshot, rebuilt first if many trials came after it. A
// request of n trials merges the usable trials in [orderLen, n) itself.
func (h *history) ranking() ([]int32, int) {
	if len(h.dirs) == 1 && len(h.trials)-h.orderLen >= resortAfter(h.orderLen) {
		v := h.view(len(h.trials))
		sp := splitter{v: &v, n: len(h.trials)}
		var add []int32
		for i := h.orderLen; i < len(h.trials); i++ {
			if h.class[i] >= 0 {
				add = append(add, int32(i))
			}
		}
		slices.SortFunc(add, sp.cmpRank)
		merged := make([]int32, 0, len(h.order)+len(add))
		a, b := h.order, add
		for len(a) > 0 && len(b) > 0 {
			if sp.cmpRank(b[0], a[0]) < 0 {
				merged, b = append(merged, b[0]), b[1:]
			} else {
				merged, a = append(merged, a[0]), a[1:]
			}
		}
		h.order, h.orderLen = append(append(merged, a...), b...), len(h.trials)
	}
	return h.order, h.orderLen
}

// column holds one param's model-space values, trial by trial (NaN where a trial is not
// usable or lacks a usable value), and a sorted copy of the valid ones.
type column struct {
	dm dim
	x  []float64
	// sorted holds the valid values of the first sortedLen trials by value, then index.
	// It is replaced, never modified.
	sorted    []sortedObs
	sortedLen int
	// logZ holds, per trial, the log mass a kernel of bandwidth zSigma centred on the
	// trial's value keeps inside the bounds (0 where the value is missing). It is replaced
	// when the bandwidth changes, never modified.
	logZ   []float64
	zSigma float64
}

type sortedObs struct {
	x float64
	i int32
}

// colView is a column as a request of n trials sees it.
type colView struct {
	col       *column
	x         []float64
	sorted    []sortedObs
	sortedLen int
}

// logTrunc returns the column's log truncation masses for kernels of bandwidth sigma,
// computed or extended up to the known trials.
func (c *column) logTrunc(sigma float64) []float64 {
	if c.zSigma != sigma {
		c.zSigma, c.logZ = sigma, nil
	}
	for i := len(c.logZ); i < len(c.x); i++ {
		v := 0.0
		if x := c.x[i]; !math.IsNaN(x) {
			v = math.Log(truncMass(x, sigma, c.dm.lo, c.dm.hi))
		}
		c.logZ = append(c.logZ, v)
	}
	return c.logZ
}

// resortAfter returns how many trials may pile up after a sorted copy of n trials before
// it is rebuilt; until then each request sorts those few itself. Rebuilding costs O(n), so
// a copy made every √n trials costs O(√n) per trial in time and garbage.
func resortAfter(n int) int {
	return max(32, int(math.Sqrt(float64(n))))
}

// column returns the column for the param, built or extended up to the known trials, as the
// first n trials see it.
func (h *history) column(name string, dm dim, n int) colView {
	c := h.cols[name]
	if c == nil || !c.dm.d.Equal(dm.d) {
		c = &column{dm: dm}
		h.cols[name] = c
	}
	for i := len(c.x); i < len(h.trials); i++ {
		x := math.NaN()
		if h.class[i] >= 0 {
			x = c.dm.model(&h.trials[i], name)
		}
		c.x = append(c.x, x)
	}
	if len(c.x)-c.sortedLen >= resortAfter(c.sortedLen) || (c.sortedLen == 0 && len(c.x) > 0) {
		c.resort()
	}
	return colView{col: c, x: c.x[:n:n], sorted: c.sorted, sortedLen: c.sortedLen}
}

// resort rebuilds the sorted copy by merging the new valid values into it.
func (c *column) resort() {
	var add []sortedObs
	for i := c.sortedLen; i < len(c.x); i++ {
		if !math.IsNaN(c.x[i]) {
			add = append(add, sortedObs{c.x[i], int32(i)})
		}
	}
	sortObs(add)
	merged := make([]sortedObs, 0, len(c.sorted)+len(add))
	a, b := c.sorted, add
	for len(a) > 0 && len(b) > 0 {
		if obsLess(b[0], a[0]) {
			merged, b = append(merged, b[0]), b[1:]
		} else {
			merged, a = append(merged, a[0]), a[1:]
		}
	}
	merged = append(append(merged, a...), b...)
	c.sorted, c.sortedLen = merged, len(c.x)
}

func obsLess(a, b sortedObs) bool { return a.x < b.x || (a.x == b.x && a.i < b.i) }

func sortObs(s []sortedObs) {
	slices.SortFunc(s, func(a, b sortedObs) int {
		switch {
		case obsLess(a, b):
			return -1
		case obsLess(b, a):
			return 1
		}
		return 0
	})
}
