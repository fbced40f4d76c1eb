package bench

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/sampler/tpe"
)

// ConditionalResult is one run of the conditional-space comparison.
type ConditionalResult struct {
	Mode      string               `json:"mode"`
	Space     string               `json:"space"` // "conditional" or "flattened"
	N         int                  `json:"n"`
	Seeds     int                  `json:"seeds"`
	Regret    map[string][]float64 `json:"regret"` // by trials: "100", "200"
	Branch    map[string][]string  `json:"branch"` // the best trial's model, by trials
	WallS     float64              `json:"wall_s"`
	Sampler   string               `json:"sampler"`
	Objective string               `json:"problem"`
}

// Conditional runs grouped TPE (tpe group: true) for seeds 1..seeds, n trials each, on
// problem.Conditional: asking only the chosen branch's params (flat false), or every
// param of every branch, the unused ones ignored by the objective (flat true). It
// records the best-so-far regret and the best trial's branch at 100 and 200 trials.
func Conditional(ctx context.Context, n, seeds int, flat bool) (ConditionalResult, error) {
	prob := problem.Conditional
	res := ConditionalResult{Mode: "conditional", Space: "conditional", N: n, Seeds: seeds, Sampler: "tpe group",
		Objective: prob.Name, Regret: map[string][]float64{}, Branch: map[string][]string{}}
	if flat {
		res.Space = "flattened"
	}
	start := time.Now()
	for seed := 1; seed <= seeds; seed++ {
		s, err := retune.NewStudy(ctx, retune.Config{Sampler: tpe.New(tpe.Options{Group: true}), Seed: uint64(seed)})
		if err != nil {
			return res, err
		}
		best, bestModel := math.Inf(1), ""
		for k := 1; k <= n; k++ {
			t, err := s.Ask(ctx)
			if err != nil {
				return res, err
			}
			var params map[string]any
			if flat {
				params = Suggest(t, prob.Space)
			} else {
				model := t.Categorical("model", "a", "b", "c")
				params = map[string]any{"model": model}
				for _, name := range problem.ConditionalBranch(model) {
					params[name] = t.Float(name, 0, 1)
				}
			}
			v := prob.Eval(params)
			if err := s.Tell(ctx, t, v); err != nil {
				return res, err
			}
			if v < best {
				best, bestModel = v, params["model"].(string)
			}
			if k == 100 || k == 200 {
				res.Regret[fmt.Sprint(k)] = append(res.Regret[fmt.Sprint(k)], best-prob.Optimum)
				res.Branch[fmt.Sprint(k)] = append(res.Branch[fmt.Sprint(k)], bestModel)
			}
		}
	}
	res.WallS = time.Since(start).Seconds()
	return res, nil
}
