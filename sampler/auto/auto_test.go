package auto_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/internal/samplertest"
	"github.com/a6b40afc/retune/sampler/auto"
	"github.com/a6b40afc/retune/sampler/tpe"
)

var (
	unit   = retune.FloatDistribution{Low: 0, High: 1}
	small  = retune.IntDistribution{Low: 1, High: 10}
	colour = retune.CategoricalDistribution{Choices: []any{"red", "green", "blue"}}
)

// history returns n finished trials of state st with the params of dists, each set to a
// value inside its distribution.
func history(n int, st retune.TrialState, dists map[string]retune.Distribution) []retune.FrozenTrial {
	out := make([]retune.FrozenTrial, n)
	for i := range out {
		p := map[string]any{}
		for name, d := range dists {
			p[name] = d.ToExternal(0)
		}
		out[i] = retune.FrozenTrial{Number: i, State: st, Params: p, Distributions: dists, Values: []float64{float64(i)}}
	}
	return out
}

// constrained gives every trial of h a constraint value (satisfied).
func constrained(h []retune.FrozenTrial) []retune.FrozenTrial {
	for i := range h {
		h[i].SystemAttrs = map[string]any{"constraints": []any{-1.0}}
	}
	return h
}

func concat(hs ...[]retune.FrozenTrial) []retune.FrozenTrial {
	var out []retune.FrozenTrial
	for _, h := range hs {
		for _, ft := range h {
			ft.Number = len(out)
			out = append(out, ft)
		}
	}
	return out
}

func TestChoice(t *testing.T) {
	t.Parallel()
	numeric := map[string]retune.Distribution{"x": unit, "y": unit, "n": small}
	oneCat := map[string]retune.Distribution{"x": unit, "y": unit, "n": small, "c": colour}
	halfCat := map[string]retune.Distribution{"x": unit, "c": colour}
	one := []retune.Direction{retune.Minimize}
	two := []retune.Direction{retune.Minimize, retune.Maximize}
	three := []retune.Direction{retune.Minimize, retune.Maximize, retune.Minimize}
	tests := []struct {
		name   string
		o      auto.Options
		dirs   []retune.Direction
		trials []retune.FrozenTrial
		want   string
	}{
		{"empty", auto.Options{}, one, nil, auto.GP},
		{"numeric small budget", auto.Options{}, one, history(50, retune.TrialComplete, numeric), auto.TrustGP},
		{"numeric below handover", auto.Options{}, one, history(auto.NumericGPTrials-1, retune.TrialComplete, numeric), auto.TrustGP},
		{"numeric at handover", auto.Options{}, one, history(auto.NumericGPTrials, retune.TrialComplete, numeric), auto.CMAES},
		{"numeric at threshold", auto.Options{}, one, history(200, retune.TrialComplete, numeric), auto.CMAES},
		{"rules 5 numeric small budget: the GP without a trust region", auto.Options{Rules: 5}, one, history(50, retune.TrialComplete, numeric), auto.GP},
		{"rules 5 categorical small budget", auto.Options{Rules: 5}, one, history(50, retune.TrialComplete, oneCat), auto.GP},
		{"rules 3 numeric below threshold", auto.Options{Rules: 3}, one, history(199, retune.TrialComplete, numeric), auto.GP},
		{"rules 3 numeric at threshold", auto.Options{Rules: 3}, one, history(200, retune.TrialComplete, numeric), auto.CMAES},
		{"categorical keeps the GP past the handover", auto.Options{}, one, history(150, retune.TrialComplete, oneCat), auto.TrustGP},
		{"constraints keep the GP past the handover, without a trust region", auto.Options{}, one, constrained(history(150, retune.TrialComplete, numeric)), auto.GP},
		{"constraints after the GP", auto.Options{}, one, constrained(history(200, retune.TrialComplete, numeric)), auto.TPE},
		{"gp_trials applies to numeric params when numeric_gp_trials is not set", auto.Options{GPTrials: 300}, one, history(299, retune.TrialComplete, numeric), auto.TrustGP},
		{"gp_trials at its threshold", auto.Options{GPTrials: 300}, one, history(300, retune.TrialComplete, numeric), auto.CMAES},
		{"numeric_gp_trials", auto.Options{NumericGPTrials: 20}, one, history(20, retune.TrialComplete, numeric), auto.CMAES},
		{"numeric_gp_trials leaves categorical params to gp_trials", auto.Options{NumericGPTrials: 20}, one, history(199, retune.TrialComplete, oneCat), auto.TrustGP},
		{"numeric_gp_trials never", auto.Options{NumericGPTrials: -1}, one, history(500, retune.TrialComplete, numeric), auto.TrustGP},
		{"custom threshold", auto.Options{GPTrials: 30}, one, history(30, retune.TrialComplete, numeric), auto.CMAES},
		{"never cmaes", auto.Options{GPTrials: -1}, one, history(500, retune.TrialComplete, numeric), auto.TrustGP},
		{"pruned trials do not count", auto.Options{GPTrials: 30},
			one, concat(history(29, retune.TrialComplete, numeric), history(10, retune.TrialPruned, numeric)), auto.TrustGP},
		{"failed trials missing params are not conditional", auto.Options{}, one,
			concat(history(20, retune.TrialComplete, numeric), history(5, retune.TrialFail, map[string]retune.Distribution{"x": unit})), auto.TrustGP},
		{"few categorical small budget", auto.Options{}, one, history(50, retune.TrialComplete, oneCat), auto.TrustGP},
		{"few categorical large budget", auto.Options{}, one, history(200, retune.TrialComplete, oneCat), auto.TPE},
		{"categorical-heavy", auto.Options{}, one, history(5, retune.TrialComplete, halfCat), auto.TPE},
		{"conditional", auto.Options{}, one,
			concat(history(5, retune.TrialComplete, numeric), history(1, retune.TrialComplete, map[string]retune.Distribution{"x": unit})), auto.TPE},
		{"conditional stays", auto.Options{}, one,
			concat(history(1, retune.TrialComplete, map[string]retune.Distribution{"x": unit}), history(300, retune.TrialComplete, numeric)), auto.TPE},
		{"constrained small budget", auto.Options{GPTrials: 30}, one, constrained(history(29, retune.TrialComplete, numeric)), auto.GP},
		{"constrained large budget", auto.Options{GPTrials: 30}, one, concat(history(29, retune.TrialComplete, numeric), constrained(history(1, retune.TrialComplete, numeric))), auto.TPE},
		{"two objectives small budget", auto.Options{}, two, history(50, retune.TrialComplete, numeric), auto.TPE},
		{"two objectives large budget", auto.Options{}, two, history(250, retune.TrialComplete, numeric), auto.NSGA2},
		{"two objectives custom threshold", auto.Options{NSGA2Trials: 10}, two, history(10, retune.TrialComplete, numeric), auto.NSGA2},
		{"two objectives never nsga2", auto.Options{NSGA2Trials: -1}, two, history(1000, retune.TrialComplete, numeric), auto.TPE},
		{"three objectives small budget", auto.Options{}, three, history(50, retune.TrialComplete, numeric), auto.TPE},
		{"three objectives large budget", auto.Options{}, three, history(250, retune.TrialComplete, numeric), auto.NSGA2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := auto.New(tt.o)
			a := s.Annotate(&retune.SampleRequest{Directions: tt.dirs, Trials: tt.trials})
			if got := a["auto.sampler"]; got != tt.want {
				t.Errorf("Annotate(...)[auto.sampler] = %v, want %v (reason %q)", got, tt.want, a["auto.reason"])
			}
			if r, _ := a["auto.reason"].(string); r == "" {
				t.Errorf("Annotate(...)[auto.reason] = %v, want an explanation", a["auto.reason"])
			}
		})
	}
}

