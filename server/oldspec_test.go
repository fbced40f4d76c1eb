package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/a6b40afc/retune"
)

// TestStoredSpecsKeepTheirBehaviour: a study stored before a sampler or pruner option
// existed (an auto spec without rules, an nsga2 spec without selection, an extrapolate
// spec without its near-copy and turned-down rules, each in its definition too) is served
// with the sampler and pruner it was stored with, not with today's defaults for the
// options its definition leaves out.
func TestStoredSpecsKeepTheirBehaviour(t *testing.T) {
	store := openSQLite(t, filepath.Join(t.TempDir(), "retune.db"))
	ctx := context.Background()
	oldAuto := retune.Spec{Name: "auto", Options: map[string]any{"gp_trials": 200, "nsga2_trials": 250}}
	for _, c := range []struct {
		name   string
		spec   retune.Spec
		dirs   int
		pruner retune.Spec
	}{
		{"old-auto", oldAuto, 1, retune.Spec{}},
		{"old-nsga2", retune.Spec{Name: "nsga2", Options: map[string]any{"population_size": 50, "crossover": "sbx",
			"crossover_prob": 0.9, "swapping_prob": 0.5, "crossover_eta": 20, "mutation": "polynomial",
			"mutation_prob": "1/n", "mutation_eta": 20, "divisions": 0}}, 3, retune.Spec{}},
		{"old-extrapolate", oldAuto, 1, retune.Spec{Name: "extrapolate", Options: map[string]any{"startup_trials": 5, "warmup_steps": 0,
			"neighbors": 1, "param_weight": 0.75, "novelty": 3, "min_improvement": 0.2}}},
	} {
		objs := []any{}
		dirs := make([]retune.Direction, c.dirs)
		metrics := make([]string, c.dirs)
		for i := range dirs {
			dirs[i], metrics[i] = retune.Minimize, "m"+string(rune('a'+i))
			objs = append(objs, map[string]any{"metric": metrics[i], "direction": "minimize"})
		}
		smp := map[string]any{"name": c.spec.Name}
		for k, v := range c.spec.Options {
			smp[k] = v
		}
		file := map[string]any{"version": 1, "name": c.name, "objectives": objs,
			"params":  map[string]any{"x": map[string]any{"type": "float", "low": 0.0, "high": 1.0}},
			"sampler": smp}
		if c.pruner.Name != "" {
			pr := map[string]any{"name": c.pruner.Name}
			for k, v := range c.pruner.Options {
				pr[k] = v
			}
			file["pruner"] = pr
		}
		def, err := json.Marshal(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateStudy(ctx, retune.StudyRecord{Name: c.name, Model: c.name, Directions: dirs, Metrics: metrics,
			Sampler: c.spec, Pruner: c.pruner, Definition: def}); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnvOn(t, store, nil)
	for _, name := range []string{"old-auto", "old-nsga2", "old-extrapolate"} {
		if r := e.do("run", "POST", "/api/v1/studies/"+name+"/trials", map[string]any{}); r.status != http.StatusCreated {
			t.Errorf("ask %s: %d %s, want 201 from the stored sampler and pruner", name, r.status, r.body)
		}
	}
}
