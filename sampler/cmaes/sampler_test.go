package cmaes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/internal/samplertest"
	"github.com/a6b40afc/retune/sampler/cmaes"
)

// rosen5 is Rosenbrock5 of the benchmark problems.
func rosen5(_ context.Context, t *retune.Trial) (float64, error) {
	x := make([]float64, 5)
	for i := range x {
		x[i] = t.Float(fmt.Sprintf("x%d", i), -5, 10)
	}
	return problem.Rosenbrock(x), nil
}

// mixed has every kind of param the sampler models, and a categorical it does not.
func mixed(_ context.Context, t *retune.Trial) (float64, error) {
	x := t.Float("x", -5, 5)
	lr := t.Float("lr", 1e-5, 1e-1, retune.Log)
	q := t.Float("q", 0, 1, retune.Step(0.25))
	depth := t.Int("depth", 1, 10)
	n := t.Int("n", 1, 1000, retune.Log)
	even := t.Int("even", 0, 20, retune.Step(2))
	one := t.Int("one", 3, 3)
	kind := t.Categorical("kind", "a", "b", "c", "d")
	return problem.MixedB(x, lr, depth, n, kind) + (q-0.5)*(q-0.5) + float64((even-8)*(even-8))/100 + float64(one), nil
}

func run(t testing.TB, s *retune.Study, obj retune.Objective, n, parallel int) {
	t.Helper()
	if _, err := s.Optimize(context.Background(), obj, retune.OptimizeOptions{Trials: n, Parallel: parallel}); err != nil {
		t.Fatal(err)
	}
}

func TestSamplerInBounds(t *testing.T) {
	t.Parallel()
	for _, o := range []cmaes.SamplerOptions{{}, {Separable: true, Restart: "bipop"}, {Margin: -1}} {
		t.Run(fmt.Sprintf("%+v", o), func(t *testing.T) {
			t.Parallel()
			s := samplertest.NewStudy(t, retune.Config{Seed: 3, Sampler: cmaes.New(o)})
			run(t, s, mixed, 150, 1)
			for _, tr := range samplertest.Trials(t, s) {
				if tr.State != retune.TrialComplete {
					t.Fatalf("trial %d: %v %s", tr.Number, tr.State, tr.Reason)
				}
				for name, v := range tr.Params {
					if d := tr.Distributions[name]; !d.Contains(v) {
						t.Errorf("trial %d: %s = %v, outside %v", tr.Number, name, v, d)
					}
				}
				for _, name := range []string{"depth", "n", "even", "one"} {
					if _, ok := tr.Params[name].(int64); !ok {
						t.Errorf("trial %d: %s = %#v, want an int64", tr.Number, name, tr.Params[name])
					}
				}
				if tr.Params["lr"].(float64) <= 0 || tr.Params["n"].(int64) < 1 {
					t.Errorf("trial %d: log params %v, %v not positive", tr.Number, tr.Params["lr"], tr.Params["n"])
				}
			}
			best, err := s.Best(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if best.Value() > 5 {
				t.Errorf("best after 150 trials = %v, want < 5", best.Value())
			}
		})
	}
}

func paramsOf(t testing.TB, s *retune.Study) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, tr := range samplertest.Trials(t, s) {
		out = append(out, tr.Params)
	}
	return out
}

func TestSamplerDeterministic(t *testing.T) {
	t.Parallel()
	a := samplertest.NewStudy(t, retune.Config{Seed: 5, Sampler: cmaes.New(cmaes.SamplerOptions{})})
	b := samplertest.NewStudy(t, retune.Config{Seed: 5, Sampler: cmaes.New(cmaes.SamplerOptions{})})
	run(t, a, mixed, 40, 1)
	run(t, b, mixed, 40, 1)
	if pa, pb := paramsOf(t, a), paramsOf(t, b); !reflect.DeepEqual(pa, pb) {
		t.Errorf("same seed, different params:\n%v\n%v", pa, pb)
	}
	c := samplertest.NewStudy(t, retune.Config{Seed: 6, Sampler: cmaes.New(cmaes.SamplerOptions{})})
	run(t, c, mixed, 40, 1)
	if reflect.DeepEqual(paramsOf(t, a)[20], paramsOf(t, c)[20]) {
		t.Errorf("seeds 5 and 6 gave trial 20 the same params")
	}
}