// Rules 2 model three or more objectives with independent TPE (no joint space), rules 1
// and two objectives with grouped TPE (a joint space of the params every trial has).
func TestRules(t *testing.T) {
	t.Parallel()
	numeric := map[string]retune.Distribution{"x": unit, "y": unit, "n": small}
	ctx := context.Background()
	for _, c := range []struct {
		rules, objectives int
		joint             bool
		reason            string
	}{
		{0, 3, false, "3 objectives, 40 complete trials: independent TPE with 192 candidates before NSGA-II"},
		{7, 4, false, "4 objectives, 40 complete trials: independent TPE with 192 candidates before NSGA-II"},
		{6, 3, false, "3 objectives, 40 complete trials: independent TPE before NSGA-II"},
		{2, 4, false, "4 objectives, 40 complete trials: independent TPE before NSGA-II"},
		{7, 2, true, "2 objectives, 40 complete trials: TPE before NSGA-II"},
		{1, 3, true, "3 objectives, 40 complete trials: TPE before NSGA-II"},
		{2, 2, true, "2 objectives, 40 complete trials: TPE before NSGA-II"},
	} {
		s := auto.New(auto.Options{Rules: c.rules})
		req := &retune.SampleRequest{Directions: make([]retune.Direction, c.objectives), Trials: history(40, retune.TrialComplete, numeric), Space: numeric}
		for i := range req.Trials {
			req.Trials[i].Values = make([]float64, c.objectives)
		}
		space, err := s.Space(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if (len(space) > 0) != c.joint {
			t.Errorf("rules %d, %d objectives: joint space %v, want one: %v", c.rules, c.objectives, space, c.joint)
		}
		if a := s.Annotate(req); a["auto.sampler"] != auto.TPE || a["auto.reason"] != c.reason {
			t.Errorf("rules %d, %d objectives: %v, want TPE because %q", c.rules, c.objectives, a, c.reason)
		}
		// Rules 1 is a spec without rules, as stored before they had versions.
		got, ok := s.Spec().Options["rules"]
		if want := cmp.Or(c.rules, auto.LatestRules); (want == 1) == ok || (ok && got != want) {
			t.Errorf("rules %d: spec %v, want rules %d", c.rules, s.Spec(), want)
		}
	}
	// Rules 7 propose as TPE with MOCandidates and MOPriorWeight does; rules 6 as TPE's
	// defaults do. Both draw every param independently.
	mo := func(rules int) map[string]any {
		dists := map[string]retune.Distribution{"x": unit, "y": unit, "n": small}
		trials := history(40, retune.TrialComplete, dists)
		for i := range trials {
			u := float64(i) / 40
			trials[i].Params = map[string]any{"x": u, "y": 1 - u, "n": int64(1 + i%10)}
			trials[i].Values = []float64{u, 1 - u, math.Abs(u - 0.5)}
		}
		req := &retune.SampleRequest{Directions: make([]retune.Direction, 3), Trials: trials, Space: dists,
			Trial: retune.FrozenTrial{Number: 40}, Rand: rand.New(rand.NewPCG(5, 6)), Seed: 1}
		var smp retune.Sampler = tpe.New(tpe.Options{Candidates: auto.MOCandidates, PriorWeight: auto.MOPriorWeight})
		if rules > 0 {
			smp = auto.New(auto.Options{Rules: rules})
		}
		out := map[string]any{}
		for _, name := range []string{"n", "x", "y"} {
			v, err := smp.Independent(ctx, req, name, dists[name])
			if err != nil {
				t.Fatal(err)
			}
			out[name] = v
		}
		return out
	}
	if r7, want, r6 := mo(7), mo(-1), mo(6); !reflect.DeepEqual(r7, want) || reflect.DeepEqual(r7, r6) {
		t.Errorf("three objectives: rules 7 propose %v, TPE with the MO options %v, rules 6 %v; want rules 7 = the MO options, unlike rules 6", r7, want, r6)
	}
	for _, c := range []struct {
		o    auto.Options
		want any // numeric_gp_trials in the spec; nil: absent
	}{
		{auto.Options{}, auto.NumericGPTrials},
		{auto.Options{GPTrials: 50}, 50},
		{auto.Options{GPTrials: 500}, 500},
		{auto.Options{GPTrials: 500, NumericGPTrials: 40}, 40},
		{auto.Options{NumericGPTrials: -5}, -1},
		{auto.Options{Rules: 3}, nil},
	} {
		if got := auto.New(c.o).Spec().Options["numeric_gp_trials"]; got != c.want {
			t.Errorf("New(%+v).Spec() numeric_gp_trials = %v, want %v", c.o, got, c.want)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("New(Rules 3, NumericGPTrials 5) did not panic")
			}
		}()
		auto.New(auto.Options{Rules: 3, NumericGPTrials: 5})
	}()
	for _, bad := range []int{-1, auto.LatestRules + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(Rules %d) did not panic", bad)
				}
			}()
			auto.New(auto.Options{Rules: bad})
		}()
	}
}

