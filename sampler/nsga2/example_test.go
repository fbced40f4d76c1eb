package nsga2_test

import (
	"context"
	"fmt"
	"log"
	"math"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/nsga2"
)

// Two conflicting objectives: the Pareto front is y = 0, where the first objective trades
// off against the second along x.
func Example() {
	ctx := context.Background()
	study, err := retune.NewStudy(ctx, retune.Config{
		Directions: []retune.Direction{retune.Minimize, retune.Minimize},
		Sampler:    nsga2.New(nsga2.Options{PopulationSize: 20}),
		Seed:       1,
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := study.OptimizeMulti(ctx, func(ctx context.Context, t *retune.Trial) ([]float64, error) {
		x := t.Float("x", 0, 1)
		y := t.Float("y", 0, 1)
		return []float64{x, (1 + 9*y) * (1 - math.Sqrt(x/(1+9*y)))}, nil
	}, retune.OptimizeOptions{Trials: 300})
	if err != nil {
		log.Fatal(err)
	}
	worstY := 0.0
	for _, t := range res.Best {
		worstY = max(worstY, t.Params["y"].(float64))
	}
	fmt.Printf("Pareto front: more than 20 trials: %v, all with y < 0.1: %v\n", len(res.Best) > 20, worstY < 0.1)
	// Output: Pareto front: more than 20 trials: true, all with y < 0.1: true
}
