// Package grid runs every combination of listed parameter values exactly once.
//
// When a study starts, the grid enqueues each combination as a WAITING trial (once per
// study, whatever the number of processes starting it: storage records the grid's key in
// the same transaction). Ask claims WAITING trials atomically, so each point runs once
// across any number of workers and processes, and once none is left the study stops with
// retune.GridExhausted. Combinations are enqueued in lexicographic order of the params
// sorted by name.
package grid

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/a6b40afc/retune"
)

// Sampler is the grid sampler. It is immutable and safe for concurrent use.
type Sampler struct {
	values map[string][]any
	names  []string
}

// New returns a grid over values: param name → the values to try. Values must be
// JSON-encodable and lie in the distribution the objective asks for; an empty grid, a
// param with no values or a value listed twice is reported when the study starts.
func New(values map[string][]any) *Sampler {
	s := &Sampler{values: make(map[string][]any, len(values))}
	for k, v := range values {
		s.values[k] = slices.Clone(v)
		s.names = append(s.names, k)
	}
	sort.Strings(s.names)
	return s
}

func (s *Sampler) validate() error {
	if len(s.names) == 0 {
		return fmt.Errorf("%w: grid has no params: want at least one param with values", retune.ErrInvalid)
	}
	for _, n := range s.names {
		if err := retune.ValidateName("param", n); err != nil {
			return fmt.Errorf("grid: %w", err)
		}
		vs := s.values[n]
		if len(vs) == 0 {
			return fmt.Errorf("%w: grid param %q has no values: want at least one", retune.ErrInvalid, n)
		}
		if err := (retune.CategoricalDistribution{Choices: vs}).Validate(); err != nil {
			return fmt.Errorf("grid param %q: %w", n, err)
		}
	}
	return nil
}

// Size returns the number of combinations.
func (s *Sampler) Size() int {
	n := 1
	for _, name := range s.names {
		n *= len(s.values[name])
	}
	return n
}

// Startup implements retune.StartupSampler: every combination, exclusively.
func (s *Sampler) Startup(context.Context) (retune.StartupPlan, error) {
	if err := s.validate(); err != nil {
		return retune.StartupPlan{}, err
	}
	b, err := json.Marshal(s.Spec())
	if err != nil {
		return retune.StartupPlan{}, fmt.Errorf("grid: %w", err)
	}
	sum := sha256.Sum256(b)
	plan := retune.StartupPlan{Key: "grid:" + hex.EncodeToString(sum[:8]), Exclusive: true}
	idx := make([]int, len(s.names))
	for range s.Size() {
		p := make(map[string]any, len(s.names))
		for i, n := range s.names {
			p[n] = s.values[n][idx[i]]
		}
		plan.Params = append(plan.Params, p)
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(s.values[s.names[i]]) {
				break
			}
			idx[i] = 0
		}
	}
	return plan, nil
}

// Relative implements retune.Sampler: grid points arrive as enqueued params.
func (s *Sampler) Relative(context.Context, *retune.SampleRequest) (map[string]any, error) {
	return nil, nil
}

// Independent implements retune.Sampler. It is called only for a param the trial was not
// enqueued with: a grid param missing from a hand-enqueued trial gets one of its listed
// values; any other param is an error, since the grid has nothing to offer for it.
func (s *Sampler) Independent(_ context.Context, req *retune.SampleRequest, name string, d retune.Distribution) (any, error) {
	vs, ok := s.values[name]
	if !ok {
		return nil, fmt.Errorf("%w: param %q has no listed values in the grid (grid params: %q)", retune.ErrInvalid, name, s.names)
	}
	var in []any
	for _, v := range vs {
		if d.Contains(v) {
			in = append(in, v)
		}
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: none of the grid values %v of param %q lies in %v", retune.ErrInvalid, vs, name, d)
	}
	return in[req.Rand.IntN(len(in))], nil
}

// Spec implements retune.Specer.
func (s *Sampler) Spec() retune.Spec {
	return retune.Spec{Name: "grid", Options: map[string]any{"values": s.values}}
}

// HistoryFree implements retune.HistoryFree: grid points are enqueued, not derived from
// other trials.
func (*Sampler) HistoryFree() {}
