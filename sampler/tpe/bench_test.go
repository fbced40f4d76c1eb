package tpe_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/internal/samplertest"
	"github.com/a6b40afc/retune/sampler/tpe"
)

// sphere5 is space A of the benchmark protocol: five floats in [-5, 5].
func sphere5(_ context.Context, t *retune.Trial) (float64, error) {
	x := make([]float64, 5)
	for i := range x {
		x[i] = t.Float(fmt.Sprintf("x%d", i), -5, 5)
	}
	return problem.Sphere(x), nil
}

// mixedB is space B: a float, a log float, an int, a log int and a categorical.
func mixedB(_ context.Context, t *retune.Trial) (float64, error) {
	x := t.Float("x", -5, 5)
	lr := t.Float("lr", 1e-5, 1e-1, retune.Log)
	depth := t.Int("depth", 1, 10)
	n := t.Int("n", 1, 1000, retune.Log)
	kind := t.Categorical("kind", "a", "b", "c", "d")
	return problem.MixedB(x, lr, depth, n, kind), nil
}

// templates are histories TPE made itself, one a space and mode, shared by the benchmarks.
var (
	templatesMu sync.Mutex
	templates   = map[string]*samplertest.Template{}
)

func getTemplate(b *testing.B, key string, obj retune.Objective, o tpe.Options) *samplertest.Template {
	templatesMu.Lock()
	defer templatesMu.Unlock()
	tp := templates[key]
	if tp == nil {
		s, err := retune.NewStudy(context.Background(), retune.Config{Seed: 1, Sampler: tpe.New(o)})
		if err != nil {
			b.Fatal(err)
		}
		tp = samplertest.NewTemplate(s, obj)
		templates[key] = tp
	}
	return tp
}

// BenchmarkAskTell measures one ask + suggesting every param + tell through the library, in
// memory, at history sizes 100, 1,000, 2,000 and 10,000. As in the protocol's "last100"
// figure, the timed asks are trials N-W+1..N (W = 10 at N = 100, else 100) of a history
// TPE made itself: each window starts from a copy of its first N-W-1 trials and one
// untimed ask, in which the new sampler builds its cache of the copied history.
func BenchmarkAskTell(b *testing.B) {
	spaces := []struct {
		name string
		obj  retune.Objective
	}{{"space=A", sphere5}, {"space=B", mixedB}}
	modes := []struct {
		name string
		o    tpe.Options
	}{{"independent", tpe.Options{}}, {"multivariate", tpe.Options{Multivariate: true}}}
	for _, sp := range spaces {
		for _, md := range modes {
			for _, n := range []int{100, 1000, 2000, 10000} {
				b.Run(fmt.Sprintf("%s/%s/trials=%d", sp.name, md.name, n), func(b *testing.B) {
					benchAskTell(b, sp.name+"/"+md.name, sp.obj, md.o, n)
				})
			}
		}
	}
}

func benchAskTell(b *testing.B, key string, obj retune.Objective, o tpe.Options, n int) {
	window := 100
	if n <= 100 {
		window = 10
	}
	tp := getTemplate(b, key, obj, o)
	tp.Grow(b, n-window)
	samplertest.BenchAskTell(b, obj, window, 1, func() *retune.Study {
		return tp.Clone(b, n-window-1, tpe.New(o))
	})
}
