package retune_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/random"
)

// TestConstraintsFront: with several objectives the Pareto front holds only feasible
// trials, and an infeasible trial that dominates them all does not hide them.
func TestConstraintsFront(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStudy(t, retune.Config{Directions: []retune.Direction{retune.Minimize, retune.Minimize}, Sampler: random.New(),
		Constraints: []retune.Constraint{retune.AtMost("latency_ms", 10)}})
	for i, c := range []struct {
		values  [2]float64
		latency float64
	}{{[2]float64{0, 0}, 50}, {[2]float64{1, 2}, 5}, {[2]float64{2, 1}, 9}, {[2]float64{3, 3}, 1}} {
		tr, err := s.Ask(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tr.SetMetric("latency_ms", c.latency)
		if err := s.Tell(ctx, tr, c.values[:]...); err != nil {
			t.Fatalf("trial %d: %v", i, err)
		}
	}
	front, err := s.BestTrials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(front) != 2 || front[0].Number != 1 || front[1].Number != 2 {
		t.Fatalf("front = %v, want trials 1 and 2 (0 dominates them but breaks latency_ms <= 10)", numbers(front))
	}
}

// TestConstraintsNoneFeasible: Best says there is no feasible trial (not "no completed
// trial"), and a NaN from SetConstraints fails the trial with a clear reason.
func TestConstraintsNoneFeasible(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStudy(t, retune.Config{Constraints: []retune.Constraint{retune.AtLeast("acc", 0.9)}})
	tr, _ := s.Ask(ctx)
	tr.SetMetric("acc", 0.5)
	if err := s.Tell(ctx, tr, 1); err != nil {
		t.Fatal(err)
	}
	_, err := s.Best(ctx)
	if !errors.Is(err, retune.ErrNotFound) || !strings.Contains(err.Error(), "no feasible completed trial (constraints: 0.9 <= acc)") {
		t.Fatalf("Best = %v, want ErrNotFound saying no trial is feasible", err)
	}
	tr, _ = s.Ask(ctx)
	tr.SetConstraints(-1, math.NaN())
	if err := s.Tell(ctx, tr, 0); err == nil || !strings.Contains(err.Error(), "constraint value 1 is NaN") {
		t.Fatalf("Tell after SetConstraints(NaN) = %v, want the NaN named", err)
	}
	ts := trials(t, s)
	if ts[1].State != retune.TrialFail {
		t.Fatalf("trial 1 is %v, want FAIL", ts[1].State)
	}
}

func numbers(ts []retune.FrozenTrial) []int {
	out := make([]int, len(ts))
	for i, t := range ts {
		out[i] = t.Number
	}
	return out
}
