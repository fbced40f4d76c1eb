package pruner

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/specopt"
)

// plugins documents every pruner's spec options: FromSpec reads exactly these, and
// `retune help pruners` prints them.
var plugins = []specopt.Plugin{
	{Kind: "pruner", Name: "median", Doc: "prunes a trial whose best value so far is worse than the median of completed trials at the same step", Options: percentileOptions},
	{Kind: "pruner", Name: "percentile", Doc: "median with another percentile: keeps a trial as good as the P-th percentile, counted from the best", Options: append([]specopt.Option{
		specopt.Opt("percentile", "25", "P in (0, 100]: 25 keeps about the best quarter"),
	}, percentileOptions...)},
	{Kind: "pruner", Name: "asha", Doc: "asynchronous successive halving: at each rung keeps the best 1/reduction_factor", Options: []specopt.Option{
		specopt.Opt("min_resource", "1", "step of the first rung, or \"auto\" (from the first finished trial's steps)"),
		specopt.Opt("reduction_factor", "4", "rung growth and the fraction kept (1/reduction_factor); at least 2"),
		specopt.Opt("min_early_stopping_rate", "0", "rungs skipped before the first"),
	}},
	{Kind: "pruner", Name: "hyperband", Doc: "Hyperband: several successive-halving brackets of different aggressiveness", Options: []specopt.Option{
		specopt.Opt("min_resource", "1", "step of the first rung of the most aggressive bracket"),
		specopt.Opt("max_resource", "auto", "step a trial that is never pruned reaches, or \"auto\" (the first finished trial's last step)"),
		specopt.Opt("reduction_factor", "3", "rung growth and the fraction kept; at least 2"),
	}},
	{Kind: "pruner", Name: "threshold", Doc: "prunes a trial whose value leaves [lower, upper], or is NaN", Options: []specopt.Option{
		specopt.Opt("lower", "none", "least allowed value"),
		specopt.Opt("upper", "none", "greatest allowed value"),
		specopt.Opt("objective", "0", "index of the objective checked"),
		specopt.Opt("warmup_steps", "0", "steps before any check"),
		specopt.Opt("interval_steps", "1", "check every this many steps"),
	}},
	{Kind: "pruner", Name: "patience", Doc: "prunes a trial that has not improved for patience steps (optionally only when a wrapped pruner agrees)", Options: []specopt.Option{
		specopt.Opt("patience", "1", "steps without improvement allowed"),
		specopt.Opt("min_delta", "0", "least change that counts as an improvement"),
		specopt.Opt("wrapped", "none", "a pruner spec {name, options} consulted for a stagnant trial"),
	}},
	{Kind: "pruner", Name: "wilcoxon", Doc: "prunes a trial significantly worse than the best trial at the steps both reported (Wilcoxon signed-rank test)", Options: []specopt.Option{
		specopt.Opt("level", "0.1", "significance level in (0, 1)"),
		specopt.Opt("startup_steps", "2", "steps before the test is applied (0: none)"),
	}},
	{Kind: "pruner", Name: "extrapolate", Doc: "prunes a trial whose optimistic final, its value plus the gain of the nearest completed trial from that step on, cannot beat the best completed final by min_improvement", Options: []specopt.Option{
		specopt.Opt("startup_trials", "5", "completed trials before any trial is pruned (0: none)"),
		specopt.Opt("warmup_steps", "0", "steps of a trial before it may be pruned"),
		specopt.Opt("neighbors", "1", "nearest completed trials whose largest gain is borrowed"),
		specopt.Opt("param_weight", "0.75", "weight of the params' distance beside the curves' (0: curves only)"),
		specopt.Opt("novelty", "3", "optimism per unit of distance to the nearest completed trial, in ranges of the completed finals (0: none)"),
		specopt.Opt("min_improvement", "0.2", "how much the optimistic final must beat the best completed final by, in ranges of the completed finals (0: a tie is enough)"),
		specopt.Opt("near_best_distance", "0.1 in a study file; 0 in a stored spec without it", "distance below which a trial whose nearest completed trial is the best is a near-copy of it (0: none is)"),
		specopt.Opt("near_best_improvement", "0.05", "min_improvement for a near-copy of the best, when smaller (0: a tie is enough)"),
		specopt.Opt("drop", "0.1 in a study file; 0 in a stored spec without it", "fall below its own peak, in ranges of the completed finals, at which a curve has turned down: no novelty, and lends its last value once pruned (0: never)"),
	}},
}

var percentileOptions = []specopt.Option{
	specopt.Opt("startup_trials", "5", "completed trials before any trial is pruned (0: none)"),
	specopt.Opt("warmup_steps", "0", "steps of a trial before it may be pruned"),
	specopt.Opt("interval_steps", "1", "check every this many steps"),
	specopt.Opt("min_trials", "1", "trials that must have reported a step before it is judged"),
}