// A study resumed mid-generation, by a new Study and a new Sampler on the same storage,
// proposes what an uninterrupted study proposes.
func TestSamplerResume(t *testing.T) {
	t.Parallel()
	for _, o := range []cmaes.SamplerOptions{{}, {Separable: true}, {Restart: "ipop", PopSize: 4, Margin: -1}} {
		t.Run(fmt.Sprintf("%+v", o), func(t *testing.T) {
			t.Parallel()
			whole := samplertest.NewStudy(t, retune.Config{Name: "s", Seed: 11, Storage: retune.NewMemoryStorage(), Sampler: cmaes.New(o)})
			run(t, whole, rosen5, 60, 1)
			want := paramsOf(t, whole)

			store := retune.NewMemoryStorage()
			cfg := retune.Config{Name: "s", Seed: 11, Storage: store, Sampler: cmaes.New(o)}
			run(t, samplertest.NewStudy(t, cfg), rosen5, 13, 1) // trials 1..8 are a generation; 9..12 half the next
			cfg.Sampler = cmaes.New(o)
			run(t, samplertest.NewStudy(t, cfg), rosen5, 20, 1)
			cfg.Sampler = cmaes.New(o)
			run(t, samplertest.NewStudy(t, cfg), rosen5, 27, 1)
			if got := paramsOf(t, samplertest.NewStudy(t, cfg)); !reflect.DeepEqual(got, want) {
				for i := range want {
					if !reflect.DeepEqual(got[i], want[i]) {
						t.Fatalf("resumed trial %d: %v, want %v", i, got[i], want[i])
					}
				}
				t.Fatalf("resumed: %d trials, want %d", len(got), len(want))
			}
		})
	}
}

// A lost state starts a new search with the trials that follow.
func TestSamplerLostState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	cfg := retune.Config{Name: "l", Seed: 11, Storage: store, Sampler: cmaes.New(cmaes.SamplerOptions{})}
	run(t, samplertest.NewStudy(t, cfg), rosen5, 30, 1)
	if err := store.UpdateStudy(ctx, samplertest.NewStudy(t, cfg).Record().ID, retune.StudyUpdate{SystemAttrs: map[string]any{"sampler.state": "garbage"}}); err != nil {
		t.Fatal(err)
	}
	s := samplertest.NewStudy(t, cfg)
	run(t, s, rosen5, 5, 1)
	if st := stateOf(t, s); st.Start != 30 || st.Optimizer.Gen != 0 {
		t.Errorf("after losing the state: start %d, generation %d; want 30 and 0", st.Start, st.Optimizer.Gen)
	}
}

type storedState struct {
	Space     [][2]string `json:"space"`
	Start     int         `json:"start"`
	Optimizer struct {
		Sigma float64 `json:"sigma"`
		Gen   int     `json:"gen"`
	} `json:"optimizer"`
}

func stateOf(t testing.TB, s *retune.Study) storedState {
	t.Helper()
	var st storedState
	raw, _ := json.Marshal(s.Record().SystemAttrs["sampler.state"])
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("stored state %s: %v", raw, err)
	}
	return st
}

