package retune

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
)

// The functions in this file are the one stored form of trial data, shared by every Storage
// so that a trial reads back the same from memory, SQLite or PostgreSQL. Floats use the
// shortest decimal form that round-trips exactly; ±Inf and NaN are the strings "inf",
// "-inf" and "nan".

type storedParam struct {
	D json.RawMessage `json:"d"`
	V json.RawMessage `json:"v"`
}

// MarshalParams encodes params with their distributions. A categorical value is stored as
// its index among the choices, an int exactly, a float in shortest round-trip form.
func MarshalParams(params map[string]any, dists map[string]Distribution) ([]byte, error) {
	if len(params) == 0 {
		return []byte("{}"), nil
	}
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
			vb = []byte(FormatFloat(x))
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
func (f Float) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if finite(x) {
		return []byte(FormatFloat(x)), nil
	}
	return []byte(`"` + FormatFloat(x) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"inf"`, `"+inf"`, `"Infinity"`:
		*f = Float(math.Inf(1))
	case `"-inf"`, `"-Infinity"`:
		*f = Float(math.Inf(-1))
	case `"nan"`, `"NaN"`:
		*f = Float(math.NaN())
	default:
		x, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return fmt.Errorf("%w: number %s", ErrInvalid, b)
		}
		*f = Float(x)
	}
	return nil
}

// MarshalFloats encodes a vector of values.
func MarshalFloats(v []float64) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		j, _ := Float(x).MarshalJSON()
		b.Write(j)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// UnmarshalFloats decodes what MarshalFloats wrote.
func UnmarshalFloats(b []byte) ([]float64, error) {
	var fs []Float
	if err := json.Unmarshal(b, &fs); err != nil {
		return nil, fmt.Errorf("%w: values %s: %v", ErrInvalid, b, err)
	}
	if fs == nil {
		return nil, nil
	}
	out := make([]float64, len(fs))
	for i, f := range fs {
		out[i] = float64(f)
	}
	return out, nil
}

// MarshalMetrics encodes a metrics map with keys in sorted order.
func MarshalMetrics(m map[string]float64) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		j, _ := Float(m[k]).MarshalJSON()
		b.Write(j)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// UnmarshalMetrics decodes what MarshalMetrics wrote.
func UnmarshalMetrics(b []byte) (map[string]float64, error) {
	var m map[string]Float
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: metrics %s: %v", ErrInvalid, b, err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = float64(v)
	}
	return out, nil
}

// MarshalAttrs encodes attributes (or enqueued fixed params); nil is "{}".
func MarshalAttrs(m map[string]any) ([]byte, error) {
	if len(m) == 0 {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: attributes are not JSON-encodable: %v", ErrInvalid, err)
	}
	return b, nil
}

// UnmarshalAttrs decodes what MarshalAttrs wrote; an empty object is nil. Numbers decode
// as float64, as encoding/json does.
func UnmarshalAttrs(b []byte) (map[string]any, error) {
	var m map[string]any
	if len(b) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: attributes %.80s: %v", ErrInvalid, b, err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// UnmarshalFixed decodes enqueued fixed params, keeping numbers exact (json.Number), so an
// int64 beyond 2^53 survives; distributions accept json.Number.
func UnmarshalFixed(b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: fixed params %.80s: %v", ErrInvalid, b, err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

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

// EncodeAttrUpdate validates an attribute update and encodes each value as MarshalAttrs
// would, for storages that merge updates into stored JSON key by key. A nil value (a
// deletion) becomes a nil entry.
func EncodeAttrUpdate(m map[string]any) (map[string]json.RawMessage, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		if v == nil {
			if err := ValidateName("attribute", k); err != nil {
				return nil, err
			}
			out[k] = nil
			continue
		}
		if err := ValidateAttr(k, v); err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%w: attribute %q: %v", ErrInvalid, k, err)
		}
		out[k] = b
	}
	return out, nil
}
