package pruner_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
)

func allPruners() map[string]retune.Pruner {
	return map[string]retune.Pruner{
		"median":             pruner.NewMedian(pruner.MedianOptions{}),
		"median custom":      pruner.NewMedian(pruner.MedianOptions{StartupTrials: -1, WarmupSteps: 3, IntervalSteps: 2, MinTrials: 4}),
		"percentile":         pruner.NewPercentile(pruner.PercentileOptions{Percentile: 12.5}),
		"asha":               pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{}),
		"asha auto":          pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{AutoMinResource: true, ReductionFactor: 3, MinEarlyStoppingRate: 1}),
		"hyperband":          pruner.NewHyperband(pruner.HyperbandOptions{}),
		"hyperband max":      pruner.NewHyperband(pruner.HyperbandOptions{MinResource: 2, MaxResource: 50, ReductionFactor: 4}),
		"threshold":          pruner.NewThreshold(pruner.ThresholdOptions{Lower: new(-1.5), Objective: 1, WarmupSteps: 2}),
		"threshold none":     pruner.NewThreshold(pruner.ThresholdOptions{}),
		"patience":           pruner.NewPatience(pruner.PatienceOptions{Patience: 3, MinDelta: 0.01}),
		"patience of median": pruner.NewPatience(pruner.PatienceOptions{Wrapped: pruner.NewMedian(pruner.MedianOptions{}), Patience: 2}),
		"wilcoxon":           pruner.NewWilcoxon(pruner.WilcoxonOptions{}),
		"wilcoxon custom":    pruner.NewWilcoxon(pruner.WilcoxonOptions{Level: 0.05, StartupSteps: -1}),
		"extrapolate":        pruner.NewExtrapolate(pruner.ExtrapolateOptions{}),
		"extrapolate custom": pruner.NewExtrapolate(pruner.ExtrapolateOptions{StartupTrials: -1, WarmupSteps: 2, Neighbors: 3, ParamWeight: -1, Novelty: 0.5, MinImprovement: -1, NearBestDistance: 0.2, NearBestImprovement: -1, Drop: -1}),
	}
}

func TestSpecRoundTrip(t *testing.T) {
	t.Parallel()
	for name, p := range allPruners() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			spec := p.(retune.Specer).Spec()
			b, err := json.Marshal(spec)
			if err != nil {
				t.Fatalf("marshal %v: %v", spec, err)
			}
			// As a study stores it: JSON, decoded back with float64 numbers.
			var stored retune.Spec
			if err := json.Unmarshal(b, &stored); err != nil {
				t.Fatal(err)
			}
			for _, in := range []retune.Spec{spec, stored} {
				q, err := pruner.FromSpec(in)
				if err != nil {
					t.Fatalf("FromSpec(%s) = %v", b, err)
				}
				b2, _ := json.Marshal(retune.SpecOf(q))
				if string(b2) != string(b) {
					t.Errorf("FromSpec(%s).Spec() = %s", b, b2)
				}
			}
		})
	}
}

func TestSpecDefaults(t *testing.T) {
	t.Parallel()
	pairs := []struct {
		name string
		a, b retune.Pruner
	}{
		{"median", pruner.NewMedian(pruner.MedianOptions{}), pruner.NewMedian(pruner.MedianOptions{StartupTrials: 5, IntervalSteps: 1, MinTrials: 1})},
		{"percentile", pruner.NewPercentile(pruner.PercentileOptions{}), pruner.NewPercentile(pruner.PercentileOptions{Percentile: 25})},
		{"asha", pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{}), pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{MinResource: 1, ReductionFactor: 4})},
		{"hyperband", pruner.NewHyperband(pruner.HyperbandOptions{}), pruner.NewHyperband(pruner.HyperbandOptions{MinResource: 1, ReductionFactor: 3})},
		{"threshold", pruner.NewThreshold(pruner.ThresholdOptions{Upper: new(1.0)}), pruner.NewThreshold(pruner.ThresholdOptions{Upper: new(1.0), Lower: new(-inf), IntervalSteps: 1})},
		{"patience", pruner.NewPatience(pruner.PatienceOptions{}), pruner.NewPatience(pruner.PatienceOptions{Patience: 1})},
		{"wilcoxon", pruner.NewWilcoxon(pruner.WilcoxonOptions{}), pruner.NewWilcoxon(pruner.WilcoxonOptions{Level: 0.1, StartupSteps: 2})},
		{"extrapolate", pruner.NewExtrapolate(pruner.ExtrapolateOptions{}), pruner.NewExtrapolate(pruner.ExtrapolateOptions{StartupTrials: 5, Neighbors: 1, ParamWeight: 0.75, Novelty: 3, MinImprovement: 0.2, NearBestDistance: 0.1, NearBestImprovement: 0.05, Drop: 0.1})},
		// A spec without the near-copy and turned-down options predates them: both are off.
		{"from an empty extrapolate spec", pruner.NewExtrapolate(pruner.ExtrapolateOptions{NearBestDistance: -1, Drop: -1}), must(pruner.FromSpec(retune.Spec{Name: "extrapolate"}))},
		{"from the latest extrapolate options", pruner.NewExtrapolate(pruner.ExtrapolateOptions{}), must(pruner.FromSpec(retune.Spec{Name: "extrapolate", Options: pruner.LatestOptions("extrapolate")}))},
		{"from an empty spec", pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{}), must(pruner.FromSpec(retune.Spec{Name: "asha"}))},
		{"from an empty median spec", pruner.NewMedian(pruner.MedianOptions{}), must(pruner.FromSpec(retune.Spec{Name: "median"}))},
	}
	for _, tt := range pairs {
		a, _ := json.Marshal(retune.SpecOf(tt.a))
		b, _ := json.Marshal(retune.SpecOf(tt.b))
		if string(a) != string(b) {
			t.Errorf("%s: spec %s, with explicit defaults %s", tt.name, a, b)
		}
	}
}

