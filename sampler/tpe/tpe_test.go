package tpe_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/samplertest"
	"github.com/a6b40afc/retune/sampler/random"
	"github.com/a6b40afc/retune/sampler/tpe"
)

// mixedSpace is samplertest.Mixed with two params more that TPE models apart: a
// categorical of choices that are not strings, after "c", and an int of one value, at the end.
var mixedSpace = slices.Concat(
	samplertest.Mixed[:7], // f … c
	[]samplertest.Param{{Name: "cnum", Dist: retune.CategoricalDistribution{Choices: []any{1, 2.5, true}}}},
	samplertest.Mixed[7:], // one
	[]samplertest.Param{{Name: "ione", Dist: retune.IntDistribution{Low: 3, High: 3}}},
)

var modes = []struct {
	name string
	o    tpe.Options
}{
	{"independent", tpe.Options{StartupTrials: 5}},
	{"multivariate", tpe.Options{StartupTrials: 5, Multivariate: true}},
	{"group", tpe.Options{StartupTrials: 5, Group: true}},
	{"liar", tpe.Options{StartupTrials: 5, ConstantLiar: true, Multivariate: true}},
}

func TestSamplesInsideSpace(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := samplertest.NewStudy(t, retune.Config{Seed: 3, Sampler: tpe.New(m.o)})
			_, err := s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
				return samplertest.Loss(tr, mixedSpace, math.Log), nil
			}, retune.OptimizeOptions{Trials: 60, Parallel: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range samplertest.Trials(t, s) {
				if tr.State != retune.TrialComplete {
					t.Fatalf("trial %d is %v (%s), want COMPLETE", tr.Number, tr.State, tr.Reason)
				}
				for _, p := range mixedSpace {
					if v := tr.Params[p.Name]; !p.Dist.Contains(v) {
						t.Errorf("trial %d: %s = %v (%T), want a value in %v", tr.Number, p.Name, v, v, p.Dist)
					}
				}
			}
		})
	}
}

// history returns n COMPLETE trials over mixedSpace drawn uniformly, valued by a quadratic.
func history(n int, seed uint64) []retune.FrozenTrial {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]retune.FrozenTrial, n)
	for i := range out {
		params := map[string]any{}
		dists := map[string]retune.Distribution{}
		v := 0.0
		for _, p := range mixedSpace {
			x := retune.SampleUniform(r, p.Dist)
			params[p.Name], dists[p.Name] = x, p.Dist
			if f, ok := x.(float64); ok {
				v += (f - 1) * (f - 1)
			}
		}
		out[i] = retune.FrozenTrial{
			Number: i, State: retune.TrialComplete, Params: params, Distributions: dists,
			Values: []float64{v}, End: time.Unix(int64(i), 0),
		}
	}
	return out
}

func request(trials []retune.FrozenTrial, seed uint64) *retune.SampleRequest {
	return &retune.SampleRequest{
		Directions: []retune.Direction{retune.Minimize},
		Trials:     trials,
		Space:      trials[len(trials)-1].Distributions,
		Trial:      retune.FrozenTrial{Number: len(trials)},
		Rand:       rand.New(rand.NewPCG(seed, 1)),
	}
}

// propose runs Relative and then Independent for the params Relative left out, as a study
// does, in the order of mixedSpace.
func propose(t *testing.T, s *tpe.Sampler, req *retune.SampleRequest) map[string]any {
	t.Helper()
	ctx := context.Background()
	if space, err := s.Space(ctx, req); err != nil {
		t.Fatal(err)
	} else {
		req.Space = space
	}
	rel, err := s.Relative(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for i, p := range mixedSpace {
		if v, ok := rel[p.Name]; ok {
			out[p.Name] = v
			continue
		}
		ind := *req
		ind.Rand = rand.New(rand.NewPCG(uint64(i), req.Rand.Uint64()))
		v, err := s.Independent(ctx, &ind, p.Name, p.Dist)
		if err != nil {
			t.Fatal(err)
		}
		out[p.Name] = v
	}
	return out
}

func TestSameSeedSameParams(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			run := func() []map[string]any {
				ctx := context.Background()
				s := samplertest.NewStudy(t, retune.Config{Seed: 11, Sampler: tpe.New(m.o)})
				if _, err := s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
					return samplertest.Loss(tr, mixedSpace, math.Log), nil
				}, retune.OptimizeOptions{Trials: 40}); err != nil {
					t.Fatal(err)
				}
				var ps []map[string]any
				for _, tr := range samplertest.Trials(t, s) {
					ps = append(ps, tr.Params)
				}
				return ps
			}
			a, b := run(), run()
			for i := range a {
				if fmt.Sprint(a[i]) != fmt.Sprint(b[i]) {
					t.Fatalf("trial %d: params %v and %v with the same seed, want equal", i, a[i], b[i])
				}
			}
		})
	}
}

