package retune

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/a6b40afc/retune/internal/check"
	"github.com/a6b40afc/retune/internal/codec"
)

// This file holds the one stored form of params, champions and decision evidence, shared
// by every Storage so that they read back the same from memory, SQLite or PostgreSQL;
// package internal/codec holds the stored form of plain values (floats, metrics,
// attributes).

type storedParam struct {
	D json.RawMessage `json:"d"`
	V json.RawMessage `json:"v"`
}

// MarshalParams encodes params with their distributions. A categorical value is stored as
// its index among the choices, an int exactly, a float in shortest round-trip form.
//
// The encoding is json.Marshal's of a map of storedParam (keys sorted, compact), written
// directly; a name JSON escapes or a value that is no JSON number goes through json.Marshal
// itself (marshalParamsJSON), which gives the same bytes or the same error
// (TestMarshalParamsDirect).
func MarshalParams(params map[string]any, dists map[string]Distribution) ([]byte, error) {
	b, _, _, err := marshalParams(params, dists, false)
	return b, err
}

// MarshalParamsRead is MarshalParams with what UnmarshalParams returns for its encoding,
// which is then not decoded again where MarshalParams wrote it directly: the float it
// formatted, the int, the choice of the distribution the encoding decodes to
// (TestMarshalParamsRead).
func MarshalParamsRead(params map[string]any, dists map[string]Distribution) ([]byte, map[string]any, map[string]Distribution, error) {
	if len(params) == 0 {
		b, err := MarshalParams(params, dists)
		if err != nil {
			return nil, nil, nil, err
		}
		values, read, err := UnmarshalParams(b)
		return b, values, read, err
	}
	return marshalParams(params, dists, true)
}

// marshalParams is MarshalParams, and with read also MarshalParamsRead.
func marshalParams(params map[string]any, dists map[string]Distribution, read bool) ([]byte, map[string]any, map[string]Distribution, error) {
	if len(params) == 0 {
		return []byte("{}"), nil, nil, nil
	}
	// The encoding and its reading through json (exact by definition).
	viaJSON := func() ([]byte, map[string]any, map[string]Distribution, error) {
		b, err := marshalParamsJSON(params, dists)
		if err != nil || !read {
			return b, nil, nil, err
		}
		values, ds, err := UnmarshalParams(b)
		if err != nil {
			return nil, nil, nil, err
		}
		return b, values, ds, nil
	}
	names := make([]string, 0, len(params))
	for name := range params {
		if !plainJSONString(name) {
			return viaJSON()
		}
		names = append(names, name)
	}
	slices.Sort(names)
	var values map[string]any
	var readDists map[string]Distribution
	if read {
		values, readDists = make(map[string]any, len(names)), make(map[string]Distribution, len(names))
	}
	buf := make([]byte, 0, 96*len(names))
	buf = append(buf, '{')
	for i, name := range names {
		v := params[name]
		d, ok := dists[name]
		if !ok {
			return nil, nil, nil, fmt.Errorf("%w: param %q has no distribution", ErrInvalid, name)
		}
		db, err := marshalDistributionCached(d)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("param %q: %w", name, err)
		}
		x, ok := d.ToInternal(v)
		if !ok {
			return nil, nil, nil, fmt.Errorf("%w: param %q value %v is outside %v", ErrInvalid, name, v, d)
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = append(buf, name...)
		buf = append(buf, `":{"d":`...)
		buf = append(buf, db...)
		buf = append(buf, `,"v":`...)
		var value any // as UnmarshalParams decodes what is written here
		switch d.(type) {
		case IntDistribution:
			n, _ := toInt(v)
			buf = strconv.AppendInt(buf, n, 10)
			value = n
		case CategoricalDistribution:
			buf = strconv.AppendInt(buf, int64(x), 10)
		default:
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return viaJSON()
			}
			buf = strconv.AppendFloat(buf, x, 'g', -1, 64) // codec.FormatFloat of a finite x
			value = x                                      // which parses back to x exactly
		}
		buf = append(buf, '}')
		if !read {
			continue
		}
		rd, err := cachedDistribution(db)
		if err != nil || reflect.TypeOf(rd) != reflect.TypeOf(d) {
			return viaJSON() // the error, or a reading this does not foresee
		}
		if c, ok := rd.(CategoricalDistribution); ok {
			j := int(x)
			if j < 0 || j >= len(c.Choices) {
				return viaJSON()
			}
			value = c.Choices[j]
		}
		values[name], readDists[name] = value, rd
	}
	return append(buf, '}'), values, readDists, nil
}