func must(p retune.Pruner, err error) retune.Pruner {
	if err != nil {
		panic(err)
	}
	return p
}

func TestFromSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		spec    retune.Spec
		wantErr string // empty: no error
		want    string // JSON of the resulting spec
	}{
		{"empty spec: no pruner", retune.Spec{}, "", "{\"name\":\"\"}"},
		{"YAML-style ints", retune.Spec{Name: "asha", Options: map[string]any{"min_resource": 2, "reduction_factor": uint64(3)}}, "", `{"name":"asha","options":{"min_early_stopping_rate":0,"min_resource":2,"reduction_factor":3}}`},
		{"auto", retune.Spec{Name: "hyperband", Options: map[string]any{"max_resource": "auto"}}, "", `{"name":"hyperband","options":{"max_resource":"auto","min_resource":1,"reduction_factor":3}}`},
		{"startup 0 means none", retune.Spec{Name: "median", Options: map[string]any{"startup_trials": 0}}, "", `{"name":"median","options":{"interval_steps":1,"min_trials":1,"startup_trials":0,"warmup_steps":0}}`},
		{"nested map", retune.Spec{Name: "patience", Options: map[string]any{"wrapped": map[string]any{"name": "wilcoxon", "options": map[string]any{"level": 0.2}}}}, "", `{"name":"patience","options":{"min_delta":0,"patience":1,"wrapped":{"name":"wilcoxon","options":{"level":0.2,"startup_steps":2}}}}`},
		{"extrapolate zeros mean none", retune.Spec{Name: "extrapolate", Options: map[string]any{"startup_trials": 0, "param_weight": 0, "novelty": 0.0, "min_improvement": 0, "near_best_distance": 0, "near_best_improvement": 0, "drop": 0}}, "", `{"name":"extrapolate","options":{"min_improvement":0,"neighbors":1,"novelty":0,"param_weight":0,"startup_trials":0,"warmup_steps":0}}`},
		{"extrapolate near-copies without margin", retune.Spec{Name: "extrapolate", Options: map[string]any{"near_best_distance": 0.2, "near_best_improvement": 0}}, "", `{"name":"extrapolate","options":{"min_improvement":0.2,"near_best_distance":0.2,"near_best_improvement":0,"neighbors":1,"novelty":3,"param_weight":0.75,"startup_trials":5,"warmup_steps":0}}`},
		{"extrapolate negative drop", retune.Spec{Name: "extrapolate", Options: map[string]any{"drop": -0.1}}, "option drop is -0.1", ""},
		{"extrapolate negative novelty", retune.Spec{Name: "extrapolate", Options: map[string]any{"novelty": -1}}, "option novelty is -1", ""},
		{"unknown name", retune.Spec{Name: "nope"}, `unknown pruner "nope"`, ""},
		{"options without a name", retune.Spec{Options: map[string]any{"a": 1}}, "no name", ""},
		{"unknown option", retune.Spec{Name: "median", Options: map[string]any{"percentile": 30}}, "unknown option percentile: valid options are interval_steps, min_trials, startup_trials, warmup_steps", ""},
		{"not a number", retune.Spec{Name: "wilcoxon", Options: map[string]any{"level": "low"}}, "want a number", ""},
		{"not whole", retune.Spec{Name: "asha", Options: map[string]any{"reduction_factor": 2.5}}, "want a whole number", ""},
		{"bad auto", retune.Spec{Name: "asha", Options: map[string]any{"min_resource": "soon"}}, `want a whole number or "auto"`, ""},
		{"out of range", retune.Spec{Name: "asha", Options: map[string]any{"reduction_factor": 1}}, "reduction factor 1", ""},
		{"bad nested", retune.Spec{Name: "patience", Options: map[string]any{"wrapped": map[string]any{"name": "nope"}}}, `pruner "patience": option wrapped: unknown pruner "nope"`, ""},
		{"nested of the wrong type", retune.Spec{Name: "patience", Options: map[string]any{"wrapped": 3}}, "want an object", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := pruner.FromSpec(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, retune.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("FromSpec(%+v) = %v, want an ErrInvalid containing %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromSpec(%+v) = %v", tt.spec, err)
			}
			got, _ := json.Marshal(retune.SpecOf(p))
			if string(got) != tt.want {
				t.Errorf("FromSpec(%+v) gives spec %s, want %s", tt.spec, got, tt.want)
			}
		})
	}
}

