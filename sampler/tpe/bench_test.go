package tpe_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
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

// template is a history made by the sampler itself, grown on demand and shared by the
// benchmarks, so that each measures asks against the history TPE really produces.
type template struct {
	mu     sync.Mutex
	study  *retune.Study
	obj    retune.Objective
	params []map[string]any
	values []float64
}

var (
	templatesMu sync.Mutex
	templates   = map[string]*template{}
)

func getTemplate(b *testing.B, key string, obj retune.Objective, o tpe.Options) *template {
	templatesMu.Lock()
	defer templatesMu.Unlock()
	tp := templates[key]
	if tp == nil {
		s, err := retune.NewStudy(context.Background(), retune.Config{Seed: 1, Sampler: tpe.New(o)})
		if err != nil {
			b.Fatal(err)
		}
		tp = &template{study: s, obj: obj}
		templates[key] = tp
	}
	return tp
}

// grow extends the template to n trials.
func (tp *template) grow(b *testing.B, n int) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	ctx := context.Background()
	for len(tp.params) < n {
		t, err := tp.study.Ask(ctx)
		if err != nil {
			b.Fatal(err)
		}
		v, _ := tp.obj(ctx, t)
		if err := tp.study.Tell(ctx, t, v); err != nil {
			b.Fatal(err)
		}
		tp.params = append(tp.params, t.Params())
		tp.values = append(tp.values, v)
	}
}

// clone returns a new study with the template's first n trials (enqueued and told again),
// sampled from then on by a fresh sampler with options o.
func (tp *template) clone(b *testing.B, n int, o tpe.Options) *retune.Study {
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
		if _, err := tp.obj(ctx, t); err != nil {
			b.Fatal(err)
		}
		if err := s.Tell(ctx, t, tp.values[i]); err != nil {
			b.Fatal(err)
		}
	}
	s, err = retune.NewStudy(ctx, retune.Config{Seed: 2, Storage: store, Sampler: tpe.New(o), Replace: true})
	if err != nil {
		b.Fatal(err)
	}
	return s
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
	tp.grow(b, n-window)
	ctx := context.Background()
	var s *retune.Study
	step := func() {
		t, err := s.Ask(ctx)
		if err != nil {
			b.Fatal(err)
		}
		v, _ := obj(ctx, t)
		if err := s.Tell(ctx, t, v); err != nil {
			b.Fatal(err)
		}
	}
	done := window
	b.ReportAllocs()
	for b.Loop() {
		if done == window {
			b.StopTimer()
			s, done = tp.clone(b, n-window-1, o), 0
			step()
			runtime.GC() // the copy's garbage is not the ask's
			b.StartTimer()
		}
		step()
		done++
	}
}
