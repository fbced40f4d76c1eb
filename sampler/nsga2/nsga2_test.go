package nsga2_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/internal/samplertest"
	"github.com/a6b40afc/retune/pareto"
	"github.com/a6b40afc/retune/sampler/nsga2"
	"github.com/a6b40afc/retune/sampler/random"
)

var (
	min2 = []retune.Direction{retune.Minimize, retune.Minimize}
	min3 = []retune.Direction{retune.Minimize, retune.Minimize, retune.Minimize}
)

// suggestMixed asks t for every param of samplertest.Mixed and returns two conflicting
// objectives that depend on all of them.
func suggestMixed(t *retune.Trial) []float64 {
	a, b := 0.0, 0.0
	for k, v := range samplertest.Suggest(t, samplertest.Mixed) {
		var x float64 // in [0, 1]
		switch d := samplertest.Mixed[k].Dist.(type) {
		case retune.FloatDistribution:
			x = 0.5
			if d.High > d.Low {
				x = (v - d.Low) / (d.High - d.Low)
			}
			if d.Log {
				x = math.Log(v/d.Low) / math.Log(d.High/d.Low)
			}
		case retune.IntDistribution:
			x = (v - float64(d.Low)) / float64(d.High-d.Low)
		case retune.CategoricalDistribution:
			x = v / 2 // the index of one of 3 choices
		}
		if k == 0 {
			a += x
			b += 1 - x
		} else {
			a += x * x
			b += x * x
		}
	}
	return []float64{a, b}
}

func runMixed(t *testing.T, cfg retune.Config, n int) []retune.FrozenTrial {
	t.Helper()
	s := samplertest.NewStudy(t, cfg)
	_, err := s.OptimizeMulti(context.Background(), func(_ context.Context, tr *retune.Trial) ([]float64, error) {
		return suggestMixed(tr), nil
	}, retune.OptimizeOptions{Trials: n})
	if err != nil {
		t.Fatal(err)
	}
	return samplertest.Trials(t, s)
}

var modes = []struct {
	name string
	o    nsga2.Options
}{
	{"default", nsga2.Options{PopulationSize: 10}},
	{"uniform", nsga2.Options{PopulationSize: 10, Crossover: nsga2.Uniform, Mutation: nsga2.Resample}},
	{"always mutate", nsga2.Options{PopulationSize: 10, MutationProb: 1, CrossoverProb: 1, SwappingProb: 1}},
	{"no variation", nsga2.Options{PopulationSize: 10, MutationProb: -1, CrossoverProb: -1}},
}

func TestSamplesInsideSpace(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			ts := runMixed(t, retune.Config{Directions: min2, Seed: 1, Sampler: nsga2.New(m.o)}, 60)
			for _, tr := range ts {
				if tr.State != retune.TrialComplete {
					t.Fatalf("trial %d: %v (%s), want COMPLETE", tr.Number, tr.State, tr.Reason)
				}
				for _, p := range samplertest.Mixed {
					if v := tr.Params[p.Name]; !p.Dist.Contains(v) {
						t.Errorf("trial %d: %s = %v, want a value in %v", tr.Number, p.Name, v, p.Dist)
					}
				}
			}
		})
	}
}

// Children of the first population are bred from it: without crossover and mutation
// every later trial copies the params of a member of the first generation.
func TestChildrenComeFromPopulation(t *testing.T) {
	t.Parallel()
	ts := runMixed(t, retune.Config{Directions: min2, Seed: 2, Sampler: nsga2.New(modes[3].o)}, 40)
	key := func(tr retune.FrozenTrial) string { return fmt.Sprint(tr.Params) }
	first := map[string]bool{}
	for _, tr := range ts[:10] {
		first[key(tr)] = true
	}
	for _, tr := range ts[10:20] {
		if !first[key(tr)] {
			t.Errorf("trial %d has params %v, not those of a trial of the first generation", tr.Number, tr.Params)
		}
	}
}

