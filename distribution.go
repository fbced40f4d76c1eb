package retune

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/a6b40afc/retune/internal/codec"
)

// Distribution is the range a parameter is drawn from. It is a closed set: FloatDistribution,
// IntDistribution and CategoricalDistribution; other packages cannot implement it.
//
// Samplers work on an internal float64 form: a float is itself, an int is its value as a
// float64, a categorical is the index of its choice. Log scaling is the sampler's business
// (see IsLog).
type Distribution interface {
	// Validate reports why the distribution is invalid, naming what would be valid.
	Validate() error
	// Contains reports whether v (in external form) lies in the distribution.
	Contains(v any) bool
	// ToInternal converts an external value to the internal form; ok is false when v is
	// not in the distribution.
	ToInternal(v any) (x float64, ok bool)
	// ToExternal converts an internal value back, rounding and clamping it into the
	// distribution (nearest step, nearest int, valid index).
	ToExternal(x float64) any
	// Equal reports whether d and the receiver describe the same distribution.
	Equal(d Distribution) bool
	// String describes the distribution for error messages.
	String() string

	isDistribution()
}

// stepTolerance is how far (high-low)/step may be from a whole number, relative to it,
// before a float step is rejected as not dividing the range.
const stepTolerance = 1e-9

// FloatDistribution is a float in [Low, High], uniform or (Log) log-uniform, optionally
// restricted to Low + k*Step.
type FloatDistribution struct {
	Low, High float64
	Log       bool
	Step      float64 // 0 = continuous
}

func (FloatDistribution) isDistribution() {}

// Validate implements Distribution.
func (d FloatDistribution) Validate() error {
	switch {
	case !finite(d.Low) || !finite(d.High):
		return fmt.Errorf("%w: bounds [%v, %v] must be finite numbers", ErrInvalid, d.Low, d.High)
	case d.Low > d.High:
		return fmt.Errorf("%w: low %v > high %v: want low <= high", ErrInvalid, d.Low, d.High)
	case d.Log && d.Step != 0:
		return fmt.Errorf("%w: log and step %v together: use one of them", ErrInvalid, d.Step)
	case d.Log && d.Low <= 0:
		return fmt.Errorf("%w: log scale with low %v: want low > 0", ErrInvalid, d.Low)
	case d.Step < 0 || !finite(d.Step):
		return fmt.Errorf("%w: step %v: want a step > 0 (or 0 for continuous)", ErrInvalid, d.Step)
	case d.Step > 0:
		n := (d.High - d.Low) / d.Step
		if math.Abs(n-math.Round(n)) > stepTolerance*math.Max(1, n) {
			return fmt.Errorf("%w: step %v does not divide the range [%v, %v] (%.6g steps): want high-low a whole multiple of step", ErrInvalid, d.Step, d.Low, d.High, n)
		}
	}
	return nil
}

// Contains implements Distribution.
func (d FloatDistribution) Contains(v any) bool {
	_, ok := d.ToInternal(v)
	return ok
}

// ToInternal implements Distribution. It accepts any Go number.
func (d FloatDistribution) ToInternal(v any) (float64, bool) {
	x, ok := toFloat(v)
	if !ok || x < d.Low || x > d.High || math.IsNaN(x) {
		return 0, false
	}
	if d.Step > 0 {
		k := (x - d.Low) / d.Step
		if math.Abs(k-math.Round(k)) > 1e-8*math.Max(1, k) {
			return 0, false
		}
	}
	return x, true
}

// ToExternal implements Distribution: the nearest value on the step grid, within bounds.
func (d FloatDistribution) ToExternal(x float64) any {
	if math.IsNaN(x) {
		x = d.Low
	}
	if d.Step > 0 {
		k := math.Round((x - d.Low) / d.Step)
		x = d.Low + k*d.Step
	}
	return clamp(x, d.Low, d.High)
}

// Equal implements Distribution.
func (d FloatDistribution) Equal(o Distribution) bool {
	od, ok := o.(FloatDistribution)
	return ok && od == d
}

func (d FloatDistribution) String() string {
	return rangeString("float", d.Low, d.High, d.Log, d.Step)
}

// IntDistribution is an integer in [Low, High], uniform or (Log) log-uniform, with an
// optional Step (0 means 1).
type IntDistribution struct {
	Low, High int64
	Log       bool
	Step      int64 // 0 = 1
}

func (IntDistribution) isDistribution() {}

func (d IntDistribution) step() int64 {
	if d.Step == 0 {
		return 1
	}
	return d.Step
}

// Validate implements Distribution.
func (d IntDistribution) Validate() error {
	switch {
	case d.Low > d.High:
		return fmt.Errorf("%w: low %d > high %d: want low <= high", ErrInvalid, d.Low, d.High)
	case d.Log && d.Step > 1:
		return fmt.Errorf("%w: log and step %d together: use one of them", ErrInvalid, d.Step)
	case d.Log && d.Low < 1:
		return fmt.Errorf("%w: log scale with low %d: want low >= 1", ErrInvalid, d.Low)
	case d.Step < 0:
		return fmt.Errorf("%w: step %d: want a step >= 1", ErrInvalid, d.Step)
	case (d.High-d.Low)%d.step() != 0:
		return fmt.Errorf("%w: step %d does not divide the range [%d, %d]: want high-low a multiple of step", ErrInvalid, d.Step, d.Low, d.High)
	}
	return nil
}

