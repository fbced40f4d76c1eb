package grid_test

import (
	"context"
	"fmt"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/grid"
)

func Example() {
	ctx := context.Background()
	g := grid.New(map[string][]any{"depth": {2, 4, 8}, "loss": {"l1", "l2"}})
	study, _ := retune.NewStudy(ctx, retune.Config{Sampler: g})
	res, _ := study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		depth := t.Int("depth", 1, 8)
		loss := t.Categorical("loss", "l1", "l2")
		v := float64(depth)
		if loss == "l2" {
			v -= 10
		}
		return v, nil
	}, retune.OptimizeOptions{Parallel: 3})
	fmt.Println(g.Size(), res.Completed, res.Stop, res.Best[0].Params["depth"], res.Best[0].Params["loss"])
	// Output: 6 6 grid exhausted 2 l2
}
