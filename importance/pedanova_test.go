package importance

import (
	"errors"
	"math"
	"testing"

	"github.com/a6b40afc/retune"
)

// handTrials are ten COMPLETE trials with values 0…9 and two categorical params, plus a
// failed and a pruned trial:
//
//   - c ∈ {a, b}: a in trials 0–4, b in 5–9;
//   - d ∈ {x, y, z}, conditional: x, y, x, y, z, z in trials 0–5, absent from 6–9;
//   - s, a float on [1, 1]: one value, so it cannot matter.
func handTrials() []retune.FrozenTrial {
	cd := retune.CategoricalDistribution{Choices: []any{"a", "b"}}
	dd := retune.CategoricalDistribution{Choices: []any{"x", "y", "z"}}
	sd := retune.FloatDistribution{Low: 1, High: 1}
	dv := []string{"x", "y", "x", "y", "z", "z"}
	var ts []retune.FrozenTrial
	for i := range 10 {
		c := "a"
		if i >= 5 {
			c = "b"
		}
		t := retune.FrozenTrial{Number: i, State: retune.TrialComplete, Values: []float64{float64(i)}, RetryOf: -1,
			Params:        map[string]any{"c": c, "s": 1.0},
			Distributions: map[string]retune.Distribution{"c": cd, "s": sd}}
		if i < len(dv) {
			t.Params["d"], t.Distributions["d"] = dv[i], dd
		}
		ts = append(ts, t)
	}
	ts = append(ts,
		retune.FrozenTrial{Number: 10, State: retune.TrialFail, RetryOf: -1},
		retune.FrozenTrial{Number: 11, State: retune.TrialPruned, Values: []float64{-1}, RetryOf: -1,
			Params: map[string]any{"c": "a"}, Distributions: map[string]retune.Distribution{"c": cd}})
	return ts
}