// Contains implements Distribution.
func (d IntDistribution) Contains(v any) bool {
	_, ok := d.ToInternal(v)
	return ok
}

// ToInternal implements Distribution. It accepts Go integers and integral floats.
func (d IntDistribution) ToInternal(v any) (float64, bool) {
	n, ok := toInt(v)
	if !ok || n < d.Low || n > d.High || (n-d.Low)%d.step() != 0 {
		return 0, false
	}
	return float64(n), true
}

// ToExternal implements Distribution: the nearest int on the step grid, within bounds, as int64.
func (d IntDistribution) ToExternal(x float64) any {
	if math.IsNaN(x) {
		return d.Low
	}
	lo, hi := float64(d.Low), float64(d.High)
	x = clamp(x, lo, hi)
	k := math.Round((x - lo) / float64(d.step()))
	n := d.Low + int64(k)*d.step()
	if n > d.High {
		n -= d.step()
	}
	return n
}

// Equal implements Distribution.
func (d IntDistribution) Equal(o Distribution) bool {
	od, ok := o.(IntDistribution)
	return ok && od.Low == d.Low && od.High == d.High && od.Log == d.Log && od.step() == d.step()
}

func (d IntDistribution) String() string {
	var step float64
	if d.Step > 1 {
		step = float64(d.Step)
	}
	return rangeString("int", float64(d.Low), float64(d.High), d.Log, step)
}

// CategoricalDistribution is one of a list of choices. Choices must be distinct and
// JSON-encodable (they are stored as JSON); they compare by their JSON form, so a choice
// read back from a database as float64(2) is the same choice as int(2).
type CategoricalDistribution struct {
	Choices []any
}

func (CategoricalDistribution) isDistribution() {}

// Validate implements Distribution.
func (d CategoricalDistribution) Validate() error {
	if len(d.Choices) == 0 {
		return fmt.Errorf("%w: no choices: want at least one", ErrInvalid)
	}
	seen := make(map[string]int, len(d.Choices))
	for i, c := range d.Choices {
		k, err := choiceKey(c)
		if err != nil {
			return fmt.Errorf("%w: choice %d (%v): %v", ErrInvalid, i, c, err)
		}
		if j, dup := seen[k]; dup {
			return fmt.Errorf("%w: choice %v appears twice (positions %d and %d): want distinct choices", ErrInvalid, c, j, i)
		}
		seen[k] = i
	}
	return nil
}

// Index returns the position of v among the choices, or -1.
func (d CategoricalDistribution) Index(v any) int {
	for i, c := range d.Choices {
		if c == v {
			return i
		}
	}
	k, err := choiceKey(v)
	if err != nil {
		return -1
	}
	for i, c := range d.Choices {
		if ck, err := choiceKey(c); err == nil && ck == k {
			return i
		}
	}
	return -1
}

// Contains implements Distribution.
func (d CategoricalDistribution) Contains(v any) bool { return d.Index(v) >= 0 }

// ToInternal implements Distribution: the index of the choice.
func (d CategoricalDistribution) ToInternal(v any) (float64, bool) {
	i := d.Index(v)
	return float64(i), i >= 0
}

// ToExternal implements Distribution: the choice at the rounded index.
func (d CategoricalDistribution) ToExternal(x float64) any {
	if len(d.Choices) == 0 {
		return nil
	}
	if math.IsNaN(x) {
		x = 0
	}
	i := int(clamp(math.Round(x), 0, float64(len(d.Choices)-1)))
	return d.Choices[i]
}

// Equal implements Distribution: same choices in the same order.
func (d CategoricalDistribution) Equal(o Distribution) bool {
	od, ok := o.(CategoricalDistribution)
	if !ok || len(od.Choices) != len(d.Choices) {
		return false
	}
	for i := range d.Choices {
		if d.Choices[i] == od.Choices[i] {
			continue
		}
		a, err1 := choiceKey(d.Choices[i])
		b, err2 := choiceKey(od.Choices[i])
		if err1 != nil || err2 != nil || a != b {
			return false
		}
	}
	return true
}

func (d CategoricalDistribution) String() string {
	var b bytes.Buffer
	b.WriteString("categorical{")
	for i, c := range d.Choices {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, c)
	}
	b.WriteString("}")
	return b.String()
}

// IsLog reports whether d is a log-scaled float or int distribution.
func IsLog(d Distribution) bool {
	switch d := d.(type) {
	case FloatDistribution:
		return d.Log
	case IntDistribution:
		return d.Log
	}
	return false
}

// distJSON is the stored form of a Distribution.
type distJSON struct {
	Type    string            `json:"type"`
	Low     *json.Number      `json:"low,omitempty"`
	High    *json.Number      `json:"high,omitempty"`
	Log     bool              `json:"log,omitempty"`
	Step    *json.Number      `json:"step,omitempty"`
	Choices []json.RawMessage `json:"choices,omitempty"`
}