// plainJSONString reports whether JSON encodes s as it is between quotes: printable ASCII
// without '"', '\\' or the characters json.Marshal escapes for HTML.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// distJSONCache holds MarshalDistribution's encoding of float and int distributions (the
// comparable ones), read only by MarshalParams.
var distJSONCache struct {
	sync.RWMutex
	m map[Distribution][]byte
}

func marshalDistributionCached(d Distribution) ([]byte, error) {
	switch d.(type) {
	case FloatDistribution, IntDistribution:
	default:
		return MarshalDistribution(d)
	}
	distJSONCache.RLock()
	b, ok := distJSONCache.m[d]
	distJSONCache.RUnlock()
	if ok {
		return b, nil
	}
	b, err := MarshalDistribution(d)
	if err != nil {
		return nil, err
	}
	distJSONCache.Lock()
	if distJSONCache.m == nil {
		distJSONCache.m = make(map[Distribution][]byte)
	}
	if len(distJSONCache.m) < distCacheMax {
		distJSONCache.m[d] = b
	}
	distJSONCache.Unlock()
	return b, nil
}

// marshalParamsJSON is MarshalParams through json.Marshal.
func marshalParamsJSON(params map[string]any, dists map[string]Distribution) ([]byte, error) {
	out := make(map[string]storedParam, len(params))
	for name, v := range params {
		d, ok := dists[name]
		if !ok {
			return nil, fmt.Errorf("%w: param %q has no distribution", ErrInvalid, name)
		}
		db, err := MarshalDistribution(d)
		if err != nil {
			return nil, fmt.Errorf("param %q: %w", name, err)
		}
		x, ok := d.ToInternal(v)
		if !ok {
			return nil, fmt.Errorf("%w: param %q value %v is outside %v", ErrInvalid, name, v, d)
		}
		var vb []byte
		switch d.(type) {
		case IntDistribution:
			n, _ := toInt(v)
			vb = strconv.AppendInt(nil, n, 10)
		case CategoricalDistribution:
			vb = strconv.AppendInt(nil, int64(x), 10)
		default:
			vb = []byte(codec.FormatFloat(x))
		}
		out[name] = storedParam{D: db, V: vb}
	}
	return json.Marshal(out)
}

// UnmarshalParams decodes what MarshalParams wrote. Floats come back as float64, ints as
// int64, categoricals as the choice JSON decodes (string, float64, bool, …).
func UnmarshalParams(b []byte) (map[string]any, map[string]Distribution, error) {
	var in map[string]storedParam
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, nil, fmt.Errorf("%w: params: %v", ErrInvalid, err)
	}
	params := make(map[string]any, len(in))
	dists := make(map[string]Distribution, len(in))
	for name, p := range in {
		d, err := cachedDistribution(p.D)
		if err != nil {
			return nil, nil, fmt.Errorf("param %q: %w", name, err)
		}
		var v any
		switch d := d.(type) {
		case IntDistribution:
			n, err := strconv.ParseInt(string(p.V), 10, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: param %q: int value %s", ErrInvalid, name, p.V)
			}
			v = n
		case CategoricalDistribution:
			i, err := strconv.Atoi(string(p.V))
			if err != nil || i < 0 || i >= len(d.Choices) {
				return nil, nil, fmt.Errorf("%w: param %q: choice index %s for %d choices", ErrInvalid, name, p.V, len(d.Choices))
			}
			v = d.Choices[i]
		default:
			f, err := strconv.ParseFloat(string(p.V), 64)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: param %q: float value %s", ErrInvalid, name, p.V)
			}
			v = f
		}
		params[name], dists[name] = v, d
	}
	return params, dists, nil
}

// Float is a float64 whose JSON form is a number, or "inf", "-inf" or "nan".
type Float float64

// Floats converts v for JSON that keeps ±Inf and NaN (as Float does); never nil, so an
// empty v encodes as [].
func Floats(v []float64) []Float {
	out := make([]Float, len(v))
	for i, x := range v {
		out[i] = Float(x)
	}
	return out
}

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) { return codec.Float(f).MarshalJSON() }

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error { return (*codec.Float)(f).UnmarshalJSON(b) }