// A sampler's cache must not change what it proposes: one sampler serving two histories
// in turn (and a prefix of one) proposes what fresh samplers do.
func TestCacheDoesNotChangeProposals(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			h1, h2 := history(80, 1), history(120, 2)
			shared := tpe.New(m.o)
			for i, h := range [][]retune.FrozenTrial{h1, h2, h1[:50], h2, h1, h1[:79]} {
				got := propose(t, shared, request(h, uint64(i)))
				want := propose(t, tpe.New(m.o), request(h, uint64(i)))
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("request %d: shared sampler proposes %v, fresh one %v", i, got, want)
				}
			}
		})
	}
}

// The same with two and three objectives, whose split (and with two, the factors of l's
// weights) a sampler caches for the params of one proposal.
func TestCacheDoesNotChangeMultiObjectiveProposals(t *testing.T) {
	t.Parallel()
	several := func(h []retune.FrozenTrial, m int, seed uint64) []retune.FrozenTrial {
		r := rand.New(rand.NewPCG(seed, 3))
		for i := range h {
			v := h[i].Values[0]
			h[i].Values = []float64{v, v + r.Float64(), r.Float64() - v/2}[:m]
		}
		return h
	}
	for _, m := range modes {
		for _, k := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s/%d", m.name, k), func(t *testing.T) {
				t.Parallel()
				dirs := []retune.Direction{retune.Minimize, retune.Maximize, retune.Minimize}[:k]
				h1, h2 := several(history(80, 1), k, 1), several(history(120, 2), k, 2)
				// h1's last trial dominates the others, so h1 and h1[:79] (whose γ is the
				// same) split differently.
				h1[79].Values = []float64{-100, 100, -100}[:k]
				shared := tpe.New(m.o)
				for i, h := range [][]retune.FrozenTrial{h1, h2, h1[:50], h2, h1, h1[:79]} {
					req, fresh := request(h, uint64(i)), request(h, uint64(i))
					req.Directions, fresh.Directions = dirs, dirs
					got := propose(t, shared, req)
					want := propose(t, tpe.New(m.o), fresh)
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("request %d: shared sampler proposes %v, fresh one %v", i, got, want)
					}
				}
			})
		}
	}
}

// The library's shared-prefix trial slices: requests that extend each other, served
// concurrently.
func TestConcurrentRequests(t *testing.T) {
	t.Parallel()
	h := history(200, 5)
	s := tpe.New(tpe.Options{Multivariate: true})
	fresh := tpe.New(tpe.Options{Multivariate: true})
	var want []map[string]any
	for n := 20; n <= 200; n += 20 {
		want = append(want, propose(t, fresh, request(h[:n], uint64(n))))
	}
	var wg sync.WaitGroup
	got := make([]map[string]any, len(want))
	for i := range want {
		wg.Go(func() {
			n := 20 * (i + 1)
			got[i] = propose(t, s, request(h[:n], uint64(n)))
		})
	}
	wg.Wait()
	for i := range want {
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			t.Errorf("request %d: concurrent %v, sequential %v", i, got[i], want[i])
		}
	}
}

func TestConstantLiarSpreadsParallelAsks(t *testing.T) {
	t.Parallel()
	d := retune.FloatDistribution{Low: 0, High: 10}
	dists := map[string]retune.Distribution{"x": d}
	// Good values near x = 7, bad ones elsewhere; 8 workers are evaluating x = 7 now.
	var trials []retune.FrozenTrial
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 60 {
		x := r.Float64() * 10
		trials = append(trials, retune.FrozenTrial{
			Number: i, State: retune.TrialComplete, Params: map[string]any{"x": x},
			Distributions: dists, Values: []float64{math.Abs(x - 7)}, End: time.Unix(int64(i), 0),
		})
	}
	var running []retune.FrozenTrial
	for i := range 8 {
		running = append(running, retune.FrozenTrial{
			Number: 60 + i, State: retune.TrialRunning, Params: map[string]any{"x": 7.0}, Distributions: dists,
		})
	}
	near := func(liar bool) int {
		s := tpe.New(tpe.Options{ConstantLiar: liar})
		count := 0
		for seed := range 200 {
			req := &retune.SampleRequest{
				Directions: []retune.Direction{retune.Minimize}, Trials: trials, Running: running,
				Trial: retune.FrozenTrial{Number: 68}, Rand: rand.New(rand.NewPCG(uint64(seed), 3)),
			}
			v, err := s.Independent(context.Background(), req, "x", d)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(v.(float64)-7) < 0.25 {
				count++
			}
		}
		return count
	}
	without, with := near(false), near(true)
	t.Logf("proposals within 0.25 of the running point: %d/200 without the liar, %d/200 with it", without, with)
	if with >= without/2 || with == 200 {
		t.Errorf("with the constant liar %d/200 proposals stay at the running point, without %d: want at most half as many", with, without)
	}
}

