package postgres_test

import (
	"context"
	"fmt"
	"log"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/storage/postgres"
)

// A study on PostgreSQL: any number of processes running this share the study, its
// budget and its best trial. (Not run by go test: it needs a server.)
func Example() {
	ctx := context.Background()
	store, err := postgres.Open(ctx, "postgres://retune@db.example:5432/retune?sslmode=verify-full")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	study, err := retune.NewStudy(ctx, retune.Config{Name: "quadratic", Storage: store, Budget: retune.Budget{Trials: 100}})
	if err != nil {
		log.Fatal(err)
	}
	res, err := study.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		x := t.Float("x", -5, 5)
		return x * x, nil
	}, retune.OptimizeOptions{Parallel: 4})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Stop, res.Best[0].Value())
}

// Deployments with many workers migrate once, then open the store without migrating.
func ExampleMigrate() {
	ctx := context.Background()
	dsn := "postgres://retune@db.example:5432/retune?sslmode=verify-full"
	if err := postgres.Migrate(ctx, dsn); err != nil {
		log.Fatal(err)
	}
	// On each worker:
	store, err := postgres.OpenOptions(ctx, dsn, postgres.Options{NoMigrate: true})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
}