// LatestOptions returns, for the pruner of that name, the options that FromSpec reads as
// the pruner's earlier behaviour when a spec leaves them out (a spec stored before they
// existed), with the values a new study gets: what a study file that leaves them out
// means. Nil for a pruner without such options.
func LatestOptions(name string) map[string]any {
	if name == "extrapolate" {
		def := NewExtrapolate(ExtrapolateOptions{}).Spec().Options
		return map[string]any{"near_best_distance": def["near_best_distance"], "drop": def["drop"]}
	}
	return nil
}

// WithLatest returns s with the LatestOptions it leaves out added, and so for the pruner
// a patience pruner wraps: what a study file that leaves them out means.
func WithLatest(s retune.Spec) retune.Spec {
	out := retune.Spec{Name: s.Name, Options: maps.Clone(s.Options)}
	for k, v := range LatestOptions(s.Name) {
		if _, set := out.Options[k]; !set {
			if out.Options == nil {
				out.Options = map[string]any{}
			}
			out.Options[k] = v
		}
	}
	if w, ok := out.Options["wrapped"]; ok && s.Name == "patience" {
		if ws, err := nestedSpec(w); err == nil && ws.Name != "" {
			out.Options["wrapped"] = WithLatest(ws)
		}
	}
	return out
}

// Resume returns the spec a study file's pruner spec means for a study stored with the
// pruner stored: when they name the same pruner, stored's options with those file names
// over them, so that what the file leaves out keeps what the study runs with (a patience
// pruner's wrapped pruner likewise, if the two wrap the same one); otherwise
// WithLatest(file).
func Resume(stored, file retune.Spec) retune.Spec {
	if stored.Name != file.Name {
		return WithLatest(file)
	}
	out := retune.Spec{Name: stored.Name, Options: maps.Clone(stored.Options)}
	if out.Options == nil {
		out.Options = map[string]any{}
	}
	for k, v := range file.Options {
		if k == "wrapped" && file.Name == "patience" {
			fw, ferr := nestedSpec(v)
			sw, serr := nestedSpec(out.Options[k])
			if ferr == nil && serr == nil {
				out.Options[k] = Resume(sw, fw)
				continue
			}
		}
		out.Options[k] = v
	}
	return out
}

// Plugins describes every pruner and its options, for help texts.
func Plugins() []specopt.Plugin { return slices.Clone(plugins) }

// names returns the names FromSpec accepts.
func names() []string {
	out := make([]string, len(plugins))
	for i, p := range plugins {
		out[i] = p.Name
	}
	return out
}

