package retrain_test

import (
	"cmp"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench"
	"github.com/a6b40afc/retune/retrain"
)

func TestComparePoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		p          retrain.Policy
		dir        retune.Direction
		cand, cham float64
		want       bool
	}{
		{"max better", retrain.Policy{}, retune.Maximize, 0.91, 0.90, true},
		{"max equal", retrain.Policy{}, retune.Maximize, 0.90, 0.90, false},
		{"min better", retrain.Policy{}, retune.Minimize, 0.10, 0.12, true},
		{"min worse", retrain.Policy{}, retune.Minimize, 0.13, 0.12, false},
		{"absolute margin", retrain.Policy{MinImprovement: 0.02}, retune.Maximize, 0.91, 0.90, false},
		{"relative margin", retrain.Policy{MinRelativeImprovement: 0.05}, retune.Minimize, 0.96, 1.0, false},
		{"relative margin met", retrain.Policy{MinRelativeImprovement: 0.05}, retune.Minimize, 0.94, 1.0, true},
		{"larger margin wins", retrain.Policy{MinImprovement: 0.01, MinRelativeImprovement: 0.1}, retune.Maximize, 1.05, 1.0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := tt.p.ComparePoint(tt.dir, tt.cand, tt.cham)
			if err != nil {
				t.Fatal(err)
			}
			got, reason := retrain.Verdict(e)
			if got != tt.want || !strings.Contains(reason, "point comparison") {
				t.Errorf("Verdict = %v (%s), want %v", got, reason, tt.want)
			}
		})
	}
	if _, err := (retrain.Policy{}).ComparePoint(retune.Maximize, math.NaN(), 1); err == nil {
		t.Error("ComparePoint(NaN) succeeded")
	}
}

func TestComparePaired(t *testing.T) {
	t.Parallel()
	// Candidate 2, 4, …, 10 against champion 1, 2, …, 5 (maximize): differences 1 … 5, mean
	// 3, their sd √2.5; the pooled sd of the two samples √((40+10)/8) = 2.5.
	cand, champ := []float64{2, 4, 6, 8, 10}, []float64{1, 2, 3, 4, 5}
	const (
		t95df4, t975df4 = 2.13184678632665, 2.7764451051977987
		t95df8, t975df8 = 1.8595480375228424, 2.3060041352041662
	)
	pairedSE, unpairedSE := math.Sqrt(2.5)/math.Sqrt(5), 2.5*math.Sqrt(2.0/5)
	tests := []struct {
		analysis        string
		paired, unpair  float64 // the bounds, NaN where not computed
		lower           float64
		confirmed       bool
		reasonFragments []string
	}{
		{"paired", 3 - t95df4*pairedSE, math.NaN(), 3 - t95df4*pairedSE, true, []string{"confirmed: the 95% lower bound"}},
		{"unpaired", math.NaN(), 3 - t95df8*unpairedSE, 3 - t95df8*unpairedSE, true, []string{"bound of the mean improvement over 5 repeats is 0.0598 (unpaired)"}},
		// Both, each at 97.5%: the paired bound 1.04 is the larger (the pairs are perfectly
		// correlated but for a trend), and confirms.
		{"", 3 - t975df4*pairedSE, 3 - t975df8*unpairedSE, 3 - t975df4*pairedSE, true, []string{"confirmed", "the larger of the paired bound 1.037 and the unpaired bound -0.6461"}},
	}
	for _, tt := range tests {
		p := retrain.Policy{Repeats: 5, Analysis: tt.analysis}
		e, err := p.ComparePaired(retune.Maximize, cand, champ)
		if err != nil {
			t.Fatal(err)
		}
		near := func(got *float64, want float64) bool {
			if math.IsNaN(want) {
				return got == nil
			}
			return got != nil && math.Abs(*got-want) < 1e-9
		}
		if !near(e.PairedBound, tt.paired) || !near(e.UnpairedBound, tt.unpair) || !near(e.LowerBound, tt.lower) {
			t.Errorf("analysis %q: bounds paired %v unpaired %v lower %v; want %v %v %v", tt.analysis, e.PairedBound, e.UnpairedBound, e.LowerBound, tt.paired, tt.unpair, tt.lower)
		}
		wantAnalysis := cmp.Or(tt.analysis, retrain.AnalysisBoth)
		if wantBound := cmp.Or(tt.analysis, retrain.AnalysisPaired); e.Bound != wantBound {
			t.Errorf("analysis %q: bound %q, want %q (the one that decided)", tt.analysis, e.Bound, wantBound)
		}
		if e.Improvement != 3 || e.Level != 0.95 || e.Analysis != wantAnalysis || e.Method != "paired" {
			t.Errorf("analysis %q: mean %v, level %v, analysis %q, method %q; want 3, 0.95, %q, paired", tt.analysis, e.Improvement, e.Level, e.Analysis, e.Method, wantAnalysis)
		}
		ok, reason := retrain.Verdict(e)
		if ok != tt.confirmed {
			t.Errorf("analysis %q: Verdict = %v (%s), want %v", tt.analysis, ok, reason, tt.confirmed)
		}
		for _, f := range tt.reasonFragments {
			if !strings.Contains(reason, f) {
				t.Errorf("analysis %q: reason %q lacks %q", tt.analysis, reason, f)
			}
		}
	}
	// The unpaired bound gains when the pairs share little: the same differences' signs
	// scattered over uncorrelated pairs.
	e, _ := retrain.Policy{Repeats: 5}.ComparePaired(retune.Maximize, []float64{3.1, 2.9, 3.4, 2.6, 3.0}, []float64{1.5, 0.8, 1.2, 1.9, 1.1})
	if *e.UnpairedBound <= *e.PairedBound || *e.LowerBound != *e.UnpairedBound || e.Bound != retrain.AnalysisUnpaired {
		t.Errorf("uncorrelated pairs: paired %v, unpaired %v, lower %v, bound %q: want the unpaired bound to be the larger, used and named", *e.PairedBound, *e.UnpairedBound, *e.LowerBound, e.Bound)
	}
	// Minimize: the same numbers mean the candidate is worse.
	e, _ = retrain.Policy{Repeats: 5}.ComparePaired(retune.Minimize, cand, champ)
	if ok, _ := retrain.Verdict(e); ok {
		t.Errorf("a worse candidate was confirmed: %+v", e)
	}
	if _, err := (retrain.Policy{Repeats: 5}).ComparePaired(retune.Maximize, []float64{1}, []float64{1}); err == nil {
		t.Error("one repeat compared")
	}
	if _, err := (retrain.Policy{Repeats: 2}).ComparePaired(retune.Maximize, []float64{1, math.NaN()}, []float64{1, 2}); err == nil {
		t.Error("a NaN repeat compared")
	}
	// Finite values whose differences overflow: no bound, rather than a NaN one.
	if e, err := (retrain.Policy{Repeats: 2}).ComparePaired(retune.Maximize, []float64{1e308, 1.5e308}, []float64{-1e308, -1e308}); err == nil {
		t.Errorf("overflowing differences compared: %+v", e)
	}
	// A huge spread is no error: the bound is -Inf, and nothing is confirmed.
	e, err := (retrain.Policy{Repeats: 2}).ComparePaired(retune.Maximize, []float64{1e200, -1e200}, []float64{0, 0})
	if err != nil || !math.IsInf(*e.LowerBound, -1) {
		t.Errorf("huge spread: bound %v, %v; want -Inf", e.LowerBound, err)
	}
}

