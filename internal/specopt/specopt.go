// Package specopt reads the options of a sampler's or pruner's retune.Spec against a table
// of the options it takes. The same table documents the options (`retune help samplers`,
// `retune help pruners`), so what the help lists is what the parser accepts.
//
// Numbers may be of any Go integer or float type or a json.Number, as YAML and JSON
// decoders produce them. Every error wraps retune.ErrInvalid and names the plug-in, the
// option and what would be valid.
package specopt

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/a6b40afc/retune"
)

// Option is one option of a plug-in.
type Option struct {
	Name    string
	Default string // as the help shows it
	Doc     string
}

// Opt returns an Option: its name, its default as the help shows it, and what it does.
func Opt(name, def, doc string) Option { return Option{Name: name, Default: def, Doc: doc} }

// Plugin describes a sampler or pruner for the help: its spec name and options.
type Plugin struct {
	Kind    string // "sampler" or "pruner"
	Name    string
	Doc     string
	Options []Option
}

// Names returns the names of the options, in table order.
func (p Plugin) Names() []string {
	out := make([]string, len(p.Options))
	for i, o := range p.Options {
		out[i] = o.Name
	}
	return out
}

// Reader reads the options of one spec. It keeps the first error; Err reports it, or an
// unknown option, once every option has been read.
type Reader struct {
	p    Plugin
	opts map[string]any
	err  error
}

// NewReader reads opts, the options of a spec of plug-in p.
func NewReader(p Plugin, opts map[string]any) *Reader { return &Reader{p: p, opts: opts} }

// Fail records an error about the spec (the first one wins).
func (r *Reader) Fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s %q: %s", retune.ErrInvalid, r.p.Kind, r.p.Name, fmt.Sprintf(format, args...))
	}
}

// Raw returns the value of option key as given.
func (r *Reader) Raw(key string) (any, bool) {
	r.check(key)
	v, ok := r.opts[key]
	return v, ok
}

// check panics when key is not in the table: reading an undocumented option is a bug.
func (r *Reader) check(key string) {
	for _, o := range r.p.Options {
		if o.Name == key {
			return
		}
	}
	panic(fmt.Sprintf("specopt: %s %q reads option %q, which its table lacks", r.p.Kind, r.p.Name, key))
}

// Float reads key into dst if present and a number; it reports whether it did.
func (r *Reader) Float(key string, dst *float64) bool {
	v, ok := r.Raw(key)
	if !ok {
		return false
	}
	f, ok := ToFloat(v)
	if !ok || math.IsNaN(f) {
		r.Fail("option %s is %v (%T): want a number", key, v, v)
		return false
	}
	*dst = f
	return true
}

// Int reads key into dst if present and a whole number >= lo; it reports whether it did.
func Int[T int | int64](r *Reader, key string, dst *T, lo T) bool {
	v, ok := r.Raw(key)
	if !ok {
		return false
	}
	f, ok := ToFloat(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 || f < float64(lo) {
		r.Fail("option %s is %v: want a whole number >= %d", key, v, lo)
		return false
	}
	*dst = T(f)
	return true
}

// Bool reads key into dst if present and true or false.
func (r *Reader) Bool(key string, dst *bool) bool {
	v, ok := r.Raw(key)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		r.Fail("option %s is %v: want true or false", key, v)
		return false
	}
	*dst = b
	return true
}

// String reads key into dst if present and one of choices.
func (r *Reader) String(key string, dst *string, choices ...string) bool {
	v, ok := r.Raw(key)
	if !ok {
		return false
	}
	s, ok := v.(string)
	if !ok || !slices.Contains(choices, s) {
		r.Fail("option %s is %v: want %s", key, v, orList(choices))
		return false
	}
	*dst = s
	return true
}

// Err returns the first error, or one naming the options the table does not have.
func (r *Reader) Err() error {
	if r.err != nil {
		return r.err
	}
	var unknown []string
	for k := range r.opts {
		if !slices.Contains(r.p.Names(), k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	if len(r.p.Options) == 0 {
		r.Fail("unknown option %s: it takes no options", strings.Join(unknown, ", "))
	} else {
		valid := r.p.Names()
		sort.Strings(valid)
		r.Fail("unknown option %s: valid options are %s", strings.Join(unknown, ", "), strings.Join(valid, ", "))
	}
	return r.err
}

func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// ToFloat converts any Go number or json.Number to float64.
func ToFloat(v any) (float64, bool) {
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

// Help writes the plug-ins and their options as the CLI's help shows them.
func Help(w interface{ Write([]byte) (int, error) }, ps []Plugin) {
	for i, p := range ps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s — %s\n", p.Name, p.Doc)
		if len(p.Options) == 0 {
			fmt.Fprintln(w, "    (no options)")
		}
		width := 0
		for _, o := range p.Options {
			width = max(width, len(o.Name))
		}
		for _, o := range p.Options {
			fmt.Fprintf(w, "    %-*s  %s (default %s)\n", width, o.Name, o.Doc, o.Default)
		}
	}
}