// TestChoiceCache asks with growing and shrinking views of one history, and with another
// study's, through one Sampler: each choice must be that of a fresh Sampler.
func TestChoiceCache(t *testing.T) {
	t.Parallel()
	numeric := map[string]retune.Distribution{"x": unit, "n": small}
	h := concat(history(40, retune.TrialComplete, numeric), history(1, retune.TrialComplete, map[string]retune.Distribution{"x": unit}))
	other := history(35, retune.TrialComplete, map[string]retune.Distribution{"c": colour})
	s := auto.New(auto.Options{GPTrials: 30})
	for _, trials := range [][]retune.FrozenTrial{h[:10], h[:30], h[:20], h[:41], h[:35], other, h[:40], h[:41]} {
		req := &retune.SampleRequest{Directions: []retune.Direction{retune.Minimize}, Trials: trials}
		got := s.Annotate(req)
		want := auto.New(auto.Options{GPTrials: 30}).Annotate(req)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d trials: Annotate = %v, want %v", len(trials), got, want)
		}
	}
}

// checkTrials fails unless every trial is COMPLETE with params inside their distributions
// and records a choice.
func checkTrials(t *testing.T, ts []retune.FrozenTrial) {
	t.Helper()
	for _, tr := range ts {
		if tr.State != retune.TrialComplete {
			t.Fatalf("trial %d: %v %s", tr.Number, tr.State, tr.Reason)
		}
		for name, v := range tr.Params {
			if d := tr.Distributions[name]; d == nil || !d.Contains(v) {
				t.Errorf("trial %d: %s = %v, outside %v", tr.Number, name, v, d)
			}
		}
		if r, _ := tr.SystemAttrs["auto.reason"].(string); r == "" {
			t.Errorf("trial %d: system attrs %v, want auto.reason", tr.Number, tr.SystemAttrs)
		}
	}
}

func choices(ts []retune.FrozenTrial) []string {
	out := make([]string, len(ts))
	for i, tr := range ts {
		out[i], _ = tr.SystemAttrs["auto.sampler"].(string)
	}
	return out
}

// repeat returns n copies of each name in turn: repeat("a", 2, "b", 1) = [a a b].
func repeat(args ...any) []string {
	var out []string
	for i := 0; i < len(args); i += 2 {
		for range args[i+1].(int) {
			out = append(out, args[i].(string))
		}
	}
	return out
}

func numericObjective(_ context.Context, t *retune.Trial) (float64, error) {
	x := t.Float("x", -5, 10)
	y := t.Float("y", 1e-3, 1, retune.Log)
	n := t.Int("n", 1, 8)
	return (x-2)*(x-2) + math.Log10(y)*math.Log10(y) + math.Abs(float64(n)-3), nil
}

func categoricalObjective(_ context.Context, t *retune.Trial) (float64, error) {
	x := t.Float("x", -5, 5)
	opt := t.Categorical("opt", "sgd", "adam", "lion")
	act := t.Categorical("act", "relu", "gelu")
	v := x * x
	if opt != "adam" {
		v++
	}
	if act != "gelu" {
		v += 0.5
	}
	return v, nil
}

// conditionalObjective asks for y only when x > 0.
func conditionalObjective(_ context.Context, t *retune.Trial) (float64, error) {
	x := t.Float("x", -1, 1)
	z := t.Float("z", -1, 1)
	if x > 0 {
		y := t.Float("y", 0, 1)
		return x + y + z*z, nil
	}
	return -x + z*z, nil
}

