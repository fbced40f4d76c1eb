package tpe

import (
	"math"

	"github.com/a6b40afc/retune"
)

// dimKind is how a parameter is modelled.
type dimKind int8

const (
	continuous  dimKind = iota // a float without step, in value or log space
	discrete                   // an int, or a float with a step: a grid of cells
	categorical                // an index into the choices
)

// dim maps a distribution to the model space. Continuous params live in [lo, hi] (log space
// for log scale). Discrete params are a grid of points whose cells tile [lo, hi]: linear
// grids have cells [v-step/2, v+step/2]; log-scaled ints have cells [log(v-1/2), log(v+1/2)].
// Categorical params are indices 0..k-1.
type dim struct {
	d      retune.Distribution
	kind   dimKind
	log    bool
	lo, hi float64 // model-space bounds
	low    float64 // value-space low of a linear grid
	step   float64 // value-space step of a linear grid
	last   float64 // index of the last grid point (linear grids), or the highest int (log ints)
	first  float64 // lowest int of a log-scaled int
	k      int     // number of choices
	single bool    // the distribution has one possible value
}

func newDim(d retune.Distribution) dim {
	m := dim{d: d}
	switch d := d.(type) {
	case retune.FloatDistribution:
		switch {
		case d.Step > 0:
			m.kind, m.low, m.step = discrete, d.Low, d.Step
			m.last = math.Round((d.High - d.Low) / d.Step)
			m.lo, m.hi = d.Low-d.Step/2, d.Low+(m.last+0.5)*d.Step
			m.single = m.last == 0
		case d.Log:
			m.kind, m.log = continuous, true
			m.lo, m.hi = math.Log(d.Low), math.Log(d.High)
			m.single = d.Low == d.High
		default:
			m.kind, m.lo, m.hi = continuous, d.Low, d.High
			m.single = d.Low == d.High
		}
	case retune.IntDistribution:
		m.kind = discrete
		if d.Log {
			m.log = true
			m.first, m.last = float64(d.Low), float64(d.High)
			m.lo, m.hi = math.Log(m.first-0.5), math.Log(m.last+0.5)
		} else {
			step := d.Step
			if step == 0 {
				step = 1
			}
			m.low, m.step = float64(d.Low), float64(step)
			m.last = float64((d.High - d.Low) / step)
			m.lo, m.hi = m.low-m.step/2, m.low+(m.last+0.5)*m.step
		}
		m.single = d.Low == d.High
	case retune.CategoricalDistribution:
		m.kind, m.k = categorical, len(d.Choices)
		m.lo, m.hi = 0, float64(m.k-1)
		m.single = m.k == 1
	}
	return m
}

// model returns the model-space value of a past trial's param, or NaN when the trial lacks
// it, drew it from a distribution of another kind, or the value lies outside the current
// distribution.
func (m *dim) model(ft *retune.FrozenTrial, name string) float64 {
	v, ok := ft.Params[name]
	if !ok {
		return math.NaN()
	}
	if td, ok := ft.Distributions[name]; ok && !retune.SameKind(td, m.d) {
		return math.NaN()
	}
	return m.fromExternal(v)
}

// fromExternal converts an external value to model space, NaN if it is outside.
func (m *dim) fromExternal(v any) float64 {
	x, ok := m.d.ToInternal(v)
	if !ok {
		return math.NaN()
	}
	if m.log {
		return math.Log(x)
	}
	return x
}

// snap maps a model-space sample to a valid model-space point: clamped into the bounds,
// and onto the grid for discrete params.
func (m *dim) snap(x float64) float64 {
	switch m.kind {
	case discrete:
		if m.log {
			v := math.Round(math.Exp(x))
			return math.Log(math.Max(m.first, math.Min(m.last, v)))
		}
		k := math.Max(0, math.Min(m.last, math.Round((x-m.low)/m.step)))
		return m.low + k*m.step
	case categorical:
		return math.Max(0, math.Min(m.hi, math.Round(x)))
	}
	return math.Max(m.lo, math.Min(m.hi, x))
}

// cell returns the model-space cell of a discrete grid point x.
func (m *dim) cell(x float64) (a, b float64) {
	if m.log {
		v := math.Round(math.Exp(x))
		return math.Log(v - 0.5), math.Log(v + 0.5)
	}
	return x - m.step/2, x + m.step/2
}

// external converts a model-space point to the external value.
func (m *dim) external(x float64) any {
	if m.log {
		x = math.Exp(x)
	}
	return m.d.ToExternal(x)
}

// only returns the single possible value of a distribution with one.
func (m *dim) only() any {
	switch d := m.d.(type) {
	case retune.FloatDistribution:
		return d.ToExternal(d.Low)
	case retune.IntDistribution:
		return d.Low
	case retune.CategoricalDistribution:
		return d.Choices[0]
	}
	return nil
}
