package config

import (
	"time"

	"gopkg.in/yaml.v3"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain"
)

// The retrain and schedule sections of a study file.

func (p *parser) retrain(n *yaml.Node) *Retrain {
	f := p.fields(n, "retrain", "min_improvement", "min_relative_improvement", "confirm", "guardrails", "decide", "cooldown", "repeat_after")
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
	if v, ok := f["repeat_after"]; ok {
		r.Policy.RepeatAfter, _ = p.duration(v, "retrain.repeat_after")
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
