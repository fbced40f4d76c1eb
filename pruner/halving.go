package pruner

import (
	"context"
	"math"

	"github.com/a6b40afc/retune"
)

// SuccessiveHalvingOptions configures NewSuccessiveHalving. Zero values are the documented
// defaults.
type SuccessiveHalvingOptions struct {
	// MinResource is the step of the first rung (before MinEarlyStoppingRate applies).
	// 0 means 1, unless AutoMinResource.
	MinResource int64
	// AutoMinResource sets MinResource from the first trial to complete (in finish order)
	// that reported a step: max(1, its last step / 100). Until such a trial exists nothing
	// is pruned. It cannot be combined with a MinResource.
	AutoMinResource bool
	// ReductionFactor is η: rungs are η times apart and a rung keeps the top 1/η of the
	// trials that reached it. 0 means 4; otherwise at least 2.
	ReductionFactor int64
	// MinEarlyStoppingRate is s: rung k is at step MinResource * η^(k+s). Default 0.
	MinEarlyStoppingRate int
}

// SuccessiveHalving is asynchronous successive halving (ASHA). Rung k is at step
// MinResource·η^(k+s), s being MinEarlyStoppingRate. A trial is judged at a rung once, at
// its first report of a step at or past the rung's step, together with every other trial
// that has reported such a step, finished (in any state) or running. Each is ranked by its
// rung value: its intermediate value at its latest step at or before the rung's step, or
// at its first step if it reported none by then. The trial continues if fewer than
// max(1, ⌊n/η⌋) of the n ranked trials are strictly better: it is in the top 1/η. A report
// at a step below one already reported judges nothing. Nothing is kept between calls.
// SuccessiveHalving is immutable and safe for concurrent use.
type SuccessiveHalving struct {
	minRes int64 // 0 with auto
	auto   bool
	rf     int64
	rate   int
}

// NewSuccessiveHalving returns an asynchronous successive halving pruner. It panics if an
// option is out of range.
func NewSuccessiveHalving(o SuccessiveHalvingOptions) *SuccessiveHalving {
	p, err := newSuccessiveHalving(o)
	must(err)
	return p
}

func newSuccessiveHalving(o SuccessiveHalvingOptions) (*SuccessiveHalving, error) {
	p := &SuccessiveHalving{minRes: o.MinResource, auto: o.AutoMinResource, rf: o.ReductionFactor, rate: o.MinEarlyStoppingRate}
	switch {
	case p.auto && p.minRes != 0:
		return nil, invalid("min resource %d with auto min resource: set one", p.minRes)
	case p.minRes < 0:
		return nil, invalid("min resource %d: want >= 1 (or 0 for 1)", p.minRes)
	case p.minRes == 0 && !p.auto:
		p.minRes = 1
	}
	switch {
	case p.rf == 0:
		p.rf = 4
	case p.rf < 2:
		return nil, invalid("reduction factor %d: want >= 2 (or 0 for 4)", p.rf)
	}
	if p.rate < 0 {
		return nil, invalid("min early stopping rate %d: want >= 0", p.rate)
	}
	return p, nil
}

// Prune implements retune.Pruner.
func (p *SuccessiveHalving) Prune(_ context.Context, req *retune.PruneRequest) (bool, error) {
	minRes := p.minRes
	if p.auto {
		ft, ok := firstComplete(req)
		if !ok {
			return false, nil
		}
		last, _ := maxStep(ft)
		minRes = max(1, last/100)
	}
	return rungPrune(req, minRes, p.rf, p.rate, nil), nil
}

// Spec implements retune.Specer.
func (p *SuccessiveHalving) Spec() retune.Spec {
	var minRes any = p.minRes
	if p.auto {
		minRes = "auto"
	}
	return retune.Spec{Name: "asha", Options: map[string]any{
		"min_resource": minRes, "reduction_factor": p.rf, "min_early_stopping_rate": p.rate,
	}}
}

// rungPrune judges req.Trial at each rung its report at req.Step reached for the first
// time, rung k being at step minRes * rf^(rate+k). At a rung, the trial and every other
// trial (accepted by peer, if peer is non-nil) that reported a step at or past it are
// ranked by their rung values; the trial is pruned unless fewer than max(1, ⌊n/rf⌋) of
// the n ranked trials are strictly ahead of it.
func rungPrune(req *retune.PruneRequest, minRes, rf int64, rate int, peer func(number int) bool) bool {
	dirs := req.Directions
	m := len(dirs)
	t := &req.Trial
	if _, ok := valueAt(t, req.Step, m); !ok {
		return false
	}
	prev := int64(-1) // the last step reported before this one
	for s := range t.Intermediate {
		if s > req.Step {
			return false // a later step was reported: its rungs were judged then
		}
		if s < req.Step {
			prev = max(prev, s)
		}
	}
	r, ok := rungStep(minRes, rf, rate)
	for ok && r <= req.Step {
		if r > prev {
			self, _ := rungValue(t, r, m)
			var comp [][]float64
			others(req, func(o *retune.FrozenTrial) {
				if peer != nil && !peer(o.Number) {
					return
				}
				if last, ok := maxStep(o); !ok || last < r {
					return
				}
				if v, ok := rungValue(o, r, m); ok {
					comp = append(comp, v)
				}
			})
			keep := max(1, (len(comp)+1)/int(rf))
			if ahead(dirs, self, comp) >= keep {
				return true
			}
		}
		if r > math.MaxInt64/rf {
			break
		}
		r *= rf
	}
	return false
}

// rungStep returns minRes * rf^k, or false if it overflows.
func rungStep(minRes, rf int64, k int) (int64, bool) {
	r := minRes
	for range k {
		if r > math.MaxInt64/rf {
			return 0, false
		}
		r *= rf
	}
	return r, true
}
