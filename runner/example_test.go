package runner_test

import (
	"context"
	"fmt"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/runner"
	"github.com/a6b40afc/retune/storage/memory"
)

// A trial as a process: the command gets its params in argv ({lr}) and prints metric
// lines; step lines are intermediate values, and the last value of the objective metric is
// the trial's result.
func ExampleCommand_Run() {
	ctx := context.Background()
	study, err := retune.NewStudy(ctx, retune.Config{Name: "sh", Metrics: []string{"loss"}, Storage: memory.New(), Seed: 1})
	if err != nil {
		panic(err)
	}
	cmd := &runner.Command{
		Args:       []string{"/bin/sh", "-c", `echo "step=1 loss=0.9"; echo "step=2 loss=0.5"; echo "training done"; echo "loss=$0 accuracy=0.8"`, "{lr}"},
		Objectives: []string{"loss"},
		Study:      "sh",
	}
	res, err := study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		lr := t.Float("lr", 0.25, 0.25)
		v, err := cmd.Run(ctx, t, map[string]any{"lr": lr})
		if err != nil {
			return 0, err
		}
		return v[0], nil
	}, retune.OptimizeOptions{Trials: 1})
	if err != nil {
		panic(err)
	}
	best := res.Best[0]
	fmt.Println(best.State, best.Values, best.Metrics["accuracy"], len(best.Intermediate))
	// Output: COMPLETE [0.25] 0.8 2
}
