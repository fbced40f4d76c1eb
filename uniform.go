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
	switch d := d.(type) {
	case FloatDistribution:
		if d.Log {
			lo, hi := math.Log(d.Low), math.Log(d.High)
			return clamp(math.Exp(lo+r.Float64()*(hi-lo)), d.Low, d.High)
		}
		if d.Step > 0 {
			n := int64(math.Round((d.High - d.Low) / d.Step))
			return d.ToExternal(d.Low + float64(r.Int64N(n+1))*d.Step)
		}
		return clamp(d.Low+r.Float64()*(d.High-d.Low), d.Low, d.High)
	case IntDistribution:
		if d.Log {
			// Uniform in log space over [low-0.5, high+0.5], then rounded: each integer gets
			// the log-width of its rounding interval.
			lo, hi := math.Log(float64(d.Low)-0.5), math.Log(float64(d.High)+0.5)
			if d.Low == 1 {
				lo = math.Log(0.5)
			}
			return d.ToExternal(math.Exp(lo + r.Float64()*(hi-lo)))
		}
		n := (d.High - d.Low) / d.step()
		return d.Low + r.Int64N(n+1)*d.step()
	case CategoricalDistribution:
		return d.Choices[r.IntN(len(d.Choices))]
	}
	panic(fmt.Sprintf("retune: unknown distribution %T", d))
}

// uniformSampler is the default sampler: every param independently by SampleUniform.
type uniformSampler struct{}

func (uniformSampler) Relative(context.Context, *SampleRequest) (map[string]any, error) {
	return nil, nil
}

func (uniformSampler) Independent(_ context.Context, req *SampleRequest, _ string, d Distribution) (any, error) {
	return SampleUniform(req.Rand, d), nil
}

func (uniformSampler) Spec() Spec { return Spec{Name: "random"} }
