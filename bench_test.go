package retune_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/grid"
	"github.com/a6b40afc/retune/sampler/random"
)

// askTell runs one ask + five float suggests + tell: the per-trial cost of the loop.
func askTell(b *testing.B, s *retune.Study) {
	ctx := context.Background()
	tr, err := s.Ask(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for i := range 5 {
		x := tr.Float(paramNames[i], -5, 5)
		sum += x * x
	}
	if err := s.Tell(ctx, tr, sum); err != nil {
		b.Fatal(err)
	}
}

var paramNames = []string{"x0", "x1", "x2", "x3", "x4"}

// BenchmarkAskTell measures one ask+suggest+tell in memory after a history of n trials.
func BenchmarkAskTell(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("sampler=random/trials=%d", n), func(b *testing.B) {
			s, err := retune.NewStudy(context.Background(), retune.Config{Seed: 1, Sampler: random.New()})
			if err != nil {
				b.Fatal(err)
			}
			for range n {
				askTell(b, s)
			}
			b.ReportAllocs()
			for b.Loop() {
				askTell(b, s)
			}
		})
		b.Run(fmt.Sprintf("sampler=grid/trials=%d", n), func(b *testing.B) {
			// 5 params × 10 values: 100,000 points, enough for the history and the loop.
			values := map[string][]any{}
			for _, name := range paramNames {
				for v := range 10 {
					values[name] = append(values[name], float64(v)-4.5)
				}
			}
			s, err := retune.NewStudy(context.Background(), retune.Config{Seed: 1, Sampler: grid.New(values)})
			if err != nil {
				b.Fatal(err)
			}
			for range n {
				askTell(b, s)
			}
			b.ReportAllocs()
			for b.Loop() {
				askTell(b, s)
			}
		})
	}
}

// BenchmarkOptimizeWorkers measures Optimize on the memory storage with 1 and 8 workers:
// each op runs 2,000 trials (random sampler, five floats) in a fresh study; it reports
// trials per second (the storage suite of retune-bench measures the same loop).
func BenchmarkOptimizeWorkers(b *testing.B) {
	const n = 2000
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			ctx := context.Background()
			var total time.Duration
			for b.Loop() {
				s, err := retune.NewStudy(ctx, retune.Config{Seed: 1, Sampler: random.New()})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				_, err = s.Optimize(ctx, func(_ context.Context, t *retune.Trial) (float64, error) {
					var sum float64
					for i := range 5 {
						x := t.Float(paramNames[i], -5, 5)
						sum += x * x
					}
					return sum, nil
				}, retune.OptimizeOptions{Trials: n, Parallel: workers})
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "trials/s")
		})
	}
}
