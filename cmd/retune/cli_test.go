package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
	"github.com/a6b40afc/retune/export"
	"github.com/a6b40afc/retune/storage"
)

// studyOut is the part of `retune studies --json` the tests read.
type studyOut struct {
	Name       string        `json:"name"`
	Directions []string      `json:"directions"`
	Metrics    []string      `json:"metrics"`
	Seed       uint64        `json:"seed"`
	Sampler    string        `json:"sampler"`
	Budget     retune.Budget `json:"budget"`
	Waiting    int           `json:"waiting"`
	Running    int           `json:"running"`
	Complete   int           `json:"complete"`
	Pruned     int           `json:"pruned"`
	Failed     int           `json:"failed"`
	Best       *retune.Float `json:"best"`
}

func studies(t *testing.T, db string) []studyOut {
	t.Helper()
	out := mustCLI(t, "studies", "--db", db, "--json")
	var ss []studyOut
	if err := json.Unmarshal([]byte(out), &ss); err != nil {
		t.Fatalf("studies --json: %v\n%s", err, out)
	}
	return ss
}

func num(t *testing.T, v any) float64 {
	t.Helper()
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("%v (%T) is not a JSON number", v, v)
	}
	return f
}

// checkTrial checks what the trainer reported for a COMPLETE trial against its params.
func checkTrial(t *testing.T, tr export.Trial) {
	t.Helper()
	x, steps := num(t, tr.Params["x"]), num(t, tr.Params["steps"])
	if tr.State != "COMPLETE" || tr.Kind != "search" {
		t.Fatalf("trial %d: %s %s, want a COMPLETE search trial (reason %q)", tr.Number, tr.Kind, tr.State, tr.Reason)
	}
	if len(tr.Values) != 1 || float64(tr.Values[0]) != lossOf(x) {
		t.Errorf("trial %d: values %v, want [%v]", tr.Number, tr.Values, lossOf(x))
	}
	want := map[string]retune.Float{"x_echo": retune.Float(x), "params_x": retune.Float(x), "trial_env": retune.Float(tr.Number)}
	for k, v := range want {
		if got, ok := tr.Metrics[k]; !ok || got != v {
			t.Errorf("trial %d: metric %s = %v (present %v), want %v", tr.Number, k, got, ok, v)
		}
	}
	if _, ok := tr.Metrics["loss"]; ok {
		t.Errorf("trial %d: the objective loss is also in metrics %v", tr.Number, tr.Metrics)
	}
	if len(tr.Intermediate) != int(steps) {
		t.Errorf("trial %d: %d intermediate values, want %v (steps)", tr.Number, len(tr.Intermediate), steps)
	}
	for i := 1; i <= int(steps); i++ {
		got := tr.Intermediate[strconv.Itoa(i)]
		if len(got) != 1 || float64(got[0]) != lossOf(x)+1/float64(i) {
			t.Errorf("trial %d: intermediate[%d] = %v, want [%v]", tr.Number, i, got, lossOf(x)+1/float64(i))
		}
	}
	log, _ := tr.SystemAttrs["log"].(string)
	fi, err := os.Stat(log)
	if err != nil {
		t.Fatalf("trial %d: log %q: %v", tr.Number, log, err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("trial %d: log mode %v, want 0600", tr.Number, fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(log); !bytes.Contains(b, []byte("step=1 loss=")) || !bytes.Contains(b, []byte("x_echo=")) {
		t.Errorf("trial %d: log %s lacks the trainer's output:\n%s", tr.Number, log, b)
	}
	if _, ok := tr.SystemAttrs["pgid"].(float64); !ok {
		t.Errorf("trial %d: no pgid in system attrs %v", tr.Number, tr.SystemAttrs)
	}
}

var finishedLine = regexp.MustCompile(`(?m)^trial \d+ (COMPLETE|PRUNED|FAIL)\b`)

// TestRunThenInspect runs a study file, inspects the study with every read command, enqueues
// a trial, runs it and deletes the study.
func TestRunThenInspect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	file := writeStudy(t, dir, "study.yaml", "quad", []string{"-steps={steps}"}, `params:
  x: {type: float, low: 0, high: 1}
  steps: {type: int, low: 2, high: 4}
seed: 11
budget: {trials: 7, parallel: 2}
`)
	r := cli(t, nil, "run", file, "--db", db, "--trials", "6")
	if r.code != ExitOK {
		t.Fatalf("run: %v", r)
	}
	if !strings.Contains(r.stdout, "study quad: ran 6 trials") || !strings.Contains(r.stdout, "(6 complete, 0 pruned, 0 failed); stopped: trials done") {
		t.Errorf("run summary:\n%s", r.stdout)
	}
	if n := len(finishedLine.FindAllString(r.stderr, -1)); n != 6 {
		t.Errorf("run printed %d trial lines, want 6:\n%s", n, r.stderr)
	}
	// The file names no sampler: the run says it uses auto, why, and what auto will do.
	if want := "retune: study quad: sampler auto (rules 7), the default (the study file names none): 2 numeric params: GP in a trust region until 100 complete trials, then CMA-ES from the best trial\n"; !strings.HasPrefix(r.stderr, want) {
		t.Errorf("run's first line:\n%s\nwant %q", r.stderr, want)
	}

	ts := trials(t, db, "quad")
	if len(ts) != 6 {
		t.Fatalf("trials --json: %d trials, want 6", len(ts))
	}
	best := ts[0]
	for i, tr := range ts {
		if tr.Number != i {
			t.Errorf("trial %d at position %d", tr.Number, i)
		}
		checkTrial(t, tr)
		if len(tr.Values) == 1 && tr.Values[0] < best.Values[0] {
			best = tr
		}
	}
	text := mustCLI(t, "trials", "quad", "--db", db)
	for _, tr := range ts {
		if log := tr.SystemAttrs["log"].(string); !strings.Contains(text, log) {
			t.Errorf("trials does not list trial %d's log %s:\n%s", tr.Number, log, text)
		}
	}

	ss := studies(t, db)
	if len(ss) != 1 {
		t.Fatalf("studies --json: %d studies, want 1", len(ss))
	}
	s := ss[0]
	if s.Name != "quad" || s.Complete != 6 || s.Waiting+s.Running+s.Pruned+s.Failed != 0 || s.Seed != 11 || s.Sampler != config.DefaultSampler ||
		!slices.Equal(s.Directions, []string{"minimize"}) || !slices.Equal(s.Metrics, []string{"loss"}) || s.Budget.Trials != 7 {
		t.Errorf("studies --json = %+v", s)
	}
	if s.Best == nil || *s.Best != best.Values[0] {
		t.Errorf("studies --json: best %v, want %v", s.Best, best.Values[0])
	}
	if out := mustCLI(t, "studies", "--db", db); !strings.Contains(out, "quad") || !strings.Contains(out, "COMPLETE") {
		t.Errorf("studies:\n%s", out)
	}

	var b export.Trial
	if err := json.Unmarshal([]byte(mustCLI(t, "best", "quad", "--db", db, "--json")), &b); err != nil {
		t.Fatal(err)
	}
	if b.Number != best.Number || len(b.Values) != 1 || b.Values[0] != best.Values[0] {
		t.Errorf("best --json = trial %d %v, want trial %d %v", b.Number, b.Values, best.Number, best.Values)
	}
	if out, want := mustCLI(t, "best", "quad", "--db", db), "trial "+strconv.Itoa(best.Number)+": loss = "; !strings.HasPrefix(out, want) {
		t.Errorf("best = %q, want it to start with %q", out, want)
	}

	rows, err := csv.NewReader(strings.NewReader(mustCLI(t, "export", "quad", "--db", db))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"number", "kind", "state", "loss", "param_steps", "param_x", "metric_params_x", "metric_trial_env", "metric_x_echo", "reason", "retry_of", "start", "end", "duration_s"}
	if len(rows) != 7 || !slices.Equal(rows[0], wantHeader) {
		t.Fatalf("export csv: %d rows, header %q; want 7 rows, header %q", len(rows), rows[0], wantHeader)
	}
	for i, row := range rows[1:] {
		if v, err := strconv.ParseFloat(row[3], 64); err != nil || v != float64(ts[i].Values[0]) || row[5] != row[8] {
			t.Errorf("export csv row %d: %q; want loss %v and param_x = metric_x_echo", i, row, ts[i].Values[0])
		}
	}
	jsonFile := filepath.Join(dir, "quad.json")
	mustCLI(t, "export", "quad", "--db", db, "--format", "json", "-o", jsonFile)
	data, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc export.Document
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Study != "quad" || doc.Model != "quad" || len(doc.Trials) != 6 || doc.Trials[3].Values[0] != ts[3].Values[0] {
		t.Errorf("export json: study %q model %q, %d trials", doc.Study, doc.Model, len(doc.Trials))
	}
	if out := mustCLI(t, "export", "quad", "--db", db, "--format", "json"); out != string(data) {
		t.Errorf("export json to stdout and to -o differ")
	}

	if out := mustCLI(t, "enqueue", "quad", "--db", db, "--param", "x=0.125", "--param", "steps=2"); out != "enqueued trial 6 of quad\n" {
		t.Errorf("enqueue = %q", out)
	}
	waiting := trials(t, db, "quad", "--state", "waiting")
	if len(waiting) != 1 || waiting[0].Number != 6 || waiting[0].Params["x"] != 0.125 || waiting[0].Params["steps"] != 2.0 {
		t.Fatalf("trials --state waiting = %+v", waiting)
	}
	r = cli(t, nil, "run", file, "--db", db)
	if r.code != ExitOK || !strings.Contains(r.stdout, "ran 1 trials") || !strings.Contains(r.stdout, "stopped: budget exhausted") {
		t.Fatalf("run of the enqueued trial: %v", r)
	}
	ts = trials(t, db, "quad")
	if len(ts) != 7 {
		t.Fatalf("%d trials after the second run, want 7", len(ts))
	}
	checkTrial(t, ts[6])
	if ts[6].Metrics["x_echo"] != 0.125 || len(ts[6].Intermediate) != 2 {
		t.Errorf("enqueued trial: x_echo %v, %d intermediate values; want 0.125, 2", ts[6].Metrics["x_echo"], len(ts[6].Intermediate))
	}
	if r := cli(t, nil, "run", file, "--db", db); r.code != ExitOK || !strings.Contains(r.stdout, "ran 0 trials") {
		t.Errorf("run of a study at its budget: %v", r)
	}

	logs := filepath.Join(dir, "retune-logs", "quad")
	if r := cli(t, nil, "delete", "quad", "--db", db); r.code != ExitUsage || !strings.Contains(r.stderr, "not deleted") {
		t.Errorf("delete without an answer: %v", r)
	}
	if out := mustCLI(t, "delete", "quad", "--db", db, "--yes"); !strings.Contains(out, "deleted study quad") {
		t.Errorf("delete = %q", out)
	}
	if _, err := os.Stat(logs); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("logs %s after delete: %v", logs, err)
	}
	if ss := studies(t, db); len(ss) != 0 {
		t.Errorf("studies after delete: %+v", ss)
	}
	if r := cli(t, nil, "trials", "quad", "--db", db); r.code != ExitNotFound {
		t.Errorf("trials of a deleted study: %v", r)
	}
}

// TestRunAllFailed: a run whose every trial fails exits 3 and keeps the reasons.
func TestRunAllFailed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	file := writeStudy(t, dir, "study.yaml", "broken", []string{"-fail"}, `params:
  x: {type: float, low: 0, high: 1}
budget: {trials: 2, parallel: 2}
`)
	r := cli(t, nil, "run", file, "--db", db)
	if r.code != ExitAllFailed || !strings.Contains(r.stderr, "every trial failed: 2 of 2") {
		t.Fatalf("run: %v", r)
	}
	for _, tr := range trials(t, db, "broken") {
		if tr.State != "FAIL" || !strings.Contains(tr.Reason, "exited with status 1") || !strings.Contains(tr.Reason, "trainer: diverged") {
			t.Errorf("trial %d: %s %q", tr.Number, tr.State, tr.Reason)
		}
	}
	if r := cli(t, nil, "best", "broken", "--db", db); r.code != ExitNotFound || !strings.Contains(r.stderr, "no completed trial") {
		t.Errorf("best of a study without a complete trial: %v", r)
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "empty.db")
	missing := filepath.Join(dir, "typo.db") // commands that read never create it
	if s, err := storage.Open(t.Context(), db); err != nil {
		t.Fatal(err)
	} else {
		s.Close()
	}

	write := func(name, yaml string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknownKey := write("unknown-key.yaml", `name: bad
command: ["true", "{x}"]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, hihg: 1}
budget: {trials: 2}
`)
	badDirection := write("direction.yaml", `name: bad
command: ["true", "{x}"]
objective: {metric: loss, direction: upward}
params:
  x: {type: float, low: 0, high: 1}
budget: {trials: 2}
`)
	badBudget := write("budget.yaml", `name: bad
command: ["true", "{x}"]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
budget: {trials: 0}
`)
	unknownPlaceholder := write("placeholder.yaml", `name: bad
command: ["true", "{x}", "{y}"]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
budget: {trials: 2}
`)
	noStop := write("nostop.yaml", `name: bad
command: ["true", "{x}"]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
`)
	valid := writeStudy(t, dir, "valid.yaml", "ok", nil, "params:\n  x: {type: float, low: 0, high: 1}\nbudget: {trials: 1}\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string // substrings
		stdout string   // substring
	}{
		{"help", []string{"help"}, ExitOK, nil, "Commands:"},
		{"version", []string{"version"}, ExitOK, nil, "retune "},
		{"no command", nil, ExitOK, nil, "Usage:"},
		{"unknown command", []string{"frobnicate"}, ExitUsage, []string{`unknown command "frobnicate"`, "Commands:"}, ""},
		{"unknown flag", []string{"studies", "--frob"}, ExitUsage, []string{"flag provided but not defined: -frob"}, ""},
		{"missing argument", []string{"trials", "--db", db}, ExitUsage, []string{"want 1 argument(s), got 0"}, ""},
		{"extra argument", []string{"run", unknownKey, "other.yaml"}, ExitUsage, []string{"want 1 argument(s), got 2"}, ""},
		{"bad state", []string{"trials", "s", "--db", db, "--state", "done"}, ExitUsage, []string{`trial state "DONE"`}, ""},
		{"bad format", []string{"export", "s", "--db", db, "--format", "xml"}, ExitUsage, []string{`--format "xml": want csv or json`}, ""},
		{"enqueue nothing", []string{"enqueue", "s", "--db", db}, ExitUsage, []string{"no params"}, ""},
		{"missing study file", []string{"run", filepath.Join(dir, "nope.yaml"), "--db", db}, ExitUsage, []string{"nope.yaml"}, ""},
		{"unknown key", []string{"run", unknownKey, "--db", db}, ExitUsage, []string{unknownKey + ":5: params.x.hihg: unknown key"}, ""},
		{"bad direction", []string{"run", badDirection, "--db", db}, ExitUsage, []string{badDirection + ":3: objective.direction: \"upward\": want minimize or maximize"}, ""},
		{"bad budget", []string{"run", badBudget, "--db", db}, ExitUsage, []string{badBudget + ":6: budget.trials: want a whole number >= 1"}, ""},
		{"unknown placeholder", []string{"run", unknownPlaceholder, "--db", db}, ExitUsage, []string{unknownPlaceholder + ":2: command: {y} is not a param"}, ""},
		{"nothing stops the run", []string{"run", noStop, "--db", db}, ExitUsage, []string{noStop + ": nothing would stop this run"}, ""},
		{"negative trials", []string{"run", valid, "--db", db, "--trials", "-1"}, ExitUsage, []string{"--trials, --parallel, --timeout and --fail-fast must be >= 0"}, ""},
		{"no database: studies", []string{"studies", "--db", missing}, ExitNotFound, []string{"sqlite database " + missing + " does not exist (check --db or RETUNE_DB"}, ""},
		{"no database: best", []string{"best", "x", "--db", missing}, ExitNotFound, []string{"does not exist"}, ""},
		{"no database: trials", []string{"trials", "x", "--db", missing}, ExitNotFound, []string{"does not exist"}, ""},
		{"no database: events", []string{"events", "list", "--db", missing}, ExitNotFound, []string{"does not exist"}, ""},
		{"no database: decisions", []string{"decisions", "list", "--db", missing}, ExitNotFound, []string{"does not exist"}, ""},
		{"no database: champion show", []string{"champion", "show", "m", "--db", missing}, ExitNotFound, []string{"does not exist"}, ""},
		{"trials of no study", []string{"trials", "nosuch", "--db", db}, ExitNotFound, []string{`no study "nosuch"`}, ""},
		{"best of no study", []string{"best", "nosuch", "--db", db}, ExitNotFound, []string{`no study "nosuch"`}, ""},
		{"export of no study", []string{"export", "nosuch", "--db", db}, ExitNotFound, []string{`no study "nosuch"`}, ""},
		{"enqueue to no study", []string{"enqueue", "nosuch", "--db", db, "--param", "x=1"}, ExitNotFound, []string{`no study "nosuch"`}, ""},
		{"delete no study", []string{"delete", "nosuch", "--db", db, "--yes"}, ExitNotFound, []string{`no study "nosuch"`}, ""},
		{"no champion", []string{"champion", "show", "m", "--db", db}, ExitNotFound, []string{"retune: model \"m\" has no champion: set one with `retune champion set m --value V`"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, nil, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d\n%v", r.code, tt.code, r)
			}
			if _, err := os.Stat(missing); err == nil {
				t.Errorf("%s created %s", tt.name, missing)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
			if !strings.Contains(r.stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, r.stdout)
			}
		})
	}
}

