package bench

import (
	"context"
	"math"
	"testing"
)

// Without a pruner the harness consumes every step, and the best noise-free final values
// match what optuna_ref.py --mode pruning --pruner none reports for seeds 0 and 1.
func TestPruningNoneMatchesReference(t *testing.T) {
	t.Parallel()
	res, err := Pruning(context.Background(), "none", "public", 100, 2, 50)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.7879776995110179, 0.8827806707298962}
	for i, r := range res.Runs {
		if r.Steps != 5000 || r.Pruned != 0 || math.Abs(r.BestFinal-want[i]) > 1e-9 {
			t.Errorf("seed %d: %+v, want 5000 steps, none pruned, best final %v", i, r, want[i])
		}
	}
}

func TestEfficiencyRandom(t *testing.T) {
	t.Parallel()
	res, err := Efficiency(context.Background(), "branin", "random", 100, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"50", "100"} {
		if len(res.Regret[k]) != 3 {
			t.Fatalf("regret[%s] = %v, want 3 seeds", k, res.Regret[k])
		}
		for i, r := range res.Regret[k] {
			if r < -1e-6 || r > 50 {
				t.Errorf("regret[%s][%d] = %v, want a small non-negative regret", k, i, r)
			}
		}
	}
	for i := range res.Regret["100"] {
		if res.Regret["100"][i] > res.Regret["50"][i] {
			t.Errorf("seed %d: best-so-far regret grew from %v to %v", i, res.Regret["50"][i], res.Regret["100"][i])
		}
	}
}