func TestGuardrails(t *testing.T) {
	t.Parallel()
	p := retrain.Policy{Guardrails: []retrain.Guardrail{{Metric: "latency_ms", MaxRegression: 0.10}, {Metric: "auc", MaxRegression: 0.01, Direction: retune.Maximize}}}
	e, _ := p.ComparePoint(retune.Maximize, 0.95, 0.90)
	e.Guardrails = p.Guard(map[string]float64{"latency_ms": 10.5, "auc": 0.80}, map[string]float64{"latency_ms": 10, "auc": 0.80})
	if ok, reason := retrain.Verdict(e); !ok {
		t.Errorf("within guardrails: %v %s", ok, reason)
	}
	e.Guardrails = p.Guard(map[string]float64{"latency_ms": 12, "auc": 0.80}, map[string]float64{"latency_ms": 10, "auc": 0.80})
	if ok, reason := retrain.Verdict(e); ok || !strings.Contains(reason, "guardrail latency_ms regressed by 0.2") {
		t.Errorf("latency +20%%: %v %s", ok, reason)
	}
	e.Guardrails = p.Guard(map[string]float64{"latency_ms": 9}, map[string]float64{"latency_ms": 10, "auc": 0.8})
	if ok, _ := retrain.Verdict(e); ok {
		t.Error("a guardrail metric the candidate lacks passed")
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	bad := []retrain.Policy{
		{MinImprovement: -1}, {MinRelativeImprovement: math.NaN()}, {Repeats: 1}, {Level: 1.2},
		{Guardrails: []retrain.Guardrail{{Metric: ""}}}, {Guardrails: []retrain.Guardrail{{Metric: "a"}, {Metric: "a"}}},
		{Analysis: "welch"},
	}
	for _, p := range bad {
		if err := p.Validate(); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", p, err)
		}
	}
}

// A small run of the decision simulation (PROTOCOL §6; the full figures come from
// retune-bench): point comparisons call nearly every null study an improvement; each
// confirmation analysis keeps its false-improvement rate at or below the nominal 5%, with
// independent or strongly correlated pairs, and detects a 2σ improvement most of the time.
func TestSimulatedDecisions(t *testing.T) {
	t.Parallel()
	const n = 600
	point, _ := bench.SimulateDecisions(retrain.Policy{}, "null", n, 1, 0)
	if point.Rate < 0.99 {
		t.Errorf("point policy false-improvement rate %.3f, want ≈ 1 (the winner's curse)", point.Rate)
	}
	for _, a := range []string{retrain.AnalysisBoth, retrain.AnalysisPaired, retrain.AnalysisUnpaired} {
		p := retrain.Policy{Repeats: 5, Analysis: a}
		for _, rho := range []float64{0, 0.9} {
			null, err := bench.SimulateDecisions(p, "null", n, 2, rho)
			if err != nil {
				t.Fatal(err)
			}
			if null.Low > 0.05 {
				t.Errorf("%s, rho %v: null rate %.3f [%.3f, %.3f]: significantly above the nominal 5%%", a, rho, null.Rate, null.Low, null.High)
			}
		}
		effect, _ := bench.SimulateDecisions(p, "effect", n, 3, 0)
		if effect.Rate < 0.75 {
			t.Errorf("%s: detection rate %.3f, want ≥ 0.75 at n=%d (power ≈ 0.82–0.89)", a, effect.Rate, n)
		}
	}
	// The combined bound spends half the error on each bound, so with uncorrelated pairs
	// it calls fewer null studies improved than either bound alone (≈3.6% against 5%).
	both, _ := bench.SimulateDecisions(retrain.Policy{Repeats: 5}, "null", 4000, 4, 0)
	if both.High >= 0.05 {
		t.Errorf("combined analysis: null rate %.4f [%.4f, %.4f] over 4000 studies, want its upper bound below 5%%", both.Rate, both.Low, both.High)
	}
}
