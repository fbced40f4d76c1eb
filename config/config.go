// Package config reads study files: the YAML that tells `retune run` what to tune.
//
//	name: digits-hgb
//	model: digits                  # champion lineage (default: name)
//	command: ["python3", "train.py", "--lr={lr}", "--depth={depth}"]
//	objective: {metric: accuracy, direction: maximize}   # or objectives: [{metric, direction}, …]
//	params:
//	  lr:    {type: float, low: 1.0e-3, high: 0.5, log: true}
//	  depth: {type: int, low: 2, high: 12}
//	  loss:  {type: categorical, choices: [log_loss, exponential]}
//	  # grid search: {type: float, values: [0.01, 0.1, 1.0]} for every param
//	seed: 1                        # 0 or none: a random seed, recorded with the study
//	sampler: {name: tpe}
//	pruner:  {name: median}
//	budget:  {trials: 100, timeout: 1h, parallel: 2, trial_timeout: 10m, retries: 1}
//	retrain:
//	  min_improvement: 0.005        # absolute; or min_relative_improvement: 0.01
//	  confirm: {repeats: 5}         # re-run winner and champion before deciding; also
//	                                # level: 0.95, analysis: both | paired | unpaired
//	  guardrails: {latency_ms: {max_regression: 0.10}}
//	  cooldown: 12h                 # least time between two promotions of the model
//	  repeat_after: 24h             # re-announce an unpromoted candidate after this long
//	schedule:                       # re-tune periodically: retune run keeps running
//	  every: 24h
//	  timezone: Europe/Berlin       # IANA zone of the names' times (default UTC)
//	notifiers:                      # where events go (see Notifier); retune run and
//	  hook: {type: webhook, url: "https://ml.example.com/hooks/retune", secret_env: HOOK_SECRET}
//	notify: [hook]                  # retune dispatch deliver them; default: all notifiers
//	secret_env: [HF_TOKEN]          # variables trainers and exec notifiers must not see
//	                                # (besides RETUNE_DB and every notifier's secret_env)
//
// Relative paths in dir, log_dir, a SQLite storage and the notifiers are relative to the
// study file's folder; Parse makes them absolute, so trainers and notifiers get paths that
// do not depend on the folder retune was started from.
// Unknown keys are errors, and every error names the file, the line and the field and says
// what would be valid. Parse collects all errors of a file, joined.
package config

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain"
)

// MaxFileSize bounds a study file.
const MaxFileSize = 1 << 20

// Study is a parsed, validated study file.
type Study struct {
	Path    string // the file it came from
	Name    string
	Model   string
	Command []string
	Dir     string            // working directory of the command; default: the file's directory
	Env     map[string]string // extra environment for the command
	// SecretEnv names environment variables that hold secrets of the machine running the
	// study: trainers and exec notifiers never see them (see Secrets).
	SecretEnv []string
	// StepKeys name the step of the trainer's metric lines, first found first (step_key:
	// epoch, or a list); nil: "step".
	StepKeys   []string
	Objectives []Objective
	// Constraints bound metrics the trainer reports (constraints: - {metric: m, max: …,
	// min: …}): a COMPLETE trial that breaks one is infeasible (retune.Constraint).
	Constraints []retune.Constraint
	Params      []Param // in file order
	Seed        uint64
	SamplerSpec Spec
	PrunerSpec  Spec
	Budget      Budget
	Storage     string // DSN; may not hold a password
	LogDir      string
	// Retrain is the retraining policy; nil when the file has no retrain section.
	Retrain *Retrain
	// Schedule re-tunes periodically; nil when the file has no schedule section.
	Schedule *Schedule
	// Notifiers are the file's notifier definitions, by ID; Notify the IDs the study's
	// events name (default: every notifier of the file).
	Notifiers []Notifier
	Notify    []string

	// resumed and resumedPruner, once NewStudy has opened an existing study, are the
	// sampler and pruner specs it resolved (see NewStudy); Sampler, Pruner and Definition
	// then use them.
	resumed, resumedPruner *retune.Spec
	// samplerNote is what SamplerNote returns, set by NewStudy.
	samplerNote string
}

// Schedule is the study file's schedule section: `retune run` starts a new study for the
// model every period.
type Schedule struct {
	Every time.Duration // > 0
	// Location is the time zone of the times in scheduled studies' names; default UTC.
	Location *time.Location
}

