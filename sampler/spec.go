// Package sampler builds any of retune's samplers from its retune.Spec: the form each
// sampler's Spec method writes and the study stores, and the form of a study file's
// sampler section. FromSpec(s.Spec()) gives a sampler that proposes what s proposes.
//
// The samplers themselves are the subpackages (tpe, gp, cmaes, nsga2, qmc, grid, random,
// auto); this package is their one registry, so that a caller that only has a stored spec
// (a server, an agent, the study-file parser) need not import each.
package sampler

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/specopt"
	"github.com/a6b40afc/retune/sampler/auto"
	"github.com/a6b40afc/retune/sampler/cmaes"
	"github.com/a6b40afc/retune/sampler/gp"
	"github.com/a6b40afc/retune/sampler/grid"
	"github.com/a6b40afc/retune/sampler/nsga2"
	"github.com/a6b40afc/retune/sampler/qmc"
	"github.com/a6b40afc/retune/sampler/random"
	"github.com/a6b40afc/retune/sampler/tpe"
)

// entry is one sampler: its documentation table and its constructor.
type entry struct {
	specopt.Plugin
	build func(r *specopt.Reader) retune.Sampler
}

var registry = []entry{
	{specopt.Plugin{Name: "tpe", Doc: "Tree-structured Parzen Estimator: models good and bad trials apart", Options: []specopt.Option{
		specopt.Opt("startup_trials", "10", "COMPLETE or PRUNED trials drawn uniformly before the model is used (0: none)"),
		specopt.Opt("candidates", "24", "points drawn from the good density and scored per proposal"),
		specopt.Opt("multivariate", "false", "model the params jointly (interactions), not one at a time"),
		specopt.Opt("group", "false", "model each group of params that appear together jointly (conditional spaces); implies multivariate"),
		specopt.Opt("constant_liar", "false", "count running trials as bad observations, so parallel workers spread out"),
		specopt.Opt("prior_weight", "1", "weight of the prior kernel against one observation"),
		specopt.Opt("gamma", "-", "\"custom\" in the spec of a sampler built with a GammaFunc; cannot be rebuilt"),
		specopt.Opt("weights", "-", "\"custom\" in the spec of a sampler built with a WeightFunc; cannot be rebuilt"),
	}}, func(r *specopt.Reader) retune.Sampler {
		var o tpe.Options
		if specopt.Int(r, "startup_trials", &o.StartupTrials, -1) && o.StartupTrials == 0 {
			o.StartupTrials = -1 // the spec holds the number in effect: 0 is none
		}
		specopt.Int(r, "candidates", &o.Candidates, 1)
		r.Bool("multivariate", &o.Multivariate)
		r.Bool("group", &o.Group)
		r.Bool("constant_liar", &o.ConstantLiar)
		if r.Float("prior_weight", &o.PriorWeight) && o.PriorWeight <= 0 {
			r.Fail("option prior_weight %v: want a number > 0", o.PriorWeight)
		}
		for _, k := range []string{"gamma", "weights"} {
			if v, ok := r.Raw(k); ok {
				r.Fail("option %s is %v: a sampler built with a custom function cannot be rebuilt from its spec; build it in Go", k, v)
			}
		}
		return tpe.New(o)
	}},
	{specopt.Plugin{Name: "auto", Doc: "chooses GP, TPE, CMA-ES or NSGA-II by the study's shape and size, recording its choice on each trial (the study file's default)", Options: []specopt.Option{
		specopt.Opt("gp_trials", "200", "COMPLETE trials after which a single-objective study leaves the GP, also one that won the race of rules 5 and later (-1: never)"),
		specopt.Opt("numeric_gp_trials", "100 if gp_trials is left out, else gp_trials; rules 4 and later", "gp_trials for a study of float and int params only, without constraints, which then goes on with CMA-ES (-1: never)"),
		specopt.Opt("nsga2_trials", "250", "COMPLETE trials after which a study with several objectives leaves TPE for NSGA-II (-1: never)"),
		specopt.Opt("rules", fmt.Sprintf("%d in a study file; 1 in a stored spec, which predates versions if it has none", auto.LatestRules), fmt.Sprintf("version of the rules, 1 to %d, so that a resumed study keeps its rules", auto.LatestRules)),
	}}, func(r *specopt.Reader) retune.Sampler {
		o := auto.Options{Rules: 1}
		for _, k := range []struct {
			name string
			dst  *int
		}{{"gp_trials", &o.GPTrials}, {"numeric_gp_trials", &o.NumericGPTrials}, {"nsga2_trials", &o.NSGA2Trials}} {
			if specopt.Int(r, k.name, k.dst, -1) && *k.dst == 0 {
				r.Fail("option %s 0: want a whole number >= 1, or -1 for never", k.name)
			}
		}
		if specopt.Int(r, "rules", &o.Rules, 1) && o.Rules > auto.LatestRules {
			r.Fail("option rules %d: want 1 to %d", o.Rules, auto.LatestRules)
		}
		if o.NumericGPTrials != 0 && o.Rules < 4 {
			r.Fail("option numeric_gp_trials needs rules 4 or later (rules %d)", o.Rules)
		}
		return auto.New(o)
	}},
	{specopt.Plugin{Name: "gp", Doc: "Gaussian-process Bayesian optimization (Matérn-5/2 kernel, log expected improvement); one objective", Options: []specopt.Option{
		specopt.Opt("startup_trials", "10", "usable COMPLETE trials drawn quasi-randomly before the GP is used (at least 1)"),
		specopt.Opt("candidates", "2048", "quasi-random points scored per proposal"),
		specopt.Opt("local_searches", "4", "best candidates refined by local search (0: the default)"),
		specopt.Opt("deterministic_objective", "false", "fix the noise at its minimum, for objectives without noise"),
		specopt.Opt("trust_region", "false", "propose inside a box around the best trial that grows on success and shrinks on failure (TuRBO-1)"),
	}}, func(r *specopt.Reader) retune.Sampler {
		var o gp.Options
		specopt.Int(r, "startup_trials", &o.StartupTrials, 1)
		specopt.Int(r, "candidates", &o.Candidates, 1)
		specopt.Int(r, "local_searches", &o.LocalSearches, 0)
		r.Bool("deterministic_objective", &o.DeterministicObjective)
		r.Bool("trust_region", &o.TrustRegion)
		return gp.New(o)
	}},
	{specopt.Plugin{Name: "cmaes", Doc: "CMA-ES, with IPOP/BIPOP restarts, an integer margin, a separable variant and warm start", Options: []specopt.Option{
		specopt.Opt("popsize", "4+3ln(n)", "population size λ (0: the default)"),
		specopt.Opt("sigma0", "1/6", "initial step size in the unit cube"),
		specopt.Opt("restart", "none", "restart strategy: none, ipop or bipop"),
		specopt.Opt("popsize_factor", "2", "population growth at each IPOP (BIPOP large) restart"),
		specopt.Opt("separable", "false", "diagonal covariance (sep-CMA-ES)"),
		specopt.Opt("margin", "1/(n·λ)", "least probability of leaving an int's nearest value (0: the default; negative: plain rounding)"),
		specopt.Opt("warm_start", "false", "start from the study's best COMPLETE trials when there are 10"),
		specopt.Opt("warm_start_gamma", "0.1", "fraction of the best trials a warm start uses"),
		specopt.Opt("warm_start_alpha", "0.1", "prior spread a warm start adds"),
	}}, func(r *specopt.Reader) retune.Sampler {
		var o cmaes.SamplerOptions
		specopt.Int(r, "popsize", &o.PopSize, 0)
		if r.Float("sigma0", &o.Sigma0) && o.Sigma0 <= 0 {
			r.Fail("option sigma0 %v: want a number > 0", o.Sigma0)
		}
		var restart string
		if r.String("restart", &restart, "none", "ipop", "bipop", "") && restart != "none" {
			o.Restart = restart
		}
		if r.Float("popsize_factor", &o.PopSizeFactor) && o.PopSizeFactor <= 1 {
			r.Fail("option popsize_factor %v: want a number > 1", o.PopSizeFactor)
		}
		r.Bool("separable", &o.Separable)
		r.Float("margin", &o.Margin)
		r.Bool("warm_start", &o.WarmStart)
		if r.Float("warm_start_gamma", &o.WarmStartGamma) && (o.WarmStartGamma <= 0 || o.WarmStartGamma > 1) {
			r.Fail("option warm_start_gamma %v: want a fraction in (0, 1]", o.WarmStartGamma)
		}
		if r.Float("warm_start_alpha", &o.WarmStartAlpha) && o.WarmStartAlpha <= 0 {
			r.Fail("option warm_start_alpha %v: want a number > 0", o.WarmStartAlpha)
		}
		return cmaes.New(o)
	}},
	{specopt.Plugin{Name: "nsga2", Doc: "NSGA-II (optionally NSGA-III's reference points for 3+ objectives), for several objectives", Options: []specopt.Option{
		specopt.Opt("population_size", "50", "trials per generation (at least 2)"),
		specopt.Opt("crossover", "uniform", "operator for numeric params: uniform or sbx"),
		specopt.Opt("crossover_prob", "0.9", "probability a child is bred from two parents (0: never)"),
		specopt.Opt("swapping_prob", "0.5", "probability crossover acts on a param (0: never)"),
		specopt.Opt("crossover_eta", "20", "SBX distribution index"),
		specopt.Opt("mutation", "polynomial", "operator for numeric params: polynomial or uniform"),
		specopt.Opt("mutation_prob", "1/n", "probability each param of a child mutates: \"1/n\" or a number (0: never)"),
		specopt.Opt("mutation_eta", "20", "polynomial mutation's distribution index"),
		specopt.Opt("divisions", "fit to population", "NSGA-III divisions per objective axis (0: the default)"),
		specopt.Opt("selection", "crowding in a study file; reference in a stored spec, which predates the option if it has none", "with 3+ objectives: crowding (NSGA-II) or reference (NSGA-III), so that a resumed study keeps its selection"),
	}}, func(r *specopt.Reader) retune.Sampler {
		o := nsga2.Options{Selection: nsga2.Reference}
		var sel string
		if r.String("selection", &sel, string(nsga2.Crowding), string(nsga2.Reference)) {
			o.Selection = nsga2.Selection(sel)
		}
		specopt.Int(r, "population_size", &o.PopulationSize, 2)
		var c, m string
		if r.String("crossover", &c, string(nsga2.SBX), string(nsga2.Uniform)) {
			o.Crossover = nsga2.Crossover(c)
		}
		if r.String("mutation", &m, string(nsga2.Polynomial), string(nsga2.Resample)) {
			o.Mutation = nsga2.Mutation(m)
		}
		prob := func(key string, dst *float64) {
			if r.Float(key, dst) {
				switch {
				case *dst < 0 || *dst > 1:
					r.Fail("option %s %v: want a probability in [0, 1]", key, *dst)
				case *dst == 0:
					*dst = -1 // the spec holds the probability in effect: 0 is never
				}
			}
		}
		prob("crossover_prob", &o.CrossoverProb)
		prob("swapping_prob", &o.SwappingProb)
		if v, ok := r.Raw("mutation_prob"); ok && v != "1/n" {
			prob("mutation_prob", &o.MutationProb)
		}
		for _, k := range []struct {
			name string
			dst  *float64
		}{{"crossover_eta", &o.CrossoverEta}, {"mutation_eta", &o.MutationEta}} {
			if r.Float(k.name, k.dst) && *k.dst <= 0 {
				r.Fail("option %s %v: want a number > 0", k.name, *k.dst)
			}
		}
		specopt.Int(r, "divisions", &o.Divisions, 0)
		return nsga2.New(o)
	}},
	{specopt.Plugin{Name: "qmc", Doc: "quasi-random points: scrambled Sobol or Halton sequences", Options: []specopt.Option{
		specopt.Opt("type", "sobol", "sobol or halton"),
		specopt.Opt("scramble", "true", "scramble the sequence (false: every seed gives the same points)"),
	}}, func(r *specopt.Reader) retune.Sampler {
		var o qmc.Options
		r.String("type", &o.Type, "sobol", "halton")
		scramble := true
		r.Bool("scramble", &scramble)
		o.Unscrambled = !scramble
		return qmc.New(o)
	}},
	{specopt.Plugin{Name: "random", Doc: "uniform random search"}, func(*specopt.Reader) retune.Sampler { return random.New() }},
	{specopt.Plugin{Name: "grid", Doc: "every combination of the params' values once, across all workers (the default when every param lists values)", Options: []specopt.Option{
		specopt.Opt("values", "the params' values", "each param's values; a study file gives them as values: in params"),
	}}, func(r *specopt.Reader) retune.Sampler {
		v, _ := r.Raw("values")
		values, err := gridValues(v)
		if err != nil {
			r.Fail("option values: %v", err)
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(values)) {
			if err := (retune.CategoricalDistribution{Choices: values[k]}).Validate(); err != nil {
				r.Fail("option values: param %q: %v", k, err)
				return nil
			}
		}
		return grid.New(values)
	}},
}

