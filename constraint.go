package retune

import (
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/a6b40afc/retune/internal/codec"
)

// Constraints make some COMPLETE trials infeasible: a trial that used too much memory
// finished, and its value is known, but it is no answer. A COMPLETE trial carries one
// constraint value per constraint in its system attribute "constraints" (Optuna's
// convention: a value <= 0 is satisfied, a positive value is by how much it is violated,
// NaN is unknown and counts as violated). The values come from Trial.SetConstraints (any
// rule the objective computes) followed by one per Config.Constraints bound, evaluated on
// the trial's metrics when it is told. Study.Best, BestTrials and BestOf pick only feasible
// trials, so retraining decisions do too; samplers read FrozenTrial.Feasible and
// FrozenTrial.Violation (see each sampler's package doc for how it uses them).

// attrConstraints is the system attribute holding a COMPLETE trial's constraint values.
const attrConstraints = "constraints"

// Constraint bounds a metric a trial reports (Trial.SetMetric, a trainer's metrics line):
// the trial is feasible only if the metric is at most Max and at least Min (nil: no bound).
// A trial that does not report the metric is infeasible.
type Constraint struct {
	Metric   string
	Max, Min *float64
}

// AtMost is the constraint metric <= bound.
func AtMost(metric string, bound float64) Constraint {
	return Constraint{Metric: metric, Max: &bound}
}

// AtLeast is the constraint metric >= bound.
func AtLeast(metric string, bound float64) Constraint {
	return Constraint{Metric: metric, Min: &bound}
}

// String reads like the study file's entry: "memory_mb <= 1000", "0.5 <= acc <= 1".
func (c Constraint) String() string {
	s := c.Metric
	if c.Min != nil {
		s = codec.FormatFloat(*c.Min) + " <= " + s
	}
	if c.Max != nil {
		s += " <= " + codec.FormatFloat(*c.Max)
	}
	return s
}

// Validate checks the constraint: a valid metric name, at least one finite bound, and
// Min <= Max when both are given.
func (c Constraint) Validate() error {
	if err := ValidateName("metric", c.Metric); err != nil {
		return fmt.Errorf("constraint: %w", err)
	}
	if c.Max == nil && c.Min == nil {
		return fmt.Errorf("%w: constraint on %q has no bound: give max, min or both", ErrInvalid, c.Metric)
	}
	for _, b := range []*float64{c.Max, c.Min} {
		if b != nil && (math.IsNaN(*b) || math.IsInf(*b, 0)) {
			return fmt.Errorf("%w: constraint on %q has bound %v: want a finite number", ErrInvalid, c.Metric, *b)
		}
	}
	if c.Max != nil && c.Min != nil && *c.Min > *c.Max {
		return fmt.Errorf("%w: constraint on %q has min %v above max %v: no value satisfies it", ErrInvalid, c.Metric, *c.Min, *c.Max)
	}
	return nil
}

// Value is the constraint value of a trial with metrics: <= 0 when satisfied, else by how
// much the metric is beyond its bound; NaN when the metric is missing or NaN.
func (c Constraint) Value(metrics map[string]float64) float64 {
	m, ok := metrics[c.Metric]
	if !ok || math.IsNaN(m) {
		return math.NaN()
	}
	v := math.Inf(-1)
	if c.Max != nil {
		v = m - *c.Max
	}
	if c.Min != nil {
		v = max(v, *c.Min-m)
	}
	return v
}

// Constraints returns the trial's constraint values (nil if it has none): one per value
// given to Trial.SetConstraints, then one per study constraint.
func (t FrozenTrial) Constraints() []float64 {
	raw, ok := t.SystemAttrs[attrConstraints]
	if !ok {
		return nil
	}
	out, err := decodeConstraints(raw)
	if err != nil { // not written by retune: unknown, so not feasible
		return []float64{math.NaN()}
	}
	return out
}

// Feasible reports whether every constraint value of the trial is <= 0 (true for a trial
// without constraints).
func (t FrozenTrial) Feasible() bool {
	for _, v := range t.Constraints() {
		if !(v <= 0) {
			return false
		}
	}
	return true
}

