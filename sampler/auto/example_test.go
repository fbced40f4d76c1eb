package auto_test

import (
	"context"
	"fmt"
	"log"
	"math"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/auto"
)

func Example() {
	ctx := context.Background()
	study, err := retune.NewStudy(ctx, retune.Config{Seed: 1, Sampler: auto.New(auto.Options{GPTrials: 20})})
	if err != nil {
		log.Fatal(err)
	}
	res, err := study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		lr := t.Float("lr", 1e-5, 1, retune.Log)
		layers := t.Int("layers", 1, 8)
		x := math.Log10(lr) + 2.5 // best at lr ≈ 0.0032
		return x*x + 0.1*math.Abs(float64(layers)-3), nil
	}, retune.OptimizeOptions{Trials: 30})
	if err != nil {
		log.Fatal(err)
	}
	trials, err := study.Trials(ctx)
	if err != nil {
		log.Fatal(err)
	}
	used := map[any]int{}
	for _, t := range trials {
		used[t.SystemAttrs["auto.sampler"]]++
	}
	fmt.Printf("trials by sampler: gp %d, gp-trust %d, cmaes %d\n", used["gp"], used["gp-trust"], used["cmaes"])
	fmt.Println(trials[29].SystemAttrs["auto.reason"])
	best := res.Best[0]
	fmt.Printf("lr ≈ %.1g, layers = %d\n", best.Params["lr"], best.Params["layers"])
	// Output:
	// trials by sampler: gp 1, gp-trust 19, cmaes 10
	// 2 numeric params, 29 complete trials: CMA-ES from the best trial
	// lr ≈ 0.003, layers = 3
}
