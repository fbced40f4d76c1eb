package pruner

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pareto"
)

// WilcoxonOptions configures NewWilcoxon. Zero values are the documented defaults.
type WilcoxonOptions struct {
	// Level is the significance level: a trial is pruned when the test's p-value is below
	// it. 0 means 0.1; otherwise in (0, 1).
	Level float64
	// StartupSteps is how many steps the trial must share with the best trial before it is
	// tested. 0 means 2; a negative value means none.
	StartupSteps int
}

// Wilcoxon compares a trial with the best completed trial step by step. At every step
// both reported, up to the step being judged, it takes the difference of their
// intermediate values, oriented so that positive means the trial is worse, and prunes the
// trial when a one-sided Wilcoxon signed-rank test finds it worse at the configured level.
// A trial that is better on average over those steps (negative mean difference) is never
// pruned.
//
// The test ranks the absolute differences, giving tied ones their mean rank; zero
// differences are ranked and then left out of the statistic (Pratt's method). The p-value
// is exact, from the statistic's distribution over all sign assignments, for up to 50
// differences, and otherwise from the normal approximation with a continuity correction
// of 1/2. A NaN value is worse than any number, so a step where only the trial reported
// NaN counts as an infinitely worse difference.
//
// The best completed trial is the one with the best final value, the first to finish
// among equals. Wilcoxon supports a single objective only. It is immutable and safe for
// concurrent use.
type Wilcoxon struct {
	level   float64
	startup int
}

// NewWilcoxon returns a Wilcoxon pruner. It panics if an option is out of range.
func NewWilcoxon(o WilcoxonOptions) *Wilcoxon {
	p, err := newWilcoxon(o)
	must(err)
	return p
}

func newWilcoxon(o WilcoxonOptions) (*Wilcoxon, error) {
	p := &Wilcoxon{level: o.Level, startup: o.StartupSteps}
	switch {
	case p.level == 0:
		p.level = 0.1
	case !(p.level > 0 && p.level < 1):
		return nil, invalid("level %v: want a value in (0, 1)", o.Level)
	}
	switch {
	case p.startup == 0:
		p.startup = 2
	case p.startup < 0:
		p.startup = 0
	}
	return p, nil
}

// Prune implements retune.Pruner. It returns an error wrapping retune.ErrInvalid for a
// study with several objectives.
func (p *Wilcoxon) Prune(_ context.Context, req *retune.PruneRequest) (bool, error) {
	if len(req.Directions) != 1 {
		return false, invalid("the Wilcoxon pruner needs a single objective; the study has %d", len(req.Directions))
	}
	d := req.Directions[0]
	t := &req.Trial
	if _, ok := valueAt(t, req.Step, 1); !ok {
		return false, nil
	}
	var best *retune.FrozenTrial
	for i := range req.Trials {
		ft := &req.Trials[i]
		if ft.State != retune.TrialComplete || len(ft.Values) != 1 || ft.Number == t.Number {
			continue
		}
		if best == nil || pareto.Compare(d, ft.Values[0], best.Values[0]) < 0 {
			best = ft
		}
	}
	if best == nil {
		return false, nil
	}
	var diffs []float64
	sum := 0.0
	for _, s := range sortedSteps(t, req.Step) {
		a, ok1 := valueAt(t, s, 1)
		b, ok2 := valueAt(best, s, 1)
		if !ok1 || !ok2 {
			continue
		}
		x := worseBy(d, a[0], b[0])
		diffs = append(diffs, x)
		sum += x
	}
	if len(diffs) == 0 || len(diffs) < p.startup || sum < 0 {
		return false, nil
	}
	return signedRankP(diffs) < p.level, nil
}

// Spec implements retune.Specer.
func (p *Wilcoxon) Spec() retune.Spec {
	return retune.Spec{Name: "wilcoxon", Options: map[string]any{"level": p.level, "startup_steps": p.startup}}
}

// worseBy returns how much worse a is than b in direction d (negative when better), ±Inf
// when exactly one of them is NaN.
func worseBy(d retune.Direction, a, b float64) float64 {
	c := pareto.Compare(d, a, b)
	switch {
	case c == 0:
		return 0
	case math.IsNaN(a) || math.IsNaN(b):
		return math.Inf(c)
	case d == retune.Maximize:
		return b - a
	default:
		return a - b
	}
}

// exactLimit is the largest number of differences for which signedRankP is exact.
const exactLimit = 50

// signedRankP returns the one-sided p-value of the Wilcoxon signed-rank test against the
// alternative that the differences tend to be positive: the probability, when each
// nonzero difference's sign is + or - with probability 1/2 independently, that the sum of
// the ranks of the positive differences is at least the observed one. Absolute
// differences are ranked from 1 with tied values given their mean rank; zeros are ranked
// and then left out (Pratt). diffs must not contain NaN.
func signedRankP(diffs []float64) float64 {
	n := len(diffs)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int { return cmp.Compare(math.Abs(diffs[i]), math.Abs(diffs[j])) })
	// Doubled ranks are integers: a tie over positions i..j (1-based) has mean rank (i+j)/2.
	rank2 := make([]int64, n)
	for i := 0; i < n; {
		j := i
		for j+1 < n && math.Abs(diffs[idx[j+1]]) == math.Abs(diffs[idx[i]]) {
			j++
		}
		for k := i; k <= j; k++ {
			rank2[idx[k]] = int64(i + 1 + j + 1)
		}
		i = j + 1
	}
	var ranks []int64 // doubled ranks of the nonzero differences
	var obs, total int64
	for i, x := range diffs {
		if x == 0 {
			continue
		}
		ranks = append(ranks, rank2[i])
		total += rank2[i]
		if x > 0 {
			obs += rank2[i]
		}
	}
	if len(ranks) == 0 {
		return 1
	}
	if n <= exactLimit {
		// dist[s] is the probability that the doubled positive-rank sum is s.
		dist := make([]float64, total+1)
		dist[0] = 1
		reach := int64(0)
		for _, r := range ranks {
			reach += r
			for s := reach; s >= r; s-- {
				dist[s] = 0.5*dist[s] + 0.5*dist[s-r]
			}
			for s := min(r-1, reach); s >= 0; s-- {
				dist[s] *= 0.5
			}
		}
		p := 0.0
		for s := total; s >= obs; s-- {
			p += dist[s]
		}
		return min(p, 1)
	}
	mean := float64(total) / 2
	variance := 0.0
	for _, r := range ranks {
		variance += float64(r) * float64(r) / 4
	}
	// In doubled units a continuity correction of 1/2 is 1.
	z := (float64(obs) - mean - 1) / math.Sqrt(variance)
	return 0.5 * math.Erfc(z/math.Sqrt2)
}
