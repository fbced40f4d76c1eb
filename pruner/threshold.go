package pruner

import (
	"context"
	"math"

	"github.com/a6b40afc/retune"
)

// ThresholdOptions configures NewThreshold. Zero values are the documented defaults.
type ThresholdOptions struct {
	// Lower and Upper bound the checked value; nil means no bound (so does -Inf for Lower
	// and +Inf for Upper). With neither, only NaN values are pruned.
	Lower, Upper *float64
	// Objective is the index of the objective whose value is checked. Default 0.
	Objective int
	// WarmupSteps: a trial is never pruned at a step below it. Default 0.
	WarmupSteps int64
	// IntervalSteps: a trial is judged at the first step it reports in each interval
	// [WarmupSteps + k*IntervalSteps, WarmupSteps + (k+1)*IntervalSteps). 0 means 1.
	IntervalSteps int64
}

// Threshold prunes a trial whose value just reported lies outside fixed bounds, or that
// reported NaN for any objective. It needs no other trial. It is immutable and safe for
// concurrent use.
type Threshold struct {
	lower, upper     float64 // ±Inf when unset
	objective        int
	warmup, interval int64
}

// NewThreshold returns a threshold pruner. It panics if an option is out of range.
func NewThreshold(o ThresholdOptions) *Threshold {
	p, err := newThreshold(o)
	must(err)
	return p
}

func newThreshold(o ThresholdOptions) (*Threshold, error) {
	p := &Threshold{lower: math.Inf(-1), upper: math.Inf(1), objective: o.Objective, warmup: o.WarmupSteps, interval: o.IntervalSteps}
	if o.Lower != nil {
		p.lower = *o.Lower
	}
	if o.Upper != nil {
		p.upper = *o.Upper
	}
	switch {
	case math.IsNaN(p.lower) || math.IsNaN(p.upper):
		return nil, invalid("threshold bound is NaN")
	case math.IsInf(p.lower, 1) || math.IsInf(p.upper, -1):
		return nil, invalid("threshold bounds [%v, %v] exclude every value", p.lower, p.upper)
	case p.lower > p.upper:
		return nil, invalid("lower threshold %v above upper threshold %v", p.lower, p.upper)
	case p.objective < 0:
		return nil, invalid("objective index %d: want >= 0", p.objective)
	case p.warmup < 0:
		return nil, invalid("warmup steps %d: want >= 0", p.warmup)
	case p.interval < 0:
		return nil, invalid("interval steps %d: want >= 1 (or 0 for 1)", p.interval)
	case p.interval == 0:
		p.interval = 1
	}
	return p, nil
}

// Prune implements retune.Pruner. It returns an error wrapping retune.ErrInvalid if the
// study has no objective at the configured index.
func (p *Threshold) Prune(_ context.Context, req *retune.PruneRequest) (bool, error) {
	if p.objective >= len(req.Directions) {
		return false, invalid("threshold on objective %d, but the study has %d", p.objective, len(req.Directions))
	}
	t := &req.Trial
	v, ok := valueAt(t, req.Step, len(req.Directions))
	if !ok || !checked(t, req.Step, p.warmup, p.interval) {
		return false, nil
	}
	for _, x := range v {
		if math.IsNaN(x) {
			return true, nil
		}
	}
	x := v[p.objective]
	return x < p.lower || x > p.upper, nil
}

// Spec implements retune.Specer. Unset bounds are left out.
func (p *Threshold) Spec() retune.Spec {
	opts := map[string]any{"objective": p.objective, "warmup_steps": p.warmup, "interval_steps": p.interval}
	if !math.IsInf(p.lower, 0) {
		opts["lower"] = p.lower
	}
	if !math.IsInf(p.upper, 0) {
		opts["upper"] = p.upper
	}
	return retune.Spec{Name: "threshold", Options: opts}
}
