package config

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
	"github.com/a6b40afc/retune/sampler/auto"
	"github.com/a6b40afc/retune/sampler/cmaes"
	"github.com/a6b40afc/retune/sampler/gp"
	"github.com/a6b40afc/retune/sampler/grid"
	"github.com/a6b40afc/retune/sampler/nsga2"
	"github.com/a6b40afc/retune/sampler/qmc"
	"github.com/a6b40afc/retune/sampler/random"
	"github.com/a6b40afc/retune/sampler/tpe"
)

// DefaultSampler is the sampler of a study file that names none (and is not a grid).
// (The library's Config default stays uniform random: the root package cannot import TPE.)
const DefaultSampler = "tpe"

// samplerMakers builds samplers by name; options are checked by each maker.
var samplerMakers = map[string]func(s *Study, opts map[string]any) (retune.Sampler, error){
	"random": func(_ *Study, opts map[string]any) (retune.Sampler, error) {
		return random.New(), noOptions(opts)
	},
	"tpe": func(_ *Study, opts map[string]any) (retune.Sampler, error) {
		var o tpe.Options
		for k, v := range opts {
			var err error
			switch k {
			case "startup_trials":
				o.StartupTrials, err = intOption(k, v, -1)
			case "candidates":
				o.Candidates, err = intOption(k, v, 1)
			case "multivariate":
				o.Multivariate, err = boolOption(k, v)
			case "group":
				o.Group, err = boolOption(k, v)
			case "constant_liar":
				o.ConstantLiar, err = boolOption(k, v)
			case "prior_weight":
				f, ok := v.(float64)
				if i, isInt := v.(int); isInt {
					f, ok = float64(i), true
				}
				if !ok || f <= 0 {
					err = fmt.Errorf("option prior_weight %v: want a number > 0", v)
				}
				o.PriorWeight = f
			default:
				err = fmt.Errorf("unknown option %s: valid options are startup_trials, candidates, multivariate, group, constant_liar, prior_weight", k)
			}
			if err != nil {
				return nil, err
			}
		}
		return tpe.New(o), nil
	},
	"qmc": func(_ *Study, opts map[string]any) (retune.Sampler, error) {
		var o qmc.Options
		for k, v := range opts {
			switch k {
			case "type":
				t, ok := v.(string)
				if !ok || t != "sobol" && t != "halton" {
					return nil, fmt.Errorf("option type %v: want sobol or halton", v)
				}
				o.Type = t
			case "scramble":
				b, ok := v.(bool)
				if !ok {
					return nil, fmt.Errorf("option scramble %v: want true or false", v)
				}
				o.Unscrambled = !b
			default:
				return nil, fmt.Errorf("unknown option %s: valid options are type, scramble", k)
			}
		}
		return qmc.New(o), nil
	},
	"auto": func(_ *Study, opts map[string]any) (retune.Sampler, error) {
		var o auto.Options
		for k, v := range opts {
			var err error
			switch k {
			case "gp_trials":
				o.GPTrials, err = intOption(k, v, -1)
			case "nsga2_trials":
				o.NSGA2Trials, err = intOption(k, v, -1)
			default:
				err = fmt.Errorf("unknown option %s: valid options are gp_trials, nsga2_trials", k)
			}
			if err != nil {
				return nil, err
			}
		}
		return auto.New(o), nil
	},
	"gp": func(_ *Study, opts map[string]any) (retune.Sampler, error) {
		var o gp.Options
		for k, v := range opts {
			var err error
			switch k {
			case "startup_trials":
				o.StartupTrials, err = intOption(k, v, 1)
			case "candidates":
				o.Candidates, err = intOption(k, v, 1)
			case "local_searches":
				o.LocalSearches, err = intOption(k, v, 0)
			case "deterministic_objective":
				o.DeterministicObjective, err = boolOption(k, v)
			default:
				err = fmt.Errorf("unknown option %s: valid options are startup_trials, candidates, local_searches, deterministic_objective", k)
			}
			if err != nil {
				return nil, err
			}
		}
		return gp.New(o), nil
	},
	"cmaes": func(_ *Study, opts map[string]any) (retune.Sampler, error) {
		var o cmaes.SamplerOptions
		for k, v := range opts {
			var err error
			switch k {
			case "popsize":
				o.PopSize, err = intOption(k, v, 2)
			case "sigma0":
				o.Sigma0, err = floatOption(k, v)
			case "restart":
				r, ok := v.(string)
				if !ok || r != "none" && r != "ipop" && r != "bipop" {
					err = fmt.Errorf("option restart %v: want none, ipop or bipop", v)
				} else if r != "none" {
					o.Restart = r
				}
			case "separable":
				o.Separable, err = boolOption(k, v)
			case "warm_start":
				o.WarmStart, err = boolOption(k, v)
			default:
				err = fmt.Errorf("unknown option %s: valid options are popsize, sigma0, restart, separable, warm_start", k)
			}
			if err != nil {
				return nil, err
			}
		}
		return cmaes.New(o), nil
	},
	"nsga2": func(_ *Study, opts map[string]any) (retune.Sampler, error) {
		var o nsga2.Options
		for k, v := range opts {
			var err error
			switch k {
			case "population_size":
				o.PopulationSize, err = intOption(k, v, 4)
			case "crossover":
				c, ok := v.(string)
				if !ok || c != string(nsga2.SBX) && c != string(nsga2.Uniform) {
					err = fmt.Errorf("option crossover %v: want sbx or uniform", v)
				}
				o.Crossover = nsga2.Crossover(c)
			case "mutation_prob":
				o.MutationProb, err = floatOption(k, v)
				if err == nil && (o.MutationProb <= 0 || o.MutationProb > 1) {
					err = fmt.Errorf("option mutation_prob %v: want a probability in (0, 1]", v)
				}
			default:
				err = fmt.Errorf("unknown option %s: valid options are population_size, crossover, mutation_prob", k)
			}
			if err != nil {
				return nil, err
			}
		}
		return nsga2.New(o), nil
	},
	"grid": func(s *Study, opts map[string]any) (retune.Sampler, error) {
		if err := noOptions(opts); err != nil {
			return nil, err
		}
		values := make(map[string][]any, len(s.Params))
		for _, p := range s.Params {
			values[p.Name] = p.Values
		}
		return grid.New(values), nil
	},
}