func TestSameSeedSameParams(t *testing.T) {
	t.Parallel()
	params := func(seed uint64) []map[string]any {
		var out []map[string]any
		for _, tr := range runMixed(t, retune.Config{Directions: min2, Seed: seed, Sampler: nsga2.New(nsga2.Options{PopulationSize: 10})}, 50) {
			out = append(out, tr.Params)
		}
		return out
	}
	a, b, c := params(7), params(7), params(8)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two studies with seed 7 proposed different params")
	}
	if reflect.DeepEqual(a[20:], c[20:]) {
		t.Errorf("studies with seeds 7 and 8 proposed the same params")
	}
}

// Workers asking at the same time get different children of the same population.
func TestParallelAsksDistinct(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := samplertest.NewStudy(t, retune.Config{Directions: min2, Seed: 3, Sampler: nsga2.New(nsga2.Options{PopulationSize: 10})})
	for range 20 {
		tr, err := s.Ask(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Tell(ctx, tr, suggestMixed(tr)...); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	var open []*retune.Trial
	for range 8 {
		tr, err := s.Ask(ctx)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, tr)
		suggestMixed(tr)
		k := fmt.Sprint(tr.Params())
		if j, dup := seen[k]; dup {
			t.Errorf("trials %d and %d asked together got the same params %s", j, tr.Number(), k)
		}
		seen[k] = tr.Number()
	}
	for _, tr := range open {
		if err := s.Tell(ctx, tr, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// A study resumed in a new process, with a new sampler, proposes what an uninterrupted
// study would have.
func TestResumeContinues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	obj := func(_ context.Context, tr *retune.Trial) ([]float64, error) { return suggestMixed(tr), nil }
	whole := runMixed(t, retune.Config{Directions: min2, Seed: 4, Sampler: nsga2.New(nsga2.Options{PopulationSize: 10})}, 45)

	store := retune.NewMemoryStorage()
	cfg := retune.Config{Name: "resume", Directions: min2, Seed: 4, Storage: store}
	for _, n := range []int{17, 13, 15} { // resumed mid-generation, twice
		cfg.Sampler = nsga2.New(nsga2.Options{PopulationSize: 10})
		if _, err := samplertest.NewStudy(t, cfg).OptimizeMulti(ctx, obj, retune.OptimizeOptions{Trials: n}); err != nil {
			t.Fatal(err)
		}
	}
	resumed := samplertest.Trials(t, samplertest.NewStudy(t, cfg))
	if len(resumed) != len(whole) {
		t.Fatalf("resumed study has %d trials, want %d", len(resumed), len(whole))
	}
	for i := range whole {
		if !reflect.DeepEqual(resumed[i].Params, whole[i].Params) {
			t.Fatalf("trial %d: resumed study proposed %v, uninterrupted one %v", i, resumed[i].Params, whole[i].Params)
		}
	}
}

// history makes n COMPLETE trials of a 2-D float space with two objectives, and FAIL
// trials between them when withFail is set.
func history(n int, withFail bool) []retune.FrozenTrial {
	r := rand.New(rand.NewPCG(9, 9))
	d := retune.FloatDistribution{Low: 0, High: 1}
	var ts []retune.FrozenTrial
	for i := range n {
		x, y := r.Float64(), r.Float64()
		ts = append(ts, retune.FrozenTrial{
			Number: len(ts), State: retune.TrialComplete,
			Params:        map[string]any{"x": x, "y": y},
			Distributions: map[string]retune.Distribution{"x": d, "y": d},
			Values:        []float64{x, 1 - x + y},
		})
		if withFail && i%3 == 0 {
			ts = append(ts, retune.FrozenTrial{Number: len(ts), State: retune.TrialFail,
				Params: map[string]any{"x": 0.0, "y": 0.0}, Distributions: map[string]retune.Distribution{"x": d, "y": d}})
		}
	}
	return ts
}

var space2 = map[string]retune.Distribution{"x": retune.FloatDistribution{Low: 0, High: 1}, "y": retune.FloatDistribution{Low: 0, High: 1}}

func request(dirs []retune.Direction, ts []retune.FrozenTrial, seed uint64) *retune.SampleRequest {
	return &retune.SampleRequest{Directions: dirs, Space: space2, Trials: ts, Rand: rand.New(rand.NewPCG(seed, 0)),
		Trial: retune.FrozenTrial{Number: len(ts), State: retune.TrialRunning}}
}

// FAIL trials count neither towards a generation nor in the population.
func TestFailIgnored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clean, failed := history(35, false), history(35, true)
	for seed := range uint64(20) {
		a, err := nsga2.New(nsga2.Options{PopulationSize: 10}).Relative(ctx, request(min2, clean, seed))
		if err != nil {
			t.Fatal(err)
		}
		b, err := nsga2.New(nsga2.Options{PopulationSize: 10}).Relative(ctx, request(min2, failed, seed))
		if err != nil {
			t.Fatal(err)
		}
		if a == nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: Relative with FAIL trials = %v, without = %v, want equal and non-nil", seed, b, a)
		}
	}
}

// Before the first generation is complete, Relative leaves every param to Independent.
func TestFirstGenerationRandom(t *testing.T) {
	t.Parallel()
	s := nsga2.New(nsga2.Options{PopulationSize: 10})
	got, err := s.Relative(context.Background(), request(min2, history(9, true), 1))
	if err != nil || got != nil {
		t.Errorf("Relative with 9 COMPLETE trials = %v, %v, want nil, nil", got, err)
	}
}

// A sampler that kept its population between asks proposes what a new one does.
func TestCacheDoesNotChangeProposals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, dirs := range [][]retune.Direction{min2, min3} {
		h := history(80, true)
		if len(dirs) == 3 {
			for i := range h {
				if h[i].Values != nil {
					x, y := h[i].Params["x"].(float64), h[i].Params["y"].(float64)
					h[i].Values = []float64{x, y, 2 - x - y}
				}
			}
		}
		kept := nsga2.New(nsga2.Options{PopulationSize: 8})
		for n := 0; n <= len(h); n += 3 {
			a, err := kept.Relative(ctx, request(dirs, h[:n], uint64(n)))
			if err != nil {
				t.Fatal(err)
			}
			b, err := nsga2.New(nsga2.Options{PopulationSize: 8}).Relative(ctx, request(dirs, h[:n], uint64(n)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%d objectives, %d trials: cached sampler proposed %v, new one %v", len(dirs), n, a, b)
			}
		}
		// Another study's history (here, a shorter one) does not reuse the population.
		a, _ := kept.Relative(ctx, request(dirs, h[:20], 1))
		b, _ := nsga2.New(nsga2.Options{PopulationSize: 8}).Relative(ctx, request(dirs, h[:20], 1))
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%d objectives, shorter history: cached sampler proposed %v, new one %v", len(dirs), a, b)
		}
	}
}