func TestFailIgnoredPrunedUsed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := history(40, 9)
	// FAIL trials anywhere change nothing.
	withFail := slices.Clone(base)
	for i := range 30 {
		ft := history(1, uint64(100+i))[0]
		ft.Number, ft.State, ft.Values, ft.End = 40+i, retune.TrialFail, nil, time.Unix(int64(40+i), 0)
		withFail = append(withFail, ft)
	}
	for _, m := range modes {
		a := propose(t, tpe.New(m.o), request(base, 1))
		b := propose(t, tpe.New(m.o), request(withFail, 1))
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: FAIL trials changed the proposal from %v to %v", m.name, a, b)
		}
	}
	// PRUNED trials count toward the startup trials and enter the model.
	d := retune.FloatDistribution{Low: 0, High: 1}
	var pruned []retune.FrozenTrial
	for i := range 12 {
		x := float64(i) / 12
		pruned = append(pruned, retune.FrozenTrial{
			Number: i, State: retune.TrialPruned, Params: map[string]any{"x": x},
			Distributions: map[string]retune.Distribution{"x": d},
			Intermediate:  map[int64][]float64{0: {1}, 3: {math.Abs(x - 0.3)}}, End: time.Unix(int64(i), 0),
		})
	}
	s := tpe.New(tpe.Options{StartupTrials: 10})
	uniform := 0
	for seed := range 50 {
		req := &retune.SampleRequest{Directions: []retune.Direction{retune.Minimize}, Trials: pruned, Rand: rand.New(rand.NewPCG(uint64(seed), 1))}
		v, err := s.Independent(ctx, req, "x", d)
		if err != nil {
			t.Fatal(err)
		}
		if retune.SampleUniform(rand.New(rand.NewPCG(uint64(seed), 1)), d) == v {
			uniform++
		}
	}
	if uniform == 50 {
		t.Errorf("12 PRUNED trials: every proposal is the uniform draw, want the model used")
	}
}

func TestDistributionChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	old := history(60, 4)
	cases := []struct {
		name string
		d    retune.Distribution
	}{
		{"narrower float", retune.FloatDistribution{Low: 0, High: 2}},
		{"wider float", retune.FloatDistribution{Low: -10, High: 10}},
		{"float to log", retune.FloatDistribution{Low: 0.5, High: 5, Log: true}},
		{"float to step", retune.FloatDistribution{Low: -3, High: 7, Step: 0.5}},
		{"float to int", retune.IntDistribution{Low: -3, High: 7}},
		{"float to categorical", retune.CategoricalDistribution{Choices: []any{"x", "y"}}},
		{"categorical to other choices", retune.CategoricalDistribution{Choices: []any{"c", "z"}}},
		{"int to float", retune.FloatDistribution{Low: -4, High: 6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			name := "f"
			switch c.name {
			case "categorical to other choices":
				name = "c"
			case "int to float":
				name = "i"
			}
			for _, m := range modes {
				s := tpe.New(m.o)
				req := request(old, 1)
				req.Space = map[string]retune.Distribution{name: c.d, "flog": mixedSpace[1].Dist}
				if m.o.Multivariate || m.o.Group {
					rel, err := s.Relative(ctx, req)
					if err != nil {
						t.Fatal(err)
					}
					if v, ok := rel[name]; ok && !c.d.Contains(v) {
						t.Errorf("%s: Relative %s = %v, want a value in %v", m.name, name, v, c.d)
					}
				}
				v, err := s.Independent(ctx, req, name, c.d)
				if err != nil {
					t.Fatal(err)
				}
				if !c.d.Contains(v) {
					t.Errorf("%s: Independent %s = %v, want a value in %v", m.name, name, v, c.d)
				}
			}
		})
	}
	// Values outside the current range are ignored: the same as if the trials lacked them.
	d := retune.FloatDistribution{Low: 0, High: 2}
	without := slices.Clone(old)
	for i := range without {
		if x := without[i].Params["f"].(float64); x < 0 || x > 2 {
			p := maps(without[i].Params)
			delete(p, "f")
			without[i].Params = p
		}
	}
	for seed := range 10 {
		a, err := tpe.New(tpe.Options{}).Independent(ctx, request(old, uint64(seed)), "f", d)
		if err != nil {
			t.Fatal(err)
		}
		b, err := tpe.New(tpe.Options{}).Independent(ctx, request(without, uint64(seed)), "f", d)
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Errorf("seed %d: %v with out-of-range values, %v without them, want equal", seed, a, b)
		}
	}
}

