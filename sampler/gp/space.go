package gp

import (
	"math"
	"slices"

	"github.com/a6b40afc/retune"
)

type dimKind int8

const (
	continuous  dimKind = iota // a float without a step
	discrete                   // an int, or a float with a step
	categorical                // a choice, compared by Hamming distance
)

// dim is one modelled param: how its values map to the GP's input space. Numeric params
// map to [0, 1] (log values for log-scaled ones): a discrete param's grid value to the
// middle of its cell of width 1/k, as uniform sampling gives each value an equal share. A
// categorical param maps to the index of its choice.
type dim struct {
	name string
	d    retune.Distribution
	kind dimKind
	log  bool
	// lo and hi bound the numeric model space (log scale if log): u = (t(x)-lo)/(hi-lo).
	lo, hi float64
	// k is the number of grid values (discrete) or choices (categorical).
	k int
	// low and step describe a linear grid: value i is low + i*step.
	low, step float64
}

// newDim returns the dim of distribution d, and ok = false when d has a single value
// (nothing to model).
func newDim(name string, d retune.Distribution) (dim, bool) {
	dm := dim{name: name, d: d}
	switch d := d.(type) {
	case retune.FloatDistribution:
		switch {
		case d.Low == d.High:
			return dm, false
		case d.Log:
			dm.kind, dm.log, dm.lo, dm.hi = continuous, true, math.Log(d.Low), math.Log(d.High)
		case d.Step > 0:
			dm.kind, dm.low, dm.step = discrete, d.Low, d.Step
			dm.k = int(math.Round((d.High-d.Low)/d.Step)) + 1
		default:
			dm.kind, dm.lo, dm.hi = continuous, d.Low, d.High
		}
	case retune.IntDistribution:
		if d.Low == d.High {
			return dm, false
		}
		step := max(d.Step, 1)
		dm.kind, dm.k = discrete, int((d.High-d.Low)/step)+1
		if d.Log {
			dm.log = true
			dm.lo, dm.hi = math.Log(math.Max(float64(d.Low)-0.5, 0.5)), math.Log(float64(d.High)+0.5)
		} else {
			dm.low, dm.step = float64(d.Low), float64(step)
		}
	case retune.CategoricalDistribution:
		if len(d.Choices) < 2 {
			return dm, false
		}
		dm.kind, dm.k = categorical, len(d.Choices)
	}
	return dm, true
}

// toU maps an internal value (see retune.Distribution) to the model space.
func (dm *dim) toU(x float64) float64 {
	switch {
	case dm.kind == categorical:
		return x
	case dm.kind == discrete && !dm.log:
		i := math.Round((x - dm.low) / dm.step)
		return (i + 0.5) / float64(dm.k)
	case dm.log:
		return (math.Log(x) - dm.lo) / (dm.hi - dm.lo)
	}
	return (x - dm.lo) / (dm.hi - dm.lo)
}

// fromU maps a model-space value back to an internal value on the param's grid.
func (dm *dim) fromU(u float64) float64 {
	switch {
	case dm.kind == categorical:
		return math.Max(0, math.Min(math.Round(u), float64(dm.k-1)))
	case dm.kind == discrete && !dm.log:
		i := math.Max(0, math.Min(math.Floor(u*float64(dm.k)), float64(dm.k-1)))
		return dm.low + i*dm.step
	}
	u = math.Max(0, math.Min(u, 1))
	x := dm.lo + u*(dm.hi-dm.lo)
	if dm.log {
		x = math.Exp(x)
	}
	if dm.kind == discrete {
		x = math.Round(x)
	}
	ext := dm.d.ToExternal(x) // clamps into the distribution
	v, _ := dm.d.ToInternal(ext)
	return v
}

// snap returns the model-space value of the grid value nearest to u.
func (dm *dim) snap(u float64) float64 {
	if dm.kind == continuous {
		return math.Max(0, math.Min(u, 1))
	}
	return dm.toU(dm.fromU(u))
}

// external returns the param's value for model-space value u.
func (dm *dim) external(u float64) any {
	return dm.d.ToExternal(dm.fromU(u))
}

// maxLine is how many values a line search over a discrete param tries at most.
const maxLine = 32

// lineValues returns the model-space values a line search over the dim tries around the
// current value u: every grid value or choice when there are few, otherwise the nearest
// ones and a spread over the range.
func (dm *dim) lineValues(u float64, buf []float64) []float64 {
	out := buf[:0]
	if dm.k <= maxLine {
		for i := range dm.k {
			if dm.kind == categorical {
				out = append(out, float64(i))
			} else if dm.log {
				out = append(out, dm.toU(float64(dm.d.(retune.IntDistribution).Low)+float64(i)))
			} else {
				out = append(out, (float64(i)+0.5)/float64(dm.k))
			}
		}
		return out
	}
	if dm.kind == categorical {
		for i := range dm.k {
			out = append(out, float64(i))
		}
		return out
	}
	// Neighbours on the grid, then an even spread.
	cur := dm.fromU(u)
	st := dm.step
	if dm.log {
		st = 1
	}
	lowest, highest := dm.fromU(0), dm.fromU(1)
	for j := -4; j <= 4; j++ {
		if v := cur + float64(j)*st; j != 0 && v >= lowest && v <= highest {
			out = append(out, dm.snap(dm.toU(v)))
		}
	}
	for i := range maxLine - 8 {
		out = append(out, dm.snap((float64(i)+0.5)/float64(maxLine-8)))
	}
	slices.Sort(out)
	return slices.Compact(out)
}
