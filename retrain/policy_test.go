package retrain_test

import (
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
	p := retrain.Policy{Repeats: 5}
	// Differences 1, 2, 3, 4, 5 (maximize): mean 3, sd √2.5, t(0.95, 4) = 2.13184678632665.
	e, err := p.ComparePaired(retune.Maximize, []float64{2, 4, 6, 8, 10}, []float64{1, 2, 3, 4, 5})
	if err != nil {
		t.Fatal(err)
	}
	want := 3 - 2.13184678632665*math.Sqrt(2.5)/math.Sqrt(5)
	if math.Abs(*e.LowerBound-want) > 1e-9 || e.Improvement != 3 || e.Level != 0.95 {
		t.Errorf("lower bound %v, mean %v, level %v; want %v, 3, 0.95", *e.LowerBound, e.Improvement, e.Level, want)
	}
	if ok, reason := retrain.Verdict(e); !ok || !strings.Contains(reason, "confirmed") {
		t.Errorf("Verdict = %v, %s", ok, reason)
	}
	// Minimize: the same numbers mean the candidate is worse.
	e, _ = p.ComparePaired(retune.Minimize, []float64{2, 4, 6, 8, 10}, []float64{1, 2, 3, 4, 5})
	if ok, _ := retrain.Verdict(e); ok {
		t.Errorf("a worse candidate was confirmed: %+v", e)
	}
	if _, err := p.ComparePaired(retune.Maximize, []float64{1}, []float64{1}); err == nil {
		t.Error("one repeat compared")
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
	}
	for _, p := range bad {
		if err := p.Validate(); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", p, err)
		}
	}
}

// A small run of the decision simulation (PROTOCOL §6; the full figures come from
// retune-bench): point comparisons call nearly every null study an improvement, the
// confirmation policy about 5%, and it detects a 2σ improvement most of the time.
func TestSimulatedDecisions(t *testing.T) {
	t.Parallel()
	const n = 600
	point, _ := bench.SimulateDecisions(retrain.Policy{}, "null", n, 1)
	null, _ := bench.SimulateDecisions(retrain.Policy{Repeats: 5}, "null", n, 2)
	effect, _ := bench.SimulateDecisions(retrain.Policy{Repeats: 5}, "effect", n, 3)
	if point.Rate < 0.99 {
		t.Errorf("point policy false-improvement rate %.3f, want ≈ 1 (the winner's curse)", point.Rate)
	}
	if null.Low > 0.05 {
		t.Errorf("confirmation null rate %.3f [%.3f, %.3f]: significantly above the nominal 5%%", null.Rate, null.Low, null.High)
	}
	if effect.Rate < 0.75 {
		t.Errorf("confirmation detection rate %.3f, want ≥ 0.75 at n=%d (power ≈ 0.83)", effect.Rate, n)
	}
}