// distCache remembers decoded distributions by their stored form: a study's trials repeat
// the same few, and decoding is most of the cost of reading a trial. Distributions are
// immutable values, so sharing them is safe. The cache stops growing at distCacheMax.
var distCache struct {
	sync.RWMutex
	m map[string]Distribution
}

const distCacheMax = 4096

func cachedDistribution(b []byte) (Distribution, error) {
	distCache.RLock()
	d, ok := distCache.m[string(b)]
	distCache.RUnlock()
	if ok {
		return d, nil
	}
	d, err := UnmarshalDistribution(b)
	if err != nil {
		return nil, err
	}
	distCache.Lock()
	if distCache.m == nil {
		distCache.m = make(map[string]Distribution)
	}
	if len(distCache.m) < distCacheMax {
		distCache.m[string(b)] = d
	}
	distCache.Unlock()
	return d, nil
}

// Stored form of champions and decisions: a champion's params are a JSON object read back
// with exact numbers (json.Number, as codec.UnmarshalFixed does), its values and metrics
// codec.MarshalFloats and codec.MarshalMetrics; a decision's evidence is
// Evidence.MarshalBinary; an event's data is kept byte for byte. Empty lists and maps
// read back as nil.

func marshalChampionParams(what string, p map[string]any) ([]byte, error) {
	for k := range p {
		if err := ValidateName("param", k); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	if len(p) == 0 {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: params are not JSON-encodable (%v): want finite numbers, strings, bools, lists and objects", ErrInvalid, what, err)
	}
	if len(b) > MaxAttrValueLen {
		return nil, fmt.Errorf("%w: %s: params are %d bytes of JSON: want at most %d", ErrInvalid, what, len(b), MaxAttrValueLen)
	}
	return b, nil
}

// MarshalParts returns the stored form of c's params, values and metrics, the parts of a
// champion that a storage encodes; it keeps the other fields as they are. c should have
// passed ValidatePromotion.
func (c Champion) MarshalParts() (params, values, metrics []byte, err error) {
	params, err = marshalChampionParams(fmt.Sprintf("champion of model %q", c.Model), c.Params)
	if err != nil {
		return nil, nil, nil, err
	}
	return params, codec.MarshalFloats(c.Values), codec.MarshalMetrics(c.Metrics), nil
}

// UnmarshalParts sets c's params, values and metrics from what MarshalParts wrote. Param
// numbers come back as json.Number, exactly as written.
func (c *Champion) UnmarshalParts(params, values, metrics []byte) error {
	var err error
	wrap := func(err error) error {
		return fmt.Errorf("stored champion %d of model %q: %w", c.Version, c.Model, err)
	}
	if c.Params, err = codec.UnmarshalFixed(params); err != nil {
		return wrap(err)
	}
	if c.Values, err = codec.UnmarshalFloats(values); err != nil {
		return wrap(err)
	}
	if len(c.Values) == 0 {
		c.Values = nil
	}
	if c.Metrics, err = codec.UnmarshalMetrics(metrics); err != nil {
		return wrap(err)
	}
	return nil
}

// storedEvidence is Evidence with numbers that keep ±Inf and NaN (as Float does).
type storedEvidence struct {
	Method         string            `json:"method"`
	Analysis       string            `json:"analysis,omitempty"`
	Direction      string            `json:"direction"`
	Candidate      []Float           `json:"candidate,omitempty"`
	Champion       []Float           `json:"champion,omitempty"`
	Repeats        int               `json:"repeats,omitempty"`
	Differences    []Float           `json:"differences,omitempty"`
	Improvement    Float             `json:"improvement"`
	LowerBound     *Float            `json:"lower_bound,omitempty"`
	Level          Float             `json:"level,omitempty"`
	PairedBound    *Float            `json:"paired_bound,omitempty"`
	UnpairedBound  *Float            `json:"unpaired_bound,omitempty"`
	Bound          string            `json:"bound,omitempty"`
	RepeatOf       int64             `json:"repeat_of,omitempty"`
	Margin         Float             `json:"margin"`
	MinImprovement Float             `json:"min_improvement,omitempty"`
	MinRelative    Float             `json:"min_relative_improvement,omitempty"`
	Guardrails     []storedGuardrail `json:"guardrails,omitempty"`
	Cooldown       string            `json:"cooldown,omitempty"` // a time.Duration's String
	Notify         []string          `json:"notify,omitempty"`
}

type storedGuardrail struct {
	Metric        string `json:"metric"`
	Candidate     Float  `json:"candidate"`
	Champion      Float  `json:"champion"`
	Regression    Float  `json:"regression"`
	MaxRegression Float  `json:"max_regression"`
	OK            bool   `json:"ok"`
}

func toFloats(v []float64) []Float {
	if len(v) == 0 {
		return nil
	}
	out := make([]Float, len(v))
	for i, x := range v {
		out[i] = Float(x)
	}
	return out
}

func fromFloats(v []Float) []float64 {
	if len(v) == 0 {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func toFloatPtr(p *float64) *Float {
	if p == nil {
		return nil
	}
	f := Float(*p)
	return &f
}

func fromFloatPtr(p *Float) *float64 {
	if p == nil {
		return nil
	}
	f := float64(*p)
	return &f
}

// MarshalBinary implements encoding.BinaryMarshaler: e's stored form is the JSON object
// of Evidence's field tags, with ±Inf and NaN as the strings "inf", "-inf" and "nan", and
// the cooldown as a duration string.
func (e Evidence) MarshalBinary() ([]byte, error) {
	return marshalEvidence("evidence", e)
}

func marshalEvidence(what string, e Evidence) ([]byte, error) {
	s := storedEvidence{
		Method: e.Method, Analysis: e.Analysis, Direction: e.Direction,
		Candidate: toFloats(e.Candidate), Champion: toFloats(e.Champion), Repeats: e.Repeats,
		Differences: toFloats(e.Differences), Improvement: Float(e.Improvement),
		LowerBound: toFloatPtr(e.LowerBound), Level: Float(e.Level),
		PairedBound: toFloatPtr(e.PairedBound), UnpairedBound: toFloatPtr(e.UnpairedBound), Bound: e.Bound, RepeatOf: e.RepeatOf, Margin: Float(e.Margin),
		MinImprovement: Float(e.MinImprovement), MinRelative: Float(e.MinRelative), Notify: e.Notify,
	}
	if err := check.Notifiers(what, e.Notify); err != nil {
		return nil, err
	}
	if e.Cooldown != 0 {
		s.Cooldown = e.Cooldown.String()
	}
	for _, g := range e.Guardrails {
		s.Guardrails = append(s.Guardrails, storedGuardrail{
			Metric: g.Metric, Candidate: Float(g.Candidate), Champion: Float(g.Champion),
			Regression: Float(g.Regression), MaxRegression: Float(g.MaxRegression), OK: g.OK,
		})
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: evidence is not JSON-encodable: %v", ErrInvalid, what, err)
	}
	if len(b) > MaxAttrValueLen {
		return nil, fmt.Errorf("%w: %s: evidence is %d bytes of JSON: want at most %d", ErrInvalid, what, len(b), MaxAttrValueLen)
	}
	return b, nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler: it decodes what MarshalBinary
// wrote. Empty lists come back as nil. On error, e is left alone.
func (e *Evidence) UnmarshalBinary(b []byte) error {
	var s storedEvidence
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: evidence %.80s: %v", ErrInvalid, b, err)
	}
	out := Evidence{
		Method: s.Method, Analysis: s.Analysis, Direction: s.Direction,
		Candidate: fromFloats(s.Candidate), Champion: fromFloats(s.Champion), Repeats: s.Repeats,
		Differences: fromFloats(s.Differences), Improvement: float64(s.Improvement),
		LowerBound: fromFloatPtr(s.LowerBound), Level: float64(s.Level),
		PairedBound: fromFloatPtr(s.PairedBound), UnpairedBound: fromFloatPtr(s.UnpairedBound), Bound: s.Bound, RepeatOf: s.RepeatOf, Margin: float64(s.Margin),
		MinImprovement: float64(s.MinImprovement), MinRelative: float64(s.MinRelative),
	}
	if len(s.Notify) > 0 {
		out.Notify = s.Notify
	}
	if s.Cooldown != "" {
		d, err := time.ParseDuration(s.Cooldown)
		if err != nil {
			return fmt.Errorf("%w: evidence cooldown %q: %v", ErrInvalid, s.Cooldown, err)
		}
		out.Cooldown = d
	}
	for _, g := range s.Guardrails {
		out.Guardrails = append(out.Guardrails, GuardrailResult{
			Metric: g.Metric, Candidate: float64(g.Candidate), Champion: float64(g.Champion),
			Regression: float64(g.Regression), MaxRegression: float64(g.MaxRegression), OK: g.OK,
		})
	}
	*e = out
	return nil
}
