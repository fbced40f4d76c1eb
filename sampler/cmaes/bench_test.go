package cmaes_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/cmaes"
)

// BenchmarkAskTell measures one ask + suggesting every param + tell through the library,
// in memory, at history sizes 100 and 1,000 on Rosenbrock5: the timed trials follow a
// history of n trials made by the sampler itself, and include the tell of a generation
// every PopSize trials.
func BenchmarkAskTell(b *testing.B) {
	for _, o := range []struct {
		name string
		o    cmaes.SamplerOptions
	}{{"full", cmaes.SamplerOptions{}}, {"separable", cmaes.SamplerOptions{Separable: true}}} {
		for _, n := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/trials=%d", o.name, n), func(b *testing.B) {
				benchAskTell(b, o.o, n)
			})
		}
	}
}

func benchAskTell(b *testing.B, o cmaes.SamplerOptions, n int) {
	ctx := context.Background()
	const window = 100
	var s *retune.Study
	step := func() {
		t, err := s.Ask(ctx)
		if err != nil {
			b.Fatal(err)
		}
		v, _ := rosen5(ctx, t)
		if err := s.Tell(ctx, t, v); err != nil {
			b.Fatal(err)
		}
	}
	done := window
	b.ReportAllocs()
	for b.Loop() {
		if done == window {
			b.StopTimer()
			s = newStudy(b, retune.Config{Seed: 1, Sampler: cmaes.New(o)})
			for range n {
				step()
			}
			done = 0
			runtime.GC()
			b.StartTimer()
		}
		step()
		done++
	}
}
