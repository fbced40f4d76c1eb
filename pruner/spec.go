package pruner

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/a6b40afc/retune"
)

// names lists the pruner names FromSpec accepts.
var names = []string{"asha", "hyperband", "median", "patience", "percentile", "threshold", "wilcoxon"}

// FromSpec returns the pruner a Spec describes, in the form the pruners' Spec methods
// write: a name ("asha", "hyperband", "median", "patience", "percentile", "threshold" or
// "wilcoxon") and options under their snake_case names ("startup_trials",
// "reduction_factor", …). Numbers may be of any Go integer or float type, as JSON and YAML
// decoders produce them; options left out take their defaults. Values are the ones the
// pruner uses, so 0 startup_trials or startup_steps means none; elsewhere 0 takes the
// default, as in the options structs. "min_resource" of "asha" and
// "max_resource" of "hyperband" may be "auto". The wrapped pruner of "patience" is a
// nested Spec (a retune.Spec or a map with "name" and "options"). The empty Spec gives a
// nil Pruner (no pruning). An unknown name or option, or a value out of range, is an error
// wrapping retune.ErrInvalid.
func FromSpec(s retune.Spec) (retune.Pruner, error) {
	if s.Name == "" {
		if len(s.Options) > 0 {
			return nil, invalid("spec has options but no name: want one of %s", strings.Join(names, ", "))
		}
		return nil, nil
	}
	r := &optReader{spec: s.Name, opts: s.Options}
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
			r.float("percentile", &o.Percentile)
		}
		o.StartupTrials = 5
		integer(r, "startup_trials", &o.StartupTrials)
		if o.StartupTrials == 0 {
			o.StartupTrials = -1
		}
		integer(r, "warmup_steps", &o.WarmupSteps)
		integer(r, "interval_steps", &o.IntervalSteps)
		integer(r, "min_trials", &o.MinTrials)
		p, err = newPercentile(s.Name, o)
	case "asha":
		var o SuccessiveHalvingOptions
		o.AutoMinResource = r.auto("min_resource", &o.MinResource)
		integer(r, "reduction_factor", &o.ReductionFactor)
		integer(r, "min_early_stopping_rate", &o.MinEarlyStoppingRate)
		p, err = newSuccessiveHalving(o)
	case "hyperband":
		var o HyperbandOptions
		integer(r, "min_resource", &o.MinResource)
		if r.auto("max_resource", &o.MaxResource) {
			o.MaxResource = 0
		}
		integer(r, "reduction_factor", &o.ReductionFactor)
		p, err = newHyperband(o)
	case "threshold":
		var o ThresholdOptions
		var lo, hi float64
		if r.float("lower", &lo) {
			o.Lower = &lo
		}
		if r.float("upper", &hi) {
			o.Upper = &hi
		}
		integer(r, "objective", &o.Objective)
		integer(r, "warmup_steps", &o.WarmupSteps)
		integer(r, "interval_steps", &o.IntervalSteps)
		p, err = newThreshold(o)
	case "patience":
		var o PatienceOptions
		integer(r, "patience", &o.Patience)
		r.float("min_delta", &o.MinDelta)
		r.know("wrapped")
		if w, ok := s.Options["wrapped"]; ok {
			ws, werr := nestedSpec(w)
			if werr == nil {
				o.Wrapped, werr = FromSpec(ws)
			}
			if werr != nil {
				return nil, fmt.Errorf("pruner %q: option wrapped: %w", s.Name, werr)
			}
		}
		p, err = newPatience(o)
	case "wilcoxon":
		var o WilcoxonOptions
		o.Level = 0.1
		r.float("level", &o.Level)
		o.StartupSteps = 2
		integer(r, "startup_steps", &o.StartupSteps)
		if o.StartupSteps == 0 {
			o.StartupSteps = -1
		}
		p, err = newWilcoxon(o)
	default:
		return nil, invalid("unknown pruner %q: want one of %s", s.Name, strings.Join(names, ", "))
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return p, nil
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

// optReader reads typed options and remembers the first error and which keys it knows.
type optReader struct {
	spec  string
	opts  map[string]any
	known []string
	err   error
}

func (r *optReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = invalid("pruner %q: %s", r.spec, fmt.Sprintf(format, args...))
	}
}

func (r *optReader) know(key string) { r.known = append(r.known, key) }

// float reads key into dst; it reports whether key was present and valid.
func (r *optReader) float(key string, dst *float64) bool {
	r.know(key)
	v, ok := r.opts[key]
	if !ok {
		return false
	}
	f, ok := toFloat(v)
	if !ok {
		r.fail("option %s is %v (%T): want a number", key, v, v)
		return false
	}
	*dst = f
	return true
}

// integer reads key into dst, which must hold a whole number.
func integer[T int | int64](r *optReader, key string, dst *T) {
	r.know(key)
	v, ok := r.opts[key]
	if !ok {
		return
	}
	f, ok := toFloat(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		r.fail("option %s is %v: want a whole number", key, v)
		return
	}
	*dst = T(f)
}

// auto reads key as "auto" (reporting true) or a whole number into dst.
func (r *optReader) auto(key string, dst *int64) bool {
	if v, ok := r.opts[key]; ok {
		if s, ok := v.(string); ok {
			r.know(key)
			if s != "auto" {
				r.fail("option %s is %q: want a whole number or \"auto\"", key, s)
			}
			return s == "auto"
		}
	}
	integer(r, key, dst)
	return false
}

func (r *optReader) finish() error {
	var unknown []string
	for k := range r.opts {
		if !slices.Contains(r.known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 && r.err == nil {
		sort.Strings(unknown)
		known := slices.Clone(r.known)
		sort.Strings(known)
		r.fail("unknown option %s: want %s", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return r.err
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
