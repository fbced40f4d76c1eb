package config

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/runner"
)

// The objectives and params of a study file, the sampler and pruner specs, and the checks
// across them (grids, placeholders).

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
			steps := s.StepKeys
			if steps == nil {
				steps = runner.DefaultStepKeys
			}
			if slices.Contains(steps, v) {
				p.errorf(m, field+".metric", "%q marks intermediate lines and cannot be an objective", v)
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
	if n.Kind == yaml.MappingNode && len(n.Content) == 0 && p.def {
		return // a definition without declared params: its clients suggest each (define-by-run)
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
		if prm, ok := p.param(k.Value, v, field); ok {
			prm.When = p.when(v, field, s.Params)
			s.Params = append(s.Params, prm)
		}
	}
}

// when reads a param's when: {earlier_param: value or [values…], …}: each named param must
// come earlier in the file and be categorical or int (or a grid param), and each value one
// it can take.
func (p *parser) when(v *yaml.Node, field string, earlier []Param) []Condition {
	var n *yaml.Node
	for i := 0; i+1 < len(v.Content); i += 2 {
		if v.Content[i].Value == "when" {
			n = v.Content[i+1]
		}
	}
	if n == nil {
		return nil
	}
	field += ".when"
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		p.errorf(n, field, "want a mapping of an earlier param to the value (or list of values) it must have, got %s", describe(n))
		return nil
	}
	var out []Condition
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, vals := n.Content[i], n.Content[i+1]
		at := field + "." + k.Value
		j := slices.IndexFunc(earlier, func(e Param) bool { return e.Name == k.Value })
		if j < 0 {
			var names []string
			for _, e := range earlier {
				names = append(names, e.Name)
			}
			p.errorf(k, at, "%q is not an earlier param: a condition names a param defined above this one (%s)", k.Value, orNone(names))
			continue
		}
		ref := earlier[j]
		if ref.Type == "float" && ref.Dist != nil {
			p.errorf(k, at, "%q is a float param: a condition names a categorical or int param", k.Value)
			continue
		}
		c := Condition{Param: k.Value}
		items := []*yaml.Node{vals}
		if vals.Kind == yaml.SequenceNode {
			items = vals.Content
		}
		for _, it := range items {
			x, ok := p.value(it, at)
			if !ok {
				continue
			}
			if iv, isInt := x.(int64); isInt && ref.Type == "float" {
				x = float64(iv)
			}
			if !ref.Distribution().Contains(x) {
				p.errorf(it, at, "%v is not a value %q can take (%v): the condition could never hold", x, k.Value, ref.Distribution())
				continue
			}
			c.Values = append(c.Values, x)
		}
		if len(c.Values) > 0 {
			out = append(out, c)
		}
	}
	return out
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "there is none"
	}
	return strings.Join(names, ", ")
}

// param reads one param's definition: a grid's values, a categorical's choices, or a
// numeric range.
func (p *parser) param(name string, v *yaml.Node, field string) (Param, bool) {
	pf := p.fields(v, field, "type", "low", "high", "log", "step", "choices", "values", "when", "absent")
	if pf == nil {
		return Param{}, false
	}
	prm := Param{Name: name}
	if a, ok := pf["absent"]; ok {
		if s, ok := p.str(a, field+".absent"); ok {
			prm.Absent = &s
		}
	}
	t, ok := pf["type"]
	if !ok {
		p.errorf(v, field+".type", "missing: want float, int or categorical")
		return prm, false
	}
	if prm.Type, _ = p.str(t, field+".type"); prm.Type != "float" && prm.Type != "int" && prm.Type != "categorical" {
		p.errorf(t, field+".type", "%q: want float, int or categorical", prm.Type)
		return prm, false
	}
	if vals, ok := pf["values"]; ok {
		return p.gridParam(prm, pf, vals, field)
	}
	if prm.Type == "categorical" {
		return p.categoricalParam(prm, pf, v, field)
	}
	return p.rangeParam(prm, pf, v, field)
}

