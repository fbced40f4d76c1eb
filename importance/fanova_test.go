package importance

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/a6b40afc/retune"
)

// TestDecomposeByHand checks the exact decomposition of hand-built trees.
func TestDecomposeByHand(t *testing.T) {
	t.Parallel()
	// x0 <= 0.5 → 0; else x1 <= 0.25 → 1, else 3. Cells: vol 1/2 value 0, vol 1/8 value 1,
	// vol 3/8 value 3; mean 5/4, variance 31/16. Main effect of x0: 0 or 1/4·1 + 3/4·3 = 5/2
	// (variance 25/16); of x1: 1/2 or 3/2 on 1/4 and 3/4 of the range (variance 3/16); the
	// pair: 31/16 − 25/16 − 3/16 = 3/16.
	numeric := []node{
		{feature: 0, threshold: 0.5, left: 1, right: 2, value: 7},
		{feature: -1, value: 0},
		{feature: 1, threshold: 0.25, left: 3, right: 4},
		{feature: -1, value: 1},
		{feature: -1, value: 3},
	}
	// A categorical feature with 3 choices: {0} → 0, {1, 2} → 3, and a numeric one never
	// split. Mean 2, variance 1/3·4 + 2/3·1 = 2, all of it the categorical's.
	categorical := []node{
		{feature: 0, cats: []uint64{1}, left: 1, right: 2, value: 2},
		{feature: -1, value: 0},
		{feature: -1, value: 3},
	}
	tests := []struct {
		name  string
		nodes []node
		cats  []int
		want  treeShares
	}{
		{"numeric", numeric, []int{0, 0}, treeShares{variance: 31.0 / 16, main: []float64{25.0 / 16, 3.0 / 16}, pairs: []float64{3.0 / 16}}},
		{"categorical", categorical, []int{3, 0}, treeShares{variance: 2, main: []float64{2, 0}, pairs: []float64{0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d decomposer
			got := d.decompose(tt.nodes, tt.cats, true)
			if !closeShares(got, tt.want) {
				t.Errorf("decompose = %+v, want %+v", got, tt.want)
			}
			// The buffers are reused: a second tree gives the same.
			if again := d.decompose(tt.nodes, tt.cats, true); !closeShares(again, tt.want) {
				t.Errorf("decompose again = %+v, want %+v", again, tt.want)
			}
		})
	}
}

func closeShares(a, b treeShares) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-12 }
	if !near(a.variance, b.variance) || len(a.main) != len(b.main) || len(a.pairs) != len(b.pairs) {
		return false
	}
	for i := range a.main {
		if !near(a.main[i], b.main[i]) {
			return false
		}
	}
	for i := range a.pairs {
		if !near(a.pairs[i], b.pairs[i]) {
			return false
		}
	}
	return true
}

// mixedTrials are n random trials over a categorical "kind" (a, b, c), a log-scaled float
// "lr" on [1e-5, 1], an int "depth" on [1, 8] that only kind "c" has, and a float "noise"
// that does not matter. value = effect(kind) + 0.5·log10(lr) + depth/4 (when present).
func mixedTrials(n int, seed uint64) []retune.FrozenTrial {
	r := rand.New(rand.NewPCG(seed, 99))
	kd := retune.CategoricalDistribution{Choices: []any{"a", "b", "c"}}
	ld := retune.FloatDistribution{Low: 1e-5, High: 1, Log: true}
	dd := retune.IntDistribution{Low: 1, High: 8}
	nd := retune.FloatDistribution{Low: 0, High: 1}
	effect := map[string]float64{"a": 0, "b": 4, "c": 1}
	var ts []retune.FrozenTrial
	for i := range n {
		kind := retune.SampleUniform(r, kd).(string)
		lr := retune.SampleUniform(r, ld).(float64)
		noise := retune.SampleUniform(r, nd).(float64)
		t := retune.FrozenTrial{Number: i, State: retune.TrialComplete, RetryOf: -1,
			Params:        map[string]any{"kind": kind, "lr": lr, "noise": noise},
			Distributions: map[string]retune.Distribution{"kind": kd, "lr": ld, "noise": nd}}
		v := effect[kind] + 0.5*math.Log10(lr)
		if kind == "c" {
			depth := retune.SampleUniform(r, dd).(int64)
			t.Params["depth"], t.Distributions["depth"] = depth, dd
			v += float64(depth) / 4
		}
		t.Values = []float64{v, -v}
		ts = append(ts, t)
	}
	return ts
}

func byName(r Result) map[string]Param {
	m := make(map[string]Param)
	for _, p := range r.Params {
		m[p.Name] = p
	}
	return m
}

