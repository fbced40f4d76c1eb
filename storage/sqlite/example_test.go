package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/storage/sqlite"
)

// A study kept in a SQLite file is resumed by name after the store is closed and opened
// again, by this process or another one.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "retune-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	path := filepath.Join(dir, "retune.db")
	objective := func(_ context.Context, t *retune.Trial) (float64, error) {
		x := t.Float("x", -1, 1)
		return x * x, nil
	}

	for run := 1; run <= 2; run++ {
		store, err := sqlite.Open(ctx, path)
		if err != nil {
			log.Fatal(err)
		}
		study, err := retune.NewStudy(ctx, retune.Config{Name: "quadratic", Storage: store, Seed: 1})
		if err != nil {
			log.Fatal(err)
		}
		res, err := study.Optimize(ctx, objective, retune.OptimizeOptions{Trials: 10})
		if err != nil {
			log.Fatal(err)
		}
		trials, err := study.Trials(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("run %d: completed %d, stored %d trials\n", run, res.Completed, len(trials))
		if err := store.Close(); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// run 1: completed 10, stored 10 trials
	// run 2: completed 10, stored 20 trials
}