// gridParam reads the values of a grid param.
func (p *parser) gridParam(prm Param, pf map[string]*yaml.Node, vals *yaml.Node, field string) (Param, bool) {
	for _, other := range []string{"low", "high", "log", "step", "choices"} {
		if o, has := pf[other]; has {
			p.errorf(o, field+"."+other, "cannot be used with values (a grid param lists its values)")
		}
	}
	if vals.Kind != yaml.SequenceNode || len(vals.Content) == 0 {
		p.errorf(vals, field+".values", "want a non-empty list, got %s", describe(vals))
		return prm, false
	}
	typ := prm.Type
	for j, c := range vals.Content {
		at := fmt.Sprintf("%s.values[%d]", field, j)
		x, ok := p.value(c, at)
		if !ok {
			continue
		}
		if (typ == "float" || typ == "int") && !isNumber(x) {
			p.errorf(c, at, "want a number for a %s param, got %s", typ, describe(c))
			continue
		}
		if fv, isF := x.(float64); isF && typ == "int" {
			p.errorf(c, at, "want a whole number for an int param, got %v", fv)
			continue
		}
		if iv, isI := x.(int64); isI && typ == "float" {
			x = float64(iv)
		}
		prm.Values = append(prm.Values, x)
	}
	if err := (retune.CategoricalDistribution{Choices: prm.Values}).Validate(); err != nil && len(prm.Values) == len(vals.Content) {
		p.errorf(vals, field+".values", "%v", unwrapInvalid(err))
	}
	return prm, true
}

// categoricalParam reads the choices of a categorical param.
func (p *parser) categoricalParam(prm Param, pf map[string]*yaml.Node, v *yaml.Node, field string) (Param, bool) {
	for _, other := range []string{"low", "high", "log", "step"} {
		if o, has := pf[other]; has {
			p.errorf(o, field+"."+other, "not valid for a categorical param: give choices")
		}
	}
	c, ok := pf["choices"]
	if !ok {
		p.errorf(v, field+".choices", "missing: want a list of choices")
		return prm, false
	}
	if c.Kind != yaml.SequenceNode {
		p.errorf(c, field+".choices", "want a list, got %s", describe(c))
		return prm, false
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
	return prm, true
}

// rangeParam reads the low, high, log and step of a float or int param.
func (p *parser) rangeParam(prm Param, pf map[string]*yaml.Node, v *yaml.Node, field string) (Param, bool) {
	if c, has := pf["choices"]; has {
		p.errorf(c, field+".choices", "only for categorical params: give low and high")
	}
	lo, okLo := pf["low"]
	hi, okHi := pf["high"]
	if !okLo || !okHi {
		p.errorf(v, field, "want low and high (or values for a grid)")
		return prm, false
	}
	log := false
	if l, ok := pf["log"]; ok {
		log, _ = p.bool(l, field+".log")
	}
	okStep := true
	var err error
	if prm.Type == "float" {
		d := retune.FloatDistribution{Log: log}
		var okLo, okHi bool
		d.Low, okLo = p.float(lo, field+".low")
		d.High, okHi = p.float(hi, field+".high")
		if st, has := pf["step"]; has {
			d.Step, okStep = p.float(st, field+".step")
		}
		if okLo && okHi && okStep {
			err = d.Validate()
		}
		prm.Dist = d
	} else {
		d := retune.IntDistribution{Log: log}
		var okLo, okHi bool
		d.Low, okLo = p.int(lo, field+".low", math.MinInt64)
		d.High, okHi = p.int(hi, field+".high", math.MinInt64)
		if st, has := pf["step"]; has {
			d.Step, okStep = p.int(st, field+".step", 1)
		}
		if okLo && okHi && okStep {
			err = d.Validate()
		}
		prm.Dist = d
	}
	if err != nil {
		p.errorf(v, field, "%v", unwrapInvalid(err))
	}
	return prm, true
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

// checkGrid: values lists are grid search, all or nothing. It says nothing when a param
// was refused already: whether that one lists values is unknown, so any verdict on the
// grid would be a guess.
func (p *parser) checkGrid(f map[string]*yaml.Node, s *Study) {
	if n := f["params"]; n != nil && n.Kind == yaml.MappingNode && len(s.Params) < len(n.Content)/2 {
		return
	}
	if s.Conditional() {
		switch name := cmp.Or(s.SamplerSpec.Name, DefaultSampler); name {
		case "grid", "cmaes", "gp", "nsga2":
			at := f["sampler"]
			if at == nil {
				at = f["params"]
			}
			p.errorf(at, "sampler", "%s models a fixed set of params and cannot take conditional params (when:): use tpe (best with group: true), auto, random or qmc", name)
			return
		}
	}
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
