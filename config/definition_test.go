package config_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
	"github.com/a6b40afc/retune/sampler/auto"
	"github.com/a6b40afc/retune/sampler/tpe"
	"github.com/a6b40afc/retune/storage/memory"
)

// definitionFiles are study files of every shape a definition must carry.
var definitionFiles = map[string]string{
	"tpe and pruner": `name: mixed
command: ["python3", "train.py", "--lr={lr}"]
dir: sub
env: {A: b}
secret_env: [TOKEN_X]
objective: {metric: accuracy, direction: maximize}
params:
  lr:    {type: float, low: 1.0e-4, high: 1, log: true}
  depth: {type: int, low: 2, high: 12, step: 2}
  frac:  {type: float, low: 0, high: 1, step: 0.25}
  loss:  {type: categorical, choices: [log_loss, 2, 1.0, true]}
sampler: {name: tpe, group: true, startup_trials: 3}
pruner: {name: patience, patience: 2, wrapped: {name: median, options: {startup_trials: 1}}}
budget: {trials: 30, timeout: 1h, parallel: 2, trial_timeout: 10m, retries: 1}
retrain:
  min_improvement: 0.01
  min_relative_improvement: 0.02
  confirm: {repeats: 3, level: 0.9, analysis: paired}
  guardrails: {latency_ms: {max_regression: 0.1}, recall: {max_regression: 0.05, direction: maximize}}
  cooldown: 12h
  repeat_after: 6h
  decide: each_best
schedule: {every: 24h, timezone: Europe/Berlin}
notifiers:
  audit: {type: log, path: a.jsonl}
`,
	"grid": `name: g
command: [t, "{a}", "{b}", "{c}"]
objective: {metric: loss, direction: minimize}
params:
  a: {type: float, values: [0.1, 1, 10]}
  b: {type: int, values: [1, 2]}
  c: {type: categorical, values: [x, "y"]}
`,
	"multi objective": `name: mo
command: [t]
objectives: [{metric: loss, direction: minimize}, {metric: ms, direction: minimize}]
params:
  x: {type: float, low: -1, high: 1}
  n: {type: int, low: 1, high: 1000, log: true}
constraints:
  - {metric: memory_mb, max: 1000}
  - {metric: recall, min: 0.5, max: 1}
sampler: {name: nsga2, population_size: 6}
`,
	"conditional": `name: cond
command: [t, "--model={model}", "--c={svm_c}", "--k={knn_k}", "--w={knn_w}"]
objective: {metric: loss, direction: minimize}
params:
  model: {type: categorical, choices: [svm, knn, tree]}
  svm_c: {type: float, low: 0.01, high: 100, log: true, when: {model: svm}}
  knn_k: {type: int, low: 1, high: 30, when: {model: [knn]}}
  knn_w: {type: categorical, choices: [uniform, distance], when: {model: knn, knn_k: [2, 3, 4, 5]}, absent: none}
sampler: {name: tpe, group: true, startup_trials: 4}
`,
	"cmaes": `name: c
command: [t]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: -1, high: 1}
  y: {type: float, low: -1, high: 1}
sampler: {name: cmaes, popsize: 6, restart: ipop}
`,
}

