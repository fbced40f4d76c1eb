package nsga2

import (
	"math"

	"github.com/a6b40afc/retune"
)

// toUnit maps an internal value of a numeric distribution to [0, 1], the inverse of
// retune.FromUnit: linear or logarithmic over the range, and for ints and float steps the
// centre of the value's cell, so that a uniform u maps back to a uniform draw. ok is false
// for categoricals and for values outside d.
func toUnit(d retune.Distribution, v any) (u float64, ok bool) {
	x, ok := d.ToInternal(v)
	if !ok {
		return 0, false
	}
	switch d := d.(type) {
	case retune.FloatDistribution:
		switch {
		case d.High == d.Low:
			return 0.5, true
		case d.Log:
			return ratio(math.Log(x)-math.Log(d.Low), math.Log(d.High)-math.Log(d.Low)), true
		case d.Step > 0:
			n := math.Round((d.High - d.Low) / d.Step)
			k := math.Round((x - d.Low) / d.Step)
			return (k + 0.5) / (n + 1), true
		}
		return ratio(x-d.Low, d.High-d.Low), true
	case retune.IntDistribution:
		if d.Log {
			lo, hi := math.Log(math.Max(float64(d.Low)-0.5, 0.5)), math.Log(float64(d.High)+0.5)
			return ratio(math.Log(x)-lo, hi-lo), true
		}
		step := d.Step
		if step == 0 {
			step = 1
		}
		n := float64((d.High-d.Low)/step) + 1
		k := (x - float64(d.Low)) / float64(step)
		return (k + 0.5) / n, true
	}
	return 0, false
}

func ratio(a, b float64) float64 {
	return math.Max(0, math.Min(1, a/b))
}

// sameKind reports whether a and b are both floats, both ints or both categoricals.
func sameKind(a, b retune.Distribution) bool {
	switch a.(type) {
	case retune.FloatDistribution:
		_, ok := b.(retune.FloatDistribution)
		return ok
	case retune.IntDistribution:
		_, ok := b.(retune.IntDistribution)
		return ok
	case retune.CategoricalDistribution:
		_, ok := b.(retune.CategoricalDistribution)
		return ok
	}
	return false
}
