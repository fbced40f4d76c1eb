package pruner

import (
	"fmt"
	"math"
	"slices"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pareto"
)

// valueAt returns the vector t reported at step.
func valueAt(t *retune.FrozenTrial, step int64, m int) ([]float64, bool) {
	v, ok := t.Intermediate[step]
	if !ok || len(v) != m {
		return nil, false
	}
	return v, true
}

// maxStep returns the largest step t reported.
func maxStep(t *retune.FrozenTrial) (int64, bool) {
	s, _, ok := t.LastStep()
	return s, ok
}

// rungValue returns t's vector as of step r: the one at the largest reported step <= r,
// or, if t reported nothing up to r, the one at its first reported step.
func rungValue(t *retune.FrozenTrial, r int64, m int) ([]float64, bool) {
	var (
		before, after     int64
		okBefore, okAfter bool
	)
	for s, v := range t.Intermediate {
		if len(v) != m {
			continue
		}
		if s <= r {
			if !okBefore || s > before {
				before, okBefore = s, true
			}
		} else if !okAfter || s < after {
			after, okAfter = s, true
		}
	}
	switch {
	case okBefore:
		return t.Intermediate[before], true
	case okAfter:
		return t.Intermediate[after], true
	}
	return nil, false
}

// sortedSteps returns t's reported steps up to and including last, in increasing order.
func sortedSteps(t *retune.FrozenTrial, last int64) []int64 {
	steps := make([]int64, 0, len(t.Intermediate))
	for s := range t.Intermediate {
		if s <= last {
			steps = append(steps, s)
		}
	}
	slices.Sort(steps)
	return steps
}

// checked reports whether the warmup and interval rules allow judging t at step: step is
// at least warmup, and it is the first step t reported in its interval, the intervals
// being [warmup + k*interval, warmup + (k+1)*interval).
func checked(t *retune.FrozenTrial, step, warmup, interval int64) bool {
	if step < warmup {
		return false
	}
	if interval <= 1 {
		return true
	}
	bucket := (step - warmup) / interval
	for s := range t.Intermediate {
		if s >= warmup && s < step && (s-warmup)/interval == bucket {
			return false
		}
	}
	return true
}

// ahead counts the points of others that rank strictly ahead of self. With one objective a
// point is ahead when its value is better. With several, the pool of others and self is
// sorted into non-dominated fronts with crowding distances computed within each front; a
// point is ahead when it is in an earlier front, or in the same front with a larger
// crowding distance. Ties therefore favour self.
func ahead(dirs []retune.Direction, self []float64, others [][]float64) int {
	n := 0
	if len(dirs) == 1 {
		for _, o := range others {
			if pareto.Compare(dirs[0], o[0], self[0]) < 0 {
				n++
			}
		}
		return n
	}
	pool := make([][]float64, 0, len(others)+1)
	pool = append(pool, others...)
	pool = append(pool, self)
	lv, crowd := pareto.LevelsCrowding(dirs, pool)
	me := len(others)
	for i := range others {
		if lv[i] < lv[me] || (lv[i] == lv[me] && crowd[i] > crowd[me]) {
			n++
		}
	}
	return n
}

// others calls f for every trial of req other than the one being judged: the finished
// search trials in finish order, then the running ones.
func others(req *retune.PruneRequest, f func(t *retune.FrozenTrial)) {
	for i := range req.Trials {
		if req.Trials[i].Number != req.Trial.Number {
			f(&req.Trials[i])
		}
	}
	for i := range req.Running {
		if req.Running[i].Number != req.Trial.Number {
			f(&req.Running[i])
		}
	}
}

// firstComplete returns the first COMPLETE trial of req.Trials (in finish order) that
// reported at least one step.
func firstComplete(req *retune.PruneRequest) (*retune.FrozenTrial, bool) {
	for i := range req.Trials {
		t := &req.Trials[i]
		if t.State == retune.TrialComplete && len(t.Intermediate) > 0 {
			return t, true
		}
	}
	return nil, false
}

// betterOf returns the better of a and b in direction d (NaN is worst).
func betterOf(d retune.Direction, a, b float64) float64 {
	if pareto.Compare(d, b, a) < 0 {
		return b
	}
	return a
}

// configError is an invalid pruner configuration; it wraps retune.ErrInvalid.
type configError struct{ msg string }

func (e *configError) Error() string { return "pruner: " + e.msg }
func (e *configError) Unwrap() error { return retune.ErrInvalid }

func invalid(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// must panics with err's message, for constructors given an invalid configuration.
func must(err error) {
	if err != nil {
		panic(err.Error())
	}
}

// finite reports whether v is neither infinite nor NaN.
func finite(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) }
