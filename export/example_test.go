package export_test

import (
	"context"
	"os"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/export"
	"github.com/a6b40afc/retune/storage/memory"
)

// A study's trials as CSV: objectives by metric name, then params, with a stable column
// order (times are left out here so the output does not change).
func ExampleCSV() {
	ctx := context.Background()
	s, err := retune.NewStudy(ctx, retune.Config{Name: "q", Metrics: []string{"loss"}, Storage: memory.New(), Seed: 3})
	if err != nil {
		panic(err)
	}
	for _, x := range []float64{0.25, 0.5} {
		if err := s.Enqueue(ctx, map[string]any{"x": x, "opt": "adam"}); err != nil {
			panic(err)
		}
	}
	_, err = s.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		x := t.Float("x", 0, 1)
		retune.Choice(t, "opt", "adam", "sgd")
		return x * x, nil
	}, retune.OptimizeOptions{Trials: 2})
	if err != nil {
		panic(err)
	}
	ts, _ := s.Trials(ctx)
	for i := range ts {
		ts[i].Start, ts[i].End = time.Time{}, time.Time{}
	}
	if err := export.CSV(os.Stdout, s.Record(), ts); err != nil {
		panic(err)
	}
	// Output:
	// number,kind,state,loss,param_opt,param_x,reason,retry_of,start,end,duration_s
	// 0,search,COMPLETE,0.0625,adam,0.25,,,,,
	// 1,search,COMPLETE,0.25,adam,0.5,,,,,
}