func intOption(name string, v any, min int) (int, error) {
	i, ok := v.(int)
	if !ok || i < min {
		return 0, fmt.Errorf("option %s %v: want a whole number >= %d", name, v, min)
	}
	return i, nil
}

func floatOption(name string, v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		if x > 0 && !math.IsInf(x, 1) {
			return x, nil
		}
	case int:
		if x > 0 {
			return float64(x), nil
		}
	}
	return 0, fmt.Errorf("option %s %v: want a finite number > 0", name, v)
}

func boolOption(name string, v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("option %s %v: want true or false", name, v)
	}
	return b, nil
}

func noOptions(opts map[string]any) error {
	if len(opts) == 0 {
		return nil
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return fmt.Errorf("unknown option %s: this one takes no options", strings.Join(keys, ", "))
}

func names[V any](m map[string]V) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Sampler builds the study's sampler.
func (s *Study) Sampler() (retune.Sampler, error) {
	name := s.SamplerSpec.Name
	if name == "" {
		name = DefaultSampler
	}
	mk, ok := samplerMakers[name]
	if !ok {
		return nil, &Error{File: s.Path, Field: "sampler.name", Msg: fmt.Sprintf("%q: want one of %s", name, names(samplerMakers))}
	}
	smp, err := makeSampler(mk, s)
	if err != nil {
		return nil, &Error{File: s.Path, Field: "sampler", Msg: err.Error()}
	}
	return smp, nil
}

// makeSampler runs a maker, turning the panic a sampler's constructor raises on options
// the maker let through (a population beyond the sampler's limit, say) into an error.
func makeSampler(mk func(*Study, map[string]any) (retune.Sampler, error), s *Study) (smp retune.Sampler, err error) {
	defer func() {
		if r := recover(); r != nil {
			smp, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return mk(s, s.SamplerSpec.Options)
}

// Pruner builds the study's pruner (nil for none): any pruner package pruner by its spec
// name (median, percentile, asha, hyperband, threshold, patience, wilcoxon) and options.
func (s *Study) Pruner() (retune.Pruner, error) {
	if s.PrunerSpec.Name == "" || s.PrunerSpec.Name == "none" {
		return nil, nil
	}
	pr, err := pruner.FromSpec(retune.Spec{Name: s.PrunerSpec.Name, Options: s.PrunerSpec.Options})
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), retune.ErrInvalid.Error()+": ")
		return nil, &Error{File: s.Path, Field: "pruner", Msg: strings.TrimPrefix(msg, "pruner: ")}
	}
	return pr, nil
}

