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
//	seed: 1
//	sampler: {name: tpe}
//	pruner:  {name: median}
//	budget:  {trials: 100, timeout: 1h, parallel: 2, trial_timeout: 10m, retries: 1}
//	retrain:
//	  min_improvement: 0.005        # absolute; or min_relative_improvement: 0.01
//	  confirm: {repeats: 5}         # re-run winner and champion before deciding; also
//	                                # level: 0.95, analysis: both | paired | unpaired
//	  guardrails: {latency_ms: {max_regression: 0.10}}
//	  cooldown: 12h                 # least time between two promotions of the model
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
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain"
	"github.com/a6b40afc/retune/runner"
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
	SecretEnv   []string
	Objectives  []Objective
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

// readFile reads a configuration file of at most MaxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: configuration file: %v", retune.ErrInvalid, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: configuration file %s: %v", retune.ErrInvalid, path, err)
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}
	}
	return data, nil
}

type parser struct {
	file string
	errs []error
}

func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// fields checks that n is a mapping with only the allowed keys and returns its entries.
func (p *parser) fields(n *yaml.Node, field string, allowed ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "want a mapping of %s, got %s", strings.Join(allowed, ", "), describe(n))
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := join(field, k.Value)
		if !contains(allowed, k.Value) {
			p.errorf(k, name, "unknown key: valid keys here are %s", strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.errorf(k, name, "given twice")
			continue
		}
		out[k.Value] = v
	}
	return out
}

func join(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return "an empty list"
		}
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return strconv.Quote(n.Value)
}

func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, field, "want a string, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) float(n *yaml.Node, field string) (float64, bool) {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!float" || n.Tag == "!!int") {
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f, true
		}
	}
	p.errorf(n, field, "want a finite number, got %s", describe(n))
	return 0, false
}

func (p *parser) int(n *yaml.Node, field string, min int64) (int64, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err == nil && v >= min {
			return v, true
		}
	}
	p.errorf(n, field, "want a whole number >= %d, got %s", min, describe(n))
	return 0, false
}

func (p *parser) bool(n *yaml.Node, field string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	p.errorf(n, field, "want true or false, got %s", describe(n))
	return false, false
}

func (p *parser) duration(n *yaml.Node, field string) (time.Duration, bool) {
	if n.Kind == yaml.ScalarNode {
		if d, err := time.ParseDuration(n.Value); err == nil && d >= 0 {
			return d, true
		}
	}
	p.errorf(n, field, "want a duration such as 90s, 10m or 2h, got %s", describe(n))
	return 0, false
}

func (p *parser) strings(n *yaml.Node, field string) []string {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "want a list of strings, got %s", describe(n))
		return nil
	}
	var out []string
	for i, c := range n.Content {
		if s, ok := p.str(c, fmt.Sprintf("%s[%d]", field, i)); ok {
			out = append(out, s)
		}
	}
	return out
}

// value decodes a scalar into string, int64, float64 or bool.
func (p *parser) value(n *yaml.Node, field string) (any, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, field, "want a string, number or boolean, got %s", describe(n))
		return nil, false
	}
	switch n.Tag {
	case "!!int":
		v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err == nil {
			return v, true
		}
	case "!!float":
		v, err := strconv.ParseFloat(n.Value, 64)
		if err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v, true
		}
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b, true
		}
	case "!!str":
		return n.Value, true
	}
	p.errorf(n, field, "want a string, a finite number or a boolean, got %s", describe(n))
	return nil, false
}

// options decodes a mapping of scalar or list options.
func (p *parser) options(n *yaml.Node, field string) map[string]any {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "want a mapping of options, got %s", describe(n))
		return nil
	}
	out := map[string]any{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var x any
		if err := v.Decode(&x); err != nil {
			p.errorf(v, join(field, k.Value), "%v", err)
			continue
		}
		out[k.Value] = x
	}
	return out
}

