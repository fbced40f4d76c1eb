package random_test

import (
	"context"
	"fmt"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/random"
)

func Example() {
	ctx := context.Background()
	study, _ := retune.NewStudy(ctx, retune.Config{Sampler: random.New(), Seed: 3})
	res, _ := study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		x := t.Float("x", -1, 1)
		return x * x, nil
	}, retune.OptimizeOptions{Trials: 100})
	fmt.Printf("%.1f\n", res.Best[0].Value())
	// Output: 0.0
}
