package config

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
	"github.com/a6b40afc/retune/sampler"
	"github.com/a6b40afc/retune/sampler/auto"
	"github.com/a6b40afc/retune/sampler/nsga2"
)

// DefaultSampler is the sampler of a new study whose file names none (and is not a grid):
// auto, which picks GP, CMA-ES, TPE or NSGA-II by the study's shape (package
// sampler/auto). A resumed study keeps its stored sampler. The library's Config default
// stays uniform random: the root package cannot import the samplers, which import it.
const DefaultSampler = "auto"

// latestOptions are the options whose absence from a stored spec means an earlier
// behaviour (sampler.FromSpec reads them so), and their values for a study file that
// leaves them out: auto's rules, nsga2's selection.
var latestOptions = map[string]struct {
	key   string
	value any
}{
	"auto":  {"rules", auto.LatestRules},
	"nsga2": {"selection", string(nsga2.Crowding)},
}

// Sampler builds the study's sampler from its spec (sampler.FromSpec); a grid gets the
// params' values.
func (s *Study) Sampler() (retune.Sampler, error) {
	if s.resumed != nil {
		smp, err := sampler.FromSpec(*s.resumed)
		if err != nil {
			return nil, &Error{File: s.Path, Field: "sampler", Msg: specMessage(err)}
		}
		return smp, nil
	}
	spec := retune.Spec{Name: s.SamplerSpec.Name, Options: s.SamplerSpec.Options}
	if spec.Name == "" {
		spec.Name = DefaultSampler
	}
	if opt, ok := latestOptions[spec.Name]; ok {
		if _, set := spec.Options[opt.key]; !set {
			// A stored spec without the option is one from before it existed, and means
			// what the sampler did then; a study file means the latest.
			spec.Options = maps.Clone(spec.Options)
			if spec.Options == nil {
				spec.Options = map[string]any{}
			}
			spec.Options[opt.key] = opt.value
		}
	}
	if spec.Name == "grid" {
		if _, ok := spec.Options["values"]; ok {
			return nil, &Error{File: s.Path, Field: "sampler", Msg: "grid takes its values from the params (values: [...] on each), not from an option"}
		}
		values := make(map[string][]any, len(s.Params))
		for _, p := range s.Params {
			values[p.Name] = p.Values
		}
		spec.Options = map[string]any{"values": values}
	}
	smp, err := sampler.FromSpec(spec)
	if err != nil {
		return nil, &Error{File: s.Path, Field: "sampler", Msg: specMessage(err)}
	}
	return smp, nil
}

// specMessage is the message of a FromSpec error without the prefixes the study file's
// error already says (the field names the sampler or pruner).
func specMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), retune.ErrInvalid.Error()+": ")
	for _, kind := range []string{"sampler ", "pruner "} {
		if rest, ok := strings.CutPrefix(msg, kind); ok {
			if _, after, ok := strings.Cut(rest, ": "); ok && strings.HasPrefix(rest, `"`) {
				return after
			}
		}
	}
	return msg
}