// Violation is the sum of the trial's positive constraint values: 0 for a feasible
// trial, +Inf if one is unknown (NaN). Samplers rank infeasible trials by it.
func (t FrozenTrial) Violation() float64 {
	sum := 0.0
	for _, v := range t.Constraints() {
		switch {
		case math.IsNaN(v):
			return math.Inf(1)
		case v > 0:
			sum += v
		}
	}
	return sum
}

// SetConstraints records the trial's constraint values, computed by the objective (as
// Optuna's constraints_func does): one value per rule, <= 0 when satisfied, positive by how
// much it is violated. The study's Config.Constraints values follow them when the trial is
// told COMPLETE. A NaN value is kept as the trial's error: the trial ends FAIL.
func (t *Trial) SetConstraints(values ...float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, v := range values {
		if math.IsNaN(v) {
			t.failLocked(fmt.Errorf("%w: constraint value %d is NaN: want a number (<= 0 satisfied)", ErrInvalid, i))
			return
		}
	}
	t.constraints = append([]float64(nil), values...)
}

// encodeConstraints is the stored form of constraint values: numbers, with "inf" and
// "nan" for the values JSON has no number for (-Inf, satisfied, is stored as the lowest
// float64). So a trial is feasible exactly when every stored value is a number <= 0,
// which storage can check in SQL (StudySummary.Best).
func encodeConstraints(vals []float64) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		switch {
		case math.IsInf(v, -1):
			out[i] = -math.MaxFloat64
		case math.IsNaN(v) || math.IsInf(v, 1):
			out[i] = codec.FormatFloat(v)
		default:
			out[i] = v
		}
	}
	return out
}

func decodeConstraints(raw any) ([]float64, error) {
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: constraints attribute is %T, not a list", ErrInvalid, raw)
	}
	out := make([]float64, len(list))
	for i, x := range list {
		switch v := x.(type) {
		case float64:
			out[i] = v
		case string:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: constraint value %q", ErrInvalid, v)
			}
			out[i] = f
		default:
			return nil, fmt.Errorf("%w: constraint value %v is %T", ErrInvalid, x, x)
		}
	}
	return out, nil
}

// constraintValues are the values a trial told COMPLETE stores: the objective's own, then
// one per study constraint evaluated on metrics. Nil when there are none.
func constraintValues(own []float64, cs []Constraint, metrics map[string]float64) []any {
	if len(own) == 0 && len(cs) == 0 {
		return nil
	}
	vals := append([]float64(nil), own...)
	for _, c := range cs {
		vals = append(vals, c.Value(metrics))
	}
	return encodeConstraints(vals)
}

// constraintsAttr is the stored form of a study's constraints (study system attribute
// "constraints").
func constraintsAttr(cs []Constraint) []any {
	out := make([]any, len(cs))
	for i, c := range cs {
		m := map[string]any{"metric": c.Metric}
		if c.Max != nil {
			m["max"] = *c.Max
		}
		if c.Min != nil {
			m["min"] = *c.Min
		}
		out[i] = m
	}
	return out
}

// storedConstraints reads a study's constraints back from its system attributes.
func storedConstraints(attrs map[string]any) ([]Constraint, error) {
	raw, ok := attrs[attrConstraints]
	if !ok {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: study attribute constraints is %T, not a list", ErrInvalid, raw)
	}
	out := make([]Constraint, 0, len(list))
	for _, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: stored constraint %v is not an object", ErrInvalid, x)
		}
		c := Constraint{}
		c.Metric, _ = m["metric"].(string)
		if v, ok := m["max"].(float64); ok {
			c.Max = &v
		}
		if v, ok := m["min"].(float64); ok {
			c.Min = &v
		}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("stored %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

func constraintsEqual(a, b []Constraint) bool {
	return len(a) == len(b) && reflect.DeepEqual(constraintsAttr(a), constraintsAttr(b))
}

func constraintStrings(cs []Constraint) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

// Constraints returns the study's constraints as stored with it (Config.Constraints); nil
// if it has none or they cannot be read.
func (rec StudyRecord) Constraints() []Constraint {
	cs, err := storedConstraints(rec.SystemAttrs)
	if err != nil {
		return nil
	}
	return cs
}
