package bench

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/a6b40afc/retune/bench/problem"
)

func TestCurvePruning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, fam := range problem.CurveFamilies {
		// Without a pruner every trial runs all steps.
		res, err := CurvePruning(ctx, fam.Name, "random", "none", 20, 2)
		if err != nil {
			t.Fatal(err)
		}
		if res.Mode != "curves" || res.Family != fam.Name || res.Steps != CurveSteps || len(res.Runs) != 2 {
			t.Fatalf("%s: %+v", fam.Name, res)
		}
		for i, r := range res.Runs {
			if r.Steps != 20*CurveSteps || r.Completed != 20 || r.Pruned != 0 || !(r.BestFinal > 0.1 && r.BestFinal < 1) {
				t.Errorf("%s seed %d without pruner: %+v, want 1000 steps, 20 completed, a best final in (0.1, 1)", fam.Name, i, r)
			}
		}
	}
	// The median pruner stops some trials, and every trial is counted once.
	a, err := CurvePruning(ctx, "latebloom", "tpe", "median", 30, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range a.Runs {
		if r.Pruned == 0 || r.Completed+r.Pruned != 30 || r.Steps >= 30*CurveSteps || r.Steps < r.Completed*CurveSteps+r.Pruned {
			t.Errorf("seed %d with the median pruner: %+v, want some of 30 trials pruned and fewer steps", i, r)
		}
	}
	// Runs are reproducible.
	b, _ := CurvePruning(ctx, "latebloom", "tpe", "median", 30, 2)
	if !reflect.DeepEqual(a.Runs, b.Runs) {
		t.Errorf("two runs differ: %+v and %+v", a.Runs, b.Runs)
	}
	// A later first seed runs the same studies as the tail of a run from seed 0, and the
	// extrapolating pruner is reproducible too.
	c, err := CurvePruningFrom(ctx, "latebloom", "tpe", "extrapolate", 30, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := CurvePruning(ctx, "latebloom", "tpe", "extrapolate", 30, 2)
	if c.First != 1 || !reflect.DeepEqual(c.Runs, d.Runs[1:]) {
		t.Errorf("from seed 1: first %d, runs %+v; the second of a run from seed 0: %+v", c.First, c.Runs, d.Runs[1:])
	}
	for _, bad := range [][3]string{{"public", "tpe", "none"}, {"crossing", "nope", "none"}, {"crossing", "tpe", "nope"}} {
		if _, err := CurvePruning(ctx, bad[0], bad[1], bad[2], 5, 1); err == nil {
			t.Errorf("CurvePruning(%v): no error", bad)
		}
	}
}

// With noise, the regret is that of the noise-free value of the trial with the best
// observation. Here trial 0's observation is so low that it stays the best, so the regret
// stays its noise-free value, whatever later trials find.
func TestEfficiencyNoise(t *testing.T) {
	t.Parallel()
	prob := problem.Problem{
		Name:  "shifted",
		Space: []problem.Param{{Name: "x", Kind: "float", Low: 0, High: 1}},
		Eval:  func(p map[string]any) float64 { return 5 + p["x"].(float64) },
		Noise: func(seed, trial int) float64 {
			if trial == 0 {
				return -1000
			}
			return 0
		},
	}
	regret := map[string][]float64{}
	if err := efficiencyRun(context.Background(), prob, "random", 100, 0, regret); err != nil {
		t.Fatal(err)
	}
	r50, r100 := regret["50"][0], regret["100"][0]
	if r50 != r100 || r50 < 5 || r50 > 6 {
		t.Errorf("regret at 50 and 100 trials: %v and %v, want trial 0's noise-free value, in [5, 6], twice", r50, r100)
	}
	res, err := Efficiency(context.Background(), "hartmann6Noisy", "random", 50, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Regret["50"] {
		if r < 0 || r > 3.33 || math.IsNaN(r) {
			t.Errorf("hartmann6Noisy regret %v, want in [0, 3.33]", r)
		}
	}
}