// TestPEDANOVAByHand checks PEDANOVA on handTrials with γ′ = 0.2 against values integrated by
// hand, to 1e-6.
//
// Top trials: ⌈0.2·10⌉ = 2, trials 0 and 1 (values 0 and 1); region: all ten; γ′/γ = 0.2.
//
// c: top counts (a 2, b 0), one choice observed, so each kernel gives 1/2 to every choice plus
// 1 to its own, normalized by 2: kernel(a) = (3/4, 1/4); with the uniform prior and weights
// 2:1, p_top = 2/3·(3/4, 1/4) + 1/3·(1/2, 1/2) = (2/3, 1/3). Region counts (5, 5), two
// observed, kernels (4/3, 1/3)/(5/3) = (4/5, 1/5) and (1/5, 4/5), weights 5:5:1, so
// p_region = (1/2, 1/2). Divergence: ½(4/3 − 1)² + ½(2/3 − 1)² = 1/9; Raw = 0.04 · 1/9.
//
// d: regimes "present" (trials 0–5) and "absent" (6–9, no contribution). α = 2/2 (both top
// trials have d), β = 6/10, so the weight α²/β = 5/3. Top counts (x 1, y 1, z 0): kernels
// (1/3 + [own])/2, p_top = 1/3·(2/3, 1/6, 1/6) + 1/3·(1/6, 2/3, 1/6) + 1/3·(1/3, 1/3, 1/3)
// = (7/18, 7/18, 4/18). Region counts (2, 2, 2): p_region = (1/3, 1/3, 1/3) by symmetry.
// Divergence: ⅓[(7/6 − 1)² + (7/6 − 1)² + (4/6 − 1)²] = 1/18; Raw = 0.04 · 5/3 · 1/18.
//
// Importances: c = (1/9)/(1/9 + 5/54) = 6/11, d = 5/11, s = 0.
func TestPEDANOVAByHand(t *testing.T) {
	t.Parallel()
	r, err := PEDANOVA(handTrials(), PEDANOVAOptions{TargetQuantile: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	want := []Param{
		{Name: "c", Importance: 6.0 / 11, Raw: 0.04 / 9, Trials: 10},
		{Name: "d", Importance: 5.0 / 11, Raw: 0.04 * 5 / 3 / 18, Trials: 6},
		{Name: "s", Importance: 0, Raw: 0, Trials: 10},
	}
	if r.Method != "ped-anova" || r.Used != 10 || r.Skipped != 2 || r.NotComplete != 2 || len(r.Params) != len(want) {
		t.Fatalf("PEDANOVA = %+v, want method ped-anova, 10 used, 2 skipped (not complete), 3 params", r)
	}
	for i, w := range want {
		g := r.Params[i]
		if g.Name != w.Name || g.Trials != w.Trials || math.Abs(g.Raw-w.Raw) > 1e-6 || math.Abs(g.Importance-w.Importance) > 1e-6 {
			t.Errorf("param %d = %+v, want %+v (±1e-6)", i, g, w)
		}
	}

	// Maximizing the negated values picks the same top trials.
	neg := handTrials()
	for i := range neg {
		for k := range neg[i].Values {
			neg[i].Values[k] = -neg[i].Values[k]
		}
	}
	rm, err := PEDANOVA(neg, PEDANOVAOptions{TargetQuantile: 0.2, Direction: retune.Maximize})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if rm.Params[i].Name != r.Params[i].Name || math.Abs(rm.Params[i].Raw-r.Params[i].Raw) > 1e-12 {
			t.Errorf("maximizing -y: param %d = %+v, want %+v", i, rm.Params[i], r.Params[i])
		}
	}
}

// TestPEDANOVALinear checks that on the linear function 4x1 + 2x2 + x3 (minimized), with the
// default γ′ = 0.1, the params with a non-zero weight rank x1 > x2 > x3 ahead of x4 and x5,
// for each of the seeds 1…5 at 1,000 uniform trials.
func TestPEDANOVALinear(t *testing.T) {
	t.Parallel()
	for _, seed := range knownSeeds[:5] {
		x, y := linear.sample(1000, seed)
		r, err := PEDANOVA(frozen(x, y, linear.low, linear.high), PEDANOVAOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range r.Params[:3] {
			got = append(got, p.Name)
		}
		if got[0] != "x1" || got[1] != "x2" || got[2] != "x3" {
			t.Errorf("seed %d: ranking %v, want x1, x2, x3 first (params %+v)", seed, got, r.Params)
		}
	}
}

func TestPEDANOVANumericGrid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		dist  retune.Distribution
		value any
		steps int
		index int
	}{
		{"float", retune.FloatDistribution{Low: 0, High: 1}, 0.51, 50, 25},
		{"float midpoint tie goes down", retune.FloatDistribution{Low: 0, High: 49}, 2.5, 50, 2},
		{"float step", retune.FloatDistribution{Low: 0, High: 1, Step: 0.25}, 0.75, 5, 3},
		{"int", retune.IntDistribution{Low: 1, High: 10}, int64(10), 10, 9},
		{"int step", retune.IntDistribution{Low: 0, High: 200, Step: 2}, int64(102), 50, 25},
		{"log float", retune.FloatDistribution{Low: 1e-4, High: 1, Log: true}, 0.011, 50, 25},
		{"log int", retune.IntDistribution{Low: 1, High: 1024, Log: true}, int64(32), 11, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := gridCounts(tt.dist, []any{tt.value})
			if len(c) != tt.steps || c[tt.index] != 1 {
				t.Errorf("gridCounts(%v, %v) = %v, want %d points with the value at %d", tt.dist, tt.value, c, tt.steps, tt.index)
			}
			p := numericDensity(c)
			var sum float64
			for _, v := range p {
				sum += v
			}
			if math.Abs(sum-1) > 1e-12 {
				t.Errorf("density sums to %v, want 1", sum)
			}
		})
	}
}

func TestPEDANOVAErrors(t *testing.T) {
	t.Parallel()
	ts := handTrials()
	tests := []struct {
		name   string
		trials []retune.FrozenTrial
		opts   PEDANOVAOptions
		want   error
	}{
		{"target above region", ts, PEDANOVAOptions{TargetQuantile: 0.6, RegionQuantile: 0.5}, retune.ErrInvalid},
		{"region above 1", ts, PEDANOVAOptions{RegionQuantile: 1.5}, retune.ErrInvalid},
		{"unknown param", ts, PEDANOVAOptions{Params: []string{"nope"}}, retune.ErrInvalid},
		{"objective out of range", ts, PEDANOVAOptions{Objective: 1}, retune.ErrInvalid},
		{"one trial", ts[:1], PEDANOVAOptions{}, ErrTooFewTrials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := PEDANOVA(tt.trials, tt.opts); !errors.Is(err, tt.want) {
				t.Errorf("PEDANOVA = %v, want %v", err, tt.want)
			}
		})
	}
}
