// Quickstart tunes a small model-like function and keeps the study in retune.db (SQLite),
// so running it again resumes the same study with 30 more trials.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/signal"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/random"
	"github.com/a6b40afc/retune/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// validationLoss stands in for training a model: a smooth bowl in the learning rate and
// depth, a penalty for one activation, and a little deterministic wiggle.
func validationLoss(lr float64, depth int64, activation string) float64 {
	l := math.Log10(lr) + 2.5
	d := float64(depth-6) / 3
	loss := 0.2 + l*l/4 + d*d/2
	if activation == "sigmoid" {
		loss += 0.15
	}
	return loss + 0.01*math.Sin(13*lr+float64(depth))
}

func run(ctx context.Context) error {
	store, err := storage.Open(ctx, storage.DefaultDSN)
	if err != nil {
		return err
	}
	defer store.Close()
	baseline := 0.35 // the model in production
	study, err := retune.NewStudy(ctx, retune.Config{
		Name:     "quickstart",
		Storage:  store,
		Sampler:  random.New(),
		Seed:     1,
		Baseline: &baseline,
	})
	if err != nil {
		return err
	}
	study.AddObserver(retune.ObserverFunc(func(ctx context.Context, best retune.FrozenTrial) error {
		fmt.Printf("retraining required: trial %d (loss %.4f) beats production (%.2f)\n", best.Number, best.Value(), baseline)
		return nil
	}))
	res, err := study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		lr := t.Float("lr", 1e-5, 1e-1, retune.Log)
		depth := t.Int("depth", 1, 12)
		act := t.Categorical("activation", "relu", "gelu", "sigmoid")
		return validationLoss(lr, depth, act), nil
	}, retune.OptimizeOptions{Trials: 30, Parallel: 4})
	if err != nil {
		return err
	}
	all, err := study.Trials(ctx)
	if err != nil {
		return err
	}
	best := res.Best[0]
	fmt.Printf("ran %d trials (%d in the study, stored in %s); stopped: %v\n", res.Started, len(all), storage.DefaultDSN, res.Stop)
	fmt.Printf("best: trial %d, loss %.4f, lr %.2g, depth %d, activation %s\n",
		best.Number, best.Value(), best.Params["lr"], best.Params["depth"], best.Params["activation"])
	return nil
}