// Retrain is the study file's retrain section: when a run's best trial truly beats the
// model's champion.
type Retrain struct {
	Policy retrain.Policy
	// EachBest decides on every new best trial instead of once at the end of a run; it
	// raises more false alarms (each decision is another look at noisy data).
	EachBest bool
}

// Objective is one objective metric and its direction.
type Objective struct {
	Metric    string
	Direction retune.Direction
}

// Param is one parameter: a distribution to sample from, or the values of a grid.
type Param struct {
	Name   string
	Type   string              // float, int or categorical, as the file declares it
	Dist   retune.Distribution // nil for a grid param
	Values []any               // grid values, in file order
	// When makes the param conditional: a trial has it only when every condition holds
	// (and the params they name are themselves present). Nil: always.
	When []Condition
	// Absent is what the param's command placeholders become when a trial does not have
	// it; nil leaves the arguments that name it out.
	Absent *string
}

// Condition is one entry of a param's when: the earlier param Param has one of Values.
type Condition struct {
	Param  string
	Values []any
}

// Active reports whether a trial that chose values (the earlier params, by name) has p.
func (p Param) Active(values map[string]any) bool {
	for _, c := range p.When {
		v, ok := values[c.Param]
		if !ok || !slices.ContainsFunc(c.Values, func(w any) bool { return sameValue(v, w) }) {
			return false
		}
	}
	return true
}

// sameValue compares param values as JSON does (an int 3 and a float 3.0 alike).
func sameValue(a, b any) bool {
	return retune.CategoricalDistribution{Choices: []any{a}}.Index(b) == 0
}

// Spec names a sampler or pruner with its options.
type Spec struct {
	Name    string
	Options map[string]any
}

// Budget holds the study file's budget section.
type Budget struct {
	Trials       int           // study-wide cap on search trials; 0 = unlimited
	Timeout      time.Duration // wall clock per run; 0 = none
	Parallel     int           // trainers at once; default 1
	TrialTimeout time.Duration // per trial; 0 = none
	Retries      int           // re-runs of a trial whose lease expired or that was interrupted
}

// Error is one problem in a study file.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		return loc + ": " + e.Field + ": " + e.Msg
	}
	return loc + ": " + e.Msg
}

// Unwrap makes every config error an ErrInvalid.
func (e *Error) Unwrap() error { return retune.ErrInvalid }

// Load reads and parses the study file at path.
func Load(path string) (*Study, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses and validates a study file's contents; path is used in errors and to
// resolve the command's working directory.
func Parse(path string, data []byte) (*Study, error) {
	return parse(path, data, false)
}

// studyKeys are the top-level keys of a study file.
var studyKeys = []string{"name", "model", "command", "dir", "env", "secret_env", "objective", "objectives", "params", "seed", "sampler", "pruner", "budget", "storage", "log_dir", "retrain", "schedule", "notifiers", "notify", "step_key", "constraints"}

// parse parses a study file, or with def a study definition (see ParseDefinition).
func parse(path string, data []byte, def bool) (*Study, error) {
	p := &parser{file: path, def: def}
	root, err := parseYAML(path, data)
	if err != nil {
		return nil, err
	}
	keys := studyKeys
	if def {
		keys = []string{"version"}
		for _, k := range studyKeys {
			if !slices.Contains(localKeys, k) {
				keys = append(keys, k)
			}
		}
		root = p.dropLocal(root)
	}
	f := p.fields(root, "", keys...)
	if f == nil {
		return nil, errors.Join(p.errs...)
	}
	if v, ok := f["version"]; ok {
		if n, ok := p.int(v, "version", 1); ok && n != DefinitionVersion {
			p.errorf(v, "version", "%d: this retune reads definition version %d; upgrade it to read a newer one", n, DefinitionVersion)
		}
	}
	s := &Study{Path: path, Budget: Budget{Parallel: 1}}
	p.trainer(f, root, s)
	if n, ok := f["step_key"]; ok {
		s.StepKeys = p.stepKeys(n)
	}
	p.objectives(f, root, s)
	if n, ok := f["constraints"]; ok {
		s.Constraints = p.constraints(n, s)
	}
	p.params(f, root, s)
	if n, ok := f["seed"]; ok {
		s.Seed, _ = p.seed(n)
	}
	s.SamplerSpec = p.spec(f, "sampler")
	s.PrunerSpec = p.spec(f, "pruner")
	if n, ok := f["budget"]; ok {
		p.budget(n, s)
	}
	p.places(f, s)
	if n, ok := f["retrain"]; ok {
		s.Retrain = p.retrain(n)
	}
	if n, ok := f["schedule"]; ok {
		s.Schedule = p.schedule(n)
	}
	if n, ok := f["notifiers"]; ok {
		s.Notifiers = p.notifiers(n)
	}
	if n, ok := f["notify"]; ok {
		s.Notify = p.notify(n, s.Notifiers)
	} else {
		for _, n := range s.Notifiers {
			s.Notify = append(s.Notify, n.ID)
		}
	}
	p.checkGrid(f, s)
	p.checkPlaceholders(f, s)
	if s.Model == "" {
		s.Model = s.Name
	}
	if len(p.errs) == 0 { // names and options of the sampler and pruner, with their lines
		if _, err := s.Sampler(); err != nil {
			p.errorf(f["sampler"], "sampler", "%s", err.(*Error).Msg)
		}
		if _, err := s.Pruner(); err != nil {
			p.errorf(f["pruner"], "pruner", "%s", err.(*Error).Msg)
		}
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return s, nil
}

// parseYAML returns the document's root node, or an error at the line YAML names.
func parseYAML(path string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if _, rest, ok := strings.Cut(msg, "line "); ok {
			num, _, _ := strings.Cut(rest, ":")
			line, _ = strconv.Atoi(num)
			if _, after, ok := strings.Cut(msg, ": "); ok && line > 0 {
				msg = after
			}
		}
		return nil, &Error{File: path, Line: line, Msg: "not valid YAML: " + msg}
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: path, Msg: "file is empty: want at least name, command, objective and params"}
	}
	return doc.Content[0], nil
}

