package samplertest

import (
	"context"
	"testing"

	"github.com/a6b40afc/retune"
)

// ConstrainedRun runs n trials of a study with the sampler newSampler builds (seed 1) on
// a problem whose unconstrained optimum is infeasible: minimize x² + y² over [-1, 1]²
// subject to x >= 0.5 (reported as the metric "x"; the feasible optimum is 0.25 at
// (0.5, 0)). With constrained the study knows the constraint. It returns the share of
// feasible trials among the last half and the best feasible value.
func ConstrainedRun(tb testing.TB, newSampler func() retune.Sampler, n int, constrained bool, dirs ...retune.Direction) (feasibleShare, best float64) {
	tb.Helper()
	ctx := context.Background()
	cfg := retune.Config{Sampler: newSampler(), Seed: 1, Directions: dirs}
	if constrained {
		cfg.Constraints = []retune.Constraint{retune.AtLeast("x", 0.5)}
	}
	s := NewStudy(tb, cfg)
	best, feasible := 1e9, 0
	for i := range n {
		t, err := s.Ask(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		x, y := t.Float("x", -1, 1), t.Float("y", -1, 1)
		t.SetMetric("x", x)
		v := x*x + y*y
		values := []float64{v}
		if len(dirs) == 2 { // a second objective: distance from (1, 0)
			values = append(values, (x-1)*(x-1)+y*y)
		}
		if err := s.Tell(ctx, t, values...); err != nil {
			tb.Fatal(err)
		}
		if x >= 0.5 {
			best = min(best, v)
			if i >= n/2 {
				feasible++
			}
		}
	}
	return float64(feasible) / float64(n-n/2), best
}

// CheckConstraintsUsed fails tb unless the sampler, told the constraint, proposes more
// feasible trials in the second half of n trials than it does without it, and (with one
// objective) finds a feasible value at least as good.
func CheckConstraintsUsed(tb testing.TB, newSampler func() retune.Sampler, n int, dirs ...retune.Direction) {
	tb.Helper()
	with, bestWith := ConstrainedRun(tb, newSampler, n, true, dirs...)
	without, bestWithout := ConstrainedRun(tb, newSampler, n, false, dirs...)
	if with <= without || (len(dirs) <= 1 && bestWith > bestWithout) {
		tb.Errorf("last %d trials: feasible share %.2f and best feasible %.4f with the constraint, %.2f and %.4f without; want more feasible trials and a best at least as good with it",
			n-n/2, with, bestWith, without, bestWithout)
	}
	tb.Logf("feasible share %.2f, best feasible %.4f with the constraint; %.2f, %.4f without", with, bestWith, without, bestWithout)
}