// FromSpec returns the pruner a Spec describes, in the form the pruners' Spec methods
// write: a name (see Plugins) and options under their snake_case names
// ("startup_trials", "reduction_factor", …). Numbers may be of any Go integer or float
// type, as JSON and YAML decoders produce them; options left out take their defaults,
// except those of LatestOptions, which a stored spec may lack because it predates them:
// left out, they mean the pruner's behaviour before they existed. Values are the ones the
// pruner uses, so 0 startup_trials or startup_steps means none;
// elsewhere 0 takes the default, as in the options structs. "min_resource" of "asha" and
// "max_resource" of "hyperband" may be "auto". The wrapped pruner of "patience" is a
// nested Spec (a retune.Spec or a map with "name" and "options"). The empty Spec gives a
// nil Pruner (no pruning). An unknown name or option, or a value out of range, is an error
// wrapping retune.ErrInvalid.
func FromSpec(s retune.Spec) (retune.Pruner, error) {
	if s.Name == "" {
		if len(s.Options) > 0 {
			return nil, fmt.Errorf("%w: pruner spec has options but no name: want one of %s", retune.ErrInvalid, strings.Join(names(), ", "))
		}
		return nil, nil
	}
	i := slices.IndexFunc(plugins, func(p specopt.Plugin) bool { return p.Name == s.Name })
	if i < 0 {
		return nil, fmt.Errorf("%w: unknown pruner %q: want one of %s", retune.ErrInvalid, s.Name, strings.Join(names(), ", "))
	}
	r := specopt.NewReader(plugins[i], s.Options)
	var (
		p   retune.Pruner
		err error
	)
	switch s.Name {
	case "median", "percentile":
		var o PercentileOptions
		o.Percentile = 50
		if s.Name == "percentile" {
			o.Percentile = 25
			r.Float("percentile", &o.Percentile)
		}
		o.StartupTrials = 5
		if specopt.Int(r, "startup_trials", &o.StartupTrials, 0) && o.StartupTrials == 0 {
			o.StartupTrials = -1
		}
		specopt.Int(r, "warmup_steps", &o.WarmupSteps, 0)
		specopt.Int(r, "interval_steps", &o.IntervalSteps, 0)
		specopt.Int(r, "min_trials", &o.MinTrials, 0)
		p, err = newPercentile(s.Name, o)
	case "asha":
		var o SuccessiveHalvingOptions
		o.AutoMinResource = auto(r, "min_resource", &o.MinResource)
		specopt.Int(r, "reduction_factor", &o.ReductionFactor, 0)
		specopt.Int(r, "min_early_stopping_rate", &o.MinEarlyStoppingRate, 0)
		p, err = newSuccessiveHalving(o)
	case "hyperband":
		var o HyperbandOptions
		specopt.Int(r, "min_resource", &o.MinResource, 0)
		if auto(r, "max_resource", &o.MaxResource) {
			o.MaxResource = 0
		}
		specopt.Int(r, "reduction_factor", &o.ReductionFactor, 0)
		p, err = newHyperband(o)
	case "threshold":
		var o ThresholdOptions
		var lo, hi float64
		if r.Float("lower", &lo) {
			o.Lower = &lo
		}
		if r.Float("upper", &hi) {
			o.Upper = &hi
		}
		specopt.Int(r, "objective", &o.Objective, 0)
		specopt.Int(r, "warmup_steps", &o.WarmupSteps, 0)
		specopt.Int(r, "interval_steps", &o.IntervalSteps, 0)
		p, err = newThreshold(o)
	case "patience":
		var o PatienceOptions
		specopt.Int(r, "patience", &o.Patience, 0)
		r.Float("min_delta", &o.MinDelta)
		if w, ok := r.Raw("wrapped"); ok {
			ws, werr := nestedSpec(w)
			if werr == nil {
				o.Wrapped, werr = FromSpec(ws)
			}
			if werr != nil {
				return nil, fmt.Errorf("%w: pruner %q: option wrapped: %s", retune.ErrInvalid, s.Name, strings.TrimPrefix(werr.Error(), retune.ErrInvalid.Error()+": "))
			}
		}
		p, err = newPatience(o)
	case "wilcoxon":
		var o WilcoxonOptions
		o.Level = 0.1
		r.Float("level", &o.Level)
		o.StartupSteps = 2
		if specopt.Int(r, "startup_steps", &o.StartupSteps, 0) && o.StartupSteps == 0 {
			o.StartupSteps = -1
		}
		p, err = newWilcoxon(o)
	case "extrapolate":
		var o ExtrapolateOptions
		o.StartupTrials = 5
		if specopt.Int(r, "startup_trials", &o.StartupTrials, 0) && o.StartupTrials == 0 {
			o.StartupTrials = -1
		}
		specopt.Int(r, "warmup_steps", &o.WarmupSteps, 0)
		specopt.Int(r, "neighbors", &o.Neighbors, 0)
		nonNegative(r, "param_weight", &o.ParamWeight)
		nonNegative(r, "novelty", &o.Novelty)
		nonNegative(r, "min_improvement", &o.MinImprovement)
		// A spec without near_best_distance or drop was stored before they existed and
		// means what the pruner did then: no near-copies, no turned-down curves. A study
		// file that leaves them out gets the defaults (config.Study.Pruner adds them).
		o.NearBestDistance, o.Drop = -1, -1
		nonNegative(r, "near_best_distance", &o.NearBestDistance)
		nonNegative(r, "near_best_improvement", &o.NearBestImprovement)
		nonNegative(r, "drop", &o.Drop)
		p, err = newExtrapolate(o)
	}
	if rerr := r.Err(); rerr != nil {
		return nil, rerr
	}
	var ce *configError
	if errors.As(err, &ce) {
		return nil, fmt.Errorf("%w: pruner %q: %s", retune.ErrInvalid, s.Name, ce.msg)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// nonNegative reads key as a number >= 0 into dst, 0 becoming -1 (none, as the options
// structs spell it); left out, dst keeps its zero value (the default).
func nonNegative(r *specopt.Reader, key string, dst *float64) {
	if r.Float(key, dst) {
		switch {
		case *dst < 0:
			r.Fail("option %s is %v: want a value >= 0", key, *dst)
		case *dst == 0:
			*dst = -1
		}
	}
}

// auto reads key as "auto" (reporting true) or a whole number >= 0 into dst.
func auto(r *specopt.Reader, key string, dst *int64) bool {
	if v, ok := r.Raw(key); ok {
		if s, ok := v.(string); ok {
			if s != "auto" {
				r.Fail("option %s is %q: want a whole number or \"auto\"", key, s)
			}
			return s == "auto"
		}
	}
	specopt.Int(r, key, dst, 0)
	return false
}

// nestedSpec reads a Spec given as a retune.Spec, a *retune.Spec or a decoded JSON object.
func nestedSpec(v any) (retune.Spec, error) {
	switch w := v.(type) {
	case retune.Spec:
		return w, nil
	case *retune.Spec:
		if w == nil {
			return retune.Spec{}, nil
		}
		return *w, nil
	case map[string]any:
		b, err := json.Marshal(w)
		if err != nil {
			return retune.Spec{}, invalid("nested spec: %v", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		dec.UseNumber()
		var s retune.Spec
		if err := dec.Decode(&s); err != nil {
			return retune.Spec{}, invalid("nested spec %v: want an object with name and options", w)
		}
		return s, nil
	}
	return retune.Spec{}, invalid("nested spec of type %T: want an object with name and options", v)
}