// trainer reads what names the study and how its trainer runs: name, model, command,
// dir, env and secret_env.
func (p *parser) trainer(f map[string]*yaml.Node, root *yaml.Node, s *Study) {
	required := func(key, what string) *yaml.Node {
		n, ok := f[key]
		if !ok {
			p.errorf(root, key, "missing: want %s", what)
		}
		return n
	}
	if n := required("name", "the study name"); n != nil {
		if v, ok := p.str(n, "name"); ok {
			if err := retune.ValidateName("study", v); err != nil {
				p.errorf(n, "name", "%v", unwrapInvalid(err))
			}
			s.Name = v
		}
	}
	if n, ok := f["model"]; ok {
		s.Model, _ = p.str(n, "model")
	}
	if p.def {
		// a definition has no command
	} else if n := required("command", `the trainer's command line as a list, e.g. ["python3", "train.py", "--lr={lr}"]`); n != nil {
		s.Command = p.strings(n, "command")
		if n.Kind == yaml.SequenceNode && len(s.Command) == 0 {
			p.errorf(n, "command", "empty: want the program and its arguments")
		}
	}
	s.Dir = fileDir(s.Path)
	if n, ok := f["dir"]; ok {
		if d, ok := p.str(n, "dir"); ok {
			s.Dir = relativeTo(s.Path, d)
		}
	}
	if n, ok := f["env"]; ok {
		s.Env = map[string]string{}
		if n.Kind != yaml.MappingNode {
			p.errorf(n, "env", "want a mapping of NAME: value, got %s", describe(n))
		} else {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if val, ok := p.str(v, "env."+k.Value); ok {
					s.Env[k.Value] = val
				}
			}
		}
	}
	if n, ok := f["secret_env"]; ok {
		s.SecretEnv = p.envNames(n, "secret_env")
	}
}

// stepKeys reads step_key: one metric name or a list of them.
func (p *parser) stepKeys(n *yaml.Node) []string {
	var keys []string
	if n.Kind == yaml.SequenceNode {
		keys = p.strings(n, "step_key")
		if len(keys) == 0 {
			p.errorf(n, "step_key", "empty: want the metric name of the trainer's step, e.g. epoch")
		}
	} else if k, ok := p.str(n, "step_key"); ok {
		keys = []string{k}
	}
	for _, k := range keys {
		if err := retune.ValidateName("step key", k); err != nil {
			p.errorf(n, "step_key", "%v", unwrapInvalid(err))
		}
	}
	return keys
}

