package retune

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/a6b40afc/retune/internal/codec"
)

// The functions in this file are the one stored form of params, shared by every Storage
// so that a trial reads back the same from memory, SQLite or PostgreSQL; package
// internal/codec holds the stored form of the plain values (floats, metrics, attributes).

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
