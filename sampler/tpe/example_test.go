package tpe_test

import (
	"context"
	"fmt"
	"log"
	"math"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/tpe"
)

func Example() {
	ctx := context.Background()
	study, err := retune.NewStudy(ctx, retune.Config{Seed: 1, Sampler: tpe.New(tpe.Options{})})
	if err != nil {
		log.Fatal(err)
	}
	res, err := study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		x := t.Float("x", -10, 10)
		y := t.Float("y", -10, 10)
		return (x-2)*(x-2) + (y+1)*(y+1), nil
	}, retune.OptimizeOptions{Trials: 100})
	if err != nil {
		log.Fatal(err)
	}
	best := res.Best[0]
	fmt.Printf("x ≈ %.0f, y ≈ %.0f\n", best.Params["x"], best.Params["y"])
	// Output: x ≈ 2, y ≈ -1
}

// Several workers, a joint model of a mixed search space, and the constant liar so that
// workers asking at the same time do not all try the same point.
func Example_parallel() {
	ctx := context.Background()
	sampler := tpe.New(tpe.Options{Multivariate: true, ConstantLiar: true})
	study, err := retune.NewStudy(ctx, retune.Config{Seed: 1, Sampler: sampler})
	if err != nil {
		log.Fatal(err)
	}
	res, err := study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		lr := t.Float("lr", 1e-5, 1e-1, retune.Log)
		depth := t.Int("depth", 1, 10)
		loss := t.Categorical("loss", "log_loss", "exponential")
		v := math.Abs(math.Log10(lr)+3) + math.Abs(float64(depth)-7)/3
		if loss == "exponential" {
			v += 0.5
		}
		return v, nil
	}, retune.OptimizeOptions{Trials: 80, Parallel: 4})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("completed:", res.Completed, "best below 1:", res.Best[0].Value() < 1)
	// Output: completed: 80 best below 1: true
}