// constraints reads the constraints list: entries {metric, max, min} on metrics that are
// not objectives, each metric once.
func (p *parser) constraints(n *yaml.Node, s *Study) []retune.Constraint {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "constraints", "want a list of {metric: NAME, max: NUMBER, min: NUMBER}, got %s", describe(n))
		return nil
	}
	var out []retune.Constraint
	seen := map[string]bool{}
	for i, e := range n.Content {
		field := fmt.Sprintf("constraints[%d]", i)
		f := p.fields(e, field, "metric", "max", "min")
		if f == nil {
			continue
		}
		var c retune.Constraint
		m, ok := f["metric"]
		if !ok {
			p.errorf(e, field, "missing metric: want the name of a metric the trainer reports, e.g. {metric: memory_mb, max: 1000}")
			continue
		}
		if c.Metric, ok = p.str(m, field+".metric"); !ok {
			continue
		}
		bad := false // a bound that is not a number, said already
		if v, ok := f["max"]; ok {
			x, ok := p.float(v, field+".max")
			c.Max, bad = &x, !ok
		}
		if v, ok := f["min"]; ok {
			x, ok := p.float(v, field+".min")
			c.Min, bad = &x, bad || !ok
		}
		switch {
		case bad:
		case slices.ContainsFunc(s.Objectives, func(o Objective) bool { return o.Metric == c.Metric }):
			p.errorf(m, field+".metric", "%q is an objective: constrain another metric the trainer reports (an objective's bound is its baseline or the retrain policy's)", c.Metric)
		case seen[c.Metric]:
			p.errorf(m, field+".metric", "%q is constrained twice: give max and min in one entry", c.Metric)
		case len(f) == 1:
			p.errorf(e, field, "no bound on %q: give max, min or both", c.Metric)
		default:
			if err := c.Validate(); err != nil {
				p.errorf(e, field, "%v", unwrapInvalid(err))
				continue
			}
			out = append(out, c)
		}
		seen[c.Metric] = true
	}
	return out
}

// budget reads the budget section.
func (p *parser) budget(n *yaml.Node, s *Study) {
	b := p.fields(n, "budget", "trials", "timeout", "parallel", "trial_timeout", "retries")
	if v, ok := b["trials"]; ok {
		t, _ := p.int(v, "budget.trials", 1)
		s.Budget.Trials = int(t)
	}
	if v, ok := b["timeout"]; ok {
		s.Budget.Timeout, _ = p.duration(v, "budget.timeout")
	}
	if v, ok := b["parallel"]; ok {
		t, _ := p.int(v, "budget.parallel", 1)
		s.Budget.Parallel = int(t)
	}
	if v, ok := b["trial_timeout"]; ok {
		s.Budget.TrialTimeout, _ = p.duration(v, "budget.trial_timeout")
	}
	if v, ok := b["retries"]; ok {
		t, _ := p.int(v, "budget.retries", 0)
		s.Budget.Retries = int(t)
	}
}

// places reads where the study's data goes: storage and log_dir.
func (p *parser) places(f map[string]*yaml.Node, s *Study) {
	if n, ok := f["storage"]; ok {
		if v, ok := p.str(n, "storage"); ok {
			if HasPassword(v) {
				p.errorf(n, "storage", "holds a password: put the DSN in RETUNE_DB or pass --db instead, so the secret stays out of the file")
			}
			if !strings.Contains(v, "://") && v != "memory" { // a SQLite path
				v = relativeTo(s.Path, v)
			}
			s.Storage = v
		}
	}
	if n, ok := f["log_dir"]; ok {
		if d, ok := p.str(n, "log_dir"); ok {
			s.LogDir = relativeTo(s.Path, d)
		}
	}
}

// Secrets returns the names of the environment variables that trainers and exec notifiers
// must not see: RETUNE_DB, the file's secret_env and every notifier's secret_env, sorted.
// (The runner and the exec notifier also drop RETUNE_* variables whose names contain
// SECRET, PASSWORD or TOKEN.)
func (s *Study) Secrets() []string {
	names := append([]string{"RETUNE_DB"}, s.SecretEnv...)
	for _, n := range s.Notifiers {
		names = append(names, n.SecretEnv...)
	}
	sort.Strings(names)
	return slices.Compact(names)
}

// HasPassword reports whether a DSN carries a password (user:password@host).
func HasPassword(dsn string) bool {
	_, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return false
	}
	at := strings.LastIndex(rest, "@")
	return at >= 0 && strings.Contains(rest[:at], ":") || strings.Contains(rest, "password=")
}