func maps(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestInfiniteValues(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := samplertest.NewStudy(t, retune.Config{Seed: 5, Sampler: tpe.New(m.o)})
			_, err := s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
				x := tr.Float("x", -1, 1)
				y := tr.Int("y", 0, 4)
				switch {
				case x > 0.6:
					return math.Inf(1), nil
				case x < -0.8:
					return math.Inf(-1), nil
				}
				return x*x + float64(y), nil
			}, retune.OptimizeOptions{Trials: 50})
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range samplertest.Trials(t, s) {
				if tr.State != retune.TrialComplete {
					t.Errorf("trial %d: %v (%s), want COMPLETE", tr.Number, tr.State, tr.Reason)
				}
			}
		})
	}
}

func TestMultiObjective(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		for _, k := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s/%d", m.name, k), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				dirs := make([]retune.Direction, k)
				dirs[1] = retune.Maximize
				s := samplertest.NewStudy(t, retune.Config{Seed: 8, Directions: dirs, Sampler: tpe.New(m.o)})
				res, err := s.OptimizeMulti(ctx, func(ctx context.Context, tr *retune.Trial) ([]float64, error) {
					x, y := tr.Float("x", 0, 1), tr.Float("y", 0, 1)
					c := tr.Categorical("c", "a", "b")
					out := []float64{x, -(1 - math.Sqrt(x)) * (1 + y), y}[:k]
					if c == "b" {
						out[0] += 0.1
					}
					if x > 0.95 {
						out[0] = math.Inf(1)
					}
					return out, nil
				}, retune.OptimizeOptions{Trials: 50})
				if err != nil {
					t.Fatal(err)
				}
				if res.Completed != 50 || len(res.Best) == 0 {
					t.Errorf("OptimizeMulti = %d completed, front of %d, want 50 and a front", res.Completed, len(res.Best))
				}
			})
		}
	}
}

