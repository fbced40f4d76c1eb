package gp_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/internal/samplertest"
	"github.com/a6b40afc/retune/sampler/gp"
)

func hartmann6(_ context.Context, t *retune.Trial) (float64, error) {
	x := make([]float64, 6)
	for i := range x {
		x[i] = t.Float(fmt.Sprintf("x%d", i), 0, 1)
	}
	return problem.Hartmann6(x), nil
}

// tmpl is a history GP made itself on Hartmann6, shared by the benchmarks.
var tmpl = sync.OnceValues(func() (*samplertest.Template, error) {
	s, err := retune.NewStudy(context.Background(), retune.Config{Seed: 1, Sampler: gp.New(gp.Options{})})
	return samplertest.NewTemplate(s, hartmann6), err
})

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
			tp.Grow(b, n-window)
			samplertest.BenchAskTell(b, hartmann6, window, 1, func() *retune.Study {
				return tp.Clone(b, n-window-1, gp.New(gp.Options{}))
			})
		})
	}
}
