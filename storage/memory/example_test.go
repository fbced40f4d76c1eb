package memory_test

import (
	"context"
	"fmt"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/storage/memory"
)

// Two handles on one memory storage share the study and its budget.
func Example() {
	ctx := context.Background()
	store := memory.New()
	cfg := retune.Config{Name: "shared", Storage: store, Budget: retune.Budget{Trials: 10}}
	a, _ := retune.NewStudy(ctx, cfg)
	b, _ := retune.NewStudy(ctx, cfg)
	obj := func(ctx context.Context, t *retune.Trial) (float64, error) { return t.Float("x", 0, 1), nil }
	ra, _ := a.Optimize(ctx, obj, retune.OptimizeOptions{Trials: 6})
	rb, _ := b.Optimize(ctx, obj, retune.OptimizeOptions{Trials: 6})
	fmt.Println(ra.Started, rb.Started, rb.Stop)
	// Output: 6 4 budget exhausted
}