// TestFANOVAMixed checks categorical, log-scaled and conditional params on mixedTrials(600, 1).
// Over the uniform measure (log10 lr uniform on [−5, 0], depth uniform on 1…8), kind's main
// effect takes the values 0, 4 and 1 + 4.5/4 (variance 2.67), lr's has variance
// 0.5²·25/12 = 0.52, and depth adds (63/12)/16 = 0.33 within kind c, a third of the space: of
// the total 3.30, kind explains 0.81, lr 0.16. Among the trials of kind c, which are depth's,
// depth explains 0.33/(0.33 + 0.52) = 0.39. noise explains nothing. Tolerances: 0.05 for
// kind and lr, 0.08 for depth (fitted on about 200 trials), 0.01 for noise.
func TestFANOVAMixed(t *testing.T) {
	t.Parallel()
	ts := mixedTrials(600, 1)
	ts = append(ts, retune.FrozenTrial{Number: 600, State: retune.TrialRunning, RetryOf: -1},
		retune.FrozenTrial{Number: 601, Kind: retune.KindConfirm, State: retune.TrialComplete, Values: []float64{1, 1}, RetryOf: -1})
	r, err := FANOVA(context.Background(), ts, FANOVAOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "fanova" || r.Used != 600 || r.Skipped != 2 || r.NotComplete != 2 {
		t.Errorf("counts: %+v, want 600 used, 2 skipped", r)
	}
	m := byName(r)
	if m["kind"].Trials != 600 || m["lr"].Trials != 600 || m["depth"].Trials < 150 || m["depth"].Trials > 250 {
		t.Errorf("trial counts: %+v", r.Params)
	}
	want := map[string]struct{ raw, tol float64 }{"kind": {0.81, 0.05}, "lr": {0.16, 0.05}, "depth": {0.39, 0.08}, "noise": {0, 0.01}}
	for name, w := range want {
		if got := m[name].Raw; math.Abs(got-w.raw) > w.tol {
			t.Errorf("%s: raw %.3f, want %.2f ± %.2f", name, got, w.raw, w.tol)
		}
	}
	var sum float64
	for _, p := range r.Params {
		sum += p.Importance
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("importances sum to %v, want 1", sum)
	}

	// The second objective is the negation: the same shares up to the forest's randomness
	// (children swap sides, so the trees draw differently).
	r2, err := FANOVA(context.Background(), ts, FANOVAOptions{Seed: 3, Objective: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range r.Params {
		if r2.Params[i].Name != r.Params[i].Name || math.Abs(r2.Params[i].Raw-r.Params[i].Raw) > 0.01 {
			t.Errorf("objective 1: %+v, want %+v", r2.Params[i], r.Params[i])
		}
	}
}

// TestFANOVAReproducible checks that the seed fixes the result, whatever the workers.
func TestFANOVAReproducible(t *testing.T) {
	t.Parallel()
	ts := mixedTrials(300, 2)
	run := func(workers int, seed uint64) Result {
		r, err := FANOVA(context.Background(), ts, FANOVAOptions{Seed: seed, Workers: workers, Trees: 16, Interactions: true})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := run(1, 5), run(3, 5)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("seed 5 with 1 and 3 workers:\n%+v\n%+v", a, b)
	}
	if c := run(2, 6); reflect.DeepEqual(a.Params, c.Params) {
		t.Errorf("seeds 5 and 6 give the same result %+v", c.Params)
	}
}

// TestFANOVAInteractions checks a pure interaction: y = (x1 − ½)(x2 − ½) has no main
// effects, so the pair carries nearly all the variance.
func TestFANOVAInteractions(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(4, 4))
	var x [][]float64
	var y []float64
	for range 500 {
		row := []float64{r.Float64(), r.Float64(), r.Float64()}
		x = append(x, row)
		y = append(y, (row[0]-0.5)*(row[1]-0.5))
	}
	res, err := FANOVA(context.Background(), frozen(x, y, 0, 1), FANOVAOptions{Seed: 1, Interactions: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Interactions) != 3 || res.Interactions[0].Params != [2]string{"x1", "x2"} || res.Interactions[0].Raw < 0.5 {
		t.Errorf("interactions %+v: want x1×x2 first with raw > 0.5", res.Interactions)
	}
	for _, p := range res.Params {
		if p.Raw > 0.1 {
			t.Errorf("param %+v: want raw < 0.1 (no main effect)", p)
		}
	}
}

func TestFANOVAErrors(t *testing.T) {
	t.Parallel()
	ts := mixedTrials(20, 1)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		trials []retune.FrozenTrial
		opts   FANOVAOptions
		want   error
	}{
		{"negative trees", context.Background(), ts, FANOVAOptions{Trees: -1}, retune.ErrInvalid},
		{"min split 1", context.Background(), ts, FANOVAOptions{MinSamplesSplit: 1}, retune.ErrInvalid},
		{"negative objective", context.Background(), ts, FANOVAOptions{Objective: -1}, retune.ErrInvalid},
		{"objective out of range", context.Background(), ts, FANOVAOptions{Objective: 2}, retune.ErrInvalid},
		{"unknown param", context.Background(), ts, FANOVAOptions{Params: []string{"nope"}}, retune.ErrInvalid},
		{"one trial", context.Background(), ts[:1], FANOVAOptions{}, ErrTooFewTrials},
		{"no trials", context.Background(), nil, FANOVAOptions{}, ErrTooFewTrials},
		{"canceled", canceled, ts, FANOVAOptions{}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := FANOVA(tt.ctx, tt.trials, tt.opts); !errors.Is(err, tt.want) {
				t.Errorf("FANOVA = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestFANOVAConstant checks that an objective that never changes, and a param with one
// value, give zero importances without an error.
func TestFANOVAConstant(t *testing.T) {
	t.Parallel()
	x := [][]float64{{0.1, 0.5}, {0.7, 0.5}, {0.4, 0.5}}
	ts := frozen(x, []float64{2, 2, 2}, 0, 1)
	for _, tr := range ts {
		tr.Distributions["x2"] = retune.FloatDistribution{Low: 0.5, High: 0.5}
	}
	r, err := FANOVA(context.Background(), ts, FANOVAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Params {
		if p.Raw != 0 || p.Importance != 0 || p.Trials != 3 {
			t.Errorf("param %+v: want 0 importance over 3 trials", p)
		}
	}
}
