package gp_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/internal/samplertest"
	"github.com/a6b40afc/retune/sampler/gp"
)

// fast are options that keep the tests quick.
var fast = gp.Options{StartupTrials: 5, Candidates: 256, LocalSearches: 2}

func TestSamplesInsideSpace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := samplertest.NewStudy(t, retune.Config{Seed: 3, Sampler: gp.New(fast)})
	_, err := s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
		return samplertest.Loss(tr, samplertest.Mixed, math.Log10), nil
	}, retune.OptimizeOptions{Trials: 25, Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range samplertest.Trials(t, s) {
		if tr.State != retune.TrialComplete {
			t.Fatalf("trial %d is %v (%s), want COMPLETE", tr.Number, tr.State, tr.Reason)
		}
		for _, p := range samplertest.Mixed {
			if v := tr.Params[p.Name]; !p.Dist.Contains(v) {
				t.Errorf("trial %d: %s = %v (%T), want a value in %v", tr.Number, p.Name, v, v, p.Dist)
			}
		}
	}
}

func TestSameSeedSameParams(t *testing.T) {
	t.Parallel()
	run := func() []map[string]any {
		ctx := context.Background()
		s := samplertest.NewStudy(t, retune.Config{Seed: 11, Sampler: gp.New(fast), Direction: retune.Maximize})
		_, err := s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
			return -samplertest.Loss(tr, samplertest.Mixed, math.Log10), nil
		}, retune.OptimizeOptions{Trials: 15})
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]any
		for _, tr := range samplertest.Trials(t, s) {
			out = append(out, tr.Params)
		}
		return out
	}
	a, b := run(), run()
	for i := range a {
		for k, v := range a[i] {
			if b[i][k] != v {
				t.Errorf("trial %d: %s = %v and %v in two runs with the same seed", i, k, v, b[i][k])
			}
		}
	}
}

// history returns n COMPLETE Branin trials at uniform points.
func history(n int, seed uint64) []retune.FrozenTrial {
	r := rand.New(rand.NewPCG(seed, 7))
	dx := retune.FloatDistribution{Low: -5, High: 10}
	dy := retune.FloatDistribution{Low: 0, High: 15}
	out := make([]retune.FrozenTrial, n)
	for i := range out {
		x, y := retune.SampleUniform(r, dx).(float64), retune.SampleUniform(r, dy).(float64)
		out[i] = retune.FrozenTrial{
			Number: i, State: retune.TrialComplete,
			Params:        map[string]any{"x": x, "y": y},
			Distributions: map[string]retune.Distribution{"x": dx, "y": dy},
			Values:        []float64{problem.Branin(x, y)}, End: time.Unix(int64(i), 0),
		}
	}
	return out
}

func request(trials []retune.FrozenTrial, running []retune.FrozenTrial, seed uint64) *retune.SampleRequest {
	return &retune.SampleRequest{
		Directions: []retune.Direction{retune.Minimize},
		Space:      trials[len(trials)-1].Distributions,
		Trials:     trials,
		Running:    running,
		Trial:      retune.FrozenTrial{Number: len(trials) + len(running)},
		Rand:       rand.New(rand.NewPCG(seed, 1)),
		Seed:       seed,
	}
}

func TestProposalDependsOnlyOnRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	trials := history(60, 1)
	trust := fast
	trust.TrustRegion = true
	for _, o := range []gp.Options{fast, trust} {
		// A sampler that has seen every shorter history, and a fresh one.
		used := gp.New(o)
		for n := 5; n < len(trials); n += 7 {
			if _, err := used.Relative(ctx, request(trials[:n], nil, 5)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := used.Relative(ctx, request(trials, nil, 5))
		if err != nil {
			t.Fatal(err)
		}
		want, err := gp.New(o).Relative(ctx, request(trials, nil, 5))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("trust region %v: %s = %v from a sampler with a cache, %v from a fresh one", o.TrustRegion, k, got[k], v)
			}
		}
	}
}