// proposals runs n trials of the study that s opens in a new memory store, asking every
// param as the study file does, and returns their params.
func proposals(t *testing.T, s *config.Study, seed uint64, n int) []map[string]any {
	t.Helper()
	s.Seed = seed
	study, err := s.NewStudy(context.Background(), memory.New(), false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = study.OptimizeMulti(context.Background(), func(ctx context.Context, tr *retune.Trial) ([]float64, error) {
		v := 0.0
		for _, x := range s.Suggest(tr) {
			if f, ok := x.(float64); ok {
				v += f * f
			}
			if i, ok := x.(int64); ok {
				v += float64(i)
			}
		}
		out := make([]float64, len(s.Objectives))
		for i := range out {
			out[i] = v + float64(i)/(1+v)
		}
		return out, nil
	}, retune.OptimizeOptions{Trials: n})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := study.Trials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, tr := range ts {
		out = append(out, tr.Params)
	}
	return out
}

// TestDefinitionRoundTrip: a study file's definition parses back into a study with the
// same definition (nothing local in it) that proposes the same params for the same seed.
func TestDefinitionRoundTrip(t *testing.T) {
	t.Parallel()
	for name, file := range definitionFiles {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := config.Parse("study.yaml", []byte(file))
			if err != nil {
				t.Fatal(err)
			}
			def, err := s.Definition(7)
			if err != nil {
				t.Fatal(err)
			}
			for _, local := range []string{"command", "train.py", "secret_env", "TOKEN_X", "notifiers", "a.jsonl", `"dir"`, `"env"`} {
				if strings.Contains(string(def), local) {
					t.Errorf("definition holds %s:\n%s", local, def)
				}
			}
			back, err := config.ParseDefinition("definition", def)
			if err != nil {
				t.Fatalf("ParseDefinition(%s): %v", def, err)
			}
			again, err := back.Definition(7)
			if err != nil || string(again) != string(def) {
				t.Errorf("definition of the parsed definition:\n%s\nwant\n%s (%v)", again, def, err)
			}
			if !reflect.DeepEqual(back.Constraints, s.Constraints) {
				t.Errorf("constraints %v, want %v", back.Constraints, s.Constraints)
			}
			if back.Retrain != nil && !reflect.DeepEqual(back.Retrain, s.Retrain) {
				t.Errorf("retrain %+v, want %+v", back.Retrain, s.Retrain)
			}
			if back.Schedule != nil && (back.Schedule.Every != s.Schedule.Every || back.Schedule.Location.String() != s.Schedule.Location.String()) {
				t.Errorf("schedule %+v, want %+v", back.Schedule, s.Schedule)
			}
			if want, got := proposals(t, s, 7, 12), proposals(t, back, 7, 12); !reflect.DeepEqual(got, want) {
				t.Errorf("the study rebuilt from its definition proposes\n%v\nwant\n%v", got, want)
			}
		})
	}
}

func TestParseDefinitionErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ def, want string }{
		{`{"version": 1, "name": "x", "command": ["rm", "-rf"], "objective": {"metric": "l", "direction": "minimize"}, "params": {"a": {"type": "int", "low": 1, "high": 2}}}`,
			"definition:1: command: not part of a study definition"},
		{`{"version": 2, "name": "x", "objective": {"metric": "l", "direction": "minimize"}, "params": {"a": {"type": "int", "low": 1, "high": 2}}}`,
			"version: 2: this retune reads definition version 1"},
		{`{"name": "x", "objective": {"metric": "l", "direction": "minimize"}, "params": {"a": {"type": "int", "low": 3, "high": 2}}}`,
			"params.a"},
		{`{"name": "x", "objective": {"metric": "l", "direction": "minimize"}, "params": {"a": {"type": "int", "low": 1, "high": 2}}, "notifiers": {"h": {"type": "exec", "command": ["sh"]}}}`,
			"notifiers: not part of a study definition"},
	} {
		_, err := config.ParseDefinition("definition", []byte(c.def))
		if !errors.Is(err, retune.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseDefinition(%s) = %v, want an error containing %q", c.def, err, c.want)
		}
	}
}