// Asks of one generation before any tell get distinct candidates, and parallel workers
// make progress.
func TestSamplerParallel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := samplertest.NewStudy(t, retune.Config{Seed: 2, Sampler: cmaes.New(cmaes.SamplerOptions{})})
	run(t, s, rosen5, 1, 1)
	seen := map[string]int{}
	var open []*retune.Trial
	for range 12 {
		tr, err := s.Ask(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rosen5(ctx, tr); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprint(tr.Params())
		if j, dup := seen[key]; dup {
			t.Errorf("trials %d and %d both got %s", j, tr.Number(), key)
		}
		seen[key] = tr.Number()
		open = append(open, tr)
	}
	for _, tr := range open {
		v, _ := rosen5(ctx, tr)
		if err := s.Tell(ctx, tr, v); err != nil {
			t.Fatal(err)
		}
	}

	p := samplertest.NewStudy(t, retune.Config{Seed: 2, Sampler: cmaes.New(cmaes.SamplerOptions{})})
	run(t, p, rosen5, 200, 4)
	seen = map[string]int{}
	for _, tr := range samplertest.Trials(t, p) {
		key := fmt.Sprint(tr.Params)
		if j, dup := seen[key]; dup {
			t.Errorf("parallel: trials %d and %d both got %s", j, tr.Number, key)
		}
		seen[key] = tr.Number
	}
	best, err := p.Best(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if best.Value() > 300 { // random search: thousands
		t.Errorf("best of 200 parallel trials = %v, want < 300", best.Value())
	}
}

// Failed and pruned trials are skipped; infinite values rank as extremes; maximizing works.
func TestSamplerFailuresAndDirections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	errBad := errors.New("bad region")
	var calls int
	obj := func(ctx context.Context, t *retune.Trial) (float64, error) {
		v, _ := rosen5(ctx, t)
		calls++
		switch calls % 7 {
		case 3:
			return 0, errBad
		case 5:
			return math.Inf(1), nil
		case 6:
			return 0, retune.ErrPruned
		}
		return v, nil
	}
	s := samplertest.NewStudy(t, retune.Config{Seed: 4, Sampler: cmaes.New(cmaes.SamplerOptions{})})
	run(t, s, obj, 250, 1)
	best, err := s.Best(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if best.Value() > 300 {
		t.Errorf("best with failures = %v, want < 300", best.Value())
	}

	m := samplertest.NewStudy(t, retune.Config{Seed: 4, Direction: retune.Maximize, Sampler: cmaes.New(cmaes.SamplerOptions{})})
	run(t, m, func(ctx context.Context, t *retune.Trial) (float64, error) {
		v, err := rosen5(ctx, t)
		return -v, err
	}, 200, 1)
	if best, err = m.Best(ctx); err != nil || best.Value() < -100 {
		t.Errorf("maximizing: best = %v, %v; want > -100", best.Value(), err)
	}

	mo := samplertest.NewStudy(t, retune.Config{Seed: 4, Directions: []retune.Direction{retune.Minimize, retune.Minimize}, Sampler: cmaes.New(cmaes.SamplerOptions{})})
	_, err = mo.OptimizeMulti(ctx, func(ctx context.Context, t *retune.Trial) ([]float64, error) {
		v, err := rosen5(ctx, t)
		return []float64{v, -v}, err
	}, retune.OptimizeOptions{Trials: 3, StopOnError: true})
	if err == nil {
		t.Errorf("multi-objective study: no error")
	}
}

// Int params alone: the margin keeps the search moving to the optimum.
func TestSamplerIntegers(t *testing.T) {
	t.Parallel()
	target := []int64{17, 3, 40, 0, 25}
	obj := func(_ context.Context, t *retune.Trial) (float64, error) {
		s := 0.0
		for i, c := range target {
			d := float64(t.Int(fmt.Sprintf("k%d", i), 0, 40) - c)
			s += d * d
		}
		return s, nil
	}
	s := samplertest.NewStudy(t, retune.Config{Seed: 8, Sampler: cmaes.New(cmaes.SamplerOptions{})})
	run(t, s, obj, 300, 1)
	best, err := s.Best(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if best.Value() > 0 {
		t.Errorf("best on integers = %v at %v, want 0", best.Value(), best.Params)
	}
}

// WarmStart starts from the best of the earlier trials: the first generation is drawn
// close to them.
func TestSamplerWarmStart(t *testing.T) {
	t.Parallel()
	store := retune.NewMemoryStorage()
	sphere := func(_ context.Context, t *retune.Trial) (float64, error) {
		x, y := t.Float("x", -10, 10), t.Float("y", -10, 10)
		return (x-6)*(x-6) + (y+6)*(y+6), nil
	}
	s := samplertest.NewStudy(t, retune.Config{Name: "w", Seed: 1, Storage: store})
	run(t, s, sphere, 60, 1) // default sampler
	w := samplertest.NewStudy(t, retune.Config{Name: "w", Seed: 1, Storage: store, Replace: true, Sampler: cmaes.New(cmaes.SamplerOptions{WarmStart: true})})
	run(t, w, sphere, 6, 1)
	// A cold start is centred at (0, 0), 8.5 from the optimum: warm-started draws should be
	// much closer, most of them well within 6.
	var ds []float64
	for _, tr := range samplertest.Trials(t, w)[60:] {
		x, y := tr.Params["x"].(float64), tr.Params["y"].(float64)
		ds = append(ds, math.Hypot(x-6, y+6))
	}
	slices.Sort(ds)
	if med := (ds[2] + ds[3]) / 2; med > 6 || ds[len(ds)-1] > 9 {
		t.Errorf("warm-started trials at distances %.1f from the optimum: want a median below 6 and none beyond 9", ds)
	}
	if sigma := stateOf(t, w).Optimizer.Sigma; sigma >= 1.0/6 {
		t.Errorf("warm-start sigma = %v, want below the cold 1/6", sigma)
	}
}

// A change of the modelled space starts a new search over the new space.
func TestSamplerSpaceChange(t *testing.T) {
	t.Parallel()
	store := retune.NewMemoryStorage()
	cfg := retune.Config{Name: "c", Seed: 1, Storage: store, Sampler: cmaes.New(cmaes.SamplerOptions{})}
	run(t, samplertest.NewStudy(t, cfg), rosen5, 20, 1)
	wide := func(_ context.Context, t *retune.Trial) (float64, error) {
		x := make([]float64, 5)
		for i := range x {
			x[i] = t.Float(fmt.Sprintf("x%d", i), -50, 100)
		}
		return problem.Rosenbrock(x), nil
	}
	cfg.Sampler = cmaes.New(cmaes.SamplerOptions{})
	s := samplertest.NewStudy(t, cfg)
	run(t, s, wide, 40, 1)
	st := stateOf(t, s)
	if len(st.Space) != 5 || st.Space[0][0] != "x0" || st.Space[0][1] != `{"type":"float","low":-50,"high":100}` || st.Start < 21 {
		t.Errorf("state after the space changed: space %v, start %d", st.Space, st.Start)
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	sp := cmaes.New(cmaes.SamplerOptions{Restart: "ipop"}).Spec()
	if sp.Name != "cmaes" || sp.Options["restart"] != "ipop" || sp.Options["sigma0"] != 1.0/6 {
		t.Errorf("Spec() = %+v", sp)
	}
	for _, o := range []cmaes.SamplerOptions{{Restart: "x"}, {Sigma0: -1}, {PopSize: 1}, {WarmStartGamma: 2}, {Margin: 0.7}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", o)
				}
			}()
			cmaes.New(o)
		}()
	}
}