func TestRunningTrialsSpreadProposals(t *testing.T) {
	t.Parallel()
	trust := fast
	trust.TrustRegion = true
	for _, o := range []gp.Options{fast, trust} {
		t.Run(fmt.Sprint("trust region ", o.TrustRegion), func(t *testing.T) {
			t.Parallel()
			runningTrialsSpreadProposals(t, o)
		})
	}
}

func runningTrialsSpreadProposals(t *testing.T, o gp.Options) {
	ctx := context.Background()
	// Through the sampler: the same request with the first proposal running proposes
	// another point.
	trials := history(30, 2)
	smp := gp.New(o)
	first, err := smp.Relative(ctx, request(trials, nil, 9))
	if err != nil {
		t.Fatal(err)
	}
	running := []retune.FrozenTrial{{Number: 30, State: retune.TrialRunning, Params: first, Distributions: trials[0].Distributions}}
	second, err := smp.Relative(ctx, request(trials, running, 9))
	if err != nil {
		t.Fatal(err)
	}
	dx := (first["x"].(float64) - second["x"].(float64)) / 15
	dy := (first["y"].(float64) - second["y"].(float64)) / 15
	if d := math.Hypot(dx, dy); d < 0.01 {
		t.Errorf("with %v running, proposal %v is %.3g away (in the unit square), want it elsewhere", first, second, d)
	}

	// Through a study: asks while earlier ones run all differ.
	s := samplertest.NewStudy(t, retune.Config{Seed: 4, Sampler: gp.New(o)})
	branin := func(ctx context.Context, tr *retune.Trial) (float64, error) {
		return problem.Branin(tr.Float("x", -5, 10), tr.Float("y", 0, 15)), nil
	}
	if _, err := s.Optimize(ctx, branin, retune.OptimizeOptions{Trials: 20}); err != nil {
		t.Fatal(err)
	}
	var pts [][2]float64
	for range 4 {
		tr, err := s.Ask(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pts = append(pts, [2]float64{tr.Float("x", -5, 10), tr.Float("y", 0, 15)})
	}
	for i := range pts {
		for j := range i {
			if pts[i] == pts[j] {
				t.Errorf("parallel asks %d and %d both propose %v", j, i, pts[i])
			}
		}
	}
}

func TestUnusableTrials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := samplertest.NewStudy(t, retune.Config{Seed: 5, Sampler: gp.New(fast)})
	errBoom := errors.New("boom")
	n := 0
	res, err := s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
		n++
		x := tr.Float("x", 0, 1)
		if tr.Number()%3 == 0 {
			_ = tr.Int("cond", 1, 5) // a conditional param, outside the joint space
		}
		switch n % 7 {
		case 2:
			return math.Inf(1), nil
		case 4:
			return math.Inf(-1), nil
		case 5:
			return 0, errBoom
		}
		return (x - 0.3) * (x - 0.3), nil
	}, retune.OptimizeOptions{Trials: 25})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed == 0 || res.Completed == 0 {
		t.Fatalf("completed %d, failed %d: want both", res.Completed, res.Failed)
	}
	for _, tr := range samplertest.Trials(t, s) {
		if x, ok := tr.Params["x"].(float64); !ok || x < 0 || x > 1 {
			t.Errorf("trial %d: x = %v, want a value in [0, 1]", tr.Number, tr.Params["x"])
		}
		if c, ok := tr.Params["cond"]; ok && !(retune.IntDistribution{Low: 1, High: 5}).Contains(c) {
			t.Errorf("trial %d: cond = %v, want an int in [1, 5]", tr.Number, c)
		}
	}
}