// Past values outside the current distribution, or of another kind, are not copied.
func TestDistributionChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := history(30, false)
	narrow := map[string]retune.Distribution{
		"x": retune.FloatDistribution{Low: 0.4, High: 0.6},
		"y": retune.CategoricalDistribution{Choices: []any{"p", "q"}},
	}
	for seed := range uint64(30) {
		req := request(min2, h, seed)
		req.Space = narrow
		got, err := nsga2.New(nsga2.Options{PopulationSize: 10}).Relative(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for name, d := range narrow {
			if !d.Contains(got[name]) {
				t.Errorf("seed %d: %s = %v, want a value in %v", seed, name, got[name], d)
			}
		}
	}
}

func TestInfiniteValues(t *testing.T) {
	t.Parallel()
	for _, dirs := range [][]retune.Direction{{retune.Maximize}, min2, min3} {
		s := samplertest.NewStudy(t, retune.Config{Directions: dirs, Seed: 5, Sampler: nsga2.New(nsga2.Options{PopulationSize: 6})})
		_, err := s.OptimizeMulti(context.Background(), func(_ context.Context, tr *retune.Trial) ([]float64, error) {
			x := tr.Float("x", 0, 1)
			vals := make([]float64, len(dirs))
			for k := range vals {
				vals[k] = float64(k) + x
				if tr.Number()%4 == k {
					vals[k] = math.Inf(1 - 2*(tr.Number()%2))
				}
			}
			return vals, nil
		}, retune.OptimizeOptions{Trials: 40})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range samplertest.Trials(t, s) {
			if tr.State != retune.TrialComplete {
				t.Errorf("%d objectives: trial %d is %v (%s)", len(dirs), tr.Number, tr.State, tr.Reason)
			}
		}
	}
}

