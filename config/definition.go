package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/a6b40afc/retune"
)

// DefinitionVersion is the version of the definition format Definition writes.
const DefinitionVersion = 1

// localKeys are the study file's keys that stay on the machine that runs the trials: they
// are not part of a definition, and a definition that has them is refused.
var localKeys = []string{"command", "dir", "env", "secret_env", "storage", "log_dir", "notifiers", "notify"}

// Definition returns the study's definition: the study file in JSON form without its
// local keys (command, dir, env, secret_env, storage, log_dir, notifiers, notify), with
// "version" first, the seed given, the sampler and pruner as the specs in effect (their
// defaults spelled out, so a later change of a default never changes a stored study), and
// the params in file order. ParseDefinition reads it back into a Study that builds the
// same sampler and pruner and asks the same params.
func (s *Study) Definition(seed uint64) (json.RawMessage, error) {
	smp, err := s.Sampler()
	if err != nil {
		return nil, err
	}
	pr, err := s.Pruner()
	if err != nil {
		return nil, err
	}
	d := object{{"version", DefinitionVersion}, {"name", s.Name}, {"model", s.Model}}
	objs := make([]object, len(s.Objectives))
	for i, o := range s.Objectives {
		objs[i] = object{{"metric", o.Metric}, {"direction", o.Direction.String()}}
	}
	if s.StepKeys != nil {
		d = append(d, member{"step_key", s.StepKeys})
	}
	d = append(d, member{"objectives", objs})
	if len(s.Constraints) > 0 {
		cs := make([]object, len(s.Constraints))
		for i, c := range s.Constraints {
			cs[i] = object{{"metric", c.Metric}}
			if c.Max != nil {
				cs[i] = append(cs[i], member{"max", jfloat(*c.Max)})
			}
			if c.Min != nil {
				cs[i] = append(cs[i], member{"min", jfloat(*c.Min)})
			}
		}
		d = append(d, member{"constraints", cs})
	}
	params := object{}
	for _, p := range s.Params {
		params = append(params, member{p.Name, paramObject(p)})
	}
	d = append(d, member{"params", params})
	if seed > 1<<53 { // beyond what JSON readers keep exact
		d = append(d, member{"seed", strconv.FormatUint(seed, 10)})
	} else {
		d = append(d, member{"seed", seed})
	}
	sp := retune.SpecOf(smp)
	if sp.Name == "grid" {
		sp.Options = nil // the values are the params'
	}
	d = append(d, member{"sampler", specObject(sp)})
	if pr != nil {
		d = append(d, member{"pruner", specObject(retune.SpecOf(pr))})
	}
	d = append(d, member{"budget", budgetObject(s.Budget)})
	if s.Retrain != nil {
		d = append(d, member{"retrain", retrainObject(s.Retrain)})
	}
	if s.Schedule != nil {
		d = append(d, member{"schedule", object{{"every", s.Schedule.Every.String()}, {"timezone", s.Schedule.Location.String()}}})
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("study %q: definition: %w", s.Name, err)
	}
	return b, nil
}

// ParseDefinition parses a study definition (see Definition): the study file's form in
// JSON or YAML, without the local keys, with an optional "version" that must be one this
// package reads. path names it in errors. The Study has no command.
func ParseDefinition(path string, data []byte) (*Study, error) {
	return parse(path, data, true)
}

func paramObject(p Param) object {
	o := paramRange(object{{"type", p.Type}}, p)
	if len(p.When) > 0 {
		w := object{}
		for _, c := range p.When {
			vals := make([]any, len(c.Values))
			for i, v := range c.Values {
				vals[i] = number(v)
			}
			w = append(w, member{c.Param, vals})
		}
		o = append(o, member{"when", w})
	}
	if p.Absent != nil {
		o = append(o, member{"absent", *p.Absent})
	}
	return o
}

func paramRange(o object, p Param) object {
	if p.Dist == nil {
		vals := make([]any, len(p.Values))
		for i, v := range p.Values {
			vals[i] = number(v)
		}
		return append(o, member{"values", vals})
	}
	switch d := p.Dist.(type) {
	case retune.FloatDistribution:
		o = append(o, member{"low", jfloat(d.Low)}, member{"high", jfloat(d.High)})
		if d.Log {
			o = append(o, member{"log", true})
		}
		if d.Step > 0 {
			o = append(o, member{"step", jfloat(d.Step)})
		}
	case retune.IntDistribution:
		o = append(o, member{"low", d.Low}, member{"high", d.High})
		if d.Log {
			o = append(o, member{"log", true})
		}
		if d.Step > 1 {
			o = append(o, member{"step", d.Step})
		}
	case retune.CategoricalDistribution:
		choices := make([]any, len(d.Choices))
		for i, c := range d.Choices {
			choices[i] = number(c)
		}
		o = append(o, member{"choices", choices})
	}
	return o
}

// number keeps a float64 a float when it is read back (1.0, not 1).
func number(v any) any {
	if f, ok := v.(float64); ok {
		return jfloat(f)
	}
	return v
}

func specObject(sp retune.Spec) object {
	o := object{{"name", sp.Name}}
	for _, k := range slices.Sorted(maps.Keys(sp.Options)) {
		o = append(o, member{k, sp.Options[k]})
	}
	return o
}

func budgetObject(b Budget) object {
	o := object{}
	if b.Trials > 0 {
		o = append(o, member{"trials", b.Trials})
	}
	if b.Timeout > 0 {
		o = append(o, member{"timeout", b.Timeout.String()})
	}
	o = append(o, member{"parallel", b.Parallel})
	if b.TrialTimeout > 0 {
		o = append(o, member{"trial_timeout", b.TrialTimeout.String()})
	}
	if b.Retries > 0 {
		o = append(o, member{"retries", b.Retries})
	}
	return o
}

func retrainObject(r *Retrain) object {
	p := r.Policy
	o := object{}
	if p.MinImprovement > 0 {
		o = append(o, member{"min_improvement", jfloat(p.MinImprovement)})
	}
	if p.MinRelativeImprovement > 0 {
		o = append(o, member{"min_relative_improvement", jfloat(p.MinRelativeImprovement)})
	}
	if p.Repeats > 0 {
		c := object{{"repeats", p.Repeats}}
		if p.Level > 0 {
			c = append(c, member{"level", jfloat(p.Level)})
		}
		if p.Analysis != "" {
			c = append(c, member{"analysis", p.Analysis})
		}
		o = append(o, member{"confirm", c})
	}
	if len(p.Guardrails) > 0 {
		g := object{}
		for _, gr := range p.Guardrails {
			g = append(g, member{gr.Metric, object{{"max_regression", jfloat(gr.MaxRegression)}, {"direction", gr.Direction.String()}}})
		}
		o = append(o, member{"guardrails", g})
	}
	if p.Cooldown > 0 {
		o = append(o, member{"cooldown", p.Cooldown.String()})
	}
	if p.RepeatAfter > 0 {
		o = append(o, member{"repeat_after", p.RepeatAfter.String()})
	}
	if r.EachBest {
		o = append(o, member{"decide", "each_best"})
	}
	return o
}

// object is a JSON object whose members keep their order.
type object []member

type member struct {
	key   string
	value any
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// jfloat is a float that JSON writes with a decimal point or an exponent, so that YAML
// reads it back as a float.
type jfloat float64

func (f jfloat) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil, fmt.Errorf("%v is not a finite number", x)
	}
	s := strconv.FormatFloat(x, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return []byte(s), nil
}