// TestHelpGolden compares the help texts with testdata/*.golden (go test -update rewrites them).
func TestHelpGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		golden string
		args   []string
		out    func(result) string
	}{
		{"help", []string{"help"}, func(r result) string { return r.stdout }},
		{"help-samplers", []string{"help", "samplers"}, func(r result) string { return r.stdout }},
		{"help-pruners", []string{"help", "pruners"}, func(r result) string { return r.stdout }},
		{"run-help", []string{"run", "-h"}, func(r result) string { return r.stdout }},
		{"run-help", []string{"help", "run"}, func(r result) string { return r.stdout }},
		{"champion-help", []string{"help", "champion"}, func(r result) string { return r.stdout }},
		{"champion-help", []string{"champion", "--help"}, func(r result) string { return r.stdout }},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := cli(t, nil, tt.args...)
			if r.code != ExitOK {
				t.Fatalf("retune %s: %v", strings.Join(tt.args, " "), r)
			}
			got := tt.out(r)
			golden := filepath.Join("testdata", tt.golden+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("retune %s differs from %s (go test -update rewrites it):\n%s", strings.Join(tt.args, " "), golden, got)
			}
		})
	}
}

// TestDatabasePrecedence: --db beats RETUNE_DB beats the study file's storage key beats
// retune.db in the working directory.
func TestDatabasePrecedence(t *testing.T) {
	tests := []struct {
		name              string
		flag, env, inFile bool
		want              string
	}{
		{"flag", true, true, true, "flag.db"},
		{"environment", false, true, true, "env.db"},
		{"study file", false, false, true, "file.db"},
		{"default", false, false, false, "retune.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			body := "params:\n  x: {type: float, low: 0, high: 1}\nbudget: {trials: 1}\n"
			if tt.inFile {
				body += "storage: " + strconv.Quote(filepath.Join(dir, "file.db")) + "\n"
			}
			file := writeStudy(t, dir, "study.yaml", "prec", nil, body)
			args := []string{"run", file, "--quiet"}
			if tt.flag {
				args = append(args, "--db", filepath.Join(dir, "flag.db"))
			}
			env := map[string]string{}
			if tt.env {
				env["RETUNE_DB"] = filepath.Join(dir, "env.db")
			}
			if r := cli(t, env, args...); r.code != ExitOK {
				t.Fatalf("run: %v", r)
			}
			for _, db := range []string{"flag.db", "env.db", "file.db", "retune.db"} {
				_, err := os.Stat(filepath.Join(dir, db))
				if exists := err == nil; exists != (db == tt.want) {
					t.Errorf("%s exists: %v, want %v", db, exists, db == tt.want)
				}
			}
			if ss := studies(t, filepath.Join(dir, tt.want)); len(ss) != 1 || ss[0].Name != "prec" || ss[0].Complete != 1 {
				t.Errorf("studies in %s: %+v", tt.want, ss)
			}
			if _, err := os.Stat(filepath.Join(dir, "retune-logs", "prec", "0.log")); err != nil {
				t.Errorf("log beside %s: %v", tt.want, err)
			}
		})
	}
}

