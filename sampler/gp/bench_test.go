package gp_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/sampler/gp"
)

func hartmann6(_ context.Context, t *retune.Trial) (float64, error) {
	x := make([]float64, 6)
	for i := range x {
		x[i] = t.Float(fmt.Sprintf("x%d", i), 0, 1)
	}
	return problem.Hartmann6(x), nil
}

// template is a history the sampler made itself, grown on demand and shared by the
// benchmarks, so that each measures asks against the history GP really produces.
type template struct {
	mu     sync.Mutex
	study  *retune.Study
	params []map[string]any
	values []float64
}

var tmpl = sync.OnceValues(func() (*template, error) {
	s, err := retune.NewStudy(context.Background(), retune.Config{Seed: 1, Sampler: gp.New(gp.Options{})})
	return &template{study: s}, err
})

func (tp *template) grow(b *testing.B, n int) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	ctx := context.Background()
	for len(tp.params) < n {
		t, err := tp.study.Ask(ctx)
		if err != nil {
			b.Fatal(err)
		}
		v, _ := hartmann6(ctx, t)
		if err := tp.study.Tell(ctx, t, v); err != nil {
			b.Fatal(err)
		}
		tp.params = append(tp.params, t.Params())
		tp.values = append(tp.values, v)
	}
}

// clone returns a new study with the template's first n trials, sampled from then on by a
// fresh GP sampler.
func (tp *template) clone(b *testing.B, n int) *retune.Study {
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	s, err := retune.NewStudy(ctx, retune.Config{Seed: 2, Storage: store})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := s.Enqueue(ctx, tp.params[i]); err != nil {
			b.Fatal(err)
		}
		t, err := s.Ask(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := hartmann6(ctx, t); err != nil {
			b.Fatal(err)
		}
		if err := s.Tell(ctx, t, tp.values[i]); err != nil {
			b.Fatal(err)
		}
	}
	s, err = retune.NewStudy(ctx, retune.Config{Seed: 2, Storage: store, Sampler: gp.New(gp.Options{}), Replace: true})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkAskTell measures one ask + suggesting every param + tell on Hartmann6 at history
// sizes 100, 200 and 500. The timed asks are trials N-W+1..N, W = 5, 10 and 50 (the
// intervals at which hyperparameters are refitted there, so each window holds one refit), of a
// history GP made itself; each window starts from a copy of its first N-W-1 trials and one
// untimed ask, in which the new sampler fits the copied history.
func BenchmarkAskTell(b *testing.B) {
	for _, n := range []int{100, 200, 500} {
		b.Run(fmt.Sprintf("trials=%d", n), func(b *testing.B) {
			tp, err := tmpl()
			if err != nil {
				b.Fatal(err)
			}
			window := n / 20
			if n > 256 {
				window = n / 10
			}
			tp.grow(b, n-window)
			ctx := context.Background()
			var s *retune.Study
			step := func() {
				t, err := s.Ask(ctx)
				if err != nil {
					b.Fatal(err)
				}
				v, _ := hartmann6(ctx, t)
				if err := s.Tell(ctx, t, v); err != nil {
					b.Fatal(err)
				}
			}
			done := window
			b.ReportAllocs()
			for b.Loop() {
				if done == window {
					b.StopTimer()
					s, done = tp.clone(b, n-window-1), 0
					step()
					runtime.GC()
					b.StartTimer()
				}
				step()
				done++
			}
		})
	}
}
