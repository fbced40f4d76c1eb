// Package qmc samples with quasi-random (low-discrepancy) sequences: scrambled Sobol
// (default) or Halton points, which cover a space more evenly than independent random
// draws. Use it as a sampler of its own, or for the start-up trials of a model-based one.
//
// Trial n takes point n of a sequence over the study's joint space (params sorted by name),
// so workers and processes need no coordination and a seeded study proposes the same
// point for trial n however many workers run. The scramble is seeded by the study seed.
// Params outside the joint space — all of them until a trial has completed — take point n
// of a one-dimensional sequence of their own.
package qmc

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/lowdisc"
)

// Options configures the sampler. The zero value is scrambled Sobol.
type Options struct {
	// Type is "sobol" (default) or "halton".
	Type string
	// Unscrambled turns scrambling off: every seed then gives the same sequence, and its
	// first point (the origin) is skipped.
	Unscrambled bool
}

// Sampler is the quasi-random sampler. It is safe for concurrent use.
type Sampler struct {
	o    Options
	seqs sync.Map // seqKey → lowdisc.Sequence
}

type seqKey struct {
	dim  int
	seed uint64
}

// New returns a quasi-random sampler. It panics on an unknown Type.
func New(o Options) *Sampler {
	switch o.Type {
	case "":
		o.Type = "sobol"
	case "sobol", "halton":
	default:
		panic(fmt.Sprintf("qmc: unknown sequence type %q: want sobol or halton", o.Type))
	}
	return &Sampler{o: o}
}

// Spec implements retune.Specer.
func (s *Sampler) Spec() retune.Spec {
	opts := map[string]any{"type": s.o.Type}
	if s.o.Unscrambled {
		opts["scramble"] = false
	}
	return retune.Spec{Name: "qmc", Options: opts}
}

func (s *Sampler) sequence(dim int, seed uint64) (lowdisc.Sequence, error) {
	k := seqKey{dim, seed}
	if q, ok := s.seqs.Load(k); ok {
		return q.(lowdisc.Sequence), nil
	}
	var q lowdisc.Sequence
	var err error
	if s.o.Type == "halton" {
		q, err = lowdisc.NewHalton(dim, !s.o.Unscrambled, seed)
	} else {
		q, err = lowdisc.NewSobol(dim, !s.o.Unscrambled, seed)
	}
	if err != nil {
		return nil, err
	}
	actual, _ := s.seqs.LoadOrStore(k, q)
	return actual.(lowdisc.Sequence), nil
}

// index is the sequence index of trial n.
func (s *Sampler) index(n int) uint64 {
	if s.o.Unscrambled {
		return uint64(n) + 1
	}
	return uint64(n)
}

// Relative implements retune.Sampler: point n of a sequence over req.Space.
func (s *Sampler) Relative(_ context.Context, req *retune.SampleRequest) (map[string]any, error) {
	if len(req.Space) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(req.Space))
	for name := range req.Space {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) > lowdisc.MaxSobolDim {
		names = names[:lowdisc.MaxSobolDim] // the rest are sampled one by one
	}
	q, err := s.sequence(len(names), req.Seed)
	if err != nil {
		return nil, err
	}
	u := q.Point(s.index(req.Trial.Number), nil)
	out := make(map[string]any, len(names))
	for i, name := range names {
		out[name] = retune.FromUnit(req.Space[name], u[i])
	}
	return out, nil
}

// Independent implements retune.Sampler: point n of the param's own 1-D sequence.
func (s *Sampler) Independent(_ context.Context, req *retune.SampleRequest, name string, d retune.Distribution) (any, error) {
	h := fnv.New64a()
	h.Write([]byte(name))
	q, err := s.sequence(1, req.Seed^h.Sum64())
	if err != nil {
		return nil, err
	}
	var buf [1]float64
	return retune.FromUnit(d, q.Point(s.index(req.Trial.Number), buf[:])[0]), nil
}