func init() {
	for i := range registry {
		registry[i].Kind = "sampler"
	}
}

// gridValues reads a grid's values as its Spec writes them, or as JSON decodes them.
func gridValues(v any) (map[string][]any, error) {
	switch m := v.(type) {
	case map[string][]any:
		return m, nil
	case map[string]any:
		out := make(map[string][]any, len(m))
		for k, vs := range m {
			l, ok := vs.([]any)
			if !ok {
				return nil, fmt.Errorf("param %q has %v: want a list of values", k, vs)
			}
			out[k] = l
		}
		return out, nil
	case nil:
		return nil, fmt.Errorf("missing: want each param's list of values")
	}
	return nil, fmt.Errorf("%v (%T): want a mapping of param name to its list of values", v, v)
}

// Names returns the names FromSpec accepts, in the order of Plugins.
func Names() []string {
	out := make([]string, len(registry))
	for i, e := range registry {
		out[i] = e.Name
	}
	return out
}

// Plugins describes every sampler and its options, for help texts.
func Plugins() []specopt.Plugin {
	out := make([]specopt.Plugin, len(registry))
	for i, e := range registry {
		out[i] = e.Plugin
	}
	return out
}

// FromSpec builds the sampler s names with its options. Options left out take their
// defaults; numbers in a spec are the values in effect (so a tpe's startup_trials 0 means
// none). An unknown name or option, or a value out of range, is an error wrapping
// retune.ErrInvalid that names what would be valid.
func FromSpec(s retune.Spec) (smp retune.Sampler, err error) {
	i := slices.IndexFunc(registry, func(e entry) bool { return e.Name == s.Name })
	if i < 0 {
		return nil, fmt.Errorf("%w: unknown sampler %q: want one of %s", retune.ErrInvalid, s.Name, strings.Join(Names(), ", "))
	}
	e := registry[i]
	r := specopt.NewReader(e.Plugin, s.Options)
	// A constructor panics on options the reader let through (a grid with a duplicate
	// value, say): that is bad input here, not a bug.
	defer func() {
		if p := recover(); p != nil {
			if err = r.Err(); err == nil {
				err = fmt.Errorf("%w: sampler %q: %v", retune.ErrInvalid, s.Name, p)
			}
			smp = nil
		}
	}()
	smp = e.build(r)
	if err := r.Err(); err != nil {
		return nil, err
	}
	return smp, nil
}
