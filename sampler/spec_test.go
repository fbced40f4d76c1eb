package sampler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/samplertest"
	"github.com/a6b40afc/retune/sampler"
	"github.com/a6b40afc/retune/sampler/auto"
	"github.com/a6b40afc/retune/storage/memory"
)

// stored returns s as it reads back from a database: through JSON.
func stored(t *testing.T, s retune.Spec) retune.Spec {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out retune.Spec
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// propose runs n trials of a study with smp and returns their params.
func propose(t *testing.T, smp retune.Sampler, objectives, n int) []map[string]any {
	t.Helper()
	dirs := make([]retune.Direction, objectives)
	s := samplertest.NewStudy(t, retune.Config{Name: "rt", Directions: dirs, Sampler: smp, Storage: memory.New(), Seed: 42})
	_, err := s.OptimizeMulti(context.Background(), func(ctx context.Context, tr *retune.Trial) ([]float64, error) {
		v := samplertest.Loss(tr, samplertest.Mixed[:7], math.Log)
		out := []float64{v}
		for i := 1; i < objectives; i++ {
			out = append(out, 1/(1+v)+float64(i))
		}
		return out, nil
	}, retune.OptimizeOptions{Trials: n})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, tr := range samplertest.Trials(t, s) {
		out = append(out, tr.Params)
	}
	return out
}

// TestRoundTrip: every sampler, with options other than its defaults, is rebuilt from its
// stored spec into a sampler with the same spec that proposes the same params for the
// same seed.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	specs := []struct {
		spec       retune.Spec
		objectives int
	}{
		{retune.Spec{Name: "tpe", Options: map[string]any{"startup_trials": 4, "candidates": 12, "group": true, "constant_liar": true, "prior_weight": 0.5}}, 1},
		{retune.Spec{Name: "tpe", Options: map[string]any{"startup_trials": 0}}, 2},
		{retune.Spec{Name: "auto", Options: map[string]any{"gp_trials": 6, "nsga2_trials": -1}}, 1},
		{retune.Spec{Name: "auto", Options: map[string]any{"rules": 2}}, 3},
		{retune.Spec{Name: "auto", Options: map[string]any{"rules": 4, "numeric_gp_trials": 30, "gp_trials": 80}}, 1},
		{retune.Spec{Name: "auto", Options: map[string]any{"rules": 4, "numeric_gp_trials": -1}}, 1},
		{retune.Spec{Name: "auto", Options: map[string]any{"nsga2_trials": 5}}, 3},
		{retune.Spec{Name: "gp", Options: map[string]any{"startup_trials": 3, "candidates": 64, "local_searches": 1, "deterministic_objective": true}}, 1},
		{retune.Spec{Name: "gp", Options: map[string]any{"startup_trials": 3, "candidates": 64, "trust_region": true}}, 1},
		{retune.Spec{Name: "auto", Options: map[string]any{"rules": 5}}, 1},
		{retune.Spec{Name: "auto", Options: map[string]any{"rules": 6, "gp_trials": 40}}, 1},
		{retune.Spec{Name: "cmaes", Options: map[string]any{"popsize": 6, "sigma0": 0.3, "restart": "ipop", "separable": true, "margin": -1, "warm_start": true, "warm_start_gamma": 0.2}}, 1},
		{retune.Spec{Name: "nsga2", Options: map[string]any{"population_size": 6, "crossover": "uniform", "crossover_prob": 0.7, "mutation_prob": 0.0, "mutation": "uniform"}}, 2},
		{retune.Spec{Name: "nsga2", Options: map[string]any{"population_size": 4}}, 3},
		{retune.Spec{Name: "nsga2", Options: map[string]any{"population_size": 4, "selection": "crowding"}}, 3},
		{retune.Spec{Name: "qmc", Options: map[string]any{"type": "halton", "scramble": false}}, 1},
		{retune.Spec{Name: "random"}, 1},
		{retune.Spec{Name: "grid", Options: map[string]any{"values": map[string][]any{
			"f": {0.5, 1.5}, "flog": {0.01, 1.0}, "fstep": {0.25}, "i": {1, 2}, "istep": {10, 25}, "ilog": {8}, "c": {"a", "b"},
		}}}, 1},
	}
	for _, c := range specs {
		t.Run(fmt.Sprint(c.spec.Name, c.spec.Options), func(t *testing.T) {
			t.Parallel()
			first, err := sampler.FromSpec(c.spec)
			if err != nil {
				t.Fatalf("FromSpec(%v): %v", c.spec, err)
			}
			spec := stored(t, retune.SpecOf(first))
			again, err := sampler.FromSpec(spec)
			if err != nil {
				t.Fatalf("FromSpec(stored %v): %v", spec, err)
			}
			if got := stored(t, retune.SpecOf(again)); !reflect.DeepEqual(got, spec) {
				t.Errorf("rebuilt spec = %v, want %v", got, spec)
			}
			for k, v := range c.spec.Options { // the options asked for are in effect
				if k != "values" && fmt.Sprint(spec.Options[k]) != fmt.Sprint(v) && !(k == "mutation_prob" && v == 0.0) {
					t.Errorf("option %s = %v in the sampler's spec, want %v", k, spec.Options[k], v)
				}
			}
			want := propose(t, first, c.objectives, 16)
			if got := propose(t, again, c.objectives, 16); !reflect.DeepEqual(got, want) {
				t.Errorf("rebuilt sampler proposes\n%v\nwant\n%v", got, want)
			}
		})
	}
}

func TestFromSpecErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		spec retune.Spec
		want string
	}{
		{retune.Spec{Name: "bayes"}, `unknown sampler "bayes": want one of tpe, auto, gp, cmaes, nsga2, qmc, random, grid`},
		{retune.Spec{Name: "tpe", Options: map[string]any{"startup": 5}}, `sampler "tpe": unknown option startup: valid options are candidates, constant_liar,`},
		{retune.Spec{Name: "random", Options: map[string]any{"seed": 1}}, `sampler "random": unknown option seed: it takes no options`},
		{retune.Spec{Name: "tpe", Options: map[string]any{"candidates": 2.5}}, "option candidates is 2.5: want a whole number >= 1"},
		{retune.Spec{Name: "tpe", Options: map[string]any{"gamma": "custom"}}, "cannot be rebuilt from its spec"},
		{retune.Spec{Name: "cmaes", Options: map[string]any{"restart": "often"}}, "option restart is often: want none, ipop, bipop or "},
		{retune.Spec{Name: "nsga2", Options: map[string]any{"mutation_prob": 2}}, "option mutation_prob 2: want a probability in [0, 1]"},
		{retune.Spec{Name: "qmc", Options: map[string]any{"scramble": "yes"}}, "option scramble is yes: want true or false"},
		{retune.Spec{Name: "grid"}, "option values: missing"},
		{retune.Spec{Name: "grid", Options: map[string]any{"values": map[string]any{"x": []any{1, 1}}}}, "appears twice"},
		{retune.Spec{Name: "auto", Options: map[string]any{"gp_trials": 0}}, "option gp_trials 0: want a whole number >= 1, or -1 for never"},
		{retune.Spec{Name: "auto", Options: map[string]any{"rules": auto.LatestRules + 1}}, fmt.Sprintf("option rules %d: want 1 to %d", auto.LatestRules+1, auto.LatestRules)},
		{retune.Spec{Name: "auto", Options: map[string]any{"rules": 3, "numeric_gp_trials": 50}}, "option numeric_gp_trials needs rules 4 or later (rules 3)"},
		{retune.Spec{Name: "auto", Options: map[string]any{"numeric_gp_trials": 50}}, "option numeric_gp_trials needs rules 4 or later (rules 1)"},
		{retune.Spec{Name: "auto", Options: map[string]any{"rules": 4, "numeric_gp_trials": 0}}, "option numeric_gp_trials 0"},
		{retune.Spec{Name: "nsga2", Options: map[string]any{"selection": "niche"}}, "option selection is niche: want crowding or reference"},
	} {
		_, err := sampler.FromSpec(c.spec)
		if !errors.Is(err, retune.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FromSpec(%v) error = %v, want ErrInvalid containing %q", c.spec, err, c.want)
		}
	}
}

// TestTableIsRead: every option the help lists is one FromSpec reads (a value of no
// valid type is refused naming it), so the help never documents an ignored option.
func TestTableIsRead(t *testing.T) {
	t.Parallel()
	for _, p := range sampler.Plugins() {
		for _, o := range p.Options {
			_, err := sampler.FromSpec(retune.Spec{Name: p.Name, Options: map[string]any{o.Name: struct{}{}}})
			if !errors.Is(err, retune.ErrInvalid) || !strings.Contains(err.Error(), "option "+o.Name) {
				t.Errorf("%s option %s given {}: error = %v, want one naming the option", p.Name, o.Name, err)
			}
		}
	}
}

// A stored auto spec without rules predates their versions: it gets rules 1, so a resumed
// study keeps the rules it ran with.
func TestAutoRulesDefault(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		opts map[string]any
		want int
	}{{nil, 1}, {map[string]any{"gp_trials": 50}, 1}, {map[string]any{"rules": 2}, 2}, {map[string]any{"rules": 1}, 1}, {map[string]any{"rules": 3}, 3}, {map[string]any{"rules": 4}, 4}, {map[string]any{"rules": 5}, 5}} {
		smp, err := sampler.FromSpec(retune.Spec{Name: "auto", Options: c.opts})
		if err != nil {
			t.Fatal(err)
		}
		// Rules 1 is a spec without rules.
		got, ok := retune.SpecOf(smp).Options["rules"]
		if (c.want == 1) == ok || (ok && got != c.want) {
			t.Errorf("FromSpec(auto %v): spec %v, want rules %d", c.opts, retune.SpecOf(smp), c.want)
		}
	}
}

// A stored nsga2 spec without selection predates the option: it gets NSGA-III's reference
// points for three or more objectives, as it ran then.
func TestNSGA2SelectionDefault(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		opts map[string]any
		want string
	}{{nil, "reference"}, {map[string]any{"population_size": 20}, "reference"}, {map[string]any{"selection": "crowding"}, "crowding"}, {map[string]any{"selection": "reference"}, "reference"}} {
		smp, err := sampler.FromSpec(retune.Spec{Name: "nsga2", Options: c.opts})
		if err != nil {
			t.Fatal(err)
		}
		// Reference is a spec without selection, as stored before the option existed.
		got, ok := retune.SpecOf(smp).Options["selection"]
		if (c.want == "reference") == ok || (ok && got != c.want) {
			t.Errorf("FromSpec(nsga2 %v): spec %v, want selection %s", c.opts, retune.SpecOf(smp), c.want)
		}
	}
}
