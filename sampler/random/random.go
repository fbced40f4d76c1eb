// Package random samples every parameter independently and uniformly: uniform for floats
// and ints, log-uniform for log-scaled ones, uniform over the step grid and over the
// choices. It ignores history, so trial n's params depend only on the study seed and n.
package random

import (
	"context"

	"github.com/a6b40afc/retune"
)

// Sampler is the random sampler. It is stateless and safe for concurrent use.
type Sampler struct{}

// New returns a random sampler.
func New() *Sampler { return &Sampler{} }

// Relative implements retune.Sampler: the random sampler has no joint model.
func (*Sampler) Relative(context.Context, *retune.SampleRequest) (map[string]any, error) {
	return nil, nil
}

// Independent implements retune.Sampler.
func (*Sampler) Independent(_ context.Context, req *retune.SampleRequest, _ string, d retune.Distribution) (any, error) {
	return retune.SampleUniform(req.Rand, d), nil
}

// Spec implements retune.Specer.
func (*Sampler) Spec() retune.Spec { return retune.Spec{Name: "random"} }

// HistoryFree implements retune.HistoryFree: random proposals ignore other trials.
func (*Sampler) HistoryFree() {}