// Parse parses and validates a study file's contents; path is used in errors and to
// resolve the command's working directory.
func Parse(path string, data []byte) (*Study, error) {
	p := &parser{file: path}
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
	root := doc.Content[0]
	f := p.fields(root, "", "name", "model", "command", "dir", "env", "secret_env", "objective", "objectives", "params", "seed", "sampler", "pruner", "budget", "storage", "log_dir", "retrain", "schedule", "notifiers", "notify")
	if f == nil {
		return nil, errors.Join(p.errs...)
	}
	s := &Study{Path: path, Budget: Budget{Parallel: 1}}
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
	if n := required("command", `the trainer's command line as a list, e.g. ["python3", "train.py", "--lr={lr}"]`); n != nil {
		s.Command = p.strings(n, "command")
		if n.Kind == yaml.SequenceNode && len(s.Command) == 0 {
			p.errorf(n, "command", "empty: want the program and its arguments")
		}
	}
	s.Dir = fileDir(path)
	if n, ok := f["dir"]; ok {
		if d, ok := p.str(n, "dir"); ok {
			s.Dir = relativeTo(path, d)
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
	p.objectives(f, root, s)
	p.params(f, root, s)
	if n, ok := f["seed"]; ok {
		if v, ok := p.int(n, "seed", 0); ok {
			s.Seed = uint64(v)
		}
	}
	s.SamplerSpec = p.spec(f, "sampler")
	s.PrunerSpec = p.spec(f, "pruner")
	if n, ok := f["budget"]; ok {
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
	if n, ok := f["storage"]; ok {
		if v, ok := p.str(n, "storage"); ok {
			if HasPassword(v) {
				p.errorf(n, "storage", "holds a password: put the DSN in RETUNE_DB or pass --db instead, so the secret stays out of the file")
			}
			if !strings.Contains(v, "://") && v != "memory" { // a SQLite path
				v = relativeTo(path, v)
			}
			s.Storage = v
		}
	}
	if n, ok := f["log_dir"]; ok {
		if d, ok := p.str(n, "log_dir"); ok {
			s.LogDir = relativeTo(path, d)
		}
	}
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

// envNames reads one environment variable's name or a list of them.
func (p *parser) envNames(n *yaml.Node, field string) []string {
	var names []string
	if n.Kind == yaml.SequenceNode {
		names = p.strings(n, field)
	} else if s, ok := p.str(n, field); ok {
		names = []string{s}
	}
	for _, e := range names {
		if e == "" || strings.ContainsAny(e, "= \t\n") {
			p.errorf(n, field, "%q: want an environment variable's name", e)
		}
	}
	return names
}

// relativeTo resolves a path in a study file against the file's folder (see fileDir).
func relativeTo(file, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(fileDir(file), p)
}

// fileDir returns the absolute folder of file (as it is if the working directory is
// unknown).
func fileDir(file string) string {
	dir := filepath.Dir(file)
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
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

func unwrapInvalid(err error) string {
	return strings.TrimPrefix(err.Error(), retune.ErrInvalid.Error()+": ")
}

func (p *parser) objectives(f map[string]*yaml.Node, root *yaml.Node, s *Study) {
	one, hasOne := f["objective"]
	many, hasMany := f["objectives"]
	switch {
	case hasOne && hasMany:
		p.errorf(many, "objectives", "given together with objective: use one of them")
		return
	case !hasOne && !hasMany:
		p.errorf(root, "objective", "missing: want {metric: NAME, direction: minimize|maximize} (or objectives: a list of them)")
		return
	}
	obj := func(n *yaml.Node, field string) {
		o := p.fields(n, field, "metric", "direction")
		if o == nil {
			return
		}
		var ob Objective
		if m, ok := o["metric"]; !ok {
			p.errorf(n, field+".metric", "missing: want the metric name the trainer prints")
		} else if v, ok := p.str(m, field+".metric"); ok {
			if v == "step" {
				p.errorf(m, field+".metric", `"step" marks intermediate lines and cannot be an objective`)
			}
			ob.Metric = v
		}
		if d, ok := o["direction"]; !ok {
			p.errorf(n, field+".direction", "missing: want minimize or maximize")
		} else if v, ok := p.str(d, field+".direction"); ok {
			dir, err := retune.ParseDirection(v)
			if err != nil {
				p.errorf(d, field+".direction", "%q: want minimize or maximize", v)
			}
			ob.Direction = dir
		}
		for _, prev := range s.Objectives {
			if prev.Metric == ob.Metric && ob.Metric != "" {
				p.errorf(n, field+".metric", "%q is already an objective", ob.Metric)
			}
		}
		s.Objectives = append(s.Objectives, ob)
	}
	if hasOne {
		obj(one, "objective")
		return
	}
	if many.Kind != yaml.SequenceNode || len(many.Content) == 0 {
		p.errorf(many, "objectives", "want a non-empty list of {metric, direction}, got %s", describe(many))
		return
	}
	for i, n := range many.Content {
		obj(n, fmt.Sprintf("objectives[%d]", i))
	}
}

func (p *parser) params(f map[string]*yaml.Node, root *yaml.Node, s *Study) {
	n, ok := f["params"]
	if !ok {
		p.errorf(root, "params", "missing: want a mapping of param name to {type: float|int|categorical, …}")
		return
	}
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		p.errorf(n, "params", "want a non-empty mapping of param name to {type, …}, got %s", describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := "params." + k.Value
		if err := retune.ValidateName("param", k.Value); err != nil {
			p.errorf(k, field, "%v", unwrapInvalid(err))
			continue
		}
		if seen[k.Value] {
			p.errorf(k, field, "given twice")
			continue
		}
		seen[k.Value] = true
		pf := p.fields(v, field, "type", "low", "high", "log", "step", "choices", "values")
		if pf == nil {
			continue
		}
		prm := Param{Name: k.Value}
		typ := ""
		if t, ok := pf["type"]; !ok {
			p.errorf(v, field+".type", "missing: want float, int or categorical")
			continue
		} else if typ, _ = p.str(t, field+".type"); typ != "float" && typ != "int" && typ != "categorical" {
			p.errorf(t, field+".type", "%q: want float, int or categorical", typ)
			continue
		}
		prm.Type = typ
		if vals, ok := pf["values"]; ok {
			for _, other := range []string{"low", "high", "log", "step", "choices"} {
				if o, has := pf[other]; has {
					p.errorf(o, field+"."+other, "cannot be used with values (a grid param lists its values)")
				}
			}
			if vals.Kind != yaml.SequenceNode || len(vals.Content) == 0 {
				p.errorf(vals, field+".values", "want a non-empty list, got %s", describe(vals))
				continue
			}
			for j, c := range vals.Content {
				x, ok := p.value(c, fmt.Sprintf("%s.values[%d]", field, j))
				if !ok {
					continue
				}
				if (typ == "float" || typ == "int") && !isNumber(x) {
					p.errorf(c, fmt.Sprintf("%s.values[%d]", field, j), "want a number for a %s param, got %s", typ, describe(c))
					continue
				}
				if typ == "int" {
					if fv, isF := x.(float64); isF {
						p.errorf(c, fmt.Sprintf("%s.values[%d]", field, j), "want a whole number for an int param, got %v", fv)
						continue
					}
				}
				if typ == "float" {
					if iv, isI := x.(int64); isI {
						x = float64(iv)
					}
				}
				prm.Values = append(prm.Values, x)
			}
			if err := (retune.CategoricalDistribution{Choices: prm.Values}).Validate(); err != nil && len(prm.Values) == len(vals.Content) {
				p.errorf(vals, field+".values", "%v", unwrapInvalid(err))
			}
			s.Params = append(s.Params, prm)
			continue
		}
		switch typ {
		case "categorical":
			for _, other := range []string{"low", "high", "log", "step"} {
				if o, has := pf[other]; has {
					p.errorf(o, field+"."+other, "not valid for a categorical param: give choices")
				}
			}
			c, ok := pf["choices"]
			if !ok {
				p.errorf(v, field+".choices", "missing: want a list of choices")
				continue
			}
			if c.Kind != yaml.SequenceNode {
				p.errorf(c, field+".choices", "want a list, got %s", describe(c))
				continue
			}
			var choices []any
			for j, cn := range c.Content {
				if x, ok := p.value(cn, fmt.Sprintf("%s.choices[%d]", field, j)); ok {
					choices = append(choices, x)
				}
			}
			d := retune.CategoricalDistribution{Choices: choices}
			if len(choices) == len(c.Content) {
				if err := d.Validate(); err != nil {
					p.errorf(c, field+".choices", "%v", unwrapInvalid(err))
				}
			}
			prm.Dist = d
		default:
			if c, has := pf["choices"]; has {
				p.errorf(c, field+".choices", "only for categorical params: give low and high")
			}
			lo, okLo := pf["low"]
			hi, okHi := pf["high"]
			if !okLo || !okHi {
				p.errorf(v, field, "want low and high (or values for a grid)")
				continue
			}
			log := false
			if l, ok := pf["log"]; ok {
				log, _ = p.bool(l, field+".log")
			}
			if typ == "float" {
				d := retune.FloatDistribution{Log: log}
				var ok1, ok2, ok3 bool = true, true, true
				d.Low, ok1 = p.float(lo, field+".low")
				d.High, ok2 = p.float(hi, field+".high")
				if st, has := pf["step"]; has {
					d.Step, ok3 = p.float(st, field+".step")
				}
				if ok1 && ok2 && ok3 {
					if err := d.Validate(); err != nil {
						p.errorf(v, field, "%v", unwrapInvalid(err))
					}
				}
				prm.Dist = d
			} else {
				d := retune.IntDistribution{Log: log}
				var ok1, ok2, ok3 bool = true, true, true
				d.Low, ok1 = p.int(lo, field+".low", math.MinInt64)
				d.High, ok2 = p.int(hi, field+".high", math.MinInt64)
				if st, has := pf["step"]; has {
					d.Step, ok3 = p.int(st, field+".step", 1)
				}
				if ok1 && ok2 && ok3 {
					if err := d.Validate(); err != nil {
						p.errorf(v, field, "%v", unwrapInvalid(err))
					}
				}
				prm.Dist = d
			}
		}
		s.Params = append(s.Params, prm)
	}
}

func isNumber(x any) bool {
	switch x.(type) {
	case int64, float64:
		return true
	}
	return false
}

func (p *parser) spec(f map[string]*yaml.Node, key string) Spec {
	n, ok := f[key]
	if !ok {
		return Spec{}
	}
	if n.Kind == yaml.ScalarNode { // sampler: tpe
		name, _ := p.str(n, key)
		return Spec{Name: name}
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, key, "want {name: …, options…}, got %s", describe(n))
		return Spec{}
	}
	var sp Spec
	rest := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "name" {
			sp.Name, _ = p.str(v, key+".name")
			continue
		}
		rest.Content = append(rest.Content, k, v)
	}
	if sp.Name == "" {
		p.errorf(n, key+".name", "missing")
	}
	if len(rest.Content) > 0 {
		sp.Options = p.options(rest, key)
	}
	return sp
}

// checkGrid: values lists are grid search, all or nothing.
func (p *parser) checkGrid(f map[string]*yaml.Node, s *Study) {
	grid := 0
	for _, prm := range s.Params {
		if prm.Values != nil {
			grid++
		}
	}
	n := f["params"]
	switch {
	case grid == 0 && s.SamplerSpec.Name == "grid":
		p.errorf(f["sampler"], "sampler", "grid needs values: [...] for every param")
	case grid == 0:
	case grid < len(s.Params):
		var missing []string
		for _, prm := range s.Params {
			if prm.Values == nil {
				missing = append(missing, prm.Name)
			}
		}
		p.errorf(n, "params", "grid search needs values for every param; %s %s none", strings.Join(missing, ", "), plural(len(missing), "has", "have"))
	case s.SamplerSpec.Name != "" && s.SamplerSpec.Name != "grid":
		p.errorf(f["sampler"], "sampler.name", "%q with values lists: values are for grid search (sampler grid); use low/high or choices otherwise", s.SamplerSpec.Name)
	default:
		s.SamplerSpec = Spec{Name: "grid"}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// checkPlaceholders: every {name} in the command must be a param.
func (p *parser) checkPlaceholders(f map[string]*yaml.Node, s *Study) {
	names := map[string]bool{}
	var all []string
	for _, prm := range s.Params {
		names[prm.Name] = true
		all = append(all, prm.Name)
	}
	sort.Strings(all)
	for _, ph := range runner.Placeholders(s.Command) {
		if !names[ph] && len(s.Params) > 0 {
			p.errorf(f["command"], "command", "{%s} is not a param: params are %s", ph, strings.Join(all, ", "))
		}
	}
}

func (p *parser) retrain(n *yaml.Node) *Retrain {
	f := p.fields(n, "retrain", "min_improvement", "min_relative_improvement", "confirm", "guardrails", "decide", "cooldown")
	if f == nil {
		return nil
	}
	r := &Retrain{}
	if v, ok := f["min_improvement"]; ok {
		if x, ok := p.float(v, "retrain.min_improvement"); ok && x < 0 {
			p.errorf(v, "retrain.min_improvement", "%v: want a number >= 0", x)
		} else {
			r.Policy.MinImprovement = x
		}
	}
	if v, ok := f["min_relative_improvement"]; ok {
		if x, ok := p.float(v, "retrain.min_relative_improvement"); ok && x < 0 {
			p.errorf(v, "retrain.min_relative_improvement", "%v: want a fraction >= 0, e.g. 0.01 for 1%%", x)
		} else {
			r.Policy.MinRelativeImprovement = x
		}
	}
	if v, ok := f["confirm"]; ok {
		c := p.fields(v, "retrain.confirm", "repeats", "level", "analysis")
		if rv, ok := c["repeats"]; ok {
			k, ok := p.int(rv, "retrain.confirm.repeats", 2)
			if ok {
				r.Policy.Repeats = int(k)
			}
		}
		if lv, ok := c["level"]; ok {
			if x, ok := p.float(lv, "retrain.confirm.level"); ok {
				if x <= 0.5 || x >= 1 {
					p.errorf(lv, "retrain.confirm.level", "%v: want a confidence level between 0.5 and 1, e.g. 0.95", x)
				}
				r.Policy.Level = x
			}
		}
		if av, ok := c["analysis"]; ok {
			switch a, _ := p.str(av, "retrain.confirm.analysis"); a {
			case retrain.AnalysisBoth, retrain.AnalysisPaired, retrain.AnalysisUnpaired:
				r.Policy.Analysis = a
			default:
				p.errorf(av, "retrain.confirm.analysis", "%q: want %s (the default: the larger of the paired and unpaired bounds), %s or %s",
					a, retrain.AnalysisBoth, retrain.AnalysisPaired, retrain.AnalysisUnpaired)
			}
		}
	}
	if v, ok := f["guardrails"]; ok {
		if v.Kind != yaml.MappingNode {
			p.errorf(v, "retrain.guardrails", "want a mapping of metric: {max_regression, direction}, got %s", describe(v))
		} else {
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, gv := v.Content[i], v.Content[i+1]
				field := "retrain.guardrails." + k.Value
				g := retrain.Guardrail{Metric: k.Value}
				gf := p.fields(gv, field, "max_regression", "direction")
				if mr, ok := gf["max_regression"]; !ok {
					p.errorf(gv, field+".max_regression", "missing: want the largest allowed regression as a fraction, e.g. 0.10")
				} else if x, ok := p.float(mr, field+".max_regression"); ok {
					if x < 0 {
						p.errorf(mr, field+".max_regression", "%v: want a fraction >= 0", x)
					}
					g.MaxRegression = x
				}
				if dv, ok := gf["direction"]; ok {
					if d, ok := p.str(dv, field+".direction"); ok {
						dir, err := retune.ParseDirection(d)
						if err != nil {
							p.errorf(dv, field+".direction", "%q: want minimize or maximize (the metric's good direction)", d)
						}
						g.Direction = dir
					}
				}
				r.Policy.Guardrails = append(r.Policy.Guardrails, g)
			}
		}
	}
	if v, ok := f["cooldown"]; ok {
		r.Policy.Cooldown, _ = p.duration(v, "retrain.cooldown")
	}
	if v, ok := f["decide"]; ok {
		switch d, _ := p.str(v, "retrain.decide"); d {
		case "end":
		case "each_best":
			r.EachBest = true
		default:
			p.errorf(v, "retrain.decide", "%q: want end (once, after the run) or each_best", d)
		}
	}
	return r
}

func (p *parser) schedule(n *yaml.Node) *Schedule {
	f := p.fields(n, "schedule", "every", "timezone")
	if f == nil {
		return nil
	}
	sc := &Schedule{Location: time.UTC}
	if v, ok := f["every"]; !ok {
		p.errorf(n, "schedule.every", "missing: want the period, e.g. 24h")
	} else if d, ok := p.duration(v, "schedule.every"); ok {
		if d == 0 {
			p.errorf(v, "schedule.every", "%s: want a period > 0, e.g. 24h", v.Value)
		}
		sc.Every = d
	}
	if v, ok := f["timezone"]; ok {
		if name, ok := p.str(v, "schedule.timezone"); ok {
			loc, err := time.LoadLocation(name)
			if err != nil || name == "" {
				p.errorf(v, "schedule.timezone", "%q is not a known time zone: want an IANA name such as UTC, Europe/Berlin or America/New_York", name)
			} else {
				sc.Location = loc
			}
		}
	}
	return sc
}