// TestTableIsRead: every option the help lists is one FromSpec reads (a value of no
// valid type is refused naming it), so the help never documents an ignored option.
func TestTableIsRead(t *testing.T) {
	t.Parallel()
	for _, p := range pruner.Plugins() {
		for _, o := range p.Options {
			_, err := pruner.FromSpec(retune.Spec{Name: p.Name, Options: map[string]any{o.Name: struct{}{}}})
			if !errors.Is(err, retune.ErrInvalid) || !strings.Contains(err.Error(), "option "+o.Name) {
				t.Errorf("%s option %s given {}: error = %v, want one naming the option", p.Name, o.Name, err)
			}
		}
	}
}

// TestWithLatestAndResume: a study file's extrapolate, also one a patience pruner wraps,
// gets the rules a stored spec without them reads as off; resuming, what the file leaves
// out keeps the stored values, the wrapped pruner's too.
func TestWithLatestAndResume(t *testing.T) {
	t.Parallel()
	legacy := retune.Spec{Name: "extrapolate", Options: map[string]any{"novelty": 2}}
	patience := func(w any) retune.Spec {
		return retune.Spec{Name: "patience", Options: map[string]any{"patience": 2, "wrapped": w}}
	}
	spec := func(s retune.Spec) string {
		p, err := pruner.FromSpec(s)
		if err != nil {
			t.Fatalf("FromSpec(%v): %v", s, err)
		}
		b, _ := json.Marshal(retune.SpecOf(p))
		return string(b)
	}
	fileWrapped := map[string]any{"name": "extrapolate"}
	for _, c := range []struct {
		name      string
		got, want retune.Spec
	}{
		{"a file's extrapolate", pruner.WithLatest(retune.Spec{Name: "extrapolate"}), retune.Spec{Name: "extrapolate", Options: pruner.LatestOptions("extrapolate")}},
		{"a file's wrapped extrapolate", pruner.WithLatest(patience(fileWrapped)), patience(retune.Spec{Name: "extrapolate", Options: pruner.LatestOptions("extrapolate")})},
		{"a file's option kept", pruner.WithLatest(retune.Spec{Name: "extrapolate", Options: map[string]any{"drop": 0.3}}),
			retune.Spec{Name: "extrapolate", Options: map[string]any{"drop": 0.3, "near_best_distance": 0.1}}},
		{"resumed", pruner.Resume(legacy, retune.Spec{Name: "extrapolate"}), legacy},
		{"resumed, naming an option", pruner.Resume(legacy, retune.Spec{Name: "extrapolate", Options: map[string]any{"drop": 0.2}}),
			retune.Spec{Name: "extrapolate", Options: map[string]any{"novelty": 2, "drop": 0.2}}},
		{"resumed wrapped", pruner.Resume(patience(legacy), patience(fileWrapped)), patience(legacy)},
		{"resumed, wrapping another", pruner.Resume(patience(retune.Spec{Name: "median"}), patience(fileWrapped)),
			patience(retune.Spec{Name: "extrapolate", Options: pruner.LatestOptions("extrapolate")})},
		{"another pruner", pruner.Resume(legacy, retune.Spec{Name: "median"}), retune.Spec{Name: "median"}},
	} {
		if g, w := spec(c.got), spec(c.want); g != w {
			t.Errorf("%s: %s, want %s", c.name, g, w)
		}
	}
}
