package cmaes_test

import (
	"context"
	"fmt"
	"log"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/cmaes"
)

func Example() {
	ctx := context.Background()
	study, err := retune.NewStudy(ctx, retune.Config{Seed: 1, Sampler: cmaes.New(cmaes.SamplerOptions{})})
	if err != nil {
		log.Fatal(err)
	}
	res, err := study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		x := t.Float("x", -10, 10)
		lr := t.Float("lr", 1e-5, 1, retune.Log)
		depth := t.Int("depth", 1, 20)
		d := float64(depth - 7)
		return (x-2)*(x-2) + (lr-0.01)*(lr-0.01)*1e4 + d*d, nil
	}, retune.OptimizeOptions{Trials: 200})
	if err != nil {
		log.Fatal(err)
	}
	best := res.Best[0]
	fmt.Printf("x ≈ %.0f, depth = %d\n", best.Params["x"], best.Params["depth"])
	// Output: x ≈ 2, depth = 7
}

// The optimizer on its own: ask a generation, evaluate it, tell it.
func ExampleOptimizer() {
	o := cmaes.NewOptimizer([]float64{3, 3}, 1, cmaes.Options{Seed: 1})
	for range 100 {
		sols := make([]cmaes.Solution, o.PopSize())
		for i := range sols {
			x := o.Ask()
			sols[i] = cmaes.Solution{X: x, Value: (x[0]-1)*(x[0]-1) + 10*(x[1]+2)*(x[1]+2)}
		}
		if err := o.Tell(sols); err != nil {
			log.Fatal(err)
		}
	}
	m := o.Mean()
	fmt.Printf("mean ≈ (%.3f, %.3f)\n", m[0], m[1])
	// Output: mean ≈ (1.000, -2.000)
}
