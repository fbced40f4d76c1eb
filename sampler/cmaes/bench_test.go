package cmaes_test

import (
	"fmt"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/samplertest"
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
	const window = 100
	samplertest.BenchAskTell(b, rosen5, window, n, func() *retune.Study {
		return samplertest.NewStudy(b, retune.Config{Seed: 1, Sampler: cmaes.New(o)})
	})
}
