package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
)

// ConstrainedResult is one sampler's runs on a constrained problem, with or without the
// constraint given to the study.
type ConstrainedResult struct {
	Mode        string    `json:"mode"`
	Problem     string    `json:"problem"`
	Sampler     string    `json:"sampler"`
	Constrained bool      `json:"constrained"` // the study knows the constraint
	N           int       `json:"n"`
	Seeds       int       `json:"seeds"`
	Regret      []float64 `json:"regret"`        // best feasible value - optimum, per seed
	NoFeasible  int       `json:"no_feasible"`   // runs that found no feasible point (scored WorstFeasible)
	FeasibleFr  []float64 `json:"feasible_frac"` // fraction of feasible trials, per seed
	WallS       float64   `json:"wall_s"`
}

// Constrained runs sampler for seeds 1..seeds, n trials each, on prob. The constraint
// value is reported as the metric "constraint"; with constrained, the study has the
// constraint constraint <= 0 and its sampler sees which trials are feasible, without, it
// optimizes the objective alone. Either way the run is scored by its best feasible value
// (WorstFeasible if it found none).
func Constrained(ctx context.Context, prob problem.ConstrainedProblem, sampler string, n, seeds int, constrained bool) (ConstrainedResult, error) {
	res := ConstrainedResult{Mode: "constrained", Problem: prob.Name, Sampler: sampler, Constrained: constrained, N: n, Seeds: seeds}
	start := time.Now()
	for seed := 1; seed <= seeds; seed++ {
		smp, err := NewSampler(sampler)
		if err != nil {
			return res, err
		}
		cfg := retune.Config{Sampler: smp, Seed: uint64(seed)}
		if constrained {
			cfg.Constraints = []retune.Constraint{retune.AtMost("constraint", 0)}
		}
		s, err := retune.NewStudy(ctx, cfg)
		if err != nil {
			return res, err
		}
		best, feasible := math.Inf(1), 0
		for range n {
			t, err := s.Ask(ctx)
			if err != nil {
				return res, err
			}
			params := Suggest(t, prob.Space)
			v, c := prob.Eval(params), prob.Constraint(params)
			t.SetMetric("constraint", c)
			if err := s.Tell(ctx, t, v); err != nil {
				return res, err
			}
			if c <= 0 {
				feasible++
				best = math.Min(best, v)
			}
		}
		if math.IsInf(best, 1) {
			res.NoFeasible++
			best = prob.WorstFeasible
		}
		res.Regret = append(res.Regret, best-prob.Optimum)
		res.FeasibleFr = append(res.FeasibleFr, float64(feasible)/float64(n))
	}
	res.WallS = time.Since(start).Seconds()
	return res, nil
}

// FindConstrained returns the constrained problem with that name.
func FindConstrained(name string) (problem.ConstrainedProblem, error) {
	if name == problem.BraninDisc.Name {
		return problem.BraninDisc, nil
	}
	return problem.ConstrainedProblem{}, fmt.Errorf("unknown constrained problem %q: want %s", name, problem.BraninDisc.Name)
}