func TestStudyChoices(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    auto.Options
		obj  retune.Objective
		n    int
		want []string
	}{
		{"numeric", auto.Options{GPTrials: 15}, numericObjective, 30, repeat(auto.GP, 1, auto.TrustGP, 14, auto.CMAES, 15)},
		{"numeric, rules 5", auto.Options{GPTrials: 15, Rules: 5}, numericObjective, 30, repeat(auto.GP, 15, auto.CMAES, 15)},
		{"categorical-heavy", auto.Options{}, categoricalObjective, 15, repeat(auto.GP, 1, auto.TPE, 14)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := samplertest.NewStudy(t, retune.Config{Seed: 4, Sampler: auto.New(tt.o)})
			if _, err := s.Optimize(context.Background(), tt.obj, retune.OptimizeOptions{Trials: tt.n}); err != nil {
				t.Fatal(err)
			}
			ts := samplertest.Trials(t, s)
			checkTrials(t, ts)
			if got := choices(ts); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("choices = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStudyConditional(t *testing.T) {
	t.Parallel()
	s := samplertest.NewStudy(t, retune.Config{Seed: 5, Sampler: auto.New(auto.Options{})})
	if _, err := s.Optimize(context.Background(), conditionalObjective, retune.OptimizeOptions{Trials: 30}); err != nil {
		t.Fatal(err)
	}
	ts := samplertest.Trials(t, s)
	checkTrials(t, ts)
	// The GP (quasi-random) for the first trial, the GP in a trust region until a trial
	// with y and one without have completed, TPE from then on.
	withY, withoutY := false, false
	for i, tr := range ts {
		want := auto.TrustGP
		if i == 0 {
			want = auto.GP
		}
		if withY && withoutY {
			want = auto.TPE
		}
		if got := tr.SystemAttrs["auto.sampler"]; got != want {
			t.Errorf("trial %d: auto.sampler = %v, want %v", i, got, want)
		}
		_, has := tr.Params["y"]
		withY, withoutY = withY || has, withoutY || !has
	}
	if !withY || !withoutY {
		t.Fatalf("30 trials never took both branches")
	}
}

func TestStudyMultiObjective(t *testing.T) {
	t.Parallel()
	s := samplertest.NewStudy(t, retune.Config{
		Seed: 6, Directions: []retune.Direction{retune.Minimize, retune.Minimize},
		Sampler: auto.New(auto.Options{NSGA2Trials: 12}),
	})
	obj := func(_ context.Context, t *retune.Trial) ([]float64, error) {
		x := make([]float64, 3)
		for i := range x {
			x[i] = t.Float(fmt.Sprintf("x%d", i), 0, 1)
		}
		f1, f2 := problem.ZDT(x, 1)
		return []float64{f1, f2}, nil
	}
	if _, err := s.OptimizeMulti(context.Background(), obj, retune.OptimizeOptions{Trials: 70}); err != nil {
		t.Fatal(err)
	}
	ts := samplertest.Trials(t, s)
	checkTrials(t, ts)
	if got, want := choices(ts), repeat(auto.TPE, 12, auto.NSGA2, 58); !reflect.DeepEqual(got, want) {
		t.Errorf("choices = %v, want %v", got, want)
	}
}

// TestParallel runs workers concurrently through the switch from GP to CMA-ES.
func TestParallel(t *testing.T) {
	t.Parallel()
	s := samplertest.NewStudy(t, retune.Config{Seed: 7, Sampler: auto.New(auto.Options{GPTrials: 10})})
	if _, err := s.Optimize(context.Background(), numericObjective, retune.OptimizeOptions{Trials: 40, Parallel: 4}); err != nil {
		t.Fatal(err)
	}
	ts := samplertest.Trials(t, s)
	checkTrials(t, ts)
	if c := choices(ts); c[0] != auto.GP || c[len(c)-1] != auto.CMAES {
		t.Errorf("choices = %v, want GP first and CMA-ES last", c)
	}
}

func params(ts []retune.FrozenTrial) []map[string]any {
	out := make([]map[string]any, len(ts))
	for i, tr := range ts {
		out[i] = tr.Params
	}
	return out
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	run := func(seed uint64) []retune.FrozenTrial {
		s := samplertest.NewStudy(t, retune.Config{Seed: seed, Sampler: auto.New(auto.Options{GPTrials: 12})})
		if _, err := s.Optimize(context.Background(), numericObjective, retune.OptimizeOptions{Trials: 25}); err != nil {
			t.Fatal(err)
		}
		return samplertest.Trials(t, s)
	}
	a, b, c := run(11), run(11), run(12)
	if !reflect.DeepEqual(params(a), params(b)) {
		t.Errorf("same seed, different params:\n%v\n%v", params(a), params(b))
	}
	if !reflect.DeepEqual(choices(a), choices(b)) {
		t.Errorf("same seed, different choices:\n%v\n%v", choices(a), choices(b))
	}
	if reflect.DeepEqual(params(a), params(c)) {
		t.Errorf("seeds 11 and 12 gave the same params")
	}
}

// TestResume stops a study after it switched to CMA-ES and resumes it with a new Sampler:
// the trials that follow are those of an uninterrupted run.
func TestResume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := auto.Options{GPTrials: 12}
	whole := samplertest.NewStudy(t, retune.Config{Name: "r", Seed: 8, Sampler: auto.New(o)})
	if _, err := whole.Optimize(ctx, numericObjective, retune.OptimizeOptions{Trials: 30}); err != nil {
		t.Fatal(err)
	}
	store := retune.NewMemoryStorage()
	first := samplertest.NewStudy(t, retune.Config{Name: "r", Seed: 8, Storage: store, Sampler: auto.New(o)})
	if _, err := first.Optimize(ctx, numericObjective, retune.OptimizeOptions{Trials: 20}); err != nil {
		t.Fatal(err)
	}
	if first.Record().SystemAttrs["sampler.state"] == nil {
		t.Fatalf("no CMA-ES state stored after 20 trials")
	}
	again := samplertest.NewStudy(t, retune.Config{Name: "r", Storage: store, Sampler: auto.New(o)})
	if _, err := again.Optimize(ctx, numericObjective, retune.OptimizeOptions{Trials: 10}); err != nil {
		t.Fatal(err)
	}
	want, got := samplertest.Trials(t, whole), samplertest.Trials(t, again)
	if !reflect.DeepEqual(params(got), params(want)) {
		t.Errorf("resumed params:\n%v\nwant\n%v", params(got), params(want))
	}
	if !reflect.DeepEqual(choices(got), choices(want)) {
		t.Errorf("resumed choices = %v, want %v", choices(got), choices(want))
	}
	// Other thresholds would change the choices: the resume check refuses them.
	_, err := retune.NewStudy(ctx, retune.Config{Name: "r", Storage: store, Sampler: auto.New(auto.Options{GPTrials: 50})})
	if !errors.Is(err, retune.ErrConflict) {
		t.Errorf("resume with GPTrials 50: error = %v, want ErrConflict", err)
	}
}

func TestRegret(t *testing.T) {
	if testing.Short() {
		t.Skip("quality check")
	}
	t.Parallel()
	var branin problem.Problem
	for _, p := range problem.Problems {
		if p.Name == "branin" {
			branin = p
		}
	}
	for seed := uint64(1); seed <= 3; seed++ {
		s := samplertest.NewStudy(t, retune.Config{Seed: seed, Sampler: auto.New(auto.Options{})})
		res, err := s.Optimize(context.Background(), func(_ context.Context, t *retune.Trial) (float64, error) {
			return branin.Eval(map[string]any{"x0": t.Float("x0", -5, 10), "x1": t.Float("x1", 0, 15)}), nil
		}, retune.OptimizeOptions{Trials: 30})
		if err != nil {
			t.Fatal(err)
		}
		if regret := res.Best[0].Value() - branin.Optimum; regret >= 0.1 {
			t.Errorf("seed %d: Branin regret after 30 trials = %.3g, want < 0.1", seed, regret)
		}
	}
}

// TestSpace checks the joint space: TPE's groups (every param seen) when TPE is chosen, the
// study's intersection otherwise.
func TestSpace(t *testing.T) {
	t.Parallel()
	numeric := map[string]retune.Distribution{"x": unit, "y": unit}
	cond := concat(history(5, retune.TrialComplete, numeric), history(5, retune.TrialComplete, map[string]retune.Distribution{"x": unit}))
	tests := []struct {
		name   string
		trials []retune.FrozenTrial
		space  map[string]retune.Distribution
		want   map[string]retune.Distribution
	}{
		{"gp keeps the intersection", history(5, retune.TrialComplete, numeric), numeric, numeric},
		{"tpe groups conditional params", cond, map[string]retune.Distribution{"x": unit}, numeric},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := &retune.SampleRequest{Directions: []retune.Direction{retune.Minimize}, Trials: tt.trials, Space: tt.space}
			got, err := auto.New(auto.Options{}).Space(context.Background(), req)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Space = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestWarmStartAtBound switches to CMA-ES when the best trials all lie on a bound.
func TestWarmStartAtBound(t *testing.T) {
	t.Parallel()
	dists := map[string]retune.Distribution{"x": unit, "y": unit}
	trials := history(90, retune.TrialComplete, dists)
	for i := range trials {
		trials[i].Params = map[string]any{"x": 1.0, "y": float64(i) / 90}
	}
	req := &retune.SampleRequest{
		Directions: []retune.Direction{retune.Minimize}, Trials: trials, Space: dists,
		Trial: retune.FrozenTrial{Number: 90}, Rand: rand.New(rand.NewPCG(1, 2)), Seed: 1,
	}
	s := auto.New(auto.Options{GPTrials: 90})
	p, err := s.Relative(context.Background(), req)
	if err != nil || !dists["x"].Contains(p["x"]) || !dists["y"].Contains(p["y"]) {
		t.Errorf("Relative = %v, %v; want x and y in [0, 1]", p, err)
	}
	if st, err := s.NextState(context.Background(), req); err != nil || st == nil {
		t.Errorf("NextState = %s, %v; want a CMA-ES state", st, err)
	}
}

// raceSpace is ten numeric params: enough for rules 3 to race TPE against CMA-ES.
func raceSpace(extra ...string) map[string]retune.Distribution {
	d := map[string]retune.Distribution{}
	for i := range auto.RaceParams {
		d[fmt.Sprintf("x%d", i)] = unit
	}
	for _, name := range extra {
		d[name] = colour
	}
	return d
}

// raced returns n COMPLETE trials of space, proposed alternately by TPE (even numbers) and
// CMA-ES (odd), minimizing: CMA-ES's values are cma(i), TPE's tpe(i).
func raced(n int, space map[string]retune.Distribution, tpeValue, cmaValue func(i int) float64) []retune.FrozenTrial {
	return racedBy(n, space, []string{auto.TPE, auto.CMAES}, []func(int) float64{tpeValue, cmaValue})
}

// racedBy returns n COMPLETE trials of space, trial i proposed by arms[i%len(arms)] with
// the value values[i%len(arms)](i).
func racedBy(n int, space map[string]retune.Distribution, arms []string, values []func(int) float64) []retune.FrozenTrial {
	h := history(n, retune.TrialComplete, space)
	for i := range h {
		k := i % len(arms)
		h[i].Values = []float64{values[k](i)}
		h[i].SystemAttrs = map[string]any{"auto.sampler": arms[k]}
	}
	return h
}

// TestRace checks rule 5 of rules 3 and 4: with ten or more numeric params, TPE and CMA-ES
// alternate by trial number until RaceTrials trials are COMPLETE, and then the one whose
// trials among the first RaceTrials reached the better value proposes every trial.
func TestRace(t *testing.T) {
	t.Parallel()
	one := []retune.Direction{retune.Minimize}
	maximize := []retune.Direction{retune.Maximize}
	low, high := func(int) float64 { return 1 }, func(int) float64 { return 2 }
	r4 := auto.Options{Rules: 4}
	arms3 := []string{auto.TPE, auto.CMAES, auto.TrustGP}
	three := func(n int, tpe, cma, trust func(int) float64) []retune.FrozenTrial {
		return racedBy(n, raceSpace(), arms3, []func(int) float64{tpe, cma, trust})
	}
	threeIn := func(space map[string]retune.Distribution, tpe, cma, trust func(int) float64) []retune.FrozenTrial {
		return racedBy(auto.RaceTrials, space, arms3, []func(int) float64{tpe, cma, trust})
	}
	cmaWins := raced(auto.RaceTrials, raceSpace(), high, low)
	tpeWins := raced(auto.RaceTrials, raceSpace(), low, high)
	// After the race, later trials of the loser beat every earlier one: the winner stays.
	late := raced(auto.RaceTrials+10, raceSpace(), func(i int) float64 {
		if i >= auto.RaceTrials {
			return -5
		}
		return 2
	}, low)
	tests := []struct {
		name   string
		o      auto.Options
		dirs   []retune.Direction
		trials []retune.FrozenTrial
		number int
		want   string
	}{
		{"first trial", r4, one, nil, 0, auto.GP},
		{"racing, even", r4, one, raced(10, raceSpace(), low, high), 12, auto.TPE},
		{"racing, odd", r4, one, raced(10, raceSpace(), low, high), 13, auto.CMAES},
		{"racing, one short", r4, one, raced(auto.RaceTrials-1, raceSpace(), high, low), 40, auto.TPE},
		{"CMA-ES won", r4, one, cmaWins, 40, auto.CMAES},
		{"TPE won", r4, one, tpeWins, 41, auto.TPE},
		{"CMA-ES won, maximizing", r4, maximize, tpeWins, 40, auto.CMAES},
		{"a tie goes to TPE", r4, one, raced(auto.RaceTrials, raceSpace(), low, low), 41, auto.TPE},
		{"the first RaceTrials decide", r4, one, late, 41, auto.CMAES},
		{"PRUNED trials do not count", r4, one, concat(raced(auto.RaceTrials-1, raceSpace(), high, low), history(5, retune.TrialPruned, raceSpace())), 40, auto.TPE},
		{"rules 2: GP", auto.Options{Rules: 2}, one, cmaWins, 41, auto.GP},
		{"fewer params: GP", r4, one, raced(auto.RaceTrials, map[string]retune.Distribution{"x": unit, "y": unit}, high, low), 41, auto.GP},
		{"a categorical: GP", r4, one, raced(auto.RaceTrials, raceSpace("c"), high, low), 41, auto.GP},
		{"constrained: GP", r4, one, constrained(raced(auto.RaceTrials, raceSpace(), high, low)), 41, auto.GP},
		// Rules 5 add the GP in a trust region (the latest rules keep that race): three
		// entrants take turns by trial number.
		{"rules 5 on, first trial", auto.Options{}, one, nil, 0, auto.GP},
		{"rules 5 on, 0 modulo 3", auto.Options{}, one, three(10, low, high, high), 12, auto.TPE},
		{"rules 5 on, 1 modulo 3", auto.Options{}, one, three(10, low, high, high), 13, auto.CMAES},
		{"rules 5 on, 2 modulo 3", auto.Options{}, one, three(10, low, high, high), 14, auto.TrustGP},
		{"rules 5 on, one short", auto.Options{}, one, three(auto.RaceTrials-1, high, high, low), 40, auto.CMAES},
		{"rules 5 on, TPE won", auto.Options{}, one, three(auto.RaceTrials, low, high, high), 40, auto.TPE},
		{"rules 5 on, CMA-ES won", auto.Options{}, one, three(auto.RaceTrials, high, low, high), 42, auto.CMAES},
		{"rules 5 on, the trust region won", auto.Options{}, one, three(auto.RaceTrials, high, high, low), 40, auto.TrustGP},
		{"rules 5 on, the trust region won, maximizing", auto.Options{}, maximize, three(auto.RaceTrials, low, low, high), 41, auto.TrustGP},
		{"rules 5 on, a tie goes to the earlier entrant", auto.Options{}, one, three(auto.RaceTrials, high, low, low), 42, auto.CMAES},
		{"rules 5, fewer params: GP", auto.Options{Rules: 5}, one, threeIn(map[string]retune.Distribution{"x": unit, "y": unit}, high, high, low), 41, auto.GP},
		{"rules 5, a categorical: GP", auto.Options{Rules: 5}, one, threeIn(raceSpace("c"), high, high, low), 41, auto.GP},
		{"rules 6, the same race", auto.Options{Rules: 6}, one, three(auto.RaceTrials, high, high, low), 40, auto.TrustGP},
		// The GP that won hands over to CMA-ES at GPTrials COMPLETE trials, as rule 7's does.
		{"rules 5, the GP until gp_trials", auto.Options{Rules: 5}, one, three(199, high, high, low), 250, auto.TrustGP},
		{"rules 5, CMA-ES from gp_trials", auto.Options{Rules: 5}, one, three(200, high, high, low), 250, auto.CMAES},
		{"rules 6, CMA-ES from gp_trials", auto.Options{GPTrials: 60}, one, three(60, high, high, low), 250, auto.CMAES},
		{"rules 6, gp_trials never", auto.Options{GPTrials: -1}, one, three(500, high, high, low), 600, auto.TrustGP},
		{"rules 6, TPE that won stays", auto.Options{}, one, three(500, low, high, high), 600, auto.TPE},
		{"rules 4, TPE and CMA-ES only", r4, one, three(500, high, high, low), 600, auto.TPE},
		{"rules 6, fewer params: the GP in a trust region", auto.Options{Rules: 6}, one, threeIn(map[string]retune.Distribution{"x": unit, "y": unit}, high, high, low), 41, auto.TrustGP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := auto.New(tt.o).Annotate(&retune.SampleRequest{Directions: tt.dirs, Trials: tt.trials, Trial: retune.FrozenTrial{Number: tt.number}})
			if got := a["auto.sampler"]; got != tt.want {
				t.Errorf("Annotate(...)[auto.sampler] = %v, want %v (reason %q)", got, tt.want, a["auto.reason"])
			}
		})
	}
}

// TestStudyRace runs the race in a study: GP's quasi-random first trial, then the entrants
// in turn until RaceTrials trials are COMPLETE (rules 4: TPE and CMA-ES; rules 5 and 6:
// TPE, CMA-ES and the GP in a trust region), then the winner alone.
func TestStudyRace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rules int
		arms  []string
	}{{4, []string{auto.TPE, auto.CMAES}}, {5, []string{auto.TPE, auto.CMAES, auto.TrustGP}}, {6, []string{auto.TPE, auto.CMAES, auto.TrustGP}}} {
		t.Run(fmt.Sprint("rules ", tc.rules), func(t *testing.T) {
			t.Parallel()
			s := samplertest.NewStudy(t, retune.Config{Seed: 7, Sampler: auto.New(auto.Options{Rules: tc.rules})})
			obj := func(_ context.Context, t *retune.Trial) (float64, error) {
				var v float64
				for i := range auto.RaceParams {
					x := t.Float(fmt.Sprintf("x%d", i), -5, 5)
					v += (x - 1) * (x - 1)
				}
				return v, nil
			}
			if _, err := s.Optimize(context.Background(), obj, retune.OptimizeOptions{Trials: 45}); err != nil {
				t.Fatal(err)
			}
			ts := samplertest.Trials(t, s)
			checkTrials(t, ts)
			got := choices(ts)
			best := map[string]float64{}
			for _, a := range tc.arms {
				best[a] = math.Inf(1)
			}
			for i, c := range got[:auto.RaceTrials] {
				want := tc.arms[i%len(tc.arms)]
				if i == 0 {
					want = auto.GP
				}
				if c != want {
					t.Fatalf("trial %d: %s, want %s (choices %v)", i, c, want, got)
				}
				if v, ok := best[c]; ok {
					best[c] = math.Min(v, ts[i].Values[0])
				}
			}
			winner := tc.arms[0]
			for _, a := range tc.arms[1:] {
				if best[a] < best[winner] {
					winner = a
				}
			}
			for i, c := range got[auto.RaceTrials:] {
				if c != winner {
					t.Errorf("trial %d: %s, want the winner %s (best of each: %v)", auto.RaceTrials+i, c, winner, best)
				}
			}
		})
	}
}