// TestStoredDefinition: NewStudy stores the definition, fills it in for a study that has
// none, refuses a changed search space unless replace, and records the change.
func TestStoredDefinition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := memory.New()
	path := filepath.Join(t.TempDir(), "study.yaml")
	s, err := config.Parse(path, []byte(definitionFiles["multi objective"]))
	if err != nil {
		t.Fatal(err)
	}
	// A study created before definitions were stored.
	if _, err := retune.NewStudy(ctx, retune.Config{Name: "mo", Directions: []retune.Direction{retune.Minimize, retune.Minimize}, Metrics: []string{"loss", "ms"}, Storage: store, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	s.Seed = 5
	if _, err := s.NewStudy(ctx, store, true); err != nil {
		t.Fatal(err)
	}
	rec, _ := store.Study(ctx, "mo")
	var def map[string]any
	if err := json.Unmarshal(rec.Definition, &def); err != nil || def["version"] != 1.0 || def["seed"] != 5.0 {
		t.Fatalf("stored definition %s (%v)", rec.Definition, err)
	}
	changed, err := config.Parse(path, []byte(strings.Replace(definitionFiles["multi objective"], "x: {type: float, low: -1", "x: {type: float, low: -2", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := changed.NewStudy(ctx, store, false); !errors.Is(err, retune.ErrConflict) || !strings.Contains(err.Error(), "x: float[-1, 1] → float[-2, 1]") {
		t.Fatalf("resume with a wider range: %v, want a conflict naming the change", err)
	}
	study, err := changed.NewStudy(ctx, store, true)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ = store.Study(ctx, "mo")
	if string(rec.Definition) != string(study.Definition()) || !strings.Contains(string(rec.Definition), `"low":-2.0`) {
		t.Errorf("stored definition %s, study's %s", rec.Definition, study.Definition())
	}
	if !strings.Contains(fmt.Sprint(rec.SystemAttrs["changes"]), "search space") {
		t.Errorf("changes %v: want the search space's", rec.SystemAttrs["changes"])
	}
}

// TestDefinitionSeed: seeds above 2^53 are kept exact (written as a string of digits).
func TestDefinitionSeed(t *testing.T) {
	t.Parallel()
	s, err := config.Parse("study.yaml", []byte(definitionFiles["cmaes"]))
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []uint64{1, 1 << 53, 1<<63 + 5, ^uint64(0)} {
		def, err := s.Definition(seed)
		if err != nil {
			t.Fatal(err)
		}
		back, err := config.ParseDefinition("definition", def)
		if err != nil || back.Seed != seed {
			t.Errorf("seed %d: read back %d, %v from %s", seed, back.Seed, err, def)
		}
	}
}

// TestConditionalParams: a trial has only the params its branch uses.
func TestConditionalParams(t *testing.T) {
	t.Parallel()
	s, err := config.Parse("study.yaml", []byte(definitionFiles["conditional"]))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Conditional() || s.Absent()["knn_w"] != "none" {
		t.Fatalf("Conditional %v, Absent %v", s.Conditional(), s.Absent())
	}
	seen := map[string]bool{}
	for _, p := range proposals(t, s, 3, 40) {
		model := p["model"].(string)
		seen[model] = true
		_, c := p["svm_c"]
		k, hasK := p["knn_k"]
		_, w := p["knn_w"]
		switch {
		case c != (model == "svm"), hasK != (model == "knn"):
			t.Errorf("params %v: svm_c only with svm, knn_k only with knn", p)
		case w && (!hasK || k.(int64) < 2 || k.(int64) > 5):
			t.Errorf("params %v: knn_w only with knn and knn_k in 2–5", p)
		}
	}
	if len(seen) != 3 {
		t.Errorf("models proposed %v, want all three", seen)
	}
}

// TestDefinitionWithoutParams: a definition may declare no params (its clients suggest
// each one, define-by-run) and round-trips; a study file still needs them.
func TestDefinitionWithoutParams(t *testing.T) {
	t.Parallel()
	s, err := config.ParseDefinition("definition", []byte(`{"name": "x", "objective": {"metric": "l", "direction": "minimize"}, "params": {}}`))
	if err != nil || len(s.Params) != 0 {
		t.Fatalf("ParseDefinition with params {} = %v, %v", s, err)
	}
	stored, err := s.Definition(1)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := config.ParseDefinition("stored", stored); err != nil || len(again.Params) != 0 {
		t.Errorf("the stored form %s reads back as %v, %v", stored, again, err)
	}
	if _, err := config.Parse("study.yaml", []byte("name: x\ncommand: [true]\nobjective: {metric: l, direction: minimize}\nparams: {}\n")); err == nil || !strings.Contains(err.Error(), "params") {
		t.Errorf("a study file with params {}: %v, want an error naming params", err)
	}
}

// TestResumeKeepsUnsaidSampler: resuming, a file that leaves out sampler options keeps
// the study's stored values, even where the default has changed since, and one that names
// no sampler keeps the stored sampler; an option the file names that differs is a
// conflict, and replace takes the file's sampler as it stands.
func TestResumeKeepsUnsaidSampler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const file = `name: old
command: [t]
objectives: [{metric: a, direction: minimize}, {metric: b, direction: minimize}, {metric: c, direction: minimize}]
params:
  x: {type: float, low: 0, high: 1}
SAMPLER`
	parse := func(sampler string) *config.Study {
		s, err := config.Parse("study.yaml", []byte(strings.Replace(file, "SAMPLER", sampler, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A study stored before nsga2's selection existed and its crossover default changed:
	// its spec has crossover sbx and no selection.
	oldSpec := retune.Spec{Name: "nsga2", Options: map[string]any{"population_size": 50, "crossover": "sbx",
		"crossover_prob": 0.9, "swapping_prob": 0.5, "crossover_eta": 20, "mutation": "polynomial",
		"mutation_prob": "1/n", "mutation_eta": 20, "divisions": 0}}
	store := memory.New()
	if _, err := store.CreateStudy(ctx, retune.StudyRecord{Name: "old", Directions: []retune.Direction{retune.Minimize, retune.Minimize, retune.Minimize},
		Metrics: []string{"a", "b", "c"}, Model: "old", Seed: 1, Sampler: oldSpec}); err != nil {
		t.Fatal(err)
	}
	specOf := func() retune.Spec {
		rec, err := store.Study(ctx, "old")
		if err != nil {
			t.Fatal(err)
		}
		return rec.Sampler
	}
	for _, sampler := range []string{"sampler: {name: nsga2}", "", "sampler: {name: nsga2, crossover: sbx}"} {
		s := parse(sampler)
		if _, err := s.NewStudy(ctx, store, false); err != nil {
			t.Fatalf("resume with %q: %v, want the stored sampler kept", sampler, err)
		}
		if got := specOf(); got.Options["crossover"] != "sbx" || got.Options["selection"] != nil {
			t.Errorf("resume with %q: stored spec %v, want it unchanged", sampler, got)
		}
		def, err := s.Definition(1)
		if err != nil || !strings.Contains(string(def), `"crossover":"sbx"`) || strings.Contains(string(def), "selection") {
			t.Errorf("resume with %q: definition %s (%v), want the stored sampler's", sampler, def, err)
		}
	}
	_, err := parse("sampler: {name: nsga2, crossover: uniform}").NewStudy(ctx, store, false)
	if !errors.Is(err, retune.ErrConflict) || !strings.Contains(err.Error(), `crossover (study: "sbx", config: "uniform")`) {
		t.Errorf("resume naming another crossover: %v, want a conflict naming it", err)
	}
	if _, err := parse("sampler: {name: tpe}").NewStudy(ctx, store, false); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("resume naming another sampler: %v, want a conflict", err)
	}
	if _, err := parse("sampler: {name: nsga2}").NewStudy(ctx, store, true); err != nil {
		t.Fatal(err)
	}
	if got := specOf(); got.Options["crossover"] != "uniform" || got.Options["selection"] != "crowding" {
		t.Errorf("resume with replace: stored spec %v, want today's defaults", got)
	}
}

// TestResumeKeepsUnsaidPruner: as for the sampler, a study file that names the stored
// pruner keeps the stored values of the options it leaves out, so a study stored before
// extrapolate's near-copy and turned-down rules existed resumes without them and without a
// conflict; a new study gets them, naming one is a conflict, and replace takes the file's.
func TestResumeKeepsUnsaidPruner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const file = `name: NAME
command: [t]
objectives: [{metric: loss, direction: minimize}]
params:
  x: {type: float, low: 0, high: 1}
PRUNER`
	parse := func(name, pruner string) *config.Study {
		s, err := config.Parse("study.yaml", []byte(strings.NewReplacer("NAME", name, "PRUNER", pruner).Replace(file)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	oldSpec := retune.Spec{Name: "extrapolate", Options: map[string]any{"startup_trials": 5, "warmup_steps": 0, "neighbors": 1,
		"param_weight": 0.75, "novelty": 3, "min_improvement": 0.2}}
	smp, err := parse("old", "").Sampler()
	if err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	if _, err := store.CreateStudy(ctx, retune.StudyRecord{Name: "old", Directions: []retune.Direction{retune.Minimize},
		Metrics: []string{"loss"}, Model: "old", Seed: 1, Sampler: retune.SpecOf(smp), Pruner: oldSpec}); err != nil {
		t.Fatal(err)
	}
	specOf := func(name string) retune.Spec {
		rec, err := store.Study(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return rec.Pruner
	}
	for _, pr := range []string{"pruner: {name: extrapolate}", "pruner: {name: extrapolate, novelty: 3}"} {
		s := parse("old", pr)
		if _, err := s.NewStudy(ctx, store, false); err != nil {
			t.Fatalf("resume with %q: %v, want the stored pruner kept", pr, err)
		}
		if got := specOf("old"); got.Options["drop"] != nil || got.Options["near_best_distance"] != nil {
			t.Errorf("resume with %q: stored spec %v, want it unchanged", pr, got)
		}
		def, err := s.Definition(1)
		if err != nil || !strings.Contains(string(def), `"name":"extrapolate"`) || strings.Contains(string(def), "drop") {
			t.Errorf("resume with %q: definition %s (%v), want the stored pruner's", pr, def, err)
		}
	}
	_, err = parse("old", "pruner: {name: extrapolate, drop: 0.2}").NewStudy(ctx, store, false)
	if !errors.Is(err, retune.ErrConflict) || !strings.Contains(err.Error(), "drop") {
		t.Errorf("resume naming drop: %v, want a conflict naming it", err)
	}
	if _, err := parse("old", "pruner: {name: median}").NewStudy(ctx, store, false); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("resume naming another pruner: %v, want a conflict", err)
	}
	if _, err := parse("new", "pruner: {name: extrapolate}").NewStudy(ctx, store, false); err != nil {
		t.Fatal(err)
	}
	if got := specOf("new"); got.Options["drop"] != 0.1 || got.Options["near_best_distance"] != 0.1 {
		t.Errorf("new study: stored spec %v, want the rules on", got)
	}
	if _, err := parse("old", "pruner: {name: extrapolate}").NewStudy(ctx, store, true); err != nil {
		t.Fatal(err)
	}
	if got := specOf("old"); got.Options["drop"] != 0.1 {
		t.Errorf("resume with replace: stored spec %v, want today's defaults", got)
	}
}

// TestDefaultSampler: a new study whose file names no sampler gets auto with the latest
// rules; a stored study resumed by such a file keeps its own sampler (TPE here, the
// default before auto), with --replace too; SamplerNote says which and why, and for auto
// what it will choose.
func TestDefaultSampler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const file = `name: NAME
command: [t]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
  n: {type: int, low: 1, high: 8}
SAMPLER`
	parse := func(name, sampler string) *config.Study {
		s, err := config.Parse("study.yaml", []byte(strings.NewReplacer("NAME", name, "SAMPLER", sampler).Replace(file)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	store := memory.New()
	// "old" was created with TPE; "older" with auto before its rules had versions.
	for name, spec := range map[string]retune.Spec{"old": tpe.New(tpe.Options{}).Spec(), "older": {Name: "auto", Options: map[string]any{"gp_trials": 200, "nsga2_trials": 250}}} {
		if _, err := store.CreateStudy(ctx, retune.StudyRecord{Name: name, Directions: []retune.Direction{retune.Minimize},
			Metrics: []string{"loss"}, Model: name, Seed: 1, Sampler: spec}); err != nil {
			t.Fatal(err)
		}
	}
	samplerOf := func(name string) retune.Spec {
		rec, err := store.Study(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return rec.Sampler
	}
	tests := []struct {
		study, sampler string
		wantName       string
		wantNote       string
	}{
		{"new", "", "auto", fmt.Sprintf("auto (rules %d), the default (the study file names none): 2 numeric params: GP in a trust region until %d complete trials, then CMA-ES from the best trial", auto.LatestRules, auto.NumericGPTrials)},
		{"new", "", "auto", fmt.Sprintf("auto (rules %d), stored with the study (the study file names none): 2 numeric params", auto.LatestRules)},
		{"old", "", "tpe", "tpe, stored with the study (the study file names none)"},
		{"older", "", "auto", "auto (rules 1), stored with the study (the study file names none): 2 numeric params: GP until 200 complete trials, then CMA-ES warm-started from the history"},
		{"named", "sampler: {name: gp}", "gp", "gp, named by the study file"},
		{"named", "sampler: {name: gp}", "gp", "gp, named by the study file, as stored with the study"},
	}
	for _, tt := range tests {
		s := parse(tt.study, tt.sampler)
		if _, err := s.NewStudy(ctx, store, false); err != nil {
			t.Fatalf("NewStudy %s with %q: %v", tt.study, tt.sampler, err)
		}
		if got := samplerOf(tt.study); got.Name != tt.wantName {
			t.Errorf("study %s with %q: stored sampler %v, want %s", tt.study, tt.sampler, got, tt.wantName)
		}
		if got := s.SamplerNote(); got != tt.wantNote && !strings.HasPrefix(got, tt.wantNote+":") {
			t.Errorf("study %s with %q: SamplerNote() = %q, want %q", tt.study, tt.sampler, got, tt.wantNote)
		}
	}
	// Replacing (a changed search space, say), a file that names no sampler still keeps the
	// stored one; one that names a sampler replaces it.
	s := parse("old", "")
	s.Params = s.Params[:1]
	if _, err := s.NewStudy(ctx, store, true); err != nil {
		t.Fatalf("replace study old without a sampler: %v", err)
	}
	if got := samplerOf("old"); got.Name != "tpe" || !strings.HasPrefix(s.SamplerNote(), "tpe, stored with the study") {
		t.Errorf("replace study old without a sampler: stored %v, note %q, want tpe kept", got, s.SamplerNote())
	}
	if _, err := parse("old", "sampler: {name: gp}").NewStudy(ctx, store, true); err != nil {
		t.Fatal(err)
	}
	if got := samplerOf("old"); got.Name != "gp" {
		t.Errorf("replace study old with gp: stored %v, want gp", got)
	}
	if got := samplerOf("new"); got.Options["rules"] != auto.LatestRules && got.Options["rules"] != float64(auto.LatestRules) {
		t.Errorf("new study's auto spec %v, want rules %d", got, auto.LatestRules)
	}
}
