package pruner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
)

// A study whose trials report a learning curve at every step; successive halving stops
// the slow learners at steps 1, 4 and 16.
func Example() {
	ctx := context.Background()
	study, _ := retune.NewStudy(ctx, retune.Config{
		Pruner: pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{}),
		Seed:   7,
	})
	steps := 0
	res, _ := study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		rate := t.Float("rate", 0.01, 1, retune.Log)
		loss := 1.0
		for step := int64(1); step <= 30; step++ {
			loss = math.Exp(-rate * float64(step))
			steps++
			if err := t.Report(ctx, step, loss); err != nil {
				return loss, err // wraps retune.ErrPruned
			}
		}
		return loss, nil
	}, retune.OptimizeOptions{Trials: 20})
	fmt.Printf("completed %d, pruned %d, %d of %d steps\n", res.Completed, res.Pruned, steps, 20*30)
	// Output: completed 4, pruned 16, 136 of 600 steps
}

func ExampleNewMedian() {
	p := pruner.NewMedian(pruner.MedianOptions{StartupTrials: 3})
	req := &retune.PruneRequest{
		Directions: []retune.Direction{retune.Minimize},
		Step:       2,
		// The trial's best so far is 0.6; the completed trials have 0.4, 0.5 and 0.9 at
		// step 2, so the median is 0.5.
		Trial: retune.FrozenTrial{Number: 3, Intermediate: map[int64][]float64{1: {0.8}, 2: {0.6}}},
		Trials: []retune.FrozenTrial{
			{Number: 0, State: retune.TrialComplete, Intermediate: map[int64][]float64{2: {0.4}}},
			{Number: 1, State: retune.TrialComplete, Intermediate: map[int64][]float64{2: {0.5}}},
			{Number: 2, State: retune.TrialComplete, Intermediate: map[int64][]float64{2: {0.9}}},
		},
	}
	prune, _ := p.Prune(context.Background(), req)
	fmt.Println(prune)
	// Output: true
}

// With two objectives, the trials at a rung are ranked by non-dominated sorting and then
// by crowding distance. Here four trials share rung 1 and η = 2 keeps two: a trial
// dominated by another is pruned, and so is one inside the front when the front's two
// extremes take both places; a trial that extends the front is kept.
func ExampleSuccessiveHalving_severalObjectives() {
	p := pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{ReductionFactor: 2})
	rung1 := func(n int, loss, latency float64) retune.FrozenTrial {
		return retune.FrozenTrial{Number: n, State: retune.TrialComplete, Intermediate: map[int64][]float64{1: {loss, latency}}}
	}
	for _, v := range [][2]float64{{0.8, 0.8}, {0.5, 0.5}, {0.05, 0.95}} {
		req := &retune.PruneRequest{
			Directions: []retune.Direction{retune.Minimize, retune.Minimize},
			Step:       1,
			Trial:      retune.FrozenTrial{Number: 9, Intermediate: map[int64][]float64{1: v[:]}},
			// Four trials at rung 1 with the judged one: η = 2 keeps two.
			Trials: []retune.FrozenTrial{rung1(0, 0.1, 1.0), rung1(1, 0.9, 0.1), rung1(2, 0.7, 0.7)},
		}
		prune, _ := p.Prune(context.Background(), req)
		fmt.Println(v, "pruned:", prune)
	}
	// Output:
	// [0.8 0.8] pruned: true
	// [0.5 0.5] pruned: true
	// [0.05 0.95] pruned: false
}

func ExampleFromSpec() {
	p, _ := pruner.FromSpec(retune.Spec{Name: "hyperband", Options: map[string]any{"max_resource": 81}})
	b, _ := json.Marshal(retune.SpecOf(p))
	fmt.Println(string(b))
	// Output: {"name":"hyperband","options":{"max_resource":81,"min_resource":1,"reduction_factor":3}}
}