// TestHandoverWarmStart checks rules 4's handover from the GP to CMA-ES: after
// NumericGPTrials trials, CMA-ES starts near the best trials, as the GP leaves them
// clustered, where rules 3's warm start (at GPTrials) spreads a tenth of each range.
func TestHandoverWarmStart(t *testing.T) {
	t.Parallel()
	dists := map[string]retune.Distribution{"x": unit, "y": unit, "z": unit}
	centre := map[string]float64{"x": 0.3, "y": 0.6, "z": 0.45}
	r := rand.New(rand.NewPCG(3, 4))
	trials := history(auto.NumericGPTrials, retune.TrialComplete, dists)
	for i := range trials {
		p, d2 := map[string]any{}, 0.0
		for name, c := range centre {
			v := r.Float64()
			if i%10 == 0 { // a tenth of the trials, the best, within 0.002 of the centre
				v = c + 0.004*(r.Float64()-0.5)
			}
			p[name] = v
			d2 += (v - c) * (v - c)
		}
		trials[i].Params, trials[i].Values = p, []float64{d2}
	}
	spread := func(o auto.Options) float64 {
		var ds []float64
		for k := range 20 {
			req := &retune.SampleRequest{
				Directions: []retune.Direction{retune.Minimize}, Trials: trials, Space: dists,
				Trial: retune.FrozenTrial{Number: len(trials) + k}, Rand: rand.New(rand.NewPCG(1, uint64(k))), Seed: 1,
			}
			p, err := auto.New(o).Relative(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			d2 := 0.0
			for name, c := range centre {
				d2 += (p[name].(float64) - c) * (p[name].(float64) - c)
			}
			ds = append(ds, math.Sqrt(d2))
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	tight := spread(auto.Options{})
	wide := spread(auto.Options{Rules: 3, GPTrials: auto.NumericGPTrials})
	// Two optima: half the best tenth near the centre, half near its mirror image, the
	// best trial near the centre. Rules 4 start at the best trial, not between the optima.
	for i := range trials {
		if i%20 == 10 {
			p, d2 := map[string]any{}, 0.0
			for name, c := range centre {
				v := 1 - c + 0.004*(r.Float64()-0.5)
				p[name] = v
				d2 += (v - (1 - c)) * (v - (1 - c))
			}
			trials[i].Params, trials[i].Values = p, []float64{d2 + 1e-6}
		}
	}
	twoOptima := spread(auto.Options{})
	// Prior spread 0.01 per param: about 0.01·√3 from the centre; 0.1: about 0.17.
	if tight > 0.05 || wide < 0.08 || twoOptima > 0.05 {
		t.Errorf("median distance of CMA-ES's first proposals from the best trials: rules 4 %.3g (want < 0.05), rules 3 %.3g (want > 0.08), rules 4 with two optima %.3g (want < 0.05)", tight, wide, twoOptima)
	}
}

// Plan names the samplers that Annotate picks for a study of its shape, and the number of
// COMPLETE trials at which the pick changes.
func TestPlan(t *testing.T) {
	t.Parallel()
	numeric := map[string]retune.Distribution{"x": unit, "y": unit, "n": small}
	oneCat := map[string]retune.Distribution{"x": unit, "y": unit, "n": small, "c": colour}
	halfCat := map[string]retune.Distribution{"x": unit, "c": colour}
	wide := map[string]retune.Distribution{}
	for i := range auto.RaceParams {
		wide[fmt.Sprintf("x%d", i)] = unit
	}
	one := []retune.Direction{retune.Minimize}
	three := []retune.Direction{retune.Minimize, retune.Maximize, retune.Minimize}
	label := map[string]string{auto.GP: "GP", auto.TrustGP: "GP in a trust region", auto.CMAES: "CMA-ES", auto.TPE: "TPE", auto.NSGA2: "NSGA-II"}
	shape := func(dists map[string]retune.Distribution, objectives int, constrained bool) auto.Shape {
		sh := auto.Shape{Objectives: objectives, Params: len(dists), Constrained: constrained}
		for _, d := range dists {
			if _, ok := d.(retune.CategoricalDistribution); ok {
				sh.Categorical++
			}
		}
		return sh
	}
	tests := []struct {
		name          string
		o             auto.Options
		dirs          []retune.Direction
		dists         map[string]retune.Distribution
		constrained   bool
		before, after string // the picks before and at the handover
		at            int    // COMPLETE trials at the handover; 0: none
	}{
		{"numeric", auto.Options{}, one, numeric, false, auto.TrustGP, auto.CMAES, auto.NumericGPTrials},
		{"numeric, rules 5", auto.Options{Rules: 5}, one, numeric, false, auto.GP, auto.CMAES, auto.NumericGPTrials},
		{"numeric, rules 3", auto.Options{Rules: 3}, one, numeric, false, auto.GP, auto.CMAES, 200},
		{"numeric, numeric_gp_trials", auto.Options{NumericGPTrials: 40}, one, numeric, false, auto.TrustGP, auto.CMAES, 40},
		{"numeric, never", auto.Options{NumericGPTrials: -1}, one, numeric, false, auto.TrustGP, auto.TrustGP, 0},
		{"one categorical", auto.Options{}, one, oneCat, false, auto.TrustGP, auto.TPE, 200},
		{"constrained", auto.Options{GPTrials: 30}, one, numeric, true, auto.GP, auto.TPE, 30},
		{"categorical-heavy", auto.Options{}, one, halfCat, false, auto.TPE, auto.TPE, 0},
		{"three objectives", auto.Options{NSGA2Trials: 40}, three, numeric, false, auto.TPE, auto.NSGA2, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := auto.New(tt.o)
			plan := s.Plan(shape(tt.dists, len(tt.dirs), tt.constrained))
			pick := func(n int) string {
				h := history(n, retune.TrialComplete, tt.dists)
				if tt.constrained {
					h = constrained(h)
				}
				return s.Annotate(&retune.SampleRequest{Directions: tt.dirs, Trials: h})["auto.sampler"].(string)
			}
			n := cmp.Or(tt.at, 300)
			if got := pick(n - 1); got != tt.before {
				t.Errorf("pick after %d complete trials = %s, want %s", n-1, got, tt.before)
			}
			if got := pick(n); got != tt.after {
				t.Errorf("pick after %d complete trials = %s, want %s", n, got, tt.after)
			}
			for _, name := range []string{tt.before, tt.after} {
				if !strings.Contains(plan, label[name]) {
					t.Errorf("Plan = %q, want it to name %s", plan, label[name])
				}
			}
			if trust := tt.before == auto.TrustGP || tt.after == auto.TrustGP; trust != strings.Contains(plan, "trust region") {
				t.Errorf("Plan = %q; a trust region picked: %v", plan, trust)
			}
			if tt.at > 0 && !strings.Contains(plan, fmt.Sprintf("until %d complete trials", tt.at)) {
				t.Errorf("Plan = %q, want the handover at %d complete trials", plan, tt.at)
			}
			if tt.at == 0 && strings.Contains(plan, "until") {
				t.Errorf("Plan = %q, want no handover", plan)
			}
		})
	}
	// The race is decided by the trials' values, not by a count: Plan says so.
	if plan := auto.New(auto.Options{}).Plan(shape(wide, 1, false)); !strings.Contains(plan, "race") || !strings.Contains(plan, fmt.Sprint(auto.RaceTrials)) {
		t.Errorf("Plan of %d numeric params = %q, want the race over the first %d trials", auto.RaceParams, plan, auto.RaceTrials)
	}
	if plan := auto.New(auto.Options{}).Plan(shape(wide, 1, false)); !strings.Contains(plan, "until 200 complete trials and CMA-ES after") {
		t.Errorf("Plan = %q, want the GP's handover to CMA-ES at 200 complete trials", plan)
	}
	if plan := auto.New(auto.Options{}).Plan(shape(wide, 1, false)); !strings.Contains(plan, "trust region") {
		t.Errorf("Plan with rules 5 = %q, want the GP in a trust region among the entrants", plan)
	}
	if plan := auto.New(auto.Options{Rules: 4}).Plan(shape(wide, 1, false)); strings.Contains(plan, "trust region") {
		t.Errorf("Plan with rules 4 = %q, want TPE and CMA-ES alone in the race", plan)
	}
	// A conditional space runs the GP (in a trust region from rules 6) until TPE takes over.
	cond := auto.Shape{Objectives: 1, Params: 3, Conditional: true}
	if plan := auto.New(auto.Options{}).Plan(cond); !strings.Contains(plan, "GP in a trust region before") {
		t.Errorf("Plan of a conditional space = %q, want the GP in a trust region before TPE", plan)
	}
	if plan := auto.New(auto.Options{Rules: 5}).Plan(cond); strings.Contains(plan, "trust region") {
		t.Errorf("Plan of a conditional space with rules 5 = %q, want the GP without a trust region", plan)
	}
	if plan := auto.New(auto.Options{Rules: 2}).Plan(shape(wide, 1, false)); strings.Contains(plan, "race") {
		t.Errorf("Plan with rules 2 = %q, want no race (rules 3 brought it)", plan)
	}
}
