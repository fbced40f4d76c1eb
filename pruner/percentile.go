package pruner

import (
	"context"
	"math"
	"slices"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pareto"
)

// PercentileOptions configures NewPercentile. Zero values are the documented defaults.
type PercentileOptions struct {
	// Percentile is P, in (0, 100]: a trial is kept when its best value so far is at least
	// as good as the P-th percentile, counted from the best, of the completed trials'
	// values at the same step (25 keeps about the best quarter). 0 means 25.
	Percentile float64
	// StartupTrials is how many trials must have completed before any trial is pruned.
	// 0 means 5; a negative value means none.
	StartupTrials int
	// WarmupSteps: a trial is never pruned at a step below it. Default 0.
	WarmupSteps int64
	// IntervalSteps: a trial is judged at the first step it reports in each interval
	// [WarmupSteps + k*IntervalSteps, WarmupSteps + (k+1)*IntervalSteps). 0 means 1: at
	// every step.
	IntervalSteps int64
	// MinTrials is the fewest completed trials with a value at the step for a judgment.
	// 0 means 1.
	MinTrials int
}

// MedianOptions configures NewMedian: PercentileOptions with the percentile fixed at 50.
type MedianOptions struct {
	// StartupTrials is how many trials must have completed before any trial is pruned.
	// 0 means 5; a negative value means none.
	StartupTrials int
	// WarmupSteps: a trial is never pruned at a step below it. Default 0.
	WarmupSteps int64
	// IntervalSteps: a trial is judged at the first step it reports in each interval
	// [WarmupSteps + k*IntervalSteps, WarmupSteps + (k+1)*IntervalSteps). 0 means 1.
	IntervalSteps int64
	// MinTrials is the fewest completed trials with a value at the step for a judgment.
	// 0 means 1.
	MinTrials int
}

// Percentile prunes a trial whose best intermediate value so far is worse than a
// percentile of the completed trials' intermediate values at the same step. See the
// package documentation for the rule with several objectives. It is immutable and safe for
// concurrent use.
type Percentile struct {
	name      string
	p         float64
	startup   int
	warmup    int64
	interval  int64
	minTrials int
}

// NewPercentile returns a percentile pruner. It panics if an option is out of range.
func NewPercentile(o PercentileOptions) *Percentile {
	p, err := newPercentile("percentile", o)
	must(err)
	return p
}

// NewMedian returns a median pruner: a percentile pruner at P = 50. It panics if an option
// is out of range.
func NewMedian(o MedianOptions) *Percentile {
	p, err := newPercentile("median", PercentileOptions{
		Percentile: 50, StartupTrials: o.StartupTrials, WarmupSteps: o.WarmupSteps,
		IntervalSteps: o.IntervalSteps, MinTrials: o.MinTrials,
	})
	must(err)
	return p
}

func newPercentile(name string, o PercentileOptions) (*Percentile, error) {
	p := &Percentile{name: name, p: o.Percentile, startup: o.StartupTrials, warmup: o.WarmupSteps, interval: o.IntervalSteps, minTrials: o.MinTrials}
	switch {
	case p.p == 0:
		p.p = 25
	case !(p.p > 0 && p.p <= 100):
		return nil, invalid("percentile %v: want a value in (0, 100]", o.Percentile)
	}
	switch {
	case p.startup == 0:
		p.startup = 5
	case p.startup < 0:
		p.startup = 0
	}
	if p.warmup < 0 {
		return nil, invalid("warmup steps %d: want >= 0", p.warmup)
	}
	switch {
	case p.interval == 0:
		p.interval = 1
	case p.interval < 0:
		return nil, invalid("interval steps %d: want >= 1 (or 0 for 1)", p.interval)
	}
	switch {
	case p.minTrials == 0:
		p.minTrials = 1
	case p.minTrials < 0:
		return nil, invalid("min trials %d: want >= 1 (or 0 for 1)", p.minTrials)
	}
	return p, nil
}

// Prune implements retune.Pruner.
func (p *Percentile) Prune(_ context.Context, req *retune.PruneRequest) (bool, error) {
	dirs := req.Directions
	t := &req.Trial
	cur, ok := valueAt(t, req.Step, len(dirs))
	if !ok || !checked(t, req.Step, p.warmup, p.interval) {
		return false, nil
	}
	complete := 0
	var vals [][]float64
	for i := range req.Trials {
		ft := &req.Trials[i]
		if ft.State != retune.TrialComplete || ft.Number == t.Number {
			continue
		}
		complete++
		if v, ok := valueAt(ft, req.Step, len(dirs)); ok {
			vals = append(vals, v)
		}
	}
	if complete < p.startup || len(vals) < p.minTrials || len(vals) == 0 {
		return false, nil
	}
	if len(dirs) == 1 {
		d := dirs[0]
		bar := percentile(d, vals, p.p)
		if pareto.Compare(d, cur[0], bar) <= 0 {
			return false, nil // the best so far is at least as good as this value
		}
		best := math.NaN()
		for s, v := range t.Intermediate {
			if s <= req.Step && len(v) == 1 {
				best = betterOf(d, best, v[0])
			}
		}
		return pareto.Compare(d, best, bar) > 0, nil
	}
	return ahead(dirs, cur, vals) > int(float64(len(vals)-1)*p.p/100), nil
}

// percentile returns the p-th percentile, counted from the best, of the first values of
// vals: sorted best first, the value at rank h = (n-1)p/100, interpolated linearly between
// the two nearest ranks. When one of those two is infinite or NaN (and they differ), the
// worse one is used.
func percentile(d retune.Direction, vals [][]float64, p float64) float64 {
	xs := make([]float64, len(vals))
	for i, v := range vals {
		xs[i] = v[0]
	}
	slices.SortFunc(xs, func(a, b float64) int { return pareto.Compare(d, a, b) })
	h := float64(len(xs)-1) * p / 100
	lo := int(h)
	frac := h - float64(lo)
	a, b := xs[lo], xs[min(lo+1, len(xs)-1)]
	switch {
	case frac == 0 || pareto.Compare(d, a, b) == 0:
		return a
	case !finite(a) || !finite(b):
		return b
	}
	return a + frac*(b-a)
}

// Spec implements retune.Specer.
func (p *Percentile) Spec() retune.Spec {
	opts := map[string]any{
		"startup_trials": p.startup, "warmup_steps": p.warmup,
		"interval_steps": p.interval, "min_trials": p.minTrials,
	}
	if p.name == "percentile" {
		opts["percentile"] = p.p
	}
	return retune.Spec{Name: p.name, Options: opts}
}