// Pruner builds the study's pruner (nil for none): any pruner package pruner by its spec
// name (median, percentile, asha, hyperband, threshold, patience, wilcoxon, extrapolate)
// and options.
//
// An option the file leaves out that a stored spec reads as the pruner's earlier behaviour
// (pruner.LatestOptions: extrapolate's near-copy and turned-down rules) gets its latest
// value (pruner.WithLatest), unless NewStudy resumed a study with the same pruner
// (pruner.Resume).
func (s *Study) Pruner() (retune.Pruner, error) {
	spec := retune.Spec{Name: s.PrunerSpec.Name, Options: s.PrunerSpec.Options}
	switch {
	case s.resumedPruner != nil:
		spec = *s.resumedPruner
	case spec.Name == "" || spec.Name == "none":
		return nil, nil
	default:
		spec = pruner.WithLatest(spec)
	}
	pr, err := pruner.FromSpec(spec)
	if err != nil {
		return nil, &Error{File: s.Path, Field: "pruner", Msg: specMessage(err)}
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

// Conditional reports whether a param has a when: condition.
func (s *Study) Conditional() bool {
	return slices.ContainsFunc(s.Params, func(p Param) bool { return len(p.When) > 0 })
}

// Absent returns the absent: values of the conditional params, by name.
func (s *Study) Absent() map[string]string {
	out := map[string]string{}
	for _, p := range s.Params {
		if p.Absent != nil {
			out[p.Name] = *p.Absent
		}
	}
	return out
}

// Suggest asks t for every param the trial has, in file order (a conditional param only
// when its conditions hold for the values chosen before it), and returns them by name.
func (s *Study) Suggest(t *retune.Trial) map[string]any {
	out := make(map[string]any, len(s.Params))
	for _, p := range s.Params {
		if !p.Active(out) {
			continue
		}
		out[p.Name] = t.Suggest(p.Name, p.Distribution())
	}
	return out
}

// NewStudy opens the study the file describes in store (creating or resuming it).
// replace allows a changed sampler or pruner on resume (seed and model never change).
//
// Resuming, what the file leaves unsaid about the sampler or the pruner keeps what the
// study runs with, so that a default changed since (nsga2's crossover, auto's rules,
// extrapolate's rules) neither changes a resumed study nor makes it a conflict: a file
// that names no sampler keeps the stored one, and one that names the stored sampler or
// pruner keeps the stored values of the options it does not name. (A file that names no
// pruner means none, so it changes a stored pruner.) What the file names is compared with
// the study as before. With replace, or a grid (whose values are the params'), the file's
// sampler and pruner are taken as they stand, except that a file that names no sampler
// keeps a stored sampler other than grid even then.
func (s *Study) NewStudy(ctx context.Context, store retune.Storage, replace bool) (*retune.Study, error) {
	s.resumed, s.resumedPruner = nil, nil
	rec, err := store.Study(ctx, s.Name)
	if err == nil && replace && s.SamplerSpec.Name == "" && rec.Sampler.Name != "" && rec.Sampler.Name != "grid" {
		// Replacing, a file that names no sampler still keeps the stored one: the default
		// for new studies (auto; TPE before it) must not replace it unasked.
		spec := retune.Spec{Name: rec.Sampler.Name, Options: maps.Clone(rec.Sampler.Options)}
		s.resumed = &spec
	}
	if err == nil && !replace {
		if s.SamplerSpec.Name != "grid" && (s.SamplerSpec.Name == "" || s.SamplerSpec.Name == rec.Sampler.Name) {
			spec := retune.Spec{Name: rec.Sampler.Name, Options: maps.Clone(rec.Sampler.Options)}
			if spec.Options == nil {
				spec.Options = map[string]any{}
			}
			if s.SamplerSpec.Name != "" {
				maps.Copy(spec.Options, s.SamplerSpec.Options)
			}
			s.resumed = &spec
		}
		if s.PrunerSpec.Name != "" && s.PrunerSpec.Name != "none" && s.PrunerSpec.Name == rec.Pruner.Name {
			spec := pruner.Resume(rec.Pruner, retune.Spec{Name: s.PrunerSpec.Name, Options: s.PrunerSpec.Options})
			s.resumedPruner = &spec
		}
	}
	smp, err := s.Sampler()
	if err != nil {
		return nil, err
	}
	s.samplerNote = s.noteSampler(smp)
	pr, err := s.Pruner()
	if err != nil {
		return nil, err
	}
	study, err := retune.NewStudy(ctx, retune.Config{
		Name: s.Name, Directions: s.Directions(), Metrics: s.Metrics(), Model: s.Model,
		Sampler: smp, Pruner: pr, Storage: store, Seed: s.Seed, Replace: replace,
		Budget:      retune.Budget{Trials: s.Budget.Trials, Retries: s.Budget.Retries},
		Constraints: s.constraints(),
	})
	if err != nil {
		return nil, err
	}
	if err := s.storeDefinition(ctx, study, replace); err != nil {
		return nil, fmt.Errorf("open study %q: %w", s.Name, err)
	}
	return study, nil
}

// SamplerNote says which sampler the study that NewStudy opened runs with and why, and
// for auto what it will choose for this study's shape, e.g. "auto (rules 7), the default
// (the study file names none): 2 numeric params: GP in a trust region until 100 complete
// trials, then CMA-ES from the best trial". Empty before NewStudy.
func (s *Study) SamplerNote() string { return s.samplerNote }

func (s *Study) noteSampler(smp retune.Sampler) string {
	var spec retune.Spec
	if sp, ok := smp.(retune.Specer); ok {
		spec = sp.Spec()
	}
	name := cmp.Or(spec.Name, s.SamplerSpec.Name, DefaultSampler)
	if name == "auto" {
		// A spec without rules is one of rules 1, stored before the rules had versions.
		rules, ok := spec.Options["rules"]
		if !ok {
			rules = 1
		}
		name = fmt.Sprintf("auto (rules %v)", rules)
	}
	var why string
	switch {
	case s.resumed != nil && s.SamplerSpec.Name == "":
		why = "stored with the study (the study file names none)"
	case s.resumed != nil:
		why = "named by the study file, as stored with the study"
	case s.SamplerSpec.Name == "":
		why = "the default (the study file names none)"
	case s.SamplerSpec.Name == "grid":
		why = "every param lists values"
	default:
		why = "named by the study file"
	}
	note := name + ", " + why
	if a, ok := smp.(*auto.Sampler); ok {
		sh := auto.Shape{Objectives: len(s.Objectives), Params: len(s.Params), Conditional: s.Conditional(), Constrained: len(s.Constraints) > 0}
		for _, p := range s.Params {
			if p.Type == "categorical" {
				sh.Categorical++
			}
		}
		note += ": " + a.Plan(sh)
	}
	return note
}

// constraints are the file's constraints as Config.Constraints: an empty list (not nil)
// when it has none, so that removing them from the file removes them from the study
// (with --replace, as for any change of what trials mean).
func (s *Study) constraints() []retune.Constraint {
	if s.Constraints == nil {
		return []retune.Constraint{}
	}
	return s.Constraints
}

// storeDefinition stores the file's definition with the study: at its creation, in place
// of an older one on resume, and for a study created before definitions were stored. A
// stored search space that differs from the file's is a conflict unless replace (then the
// change is recorded in the system attribute "changes", as for a sampler).
func (s *Study) storeDefinition(ctx context.Context, study *retune.Study, replace bool) error {
	def, err := s.Definition(study.Seed())
	if err != nil {
		return err
	}
	stored := study.Definition()
	if bytes.Equal(stored, def) {
		return nil
	}
	var attrs map[string]any
	if len(stored) > 0 {
		old, err := ParseDefinition("the stored definition of study "+strconv.Quote(s.Name), stored)
		if err != nil {
			return fmt.Errorf("%w: the stored definition cannot be read (%v): a newer retune may have written it", retune.ErrConflict, err)
		}
		if diff := spaceDiff(old.Params, s.Params); diff != "" {
			if !replace {
				return fmt.Errorf("%w: the search space differs from the stored one (%s): keep the params as they were, or replace them explicitly (--replace; the change is recorded)", retune.ErrConflict, diff)
			}
			changes, _ := study.Record().SystemAttrs["changes"].([]any)
			changes = append(changes, map[string]any{"what": "search space", "diff": diff, "time": time.Now().UTC().Format(time.RFC3339Nano)})
			attrs = map[string]any{"changes": changes}
		}
	}
	return study.SetDefinition(ctx, def, attrs)
}

// spaceDiff describes how the params of b differ from those of a, "" if they do not.
func spaceDiff(a, b []Param) string {
	describe := func(p Param) string {
		if p.Dist != nil {
			return p.Dist.String()
		}
		return fmt.Sprintf("%s values %v", p.Type, p.Values)
	}
	byName := map[string]Param{}
	for _, p := range a {
		byName[p.Name] = p
	}
	var out []string
	seen := map[string]bool{}
	for _, p := range b {
		seen[p.Name] = true
		old, ok := byName[p.Name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s added: %s", p.Name, describe(p)))
		case describe(old) != describe(p) || (old.Dist != nil) != (p.Dist != nil) || old.Dist != nil && !old.Dist.Equal(p.Dist):
			out = append(out, fmt.Sprintf("%s: %s → %s", p.Name, describe(old), describe(p)))
		}
	}
	for _, p := range a {
		if !seen[p.Name] {
			out = append(out, fmt.Sprintf("%s removed", p.Name))
		}
	}
	return strings.Join(out, "; ")
}

// Fit keeps the params the study file declares and reports whether each lies in its
// param's space, in the form the space holds it; key names the configuration (for
// dropping duplicates). Params the file does not declare are dropped; none left is no fit.
func (s *Study) Fit(params map[string]any) (fitted map[string]any, key string, ok bool) {
	out := map[string]any{}
	var b strings.Builder
	for _, p := range s.Params {
		v, ok := params[p.Name]
		if !ok {
			continue
		}
		d := p.Distribution()
		x, ok := d.ToInternal(v)
		if !ok {
			return nil, "", false
		}
		out[p.Name] = d.ToExternal(x)
		fmt.Fprintf(&b, "%s=%v;", p.Name, x)
	}
	return out, b.String(), len(out) > 0
}

// DefinitionDiff describes how the study local (a study file) differs from stored (the
// definition a server keeps) in what its trials mean — objectives and search space — or
// returns "" when they agree. An agent refuses to run a study that differs.
func DefinitionDiff(stored, local *Study) string {
	var diffs []string
	if so, lo := objectivesText(stored), objectivesText(local); so != lo {
		diffs = append(diffs, "objectives "+so+" on the server, "+lo+" here")
	}
	if d := spaceDiff(stored.Params, local.Params); d != "" {
		diffs = append(diffs, d)
	}
	return strings.Join(diffs, "; ")
}

func objectivesText(s *Study) string {
	parts := make([]string, len(s.Objectives))
	for i, o := range s.Objectives {
		parts[i] = o.Metric + " (" + o.Direction.String() + ")"
	}
	return strings.Join(parts, ", ")
}