func TestSeveralObjectives(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := samplertest.NewStudy(t, retune.Config{Seed: 1, Sampler: gp.New(fast), Directions: []retune.Direction{retune.Minimize, retune.Minimize}})
	tr, err := s.Ask(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tr.Float("x", 0, 1)
	if err := tr.Err(); !errors.Is(err, gp.ErrMultiObjective) {
		t.Errorf("suggesting with gp in a study of two objectives: err = %v, want ErrMultiObjective", err)
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	sp := gp.New(gp.Options{}).Spec()
	if sp.Name != "gp" || sp.Options["startup_trials"] != 10 || sp.Options["candidates"] != 2048 {
		t.Errorf("Spec() = %+v, want name gp with the defaults", sp)
	}
	// A spec stored before trust_region existed has no such key: without a trust region
	// the spec must not have it either, or resuming such a study would be a conflict.
	if _, ok := sp.Options["trust_region"]; ok {
		t.Errorf("Spec() = %+v, want no trust_region without a trust region", sp)
	}
	if sp := gp.New(gp.Options{TrustRegion: true}).Spec(); sp.Options["trust_region"] != true {
		t.Errorf("Spec() with a trust region = %+v, want trust_region true", sp)
	}
}

func TestBraninRegret(t *testing.T) {
	if testing.Short() {
		t.Skip("quality check")
	}
	t.Parallel()
	ctx := context.Background()
	for i := range 6 {
		seed := uint64(i % 3)
		s := samplertest.NewStudy(t, retune.Config{Seed: seed + 1, Sampler: gp.New(gp.Options{TrustRegion: i >= 3})})
		res, err := s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
			return problem.Branin(tr.Float("x0", -5, 10), tr.Float("x1", 0, 15)), nil
		}, retune.OptimizeOptions{Trials: 40})
		if err != nil {
			t.Fatal(err)
		}
		if regret := res.Best[0].Value() - 0.397887; regret > 0.05 {
			t.Errorf("seed %d, trust region %v: regret after 40 trials = %v, want <= 0.05", seed+1, i >= 3, regret)
		}
	}
}

// TestConstraints: told a constraint, the GP maximizes constrained expected improvement
// and closes in on the feasible optimum (0.25, on the constraint's boundary, so about
// half its proposals there fall just outside); without it, it closes in on the infeasible
// optimum and its best feasible value is an early draw's.
func TestConstraints(t *testing.T) {
	t.Parallel()
	newSampler := func() retune.Sampler { return gp.New(gp.Options{}) }
	_, with := samplertest.ConstrainedRun(t, newSampler, 40, true)
	_, without := samplertest.ConstrainedRun(t, newSampler, 40, false)
	if with > 0.26 || with >= without {
		t.Errorf("best feasible value after 40 trials: %v with the constraint, %v without; want <= 0.26 (optimum 0.25) and better than without", with, without)
	}
}

// TestTrustRegionCategoricalRunning: with only categorical params the trust region is the
// whole space, so a running trial at the proposal cannot widen it; the ask returns.
func TestTrustRegionCategoricalRunning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dists := map[string]retune.Distribution{
		"a": retune.CategoricalDistribution{Choices: []any{"p", "q"}},
		"b": retune.CategoricalDistribution{Choices: []any{"r", "s"}},
	}
	r := rand.New(rand.NewPCG(3, 3))
	var trials []retune.FrozenTrial
	for i := range 12 {
		a, b := dists["a"].(retune.CategoricalDistribution).Choices[r.IntN(2)], dists["b"].(retune.CategoricalDistribution).Choices[r.IntN(2)]
		v := 1.0
		if a == "q" {
			v = 0
		}
		trials = append(trials, retune.FrozenTrial{Number: i, State: retune.TrialComplete, Params: map[string]any{"a": a, "b": b},
			Distributions: dists, Values: []float64{v}, End: time.Unix(int64(i), 0)})
	}
	smp := gp.New(gp.Options{StartupTrials: 5, TrustRegion: true})
	first, err := smp.Relative(ctx, request(trials, nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	// Every point of the space is running or observed: the proposal must still come back.
	var running []retune.FrozenTrial
	for _, a := range []any{"p", "q"} {
		for _, b := range []any{"r", "s"} {
			running = append(running, retune.FrozenTrial{Number: 12 + len(running), State: retune.TrialRunning, Params: map[string]any{"a": a, "b": b}, Distributions: dists})
		}
	}
	second, err := smp.Relative(ctx, request(trials, running, 1))
	if err != nil || !dists["a"].Contains(second["a"]) || !dists["b"].Contains(second["b"]) {
		t.Errorf("Relative with every point running = %v, %v (first proposal %v); want a point of the space", second, err, first)
	}
}
