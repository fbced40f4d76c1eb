package pruner

import (
	"context"
	"math"

	"github.com/a6b40afc/retune"
)

// HyperbandOptions configures NewHyperband. Zero values are the documented defaults.
type HyperbandOptions struct {
	// MinResource is the step of the first rung of the most aggressive bracket. 0 means 1.
	MinResource int64
	// MaxResource is the step a trial that is never pruned reaches. 0 means the last step of
	// the first trial to complete (in finish order) that reported a step; until such a
	// trial exists nothing is pruned.
	MaxResource int64
	// ReductionFactor is η, as in successive halving. 0 means 3; otherwise at least 2.
	ReductionFactor int64
}

// Hyperband runs several successive halving brackets side by side. With
// B = ⌊log_η(MaxResource/MinResource)⌋ + 1 brackets, bracket e (0 ≤ e < B) is asynchronous
// successive halving with MinEarlyStoppingRate e, and compares only trials of bracket e.
//
// Each trial belongs to one bracket, fixed by its number: bracket e has weight
// W_e = ⌈B·η^(B−1−e) / (B−e)⌉, the number of configurations Hyperband starts in it, and
// trial n goes to the first bracket e with u(n)·ΣW < W_0 + … + W_e, where
// u(n) = ⌊x/2^11⌋ / 2^53 and x is the first output of a SplitMix64 generator seeded with n.
// Bracket 0, the most aggressive, gets the most trials.
//
// Hyperband is immutable and safe for concurrent use.
type Hyperband struct {
	minRes, maxRes, rf int64
}

// NewHyperband returns a Hyperband pruner. It panics if an option is out of range.
func NewHyperband(o HyperbandOptions) *Hyperband {
	p, err := newHyperband(o)
	must(err)
	return p
}

func newHyperband(o HyperbandOptions) (*Hyperband, error) {
	p := &Hyperband{minRes: o.MinResource, maxRes: o.MaxResource, rf: o.ReductionFactor}
	switch {
	case p.minRes == 0:
		p.minRes = 1
	case p.minRes < 0:
		return nil, invalid("min resource %d: want >= 1 (or 0 for 1)", p.minRes)
	}
	switch {
	case p.maxRes < 0:
		return nil, invalid("max resource %d: want >= 1 (or 0 for auto)", p.maxRes)
	case p.maxRes != 0 && p.maxRes < p.minRes:
		return nil, invalid("max resource %d below min resource %d", p.maxRes, p.minRes)
	}
	switch {
	case p.rf == 0:
		p.rf = 3
	case p.rf < 2:
		return nil, invalid("reduction factor %d: want >= 2 (or 0 for 3)", p.rf)
	}
	return p, nil
}

// Prune implements retune.Pruner.
func (p *Hyperband) Prune(_ context.Context, req *retune.PruneRequest) (bool, error) {
	maxRes := p.maxRes
	if maxRes == 0 {
		ft, ok := firstComplete(req)
		if !ok {
			return false, nil
		}
		maxRes, _ = maxStep(ft)
	}
	cum := bracketWeights(p.minRes, maxRes, p.rf)
	b := bracket(cum, req.Seed, req.Trial.Number)
	return rungPrune(req, p.minRes, p.rf, b, func(n int) bool { return bracket(cum, req.Seed, n) == b }), nil
}

// Spec implements retune.Specer.
func (p *Hyperband) Spec() retune.Spec {
	var maxRes any = p.maxRes
	if p.maxRes == 0 {
		maxRes = "auto"
	}
	return retune.Spec{Name: "hyperband", Options: map[string]any{
		"min_resource": p.minRes, "max_resource": maxRes, "reduction_factor": p.rf,
	}}
}

// bracketWeights returns the cumulative bracket weights W_0, W_0+W_1, …, one per bracket.
func bracketWeights(minRes, maxRes, rf int64) []float64 {
	nb := 1
	for r := minRes; r <= maxRes/rf; r *= rf {
		nb++
	}
	cum := make([]float64, nb)
	total := 0.0
	for e := range nb {
		s := nb - 1 - e
		total += math.Ceil(float64(nb) * math.Pow(float64(rf), float64(s)) / float64(s+1))
		cum[e] = total
	}
	return cum
}

// bracket returns trial n's bracket for the cumulative weights cum: a hash of the study
// seed and the trial number, so each study splits its trials afresh and every process
// agrees on the split.
func bracket(cum []float64, seed uint64, n int) int {
	h := uint64(n)
	if seed != 0 {
		h ^= splitMix64(seed)
	}
	u := float64(splitMix64(h)>>11) / (1 << 53)
	x := u * cum[len(cum)-1]
	for e, c := range cum {
		if x < c {
			return e
		}
	}
	return len(cum) - 1
}

// splitMix64 is the first output of a SplitMix64 generator seeded with x.
func splitMix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
