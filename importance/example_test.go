package importance_test

import (
	"context"
	"fmt"
	"math"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/importance"
)

// studyTrials runs 300 random-search trials of an objective where x matters four times as
// much as lr (on its log scale) and the batch size not at all: Var(2x) = 1/3,
// Var(log10(lr)/5) = 1/12.
func studyTrials() []retune.FrozenTrial {
	ctx := context.Background()
	study, err := retune.NewStudy(ctx, retune.Config{Seed: 1})
	if err != nil {
		panic(err)
	}
	_, err = study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		x := t.Float("x", 0, 1)
		lr := t.Float("lr", 1e-5, 1, retune.Log)
		t.Categorical("batch", "32", "64", "128")
		return 2*x + math.Log10(lr)/5, nil
	}, retune.OptimizeOptions{Trials: 300})
	if err != nil {
		panic(err)
	}
	trials, err := study.Trials(ctx)
	if err != nil {
		panic(err)
	}
	return trials
}

func ExampleFANOVA() {
	res, err := importance.FANOVA(context.Background(), studyTrials(), importance.FANOVAOptions{Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d trials used, %d skipped\n", res.Used, res.Skipped)
	for _, p := range res.Params {
		fmt.Printf("%-5s %.1f\n", p.Name, p.Importance)
	}
	// Output:
	// 300 trials used, 0 skipped
	// x     0.8
	// lr    0.2
	// batch 0.0
}

// PED-ANOVA asks what the top 10% of trials need: x more than lr, compared with FANOVA,
// since the divergence grows with the square of how much the top trials concentrate.
func ExamplePEDANOVA() {
	res, err := importance.PEDANOVA(studyTrials(), importance.PEDANOVAOptions{Direction: retune.Minimize})
	if err != nil {
		panic(err)
	}
	for _, p := range res.Params {
		fmt.Printf("%-5s %.1f\n", p.Name, p.Importance)
	}
	// Output:
	// x     0.9
	// lr    0.1
	// batch 0.0
}