// hvOf runs n trials of obj and returns the hypervolume of the completed trials at ref.
func hvOf(t *testing.T, dirs []retune.Direction, smp retune.Sampler, seed uint64, n int, obj func(x []float64) []float64, vars int, ref []float64) float64 {
	t.Helper()
	s := samplertest.NewStudy(t, retune.Config{Directions: dirs, Seed: seed, Sampler: smp})
	var pts [][]float64
	_, err := s.OptimizeMulti(context.Background(), func(_ context.Context, tr *retune.Trial) ([]float64, error) {
		x := make([]float64, vars)
		for i := range x {
			x[i] = tr.Float(fmt.Sprintf("x%d", i), 0, 1)
		}
		v := obj(x)
		pts = append(pts, v)
		return v, nil
	}, retune.OptimizeOptions{Trials: n})
	if err != nil {
		t.Fatal(err)
	}
	return pareto.Hypervolume(dirs, pts, ref)
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}

// NSGA-II reaches a larger hypervolume than random sampling on ZDT1 (10 variables, 300
// trials), and so do both selections on DTLZ2 with three objectives (7 variables, 600
// trials), on the median of 5 seeds.
func TestBeatsRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("quality check")
	}
	t.Parallel()
	zdt1 := func(x []float64) []float64 { a, b := problem.ZDT(x, 1); return []float64{a, b} }
	dtlz2 := func(x []float64) []float64 {
		g := 0.0
		for _, v := range x[2:] {
			g += (v - 0.5) * (v - 0.5)
		}
		a, b := x[0]*math.Pi/2, x[1]*math.Pi/2
		return []float64{(1 + g) * math.Cos(a) * math.Cos(b), (1 + g) * math.Cos(a) * math.Sin(b), (1 + g) * math.Sin(a)}
	}
	for _, tt := range []struct {
		name string
		dirs []retune.Direction
		obj  func([]float64) []float64
		vars int
		n    int
		ref  []float64
		sel  nsga2.Selection
	}{
		{"zdt1", min2, zdt1, 10, 300, []float64{1.1, 11}, ""},
		{"dtlz2", min3, dtlz2, 7, 600, []float64{1.5, 1.5, 1.5}, nsga2.Crowding},
		{"dtlz2 reference", min3, dtlz2, 7, 600, []float64{1.5, 1.5, 1.5}, nsga2.Reference},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ours, rnd []float64
			for seed := uint64(1); seed <= 5; seed++ {
				ours = append(ours, hvOf(t, tt.dirs, nsga2.New(nsga2.Options{PopulationSize: 30, Selection: tt.sel}), seed, tt.n, tt.obj, tt.vars, tt.ref))
				rnd = append(rnd, hvOf(t, tt.dirs, random.New(), seed, tt.n, tt.obj, tt.vars, tt.ref))
			}
			mo, mr := median(ours), median(rnd)
			t.Logf("median hypervolume %.4f (NSGA) vs %.4f (random)", mo, mr)
			if mo <= mr {
				t.Errorf("median hypervolume %.4f, random %.4f: want NSGA larger", mo, mr)
			}
		})
	}
}