// Conditional params: with Group, each branch's params are proposed jointly.
func TestGroupConditionalSpace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := tpe.New(tpe.Options{Group: true, StartupTrials: 5})
	st := samplertest.NewStudy(t, retune.Config{Seed: 2, Sampler: s})
	obj := func(ctx context.Context, tr *retune.Trial) (float64, error) {
		if tr.Categorical("model", "linear", "tree") == "linear" {
			a, b := tr.Float("alpha", 1e-4, 1, retune.Log), tr.Float("l1", 0, 1)
			return math.Abs(math.Log10(a)+2) + b, nil
		}
		return float64(tr.Int("depth", 1, 8)) / 8, nil
	}
	if _, err := st.Optimize(ctx, obj, retune.OptimizeOptions{Trials: 40}); err != nil {
		t.Fatal(err)
	}
	ts := samplertest.Trials(t, st)
	req := &retune.SampleRequest{Directions: []retune.Direction{retune.Minimize}, Trials: ts, Rand: rand.New(rand.NewPCG(1, 1))}
	space, err := s.Space(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range space {
		names = append(names, n)
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[alpha depth l1 model]" {
		t.Fatalf("Space = %v, want every param of both branches", names)
	}
	req.Space = space
	rel, err := s.Relative(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if v, ok := rel[n]; !ok || !space[n].Contains(v) {
			t.Errorf("Relative[%s] = %v, want a value in %v", n, v, space[n])
		}
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	got := tpe.New(tpe.Options{}).Spec()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"tpe","options":{"candidates":24,"constant_liar":false,"group":false,"multivariate":false,"prior_weight":1,"startup_trials":10}}`
	if string(b) != want {
		t.Errorf("Spec() = %s, want %s", b, want)
	}
	same := tpe.New(tpe.Options{StartupTrials: 10, Candidates: 24, PriorWeight: 1}).Spec()
	if fmt.Sprint(same) != fmt.Sprint(got) {
		t.Errorf("Spec of explicit defaults = %v, want %v", same, got)
	}
	custom := tpe.New(tpe.Options{Group: true, GammaFunc: func(n int) int { return n / 4 }}).Spec()
	if custom.Options["gamma"] != "custom" || custom.Options["multivariate"] != true {
		t.Errorf("Spec with Group and GammaFunc = %v, want gamma custom and multivariate true", custom)
	}
	// A study resumed with the same options is not a sampler change.
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	samplertest.NewStudy(t, retune.Config{Seed: 1, Storage: store, Sampler: tpe.New(tpe.Options{Multivariate: true})})
	if _, err := retune.NewStudy(ctx, retune.Config{Seed: 1, Storage: store, Sampler: tpe.New(tpe.Options{Multivariate: true})}); err != nil {
		t.Errorf("resume with the same options: %v", err)
	}
	if _, err := retune.NewStudy(ctx, retune.Config{Seed: 1, Storage: store, Sampler: tpe.New(tpe.Options{})}); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("resume with other options: error %v, want ErrConflict", err)
	}
}

func TestNewPanicsOnInvalidOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []tpe.Options{{Candidates: -1}, {PriorWeight: -1}, {PriorWeight: math.NaN()}, {PriorWeight: math.Inf(1)}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", o)
				}
			}()
			tpe.New(o)
		}()
	}
}

func TestCustomFuncs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := history(60, 3)
	s := tpe.New(tpe.Options{GammaFunc: func(n int) int { return n / 4 }, WeightFunc: func(n int) []float64 {
		w := make([]float64, n)
		for i := range w {
			w[i] = float64(i + 1)
		}
		return w
	}})
	for _, p := range mixedSpace {
		v, err := s.Independent(ctx, request(h, 1), p.Name, p.Dist)
		if err != nil || !p.Dist.Contains(v) {
			t.Errorf("Independent(%s) = %v, %v, want a value in %v", p.Name, v, err, p.Dist)
		}
	}
	bad := tpe.New(tpe.Options{WeightFunc: func(n int) []float64 { return make([]float64, n+1) }})
	if _, err := bad.Independent(ctx, request(h, 1), "f", mixedSpace[0].Dist); err == nil {
		t.Errorf("Independent with a WeightFunc returning too many weights: no error")
	}
}

// TPE finds a better point of a 2-D quadratic than random sampling in 60 trials, on the
// median of 10 seeds.
func TestBeatsRandom(t *testing.T) {
	t.Parallel()
	obj := func(ctx context.Context, tr *retune.Trial) (float64, error) {
		x, y := tr.Float("x", -5, 5), tr.Float("y", -5, 5)
		return (x-1.3)*(x-1.3) + 2*(y+0.7)*(y+0.7), nil
	}
	best := func(sampler retune.Sampler, seed uint64) float64 {
		s := samplertest.NewStudy(t, retune.Config{Seed: seed, Sampler: sampler})
		res, err := s.Optimize(context.Background(), obj, retune.OptimizeOptions{Trials: 60})
		if err != nil {
			t.Fatal(err)
		}
		return res.Best[0].Value()
	}
	for _, m := range []tpe.Options{{}, {Multivariate: true}} {
		var tp, rd []float64
		for seed := uint64(1); seed <= 10; seed++ {
			tp = append(tp, best(tpe.New(m), seed))
			rd = append(rd, best(random.New(), seed))
		}
		slices.Sort(tp)
		slices.Sort(rd)
		mt, mr := (tp[4]+tp[5])/2, (rd[4]+rd[5])/2
		t.Logf("%+v: median best %.4f (TPE) vs %.4f (random)", m, mt, mr)
		if mt >= mr {
			t.Errorf("%+v: TPE median best %.4f, random %.4f: want TPE better", m, mt, mr)
		}
	}
}

// TestConstraints: told a constraint, TPE models the feasible trials and proposes mostly
// feasible points where, without it, it follows the infeasible optimum.
func TestConstraints(t *testing.T) {
	t.Parallel()
	samplertest.CheckConstraintsUsed(t, func() retune.Sampler { return tpe.New(tpe.Options{}) }, 80)
	samplertest.CheckConstraintsUsed(t, func() retune.Sampler { return tpe.New(tpe.Options{Multivariate: true}) }, 80)
	samplertest.CheckConstraintsUsed(t, func() retune.Sampler { return tpe.New(tpe.Options{}) }, 80, retune.Minimize, retune.Minimize)
}