// TestEnqueueChecksSpace: enqueued params are checked against the study's space before
// they are stored: unknown names, values outside a range and unknown choices are refused.
func TestEnqueueChecksSpace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	file := writeStudy(t, dir, "study.yaml", "enq", []string{"-steps={steps}", "--", "{opt}"}, `params:
  x: {type: float, low: 0, high: 1}
  steps: {type: int, low: 1, high: 3}
  opt: {type: categorical, choices: [adam, "5"]}
budget: {trials: 10}
`)
	mustCLI(t, "run", file, "--db", db, "--trials", "1")
	if r := cli(t, nil, "run", file, "--db", db, "--trials", "0"); r.code != ExitUsage || !strings.Contains(r.stderr, "--trials 0: want at least 1") {
		t.Errorf("run --trials 0: %v", r)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--param", "lr=5"}, `"lr" is not a param of study "enq": its params are opt, steps, x`},
		{[]string{"--param", "x=7"}, "param x = 7 is outside its space float[0, 1]"},
		{[]string{"--param", "steps=2.5"}, "param steps = 2.5 is outside its space"},
		{[]string{"--param", "opt=rmsprop"}, "param opt = rmsprop is outside its space categorical{adam, 5}"},
	} {
		r := cli(t, nil, append([]string{"enqueue", "enq", "--db", db}, c.args...)...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("enqueue %v: %v, want exit %d and %q", c.args, r, ExitUsage, c.want)
		}
	}
	out := mustCLI(t, "enqueue", "enq", "--db", db, "--param", "x=1", "--param", "opt=5")
	if !strings.Contains(out, "enqueued trial 1 of enq (steps sampled when it runs)") {
		t.Errorf("enqueue = %q", out)
	}
	mustCLI(t, "enqueue", "enq", "--db", db, "--json", `{"steps": 2.0, "x": 0}`)
	mustCLI(t, "run", file, "--db", db, "--trials", "2")
	ts := trials(t, db, "enq")
	if len(ts) != 3 || ts[1].State != "COMPLETE" || ts[1].Params["x"] != 1.0 || ts[1].Params["opt"] != "5" ||
		ts[2].State != "COMPLETE" || ts[2].Params["steps"] != 2.0 {
		t.Errorf("enqueued trials ran as %+v", ts)
	}
	if st := studies(t, db); len(st) != 1 || st[0].Waiting != 0 {
		t.Errorf("studies after the runs: %+v", st)
	}

	// A study without trials is checked against its stored definition; one created
	// before definitions were stored, and without trials, against the study file.
	db2 := filepath.Join(dir, "fresh.db")
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	store, err := storage.Open(t.Context(), db2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.NewStudy(t.Context(), store, false); err != nil {
		t.Fatal(err)
	}
	if _, err := retune.NewStudy(t.Context(), retune.Config{Name: "old", Storage: store}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	if r := cli(t, nil, "enqueue", "enq", "--db", db2, "--param", "x=1.5"); r.code != ExitUsage || !strings.Contains(r.stderr, "param x = 1.5 is outside its space float[0, 1]") {
		t.Errorf("enqueue to a study without trials, checked by its stored definition: %v", r)
	}
	if r := cli(t, nil, "enqueue", "old", "--db", db2, "--param", "x=0.5"); r.code != ExitUsage || !strings.Contains(r.stderr, "no stored search space yet") {
		t.Errorf("enqueue to a study without definition or trials: %v", r)
	}
	if r := cli(t, nil, "enqueue", "enq", "--db", db2, "--param", "x=2", "--config", file); r.code != ExitUsage || !strings.Contains(r.stderr, "outside its space") {
		t.Errorf("enqueue x=2 checked by --config: %v", r)
	}
	mustCLI(t, "enqueue", "enq", "--db", db2, "--param", "x=0.5", "--config", file)
}

// TestBrokenCommandSpendsNoBudget: what would fail every trial is found before the first
// one, and a run whose first trials all fail alike stops with the budget unspent.
func TestBrokenCommandSpendsNoBudget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	params := "params:\n  x: {type: float, low: 0, high: 1}\nbudget: {trials: 20}\n"
	write := func(name, command string) string {
		p := filepath.Join(dir, name+".yaml")
		body := "name: " + name + "\ncommand: " + command + "\nobjective: {metric: loss, direction: minimize}\n" + params
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notAFolder := filepath.Join(dir, "file")
	if err := os.WriteFile(notAFolder, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, file string
		flags      []string
		want       string
	}{
		{"missing program", write("missing", `["no-such-trainer-program", "{x}"]`), nil, `command "no-such-trainer-program" is not found in PATH`},
		{"missing path", write("path", `["./train.sh", "{x}"]`), nil, `command "./train.sh": ` + filepath.Join(dir, "train.sh") + " does not exist"},
		{"log folder", write("logs", `["true", "{x}"]`), []string{"--log-dir", filepath.Join(notAFolder, "logs")}, "log folder"},
	} {
		r := cli(t, nil, append([]string{"run", c.file, "--db", db}, c.flags...)...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: %v, want exit %d and %q", c.name, r, ExitUsage, c.want)
		}
	}
	for _, s := range studies(t, db) {
		if s.Complete+s.Failed+s.Running+s.Pruned > 0 {
			t.Errorf("study %s ran trials with a broken command: %+v", s.Name, s)
		}
	}

	failing := writeStudy(t, dir, "failing.yaml", "failing", []string{"-fail", "-steps=1"}, params)
	r := cli(t, nil, "run", failing, "--db", db)
	if r.code != ExitAllFailed || !strings.Contains(r.stderr, "first 5 trials all failed alike") || !strings.Contains(r.stderr, "trainer exited with status 1") {
		t.Errorf("run of a failing trainer: %v", r)
	}
	if ts := trials(t, db, "failing"); len(ts) != 5 {
		t.Errorf("%d trials ran, want 5 of the budget of 20", len(ts))
	}
	r = cli(t, nil, "run", failing, "--db", db, "--fail-fast", "0")
	if r.code != ExitAllFailed || !strings.Contains(r.stdout, "ran 15 trials") {
		t.Errorf("run with --fail-fast 0: %v", r)
	}
}

// TestStepKeyAndAdvice: a trainer that counts epochs, not steps, is pruned once step_key
// names its counter; without it, the run says once that the pruner has nothing to act on,
// naming the keys the trainer printed. A misspelt objective gets a "did you mean".
func TestStepKeyAndAdvice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	write := func(name, objective, extra string) string {
		p := filepath.Join(dir, name+".yaml")
		body := fmt.Sprintf(`name: %s
command: ["/bin/sh", "-c", "for e in 1 2 3; do echo epoch=$e loss=0.$e; done; echo loss=0.05"]
objective: {metric: %s, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
pruner: {name: median, startup_trials: 1}
budget: {trials: 3}
%s`, name, objective, extra)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	r := cli(t, nil, "run", write("nokey", "loss", ""), "--db", db)
	if r.code != ExitOK || strings.Count(r.stderr, "reported no intermediate values") != 1 || !strings.Contains(r.stderr, "its lines had epoch, loss") {
		t.Errorf("run without step_key: %v\nwant one warning naming epoch", r)
	}
	r = cli(t, nil, "run", write("epochs", "loss", "step_key: epoch\n"), "--db", db)
	if r.code != ExitOK || strings.Contains(r.stderr, "warning") {
		t.Errorf("run with step_key: %v", r)
	}
	for _, tr := range trials(t, db, "epochs") {
		if len(tr.Intermediate) != 3 || len(tr.Intermediate["3"]) != 1 {
			t.Errorf("trial %d: intermediate %v, want epochs 1–3", tr.Number, tr.Intermediate)
		}
	}
	r = cli(t, nil, "run", write("typo", "los", "step_key: epoch\n"), "--db", db, "--fail-fast", "0")
	if strings.Count(r.stderr, `never reported the objective metric "los", but reported "loss"`) != 1 {
		t.Errorf("run with a misspelt objective: %v\nwant one did-you-mean warning", r)
	}
}

// TestConditionalRun: a trainer gets only its branch's params, in argv and RETUNE_PARAMS;
// an absent param's argument is left out, or takes its absent: value.
func TestConditionalRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	file := filepath.Join(dir, "study.yaml")
	body := `name: cond
command: ["/bin/sh", "-c", "echo \"$RETUNE_PARAMS\" > params-$RETUNE_TRIAL.json; echo \"$@\" > args-$RETUNE_TRIAL.txt; echo loss=1", "sh", "--model={model}", "--c={svm_c}", "--k={knn_k}", "--w={knn_w}"]
objective: {metric: loss, direction: minimize}
params:
  model: {type: categorical, choices: [svm, knn]}
  svm_c: {type: float, low: 0.01, high: 100, log: true, when: {model: svm}}
  knn_k: {type: int, low: 1, high: 30, when: {model: knn}}
  knn_w: {type: categorical, choices: [uniform, distance], when: {model: knn}, absent: none}
sampler: {name: random}
seed: 4
budget: {trials: 8}
`
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "run", file, "--db", db)
	models := map[string]int{}
	for i := range 8 {
		p, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("params-%d.json", i)))
		if err != nil {
			t.Fatal(err)
		}
		args, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("args-%d.txt", i)))
		var params map[string]any
		if err := json.Unmarshal(p, &params); err != nil {
			t.Fatal(err)
		}
		model := params["model"].(string)
		models[model]++
		a := strings.TrimSpace(string(args))
		switch model {
		case "svm":
			if _, ok := params["knn_k"]; ok || params["svm_c"] == nil || strings.Contains(a, "--k=") || !strings.Contains(a, "--w=none") || !strings.Contains(a, "--c=") {
				t.Errorf("svm trial %d: params %v, args %q", i, params, a)
			}
		case "knn":
			if _, ok := params["svm_c"]; ok || params["knn_k"] == nil || strings.Contains(a, "--c=") || strings.Contains(a, "--w=none") {
				t.Errorf("knn trial %d: params %v, args %q", i, params, a)
			}
		}
	}
	if len(models) != 2 {
		t.Errorf("models %v: want both branches in 8 trials (seed 4)", models)
	}
}

