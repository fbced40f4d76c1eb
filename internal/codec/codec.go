// Package codec is the stored form of plain values (floats, metrics, attributes, fixed
// params, notifier IDs, event times), shared by every storage so that a value reads back
// the same from memory, SQLite or PostgreSQL. Floats use the shortest decimal form that
// round-trips exactly; ±Inf and NaN are the strings "inf", "-inf" and "nan". Decoding
// errors wrap errs.ErrInvalid (retune.ErrInvalid).
package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/a6b40afc/retune/internal/check"
	"github.com/a6b40afc/retune/internal/errs"
)

// FormatFloat formats f in the shortest form that parses back to the same float64.
// ±Inf and NaN print as "inf", "-inf" and "nan".
func FormatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Float is a float64 whose JSON form is a number, or "inf", "-inf" or "nan"
// (retune.Float's methods are these).
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if !math.IsNaN(x) && !math.IsInf(x, 0) {
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
			return fmt.Errorf("%w: number %s", errs.ErrInvalid, b)
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
		return nil, fmt.Errorf("%w: values %s: %v", errs.ErrInvalid, b, err)
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
	if string(b) == "{}" { // the common case, as decoding it would return
		return nil, nil
	}
	var m map[string]Float
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: metrics %s: %v", errs.ErrInvalid, b, err)
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
		return nil, fmt.Errorf("%w: attributes are not JSON-encodable: %v", errs.ErrInvalid, err)
	}
	return b, nil
}

// UnmarshalAttrs decodes what MarshalAttrs wrote; an empty object is nil. Numbers decode
// as float64, as encoding/json does.
func UnmarshalAttrs(b []byte) (map[string]any, error) {
	if string(b) == "{}" { // the common case, as decoding it would return
		return nil, nil
	}
	var m map[string]any
	if len(b) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: attributes %.80s: %v", errs.ErrInvalid, b, err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// UnmarshalFixed decodes enqueued fixed params (written by MarshalAttrs), keeping numbers
// exact (json.Number), so an int64 beyond 2^53 survives; distributions accept json.Number.
func UnmarshalFixed(b []byte) (map[string]any, error) {
	if string(b) == "{}" { // the common case, as decoding it would return
		return nil, nil
	}
	if len(b) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: fixed params %.80s: %v", errs.ErrInvalid, b, err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
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
			if err := check.Name("attribute", k); err != nil {
				return nil, err
			}
			out[k] = nil
			continue
		}
		if err := check.Attr(k, v); err != nil {
			return nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%w: attribute %q: %v", errs.ErrInvalid, k, err)
		}
		out[k] = b
	}
	return out, nil
}

// MarshalNotify is the stored form of an event's notifier IDs: a JSON array, "[]" for none.
func MarshalNotify(ids []string) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids) // strings always encode
	return string(b)
}

// UnmarshalNotify decodes what MarshalNotify wrote; no IDs come back as nil.
func UnmarshalNotify(b []byte) ([]string, error) {
	var ids []string
	if err := json.Unmarshal(b, &ids); err != nil {
		return nil, fmt.Errorf("%w: notifier IDs %.80q: %v", errs.ErrInvalid, b, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, nil
}

// EventTime is the time a storage keeps for an event written at now: t to the
// microsecond in UTC, or now if t is zero.
func EventTime(t, now time.Time) time.Time {
	if t.IsZero() {
		return now.UTC()
	}
	return t.UTC().Truncate(time.Microsecond)
}
