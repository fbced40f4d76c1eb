package retune_test

import (
	"context"
	"fmt"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
	"github.com/a6b40afc/retune/sampler/grid"
)

// A define-by-run objective tuned by random search in memory.
func ExampleStudy_Optimize() {
	ctx := context.Background()
	study, err := retune.NewStudy(ctx, retune.Config{Name: "quadratic", Seed: 1})
	if err != nil {
		panic(err)
	}
	res, err := study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		x := t.Float("x", -10, 10)
		lr := t.Float("lr", 1e-5, 1e-1, retune.Log)
		_ = lr
		return (x - 2) * (x - 2), nil
	}, retune.OptimizeOptions{Trials: 200, Parallel: 4})
	if err != nil {
		panic(err)
	}
	best := res.Best[0]
	fmt.Printf("%d trials, stopped: %v\n", res.Completed, res.Stop)
	fmt.Printf("best x ≈ %.0f, value < 0.1: %v\n", best.Params["x"], best.Value() < 0.1)
	// Output:
	// 200 trials, stopped: trials done
	// best x ≈ 2, value < 0.1: true
}

// Ask and Tell drive trials from your own loop.
func ExampleStudy_Ask() {
	ctx := context.Background()
	study, _ := retune.NewStudy(ctx, retune.Config{Direction: retune.Maximize, Seed: 7})
	for range 20 {
		t, err := study.Ask(ctx)
		if err != nil {
			panic(err)
		}
		depth := t.Int("depth", 1, 8)
		kind := t.Categorical("kind", "gbdt", "linear")
		score := float64(depth)
		if kind == "linear" {
			score /= 2
		}
		if err := study.Tell(ctx, t, score); err != nil {
			panic(err)
		}
	}
	best, _ := study.Best(ctx)
	fmt.Println(best.Params["kind"], best.Value() >= 7)
	// Output: gbdt true
}

// A grid runs every combination once; an observer hears about the improvement.
func ExampleObserver() {
	ctx := context.Background()
	baseline := -5.0
	study, _ := retune.NewStudy(ctx, retune.Config{
		Direction: retune.Maximize,
		Sampler:   grid.New(map[string][]any{"x": {0, 1, 2, 3}, "y": {0, 1, 2, 3}}),
		Baseline:  &baseline,
	})
	study.AddObserver(retune.ObserverFunc(func(ctx context.Context, best retune.FrozenTrial) error {
		fmt.Printf("retraining required: x=%v y=%v beats %v\n", best.Params["x"], best.Params["y"], baseline)
		return nil
	}))
	res, _ := study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		x, y := float64(t.Int("x", 0, 3)), float64(t.Int("y", 0, 3))
		return -(x-3)*(x-3) - (y-3)*(y-3), nil
	}, retune.OptimizeOptions{})
	fmt.Println(res.Completed, res.Stop)
	// Output:
	// retraining required: x=3 y=3 beats -5
	// 16 grid exhausted
}

// An objective that reports every epoch and stops when the pruner says so: ShouldPrune
// tells the pruner's verdict from a failed write. Here a threshold pruner stops any trial
// whose loss goes above 1.
func ExampleTrial_ShouldPrune() {
	ctx := context.Background()
	upper := 1.0
	study, err := retune.NewStudy(ctx, retune.Config{Name: "epochs", Seed: 1,
		Pruner: pruner.NewThreshold(pruner.ThresholdOptions{Upper: &upper})})
	if err != nil {
		panic(err)
	}
	res, err := study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		lr := t.Float("lr", 0, 1)
		loss := 0.5
		for epoch := int64(1); epoch <= 5; epoch++ {
			loss *= 1 + lr - 0.5 // diverges when lr > 0.5
			if err := t.Report(ctx, epoch, loss); t.ShouldPrune() {
				return 0, retune.ErrPruned
			} else if err != nil {
				return 0, err
			}
		}
		return loss, nil
	}, retune.OptimizeOptions{Trials: 20})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Completed+res.Pruned == 20, res.Pruned > 0, res.Failed)
	// Output: true true 0
}
