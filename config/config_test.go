package config_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
	"github.com/a6b40afc/retune/internal/check"
	"github.com/a6b40afc/retune/sampler/auto"
)

var update = flag.Bool("update", false, "rewrite golden files")

const valid = `
name: digits-hgb
model: digits
command: ["python3", "train.py", "--lr={lr}", "--depth={depth}", "--loss={loss}"]
objective: {metric: accuracy, direction: maximize}
params:
  lr:    {type: float, low: 1.0e-3, high: 0.5, log: true}
  depth: {type: int, low: 2, high: 12}
  loss:  {type: categorical, choices: [log_loss, exponential]}
  frac:  {type: float, low: 0, high: 1, step: 0.25}
seed: 1
sampler: {name: random}
budget:  {trials: 100, timeout: 1h, parallel: 2, trial_timeout: 10m, retries: 1}
env: {OMP_NUM_THREADS: "1"}
`

func TestParseValid(t *testing.T) {
	s, err := config.Parse("study.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "digits-hgb" || s.Model != "digits" || len(s.Params) != 4 || s.Params[0].Name != "lr" || s.Params[3].Name != "frac" {
		t.Errorf("parsed %+v", s)
	}
	if d, ok := s.Params[0].Dist.(retune.FloatDistribution); !ok || !d.Log || d.Low != 1e-3 || d.High != 0.5 {
		t.Errorf("lr = %#v", s.Params[0].Dist)
	}
	if s.Budget.Trials != 100 || s.Budget.Parallel != 2 || s.Budget.Timeout.String() != "1h0m0s" || s.Budget.TrialTimeout.String() != "10m0s" || s.Budget.Retries != 1 {
		t.Errorf("budget %+v", s.Budget)
	}
	if s.Objectives[0].Direction != retune.Maximize || s.Env["OMP_NUM_THREADS"] != "1" || s.Seed != 1 {
		t.Errorf("objectives %+v env %v seed %d", s.Objectives, s.Env, s.Seed)
	}
	grid, err := config.Parse("g.yaml", []byte(`
name: g
command: [./t, "{a}", "{b}"]
objective: {metric: loss, direction: minimize}
params:
  a: {type: float, values: [0.1, 1, 10]}
  b: {type: categorical, values: [x, y]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if grid.SamplerSpec.Name != "grid" || fmt.Sprint(grid.Params[0].Values) != "[0.1 1 10]" {
		t.Errorf("grid study: sampler %q, a values %v", grid.SamplerSpec.Name, grid.Params[0].Values)
	}
	if d := grid.Params[0].Distribution(); !d.Equal(retune.FloatDistribution{Low: 0.1, High: 10}) {
		t.Errorf("grid param distribution = %v", d)
	}
}

func TestNotifiers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "study.yaml")
	data := valid + `notifiers:
  hook: {type: webhook, url: "https://ml.example/hooks", secret_env: [NEW_SECRET, OLD_SECRET], timeout: 5s}
  run: {type: exec, command: ["./on-event.sh", "--quiet"], timeout: 1m}
  bus: {type: nats, url: "nats://127.0.0.1:4222", subject: retune.events, create_stream: true, duplicate_window: 48h}
  audit: {type: log, path: events.jsonl}
`
	s, err := config.Parse(path, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Notifiers) != 4 || strings.Join(s.Notify, ",") != "audit,bus,hook,run" {
		t.Fatalf("notifiers %+v, notify %v, want 4 sorted by ID, all notified", s.Notifiers, s.Notify)
	}
	audit, bus, hook, run := s.Notifiers[0], s.Notifiers[1], s.Notifiers[2], s.Notifiers[3]
	if audit.Path != filepath.Join(dir, "events.jsonl") || bus.Subject != "retune.events" || !bus.CreateStream || bus.DuplicateWindow != 48*time.Hour ||
		hook.URL != "https://ml.example/hooks" || strings.Join(hook.SecretEnv, ",") != "NEW_SECRET,OLD_SECRET" || hook.Timeout != 5*time.Second ||
		run.Command[0] != filepath.Join(dir, "on-event.sh") || run.Dir != dir || run.Timeout != time.Minute {
		t.Errorf("parsed %+v", s.Notifiers)
	}
	s2, err := config.Parse(path, []byte(data+"notify: [hook]\n"))
	if err != nil || strings.Join(s2.Notify, ",") != "hook" {
		t.Errorf("notify [hook]: %v, %v", s2.Notify, err)
	}
	// Building reads secrets from the environment and names what is missing.
	if _, _, err := config.BuildNotifiers(s.Notifiers); err == nil || !strings.Contains(err.Error(), "NEW_SECRET is not set") {
		t.Errorf("BuildNotifiers without secrets: %v, want NEW_SECRET named", err)
	}
	t.Setenv("NEW_SECRET", "not-a-secret")
	t.Setenv("OLD_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if _, _, err := config.BuildNotifiers(s.Notifiers); err == nil || !strings.Contains(err.Error(), "NEW_SECRET") {
		t.Errorf("BuildNotifiers with a malformed secret: %v, want an error naming its variable", err)
	}
	t.Setenv("NEW_SECRET", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
	built, closeAll, err := config.BuildNotifiers(s.Notifiers)
	if err != nil || len(built) != 4 {
		t.Fatalf("BuildNotifiers = %v, %v", built, err)
	}
	if err := closeAll(); err != nil {
		t.Error(err)
	}
	// A notifiers-only file, and an ID defined twice across files.
	only := filepath.Join(dir, "notifiers.yaml")
	if err := os.WriteFile(only, []byte("notifiers:\n  audit: {type: log}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := config.LoadNotifiers(path, only); err == nil || !strings.Contains(err.Error(), "also defined in") {
		t.Errorf("LoadNotifiers with audit twice: %v, want an error", err)
	}
	got, _, err := config.LoadNotifiers(only)
	if err != nil || len(got) != 1 || got[0].Type != "log" {
		t.Errorf("LoadNotifiers(notifiers-only file) = %+v, %v", got, err)
	}
	if err := os.WriteFile(only, []byte("notifers: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := config.LoadNotifiers(only); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("LoadNotifiers(misspelt section): %v, want an unknown-key error", err)
	}
}

// A study file given by a relative path yields absolute paths, resolved against its folder:
// trainers and notifiers run in that folder, not in retune's working directory.
func TestRelativeStudyPath(t *testing.T) {
	t.Parallel()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	data := valid + `dir: work
log_dir: logs
storage: r.db
notifiers:
  run: {type: exec, command: ["./on-event.sh"]}
  sub: {type: exec, command: ["hooks/x.sh"], dir: hooks/..}
  lookup: {type: exec, command: ["on-event"]}
  audit: {type: log, path: events.jsonl}
`
	for _, path := range []string{"study.yaml", "./study.yaml", "sub/study.yaml", "../up/study.yaml"} {
		s, err := config.Parse(path, []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(wd, filepath.Dir(path))
		audit, lookup, run, sub := s.Notifiers[0], s.Notifiers[1], s.Notifiers[2], s.Notifiers[3]
		got := []string{s.Dir, s.LogDir, s.Storage, run.Command[0], run.Dir, sub.Command[0], sub.Dir, lookup.Command[0], lookup.Dir, audit.Path}
		want := []string{filepath.Join(dir, "work"), filepath.Join(dir, "logs"), filepath.Join(dir, "r.db"),
			filepath.Join(dir, "on-event.sh"), dir, filepath.Join(dir, "hooks/x.sh"), dir, "on-event", dir, filepath.Join(dir, "events.jsonl")}
		if !slices.Equal(got, want) {
			t.Errorf("Parse(%q): paths\n%q\nwant\n%q", path, got, want)
		}
	}
}

// TestParseErrors checks every invalid file's messages against testdata/errors.golden.
func TestParseErrors(t *testing.T) {
	cases := []struct{ name, yaml string }{
		{"empty", ``},
		{"not yaml", "name: [unclosed\n"},
		{"not a mapping", "- a\n- b\n"},
		{"missing everything", "seed: 1\n"},
		{"unknown keys", valid + "objetive: {metric: x}\nbudget2: 3\n"},
		{"bad name", strings.Replace(valid, "name: digits-hgb", `name: " spaced"`, 1)},
		{"command not list", strings.Replace(valid, `command: ["python3", "train.py", "--lr={lr}", "--depth={depth}", "--loss={loss}"]`, `command: python3 train.py`, 1)},
		{"unknown placeholder", strings.Replace(valid, `"--loss={loss}"]`, `"--loss={los}"]`, 1)},
		{"bad direction", strings.Replace(valid, "direction: maximize", "direction: up", 1)},
		{"both objectives", valid + "objectives: [{metric: a, direction: minimize}]\n"},
		{"step objective", strings.Replace(valid, "metric: accuracy", "metric: step", 1)},
		{"low above high", strings.Replace(valid, "low: 2, high: 12", "low: 12, high: 2", 1)},
		{"log low zero", strings.Replace(valid, "low: 1.0e-3", "low: 0", 1)},
		{"step not dividing", strings.Replace(valid, "step: 0.25", "step: 0.3", 1)},
		{"not a number", strings.Replace(valid, "high: 0.5", "high: lots", 1)},
		{"unknown type", strings.Replace(valid, "type: categorical", "type: choice", 1)},
		{"duplicate choices", strings.Replace(valid, "[log_loss, exponential]", "[log_loss, log_loss]", 1)},
		{"choices on a float", strings.Replace(valid, "log: true}", "log: true, choices: [1]}", 1)},
		{"mixed grid", strings.Replace(valid, "{type: int, low: 2, high: 12}", "{type: int, values: [2, 4]}", 1)},
		{"grid with tpe", "name: g\ncommand: [t]\nobjective: {metric: l, direction: minimize}\nsampler: {name: random}\nparams:\n  a: {type: int, values: [1, 2.5]}\n"},
		{"grid param without type", "name: g\ncommand: [t]\nobjective: {metric: l, direction: minimize}\nsampler: grid\nparams:\n  a: {values: [1, 2]}\n"},
		{"empty grid values", "name: g\ncommand: [t]\nobjective: {metric: l, direction: minimize}\nparams:\n  a: {type: int, values: []}\n"},
		{"unknown sampler", strings.Replace(valid, "sampler: {name: random}", "sampler: {name: bayes}", 1)},
		{"sampler options", strings.Replace(valid, "sampler: {name: random}", "sampler: {name: random, startup: 5}", 1)},
		{"unknown pruner", valid + "pruner: hyper\n"},
		{"bad budget", strings.Replace(valid, "trials: 100, timeout: 1h, parallel: 2", "trials: 0, timeout: soon, parallel: -1, spare: 1", 1)},
		{"password in storage", valid + "storage: postgres://u:hunter2@db/x\n"},
		{"duplicate key", valid + "seed: 2\n"},
		{"bad retrain", valid + "retrain:\n  min_improvement: -1\n  confirm: {repeats: 1, level: 2}\n  guardrails: {latency_ms: {direction: sideways}}\n  decide: sometimes\n  notify: []\n"},
		{"bad cooldown", valid + "retrain:\n  cooldown: -12h\n"},
		{"cooldown not a duration", valid + "retrain: {cooldown: 12}\n"},
		{"bad schedule", valid + "schedule:\n  every: 0s\n  timezone: Mars/Olympus_Mons\n  at: \"03:00\"\n"},
		{"schedule without every", valid + "schedule: {timezone: UTC}\n"},
		{"schedule not a mapping", valid + "schedule: daily\n"},
		{"schedule every not a duration", valid + "schedule: {every: daily, timezone: [UTC]}\n"},
		{"bad notifiers", valid + "notifiers:\n  hook: {type: webhook, url: ftp://x/y, secret_env: [\"A=B\"], retries: 3}\n  bad id: {type: log}\n  cmd: {type: exec, command: []}\n  bus: {type: nats}\n  pager: {type: sms}\n  plain: log\n  nohook: {type: webhook, url: \"https://h.example/x\"}\nnotify: [hook, other, hook]\n"},
		{"notify without notifiers", valid + "notify: [hook]\n"},
		{"bad secret_env", valid + "secret_env: [OK_NAME, \"A B\", \"\"]\n"},
		{"secret_env not names", valid + "secret_env: {A: b}\n"},
		{"empty step_key", valid + "step_key: []\n"},
		{"bad conditions", strings.Replace(valid, "  depth: {type: int, low: 2, high: 12}", `  depth: {type: int, low: 2, high: 12, when: {loss: hinge, later: 1}}
  later: {type: categorical, choices: [a, b], when: {lr: 0.1}}
  deeper: {type: int, low: 1, high: 3, when: {depth: [3, 13], frac: []}}`, 1)},
		{"conditional with cmaes", strings.NewReplacer("sampler: {name: random}", "sampler: {name: cmaes}",
			"  frac:  {type: float, low: 0, high: 1, step: 0.25}", "  frac:  {type: float, low: 0, high: 1, step: 0.25}\n  extra: {type: float, low: 0, high: 1, when: {loss: log_loss}}").Replace(valid)},
		{"step_key objective", strings.Replace(valid, "metric: accuracy", "metric: epoch", 1) + "step_key: [iteration, epoch]\n"},
		{"bad constraints", valid + "constraints:\n  - {metric: accuracy, max: 1}\n  - {metric: memory_mb}\n  - {max: 3}\n  - {metric: mem, min: 2, max: 1}\n  - {metric: lat, max: .inf}\n  - {metric: lat, max: 2, maxx: 3}\n  - {metric: q, max: 2}\n  - {metric: q, min: 1}\n  - memory_mb <= 3\n"},
		{"constraints not a list", valid + "constraints: {metric: memory_mb, max: 1000}\n"},
	}
	var out bytes.Buffer
	for _, c := range cases {
		_, err := config.Parse("study.yaml", []byte(c.yaml))
		if err == nil {
			t.Errorf("%s: Parse succeeded, want an error", c.name)
			continue
		}
		if !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("%s: error %v is not ErrInvalid", c.name, err)
		}
		fmt.Fprintf(&out, "## %s\n%s\n\n", c.name, err)
	}
	path := filepath.Join("testdata", "errors.golden")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./config -update)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("error messages differ from %s; got:\n%s", path, out.String())
	}
}

// FuzzParse: no input panics, and any file that parses has the invariants a run relies on.
func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte("name: g\ncommand: [t]\nobjective: {metric: l, direction: minimize}\nparams:\n  a: {type: int, values: [1, 2]}\n"))
	f.Add([]byte("{}"))
	f.Add([]byte("name: &a x\nmodel: *a\n"))
	f.Add([]byte(valid + "notifiers:\n  hook: {type: webhook, url: \"https://h/x\", secret_env: S}\n  bus: {type: nats, url: \"nats://h\", subject: s}\n  run: {type: exec, command: [x]}\nnotify: [hook]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := config.Parse("fuzz.yaml", data)
		if err != nil {
			if !errors.Is(err, retune.ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			return
		}
		if s.Name == "" || len(s.Command) == 0 || len(s.Objectives) == 0 || len(s.Params) == 0 {
			t.Errorf("parsed study lacks essentials: %+v", s)
		}
		for _, p := range s.Params {
			if err := p.Distribution().Validate(); err != nil {
				t.Errorf("param %s has an invalid distribution: %v", p.Name, err)
			}
		}
		for _, id := range s.Notify {
			if !slices.ContainsFunc(s.Notifiers, func(n config.Notifier) bool { return n.ID == id }) {
				t.Errorf("notify names %q, which the file does not define", id)
			}
		}
		for _, n := range s.Notifiers {
			if err := check.NotifierID(n.ID); err != nil {
				t.Errorf("notifier: %v", err)
			}
		}
		if _, err := s.Sampler(); err != nil {
			t.Errorf("Sampler() = %v after a successful parse", err)
		}
		for _, c := range s.Constraints {
			if err := c.Validate(); err != nil || slices.ContainsFunc(s.Objectives, func(o config.Objective) bool { return o.Metric == c.Metric }) {
				t.Errorf("constraint %v: %v (or on an objective)", c, err)
			}
		}
	})
}

func TestPrunerFromFile(t *testing.T) {
	s, err := config.Parse("p.yaml", []byte(valid+"pruner: {name: asha, reduction_factor: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	pr, err := s.Pruner()
	if err != nil || pr == nil {
		t.Fatalf("Pruner() = %v, %v", pr, err)
	}
	if sp := retune.SpecOf(pr); sp.Name != "asha" || fmt.Sprint(sp.Options["reduction_factor"]) != "3" {
		t.Errorf("pruner spec = %+v, want asha with reduction_factor 3", sp)
	}
	if _, err := config.Parse("p.yaml", []byte(valid+"pruner: {name: median, warmup: 3}\n")); err == nil || !strings.Contains(err.Error(), "p.yaml:15: pruner:") {
		t.Errorf("unknown pruner option: %v, want an error at p.yaml:15", err)
	}
}

func TestRetrainSection(t *testing.T) {
	s, err := config.Parse("r.yaml", []byte(valid+`retrain:
  min_improvement: 0.005
  min_relative_improvement: 0.01
  confirm: {repeats: 5, level: 0.9, analysis: paired}
  guardrails: {latency_ms: {max_regression: 0.10}, auc: {max_regression: 0.01, direction: maximize}}
  decide: each_best
`))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Retrain
	if r == nil || r.Policy.MinImprovement != 0.005 || r.Policy.MinRelativeImprovement != 0.01 || r.Policy.Repeats != 5 || r.Policy.Level != 0.9 || r.Policy.Analysis != "paired" || !r.EachBest {
		t.Fatalf("retrain = %+v", r)
	}
	if g := r.Policy.Guardrails; len(g) != 2 || g[0].Metric != "latency_ms" || g[0].Direction != retune.Minimize || g[1].Direction != retune.Maximize {
		t.Errorf("guardrails = %+v", g)
	}
	if err := r.Policy.Validate(); err != nil {
		t.Errorf("parsed policy invalid: %v", err)
	}
	_, err = config.Parse("r.yaml", []byte(valid+"retrain:\n  confirm: {repeats: 5, analysis: welch}\n"))
	if err == nil || !strings.Contains(err.Error(), `retrain.confirm.analysis: "welch": want both`) {
		t.Errorf("unknown analysis: %v, want an error naming retrain.confirm.analysis and the valid ones", err)
	}
	plain, _ := config.Parse("p.yaml", []byte(valid))
	if plain.Retrain != nil {
		t.Errorf("a file without retrain has %+v", plain.Retrain)
	}
}

func TestScheduleAndCooldown(t *testing.T) {
	s, err := config.Parse("s.yaml", []byte(valid+"retrain: {cooldown: 12h}\nschedule: {every: 24h, timezone: Europe/Berlin}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Retrain.Policy.Cooldown != 12*time.Hour {
		t.Errorf("retrain.cooldown = %v, want 12h", s.Retrain.Policy.Cooldown)
	}
	if s.Schedule == nil || s.Schedule.Every != 24*time.Hour || s.Schedule.Location.String() != "Europe/Berlin" {
		t.Errorf("schedule = %+v, want every 24h in Europe/Berlin", s.Schedule)
	}
	utc, err := config.Parse("s.yaml", []byte(valid+"schedule: {every: 90m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if utc.Schedule.Every != 90*time.Minute || utc.Schedule.Location != time.UTC {
		t.Errorf("schedule = %+v, want every 90m in UTC", utc.Schedule)
	}
	if plain, _ := config.Parse("p.yaml", []byte(valid)); plain.Schedule != nil {
		t.Errorf("a file without schedule has %+v", plain.Schedule)
	}
}

// TestSamplerOptions: every sampler builds from a study file, with its options checked.
func TestSamplerOptions(t *testing.T) {
	for _, c := range []struct {
		spec string
		ok   bool
	}{
		{"{name: auto, gp_trials: 100}", true},
		{"{name: auto, gp_trails: 100}", false},
		{"{name: gp, startup_trials: 5, deterministic_objective: true}", true},
		{"{name: gp, kernel: rbf}", false},
		{"{name: cmaes, popsize: 8, restart: bipop, sigma0: 0.2, warm_start: true}", true},
		{"{name: cmaes, restart: sometimes}", false},
		{"{name: cmaes, popsize: 100000000}", false}, // beyond the sampler's limit: an error, not a panic
		{"{name: cmaes, sigma0: .inf}", false},
		{"{name: nsga2, population_size: 20, crossover: uniform, mutation_prob: 0.2}", true},
		{"{name: nsga2, mutation_prob: 2}", false},
	} {
		_, err := config.Parse("study.yaml", []byte(strings.Replace(valid, "sampler: {name: random}", "sampler: "+c.spec, 1)))
		if (err == nil) != c.ok {
			t.Errorf("sampler %s: error %v, want ok=%v", c.spec, err, c.ok)
		}
	}
}

// A study file that leaves out an option whose absence from a stored spec means an
// earlier behaviour gets the latest value (auto's rules, nsga2's selection); one that
// names the option keeps it. The earlier value is a spec without the option.
func TestLatestOptions(t *testing.T) {
	for _, c := range []struct {
		spec, key string
		want, old any // old: the value a spec without key means
	}{
		{"{name: auto}", "rules", auto.LatestRules, 1}, {"{name: auto, gp_trials: 50}", "rules", auto.LatestRules, 1},
		{"{name: auto, rules: 1}", "rules", 1, 1},
		{"{name: nsga2}", "selection", "crowding", "reference"}, {"{name: nsga2, population_size: 20}", "selection", "crowding", "reference"},
		{"{name: nsga2, selection: reference}", "selection", "reference", "reference"},
	} {
		s, err := config.Parse("study.yaml", []byte(strings.Replace(valid, "sampler: {name: random}", "sampler: "+c.spec, 1)))
		if err != nil {
			t.Fatal(err)
		}
		smp, err := s.Sampler()
		if err != nil {
			t.Fatal(err)
		}
		got, ok := retune.SpecOf(smp).Options[c.key]
		if (c.want == c.old) == ok || (ok && got != c.want) {
			t.Errorf("sampler %s: spec %v, want %s %v", c.spec, retune.SpecOf(smp), c.key, c.want)
		}
	}
}