// TestConstrainedRun: a trainer's reported metric decides feasibility; the run's lines,
// trials, best and the CSV export show it, and best picks only a feasible trial even
// though an infeasible one has a better value.
func TestConstrainedRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	file := filepath.Join(dir, "study.yaml")
	// loss = x, memory_mb = 1000·(1 - x): the small losses need too much memory.
	body := `name: con
command: ["/bin/sh", "-c", "awk -v x=$0 'BEGIN { printf \"loss=%s memory_mb=%s\\n\", x, 1000 * (1 - x) }'", "{x}"]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
constraints:
  - {metric: memory_mb, max: 500}
sampler: {name: random}
seed: 3
budget: {trials: 12}
`
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, nil, "run", file, "--db", db)
	if r.code != ExitOK || !strings.Contains(r.stderr, "infeasible: memory_mb is") || !strings.Contains(r.stderr, "want memory_mb <= 500") {
		t.Fatalf("run: %v\nwant per-trial lines naming the broken constraint", r)
	}
	ts := trials(t, db, "con")
	bestFeasible, bestAny := -1, -1
	for _, tr := range ts {
		if tr.Feasible == nil {
			t.Fatalf("trial %d has no feasibility: %+v", tr.Number, tr)
		}
		x := num(t, tr.Params["x"])
		if *tr.Feasible != (x >= 0.5) {
			t.Errorf("trial %d (x=%v) feasible = %v", tr.Number, x, *tr.Feasible)
		}
		if bestAny < 0 || tr.Values[0] < ts[bestAny].Values[0] {
			bestAny = tr.Number
		}
		if *tr.Feasible && (bestFeasible < 0 || tr.Values[0] < ts[bestFeasible].Values[0]) {
			bestFeasible = tr.Number
		}
	}
	if bestFeasible < 0 || *ts[bestAny].Feasible {
		t.Fatalf("seed 3 should give feasible trials and an infeasible best value: %+v", ts)
	}
	var best export.Trial
	if err := json.Unmarshal([]byte(mustCLI(t, "best", "con", "--db", db, "--json")), &best); err != nil {
		t.Fatal(err)
	}
	if best.Number != bestFeasible {
		t.Errorf("best = trial %d, want %d (the best feasible; %d is better but infeasible)", best.Number, bestFeasible, bestAny)
	}
	out := mustCLI(t, "trials", "con", "--db", db)
	if !strings.Contains(out, "FEASIBLE") || !strings.Contains(out, "want memory_mb <= 500") {
		t.Errorf("trials table:\n%s\nwant a FEASIBLE column and the broken constraint", out)
	}
	cma := strings.Replace(strings.Replace(body, "name: con", "name: con-cma", 1), "sampler: {name: random}", "sampler: {name: cmaes}", 1)
	cmaFile := filepath.Join(dir, "cma.yaml")
	if err := os.WriteFile(cmaFile, []byte(cma), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, nil, "run", cmaFile, "--db", db, "--trials", "1"); r.code != ExitOK || !strings.Contains(r.stderr, "sampler cmaes ignores the constraints") {
		t.Errorf("a constrained cmaes study: %v\nwant a warning", r)
	}
	csvOut := mustCLI(t, "export", "con", "--db", db, "--format", "csv")
	if !strings.HasPrefix(csvOut, "number,kind,state,loss,feasible,violation,") {
		t.Errorf("csv header: %q", strings.SplitN(csvOut, "\n", 2)[0])
	}
}
