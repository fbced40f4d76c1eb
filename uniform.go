package retune

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// SampleUniform draws a value from d: uniform, log-uniform for Log, on the step grid when
// there is one, a uniformly chosen choice for categoricals. The result is in external form.
func SampleUniform(r *rand.Rand, d Distribution) any {
	return FromUnit(d, r.Float64())
}

// FromUnit maps u in [0, 1) to d so that a uniform u gives SampleUniform's distribution:
// linear or logarithmic over the range, every step, int or choice with equal width.
func FromUnit(d Distribution, u float64) any {
	u = clamp(u, 0, math.Nextafter(1, 0))
	switch d := d.(type) {
	case FloatDistribution:
		switch {
		case d.Log:
			lo, hi := math.Log(d.Low), math.Log(d.High)
			return clamp(math.Exp(lo+u*(hi-lo)), d.Low, d.High)
		case d.Step > 0:
			n := math.Round((d.High - d.Low) / d.Step)
			return d.ToExternal(d.Low + math.Floor(u*(n+1))*d.Step)
		}
		return clamp(d.Low+u*(d.High-d.Low), d.Low, d.High)
	case IntDistribution:
		if d.Log {
			// Log-uniform over [low-0.5, high+0.5], rounded: each integer gets the
			// log-width of its rounding interval.
			lo, hi := math.Log(math.Max(float64(d.Low)-0.5, 0.5)), math.Log(float64(d.High)+0.5)
			return d.ToExternal(math.Exp(lo + u*(hi-lo)))
		}
		n := float64((d.High-d.Low)/d.step()) + 1
		return d.Low + int64(math.Min(math.Floor(u*n), n-1))*d.step()
	case CategoricalDistribution:
		k := float64(len(d.Choices))
		return d.Choices[int(math.Min(math.Floor(u*k), k-1))]
	}
	panic(fmt.Sprintf("retune: unknown distribution %T", d))
}

// ToUnit maps a value of a numeric distribution (external form) to [0, 1], the inverse of
// FromUnit: linear or logarithmic over the range, and for ints and float steps the
// centre of the value's cell, so that a uniform u maps back to a uniform draw. ok is false
// for categoricals and for values outside d.
func ToUnit(d Distribution, v any) (u float64, ok bool) {
	x, ok := d.ToInternal(v)
	if !ok {
		return 0, false
	}
	switch d := d.(type) {
	case FloatDistribution:
		switch {
		case d.High == d.Low:
			return 0.5, true
		case d.Log:
			return clamp01(math.Log(x)-math.Log(d.Low), math.Log(d.High)-math.Log(d.Low)), true
		case d.Step > 0:
			n := math.Round((d.High - d.Low) / d.Step)
			k := math.Round((x - d.Low) / d.Step)
			return (k + 0.5) / (n + 1), true
		}
		return clamp01(x-d.Low, d.High-d.Low), true
	case IntDistribution:
		if d.Log {
			lo, hi := math.Log(math.Max(float64(d.Low)-0.5, 0.5)), math.Log(float64(d.High)+0.5)
			return clamp01(math.Log(x)-lo, hi-lo), true
		}
		n := float64((d.High-d.Low)/d.step()) + 1
		k := (x - float64(d.Low)) / float64(d.step())
		return (k + 0.5) / n, true
	}
	return 0, false
}

// clamp01 is a/b clamped to [0, 1].
func clamp01(a, b float64) float64 { return clamp(a/b, 0, 1) }

// uniformSampler is the default sampler: every param independently by SampleUniform.
type uniformSampler struct{}

func (uniformSampler) Relative(context.Context, *SampleRequest) (map[string]any, error) {
	return nil, nil
}

func (uniformSampler) Independent(_ context.Context, req *SampleRequest, _ string, d Distribution) (any, error) {
	return SampleUniform(req.Rand, d), nil
}

func (uniformSampler) Spec() Spec { return Spec{Name: "random"} }

func (uniformSampler) HistoryFree() {}