// MarshalDistribution encodes d as JSON, for storage and export. Floats use the shortest
// form that round-trips exactly.
func MarshalDistribution(d Distribution) ([]byte, error) {
	num := func(s string) *json.Number { n := json.Number(s); return &n }
	var j distJSON
	switch d := d.(type) {
	case FloatDistribution:
		j = distJSON{Type: "float", Low: num(codec.FormatFloat(d.Low)), High: num(codec.FormatFloat(d.High)), Log: d.Log}
		if d.Step != 0 {
			j.Step = num(codec.FormatFloat(d.Step))
		}
	case IntDistribution:
		j = distJSON{Type: "int", Low: num(strconv.FormatInt(d.Low, 10)), High: num(strconv.FormatInt(d.High, 10)), Log: d.Log}
		if d.Step > 1 {
			j.Step = num(strconv.FormatInt(d.Step, 10))
		}
	case CategoricalDistribution:
		j = distJSON{Type: "categorical", Choices: make([]json.RawMessage, len(d.Choices))}
		for i, c := range d.Choices {
			b, err := json.Marshal(c)
			if err != nil {
				return nil, fmt.Errorf("%w: choice %v: %v", ErrInvalid, c, err)
			}
			j.Choices[i] = b
		}
	default:
		return nil, fmt.Errorf("%w: unknown distribution %T", ErrInvalid, d)
	}
	return json.Marshal(j)
}

// UnmarshalDistribution decodes what MarshalDistribution wrote and validates it.
// Categorical choices come back as JSON decodes them (string, float64, bool, …).
func UnmarshalDistribution(b []byte) (Distribution, error) {
	var j distJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("%w: distribution %s: %v", ErrInvalid, b, err)
	}
	var d Distribution
	var err error
	switch j.Type {
	case "float":
		var f FloatDistribution
		f.Log = j.Log
		if f.Low, err = numFloat(j.Low, "low"); err == nil {
			f.High, err = numFloat(j.High, "high")
		}
		if err == nil && j.Step != nil {
			f.Step, err = numFloat(j.Step, "step")
		}
		d = f
	case "int":
		var n IntDistribution
		n.Log = j.Log
		if n.Low, err = numInt(j.Low, "low"); err == nil {
			n.High, err = numInt(j.High, "high")
		}
		if err == nil && j.Step != nil {
			n.Step, err = numInt(j.Step, "step")
		}
		d = n
	case "categorical":
		c := CategoricalDistribution{Choices: make([]any, len(j.Choices))}
		for i, raw := range j.Choices {
			if err = json.Unmarshal(raw, &c.Choices[i]); err != nil {
				break
			}
		}
		d = c
	default:
		return nil, fmt.Errorf("%w: distribution type %q: want float, int or categorical", ErrInvalid, j.Type)
	}
	if err == nil {
		err = d.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("distribution %s: %w", b, err)
	}
	return d, nil
}

func numFloat(n *json.Number, field string) (float64, error) {
	if n == nil {
		return 0, fmt.Errorf("%w: missing %s", ErrInvalid, field)
	}
	return strconv.ParseFloat(string(*n), 64)
}

func numInt(n *json.Number, field string) (int64, error) {
	if n == nil {
		return 0, fmt.Errorf("%w: missing %s", ErrInvalid, field)
	}
	return strconv.ParseInt(string(*n), 10, 64)
}

func choiceKey(v any) (string, error) {
	if f, ok := v.(float64); ok && !finite(f) {
		return "", fmt.Errorf("non-finite number")
	}
	if f, ok := v.(float32); ok && !finite(float64(f)) {
		return "", fmt.Errorf("non-finite number")
	}
	if s, ok := v.(string); ok {
		return strconv.Quote(s), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("not JSON-encodable: %v", err)
	}
	return string(b), nil
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case uint64:
		return float64(v), true
	case uint32:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}

func toInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint64:
		return int64(v), v <= math.MaxInt64
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return 0, false
		}
		return int64(v), true
	case float32:
		return toInt(float64(v))
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n, true
		}
		f, err := v.Float64()
		if err != nil {
			return 0, false
		}
		return toInt(f)
	}
	return 0, false
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

func rangeString(kind string, lo, hi float64, log bool, step float64) string {
	s := fmt.Sprintf("%s[%s, %s]", kind, codec.FormatFloat(lo), codec.FormatFloat(hi))
	if log {
		s += " log"
	}
	if step > 0 {
		s += " step " + codec.FormatFloat(step)
	}
	return s
}

// SameKind reports whether a and b are both floats, both ints or both categoricals: a
// past value drawn from a distribution of another kind than the current one is ignored.
func SameKind(a, b Distribution) bool {
	switch a.(type) {
	case FloatDistribution:
		_, ok := b.(FloatDistribution)
		return ok
	case IntDistribution:
		_, ok := b.(IntDistribution)
		return ok
	case CategoricalDistribution:
		_, ok := b.(CategoricalDistribution)
		return ok
	}
	return false
}
