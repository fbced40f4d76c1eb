// Package samplertest holds what the samplers' tests share: a mixed search space that
// exercises every distribution, and study helpers.
package samplertest

import (
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/a6b40afc/retune"
)

// Param is a named distribution of a search space.
type Param struct {
	Name string
	Dist retune.Distribution
}

// Mixed has one param of every kind the samplers model differently.
var Mixed = []Param{
	{"f", retune.FloatDistribution{Low: -3, High: 7}},
	{"flog", retune.FloatDistribution{Low: 1e-4, High: 10, Log: true}},
	{"fstep", retune.FloatDistribution{Low: 0, High: 1, Step: 0.125}},
	{"i", retune.IntDistribution{Low: -4, High: 6}},
	{"istep", retune.IntDistribution{Low: 10, High: 100, Step: 15}},
	{"ilog", retune.IntDistribution{Low: 1, High: 4096, Log: true}},
	{"c", retune.CategoricalDistribution{Choices: []any{"a", "b", "c"}}},
	{"one", retune.FloatDistribution{Low: 2, High: 2}},
}

// Suggest asks t for every param of space, in order, and returns their values as numbers:
// a float or an int as it is, a categorical as the index of its choice.
func Suggest(t *retune.Trial, space []Param) []float64 {
	out := make([]float64, len(space))
	for i, p := range space {
		switch d := p.Dist.(type) {
		case retune.FloatDistribution:
			var opts []retune.ParamOption
			if d.Log {
				opts = append(opts, retune.Log)
			}
			if d.Step > 0 {
				opts = append(opts, retune.Step(d.Step))
			}
			out[i] = t.Float(p.Name, d.Low, d.High, opts...)
		case retune.IntDistribution:
			var opts []retune.ParamOption
			if d.Log {
				opts = append(opts, retune.Log)
			}
			if d.Step > 0 {
				opts = append(opts, retune.Step(float64(d.Step)))
			}
			out[i] = float64(t.Int(p.Name, d.Low, d.High, opts...))
		case retune.CategoricalDistribution:
			out[i] = float64(slices.Index(d.Choices, retune.Choice(t, p.Name, d.Choices...)))
		}
	}
	return out
}

// Loss asks t for every param of space, in order, and returns a value to minimize that
// depends on all of them: the sum of (x-1)² for a float x (log(x) in place of x for a log
// float), |n-Low-1| for an int n, and 1 for a categorical unless it is the second choice.
func Loss(t *retune.Trial, space []Param, log func(float64) float64) float64 {
	v := 0.0
	for i, x := range Suggest(t, space) {
		switch d := space[i].Dist.(type) {
		case retune.FloatDistribution:
			if d.Log {
				x = log(x)
			}
			v += (x - 1) * (x - 1)
		case retune.IntDistribution:
			v += math.Abs(x - float64(d.Low+1))
		case retune.CategoricalDistribution:
			if x != 1 {
				v++
			}
		}
	}
	return v
}

// NewStudy returns a new study of cfg, failing tb if it cannot.
func NewStudy(tb testing.TB, cfg retune.Config) *retune.Study {
	tb.Helper()
	s, err := retune.NewStudy(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("NewStudy: %v", err)
	}
	return s
}

// Trials returns every trial of s, failing tb if it cannot.
func Trials(tb testing.TB, s *retune.Study) []retune.FrozenTrial {
	tb.Helper()
	ts, err := s.Trials(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return ts
}

// Template is a history a sampler made itself, grown on demand and shared by benchmarks,
// so that each measures asks against the history that sampler really produces.
type Template struct {
	mu     sync.Mutex
	study  *retune.Study
	obj    retune.Objective
	params []map[string]any
	values []float64
}

// NewTemplate returns an empty template whose trials study asks and obj values.
func NewTemplate(study *retune.Study, obj retune.Objective) *Template {
	return &Template{study: study, obj: obj}
}

// Grow extends the template to n trials.
func (tp *Template) Grow(tb testing.TB, n int) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	ctx := context.Background()
	for len(tp.params) < n {
		t, err := tp.study.Ask(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		v, _ := tp.obj(ctx, t)
		if err := tp.study.Tell(ctx, t, v); err != nil {
			tb.Fatal(err)
		}
		tp.params = append(tp.params, t.Params())
		tp.values = append(tp.values, v)
	}
}

// Clone returns a new study with the template's first n trials (enqueued and told again),
// sampled from then on by smp.
func (tp *Template) Clone(tb testing.TB, n int, smp retune.Sampler) *retune.Study {
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	s, err := retune.NewStudy(ctx, retune.Config{Seed: 2, Storage: store})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		if err := s.Enqueue(ctx, tp.params[i]); err != nil {
			tb.Fatal(err)
		}
		t, err := s.Ask(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := tp.obj(ctx, t); err != nil {
			tb.Fatal(err)
		}
		if err := s.Tell(ctx, t, tp.values[i]); err != nil {
			tb.Fatal(err)
		}
	}
	s, err = retune.NewStudy(ctx, retune.Config{Seed: 2, Storage: store, Sampler: smp, Replace: true})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchAskTell runs b's loop, each iteration one ask of a trial, valued by obj, and its
// tell. Before the first iteration and after every window of them it gets a fresh study
// from start and takes warm steps in it, untimed.
func BenchAskTell(b *testing.B, obj retune.Objective, window, warm int, start func() *retune.Study) {
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
			s, done = start(), 0
			for range warm {
				step()
			}
			runtime.GC() // the set-up's garbage is not the asks'
			b.StartTimer()
		}
		step()
		done++
	}
}
