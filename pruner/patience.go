package pruner

import (
	"context"
	"math"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pareto"
)

// PatienceOptions configures NewPatience. Zero values are the documented defaults.
type PatienceOptions struct {
	// Wrapped is consulted only for a stagnant trial, and decides for it. Nil means
	// stagnation alone prunes.
	Wrapped retune.Pruner
	// Patience is how many consecutive reports may fail to improve on the best value
	// reported before them. 0 means 1.
	Patience int
	// MinDelta is how much better than the earlier best a value must be to count as an
	// improvement. Default 0: any strict improvement.
	MinDelta float64
}

// Patience prunes only stagnant trials: a trial is stagnant when it has reported more than
// Patience steps and none of its last Patience reports (up to the step being judged)
// improves on the best of its earlier reports by more than MinDelta. With several
// objectives, an improvement in any objective counts. A stagnant trial is pruned if the
// wrapped pruner says so, or always when there is none. Patience is safe for concurrent
// use if the wrapped pruner is.
type Patience struct {
	wrapped  retune.Pruner
	patience int
	minDelta float64
}

// NewPatience returns a patience pruner. It panics if an option is out of range.
func NewPatience(o PatienceOptions) *Patience {
	p, err := newPatience(o)
	must(err)
	return p
}

func newPatience(o PatienceOptions) (*Patience, error) {
	p := &Patience{wrapped: o.Wrapped, patience: o.Patience, minDelta: o.MinDelta}
	switch {
	case p.patience == 0:
		p.patience = 1
	case p.patience < 0:
		return nil, invalid("patience %d: want >= 1 (or 0 for 1)", p.patience)
	}
	if !(p.minDelta >= 0) || math.IsInf(p.minDelta, 1) {
		return nil, invalid("min delta %v: want a finite value >= 0", o.MinDelta)
	}
	return p, nil
}

// Prune implements retune.Pruner. Errors are the wrapped pruner's.
func (p *Patience) Prune(ctx context.Context, req *retune.PruneRequest) (bool, error) {
	if !p.stagnant(req) {
		return false, nil
	}
	if p.wrapped == nil {
		return true, nil
	}
	return p.wrapped.Prune(ctx, req)
}

func (p *Patience) stagnant(req *retune.PruneRequest) bool {
	t := &req.Trial
	m := len(req.Directions)
	if _, ok := valueAt(t, req.Step, m); !ok {
		return false
	}
	var steps []int64
	for _, s := range sortedSteps(t, req.Step) {
		if len(t.Intermediate[s]) == m {
			steps = append(steps, s)
		}
	}
	if len(steps) <= p.patience {
		return false
	}
	split := len(steps) - p.patience
	for i, d := range req.Directions {
		before, recent := math.NaN(), math.NaN()
		for k, s := range steps {
			if k < split {
				before = betterOf(d, before, t.Intermediate[s][i])
			} else {
				recent = betterOf(d, recent, t.Intermediate[s][i])
			}
		}
		bar := before - p.minDelta
		if d == retune.Maximize {
			bar = before + p.minDelta
		}
		if pareto.Compare(d, recent, bar) < 0 {
			return false
		}
	}
	return true
}

// Spec implements retune.Specer. The wrapped pruner is described by retune.SpecOf.
func (p *Patience) Spec() retune.Spec {
	opts := map[string]any{"patience": p.patience, "min_delta": p.minDelta}
	if p.wrapped != nil {
		opts["wrapped"] = retune.SpecOf(p.wrapped)
	}
	return retune.Spec{Name: "patience", Options: opts}
}