// Directions returns the objectives' directions.
func (s *Study) Directions() []retune.Direction {
	out := make([]retune.Direction, len(s.Objectives))
	for i, o := range s.Objectives {
		out[i] = o.Direction
	}
	return out
}

// Metrics returns the objectives' metric names.
func (s *Study) Metrics() []string {
	out := make([]string, len(s.Objectives))
	for i, o := range s.Objectives {
		out[i] = o.Metric
	}
	return out
}

// Distribution is the distribution a param is asked with: its own, or for a grid param
// the range (or choices) its values span.
func (p Param) Distribution() retune.Distribution {
	if p.Dist != nil {
		return p.Dist
	}
	switch p.Type {
	case "int": // the parser made every value an int64
		lo, hi := p.Values[0].(int64), p.Values[0].(int64)
		for _, v := range p.Values {
			lo, hi = min(lo, v.(int64)), max(hi, v.(int64))
		}
		return retune.IntDistribution{Low: lo, High: hi}
	case "float": // … and every value a float64
		lo, hi := p.Values[0].(float64), p.Values[0].(float64)
		for _, v := range p.Values {
			lo, hi = min(lo, v.(float64)), max(hi, v.(float64))
		}
		return retune.FloatDistribution{Low: lo, High: hi}
	}
	return retune.CategoricalDistribution{Choices: slices.Clone(p.Values)}
}

// Suggest asks t for every param, in file order, and returns the values by name.
func (s *Study) Suggest(t *retune.Trial) map[string]any {
	out := make(map[string]any, len(s.Params))
	for _, p := range s.Params {
		switch d := p.Distribution().(type) {
		case retune.FloatDistribution:
			opts := []retune.ParamOption{}
			if d.Log {
				opts = append(opts, retune.Log)
			}
			if d.Step > 0 {
				opts = append(opts, retune.Step(d.Step))
			}
			out[p.Name] = t.Float(p.Name, d.Low, d.High, opts...)
		case retune.IntDistribution:
			opts := []retune.ParamOption{}
			if d.Log {
				opts = append(opts, retune.Log)
			}
			if d.Step > 1 {
				opts = append(opts, retune.Step(float64(d.Step)))
			}
			out[p.Name] = t.Int(p.Name, d.Low, d.High, opts...)
		case retune.CategoricalDistribution:
			out[p.Name] = retune.Choice(t, p.Name, d.Choices...)
		}
	}
	return out
}

// NewStudy opens the study the file describes in store (creating or resuming it).
// replace allows a changed sampler or pruner on resume (seed and model never change).
func (s *Study) NewStudy(ctx context.Context, store retune.Storage, replace bool) (*retune.Study, error) {
	smp, err := s.Sampler()
	if err != nil {
		return nil, err
	}
	pr, err := s.Pruner()
	if err != nil {
		return nil, err
	}
	return retune.NewStudy(ctx, retune.Config{
		Name: s.Name, Directions: s.Directions(), Metrics: s.Metrics(), Model: s.Model,
		Sampler: smp, Pruner: pr, Storage: store, Seed: s.Seed, Replace: replace,
		Budget: retune.Budget{Trials: s.Budget.Trials, Retries: s.Budget.Retries},
	})
}