// With one objective the sampler is an elitist genetic algorithm.
func TestSingleObjective(t *testing.T) {
	if testing.Short() {
		t.Skip("quality check")
	}
	t.Parallel()
	best := func(smp retune.Sampler, seed uint64) float64 {
		s := samplertest.NewStudy(t, retune.Config{Seed: seed, Sampler: smp})
		res, err := s.Optimize(context.Background(), func(_ context.Context, tr *retune.Trial) (float64, error) {
			v := 0.0
			for i := range 5 {
				x := tr.Float(fmt.Sprintf("x%d", i), -5, 5)
				v += (x - 1) * (x - 1)
			}
			return v, nil
		}, retune.OptimizeOptions{Trials: 300})
		if err != nil {
			t.Fatal(err)
		}
		return res.Best[0].Value()
	}
	var ga, rnd []float64
	for seed := uint64(1); seed <= 5; seed++ {
		ga = append(ga, best(nsga2.New(nsga2.Options{PopulationSize: 20}), seed))
		rnd = append(rnd, best(random.New(), seed))
	}
	if mg, mr := median(ga), median(rnd); mg >= mr/2 {
		t.Errorf("median best %.4f, random %.4f: want the GA below half of random's", mg, mr)
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	got := nsga2.New(nsga2.Options{}).Spec()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"nsga2","options":{"crossover":"uniform","crossover_eta":20,"crossover_prob":0.9,"divisions":0,"mutation":"polynomial","mutation_eta":20,"mutation_prob":"1/n","population_size":50,"selection":"crowding","swapping_prob":0.5}}`
	if string(b) != want {
		t.Errorf("Spec() = %s, want %s", b, want)
	}
	same := nsga2.New(nsga2.Options{PopulationSize: 50, Crossover: nsga2.Uniform, CrossoverProb: 0.9, SwappingProb: 0.5, CrossoverEta: 20, MutationEta: 20, Selection: nsga2.Crowding}).Spec()
	if !reflect.DeepEqual(same, got) {
		t.Errorf("Spec of explicit defaults = %v, want %v", same, got)
	}
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	cfg := retune.Config{Name: "spec", Directions: min2, Storage: store, Seed: 1, Sampler: nsga2.New(nsga2.Options{})}
	samplertest.NewStudy(t, cfg)
	cfg.Sampler = nsga2.New(nsga2.Options{})
	if _, err := retune.NewStudy(ctx, cfg); err != nil {
		t.Errorf("resume with the same options: %v", err)
	}
	cfg.Sampler = nsga2.New(nsga2.Options{PopulationSize: 20})
	if _, err := retune.NewStudy(ctx, cfg); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("resume with another population size: error %v, want ErrConflict", err)
	}
}

func TestNewPanicsOnInvalidOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []nsga2.Options{
		{PopulationSize: 1}, {PopulationSize: -3}, {CrossoverProb: 1.5}, {MutationProb: math.NaN()},
		{SwappingProb: 2}, {CrossoverEta: -1}, {MutationEta: math.Inf(1)}, {Crossover: "blx"},
		{Mutation: "gauss"}, {Divisions: -1}, {Selection: "niche"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", o)
				}
			}()
			nsga2.New(o)
		}()
	}
}

// One sampler serves parallel workers of studies with two and three objectives at once,
// and proposes params inside the space for both.
func TestConcurrentWorkers(t *testing.T) {
	t.Parallel()
	smp := nsga2.New(nsga2.Options{PopulationSize: 8})
	studies := []*retune.Study{
		samplertest.NewStudy(t, retune.Config{Directions: min2, Seed: 6, Sampler: smp}),
		samplertest.NewStudy(t, retune.Config{Directions: min3, Seed: 6, Sampler: smp}),
	}
	done := make(chan error, len(studies))
	for _, s := range studies {
		go func() {
			_, err := s.OptimizeMulti(context.Background(), func(_ context.Context, tr *retune.Trial) ([]float64, error) {
				v := suggestMixed(tr)
				return append(v, v[0]*v[1])[:len(s.Directions())], nil
			}, retune.OptimizeOptions{Trials: 80, Parallel: 4})
			done <- err
		}()
	}
	for range studies {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range studies {
		for _, tr := range samplertest.Trials(t, s) {
			if tr.State != retune.TrialComplete {
				t.Fatalf("trial %d: %v (%s), want COMPLETE", tr.Number, tr.State, tr.Reason)
			}
			for _, p := range samplertest.Mixed {
				if v := tr.Params[p.Name]; !p.Dist.Contains(v) {
					t.Errorf("%d objectives, trial %d: %s = %v, want a value in %v", len(s.Directions()), tr.Number, p.Name, v, p.Dist)
				}
			}
		}
	}
}

// TestConstraints: with constrained domination the population fills with feasible trials.
func TestConstraints(t *testing.T) {
	t.Parallel()
	newSampler := func() retune.Sampler { return nsga2.New(nsga2.Options{PopulationSize: 10}) }
	samplertest.CheckConstraintsUsed(t, newSampler, 100, retune.Minimize, retune.Minimize)
	samplertest.CheckConstraintsUsed(t, newSampler, 100)
}
