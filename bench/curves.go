package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
)

// CurveSteps is the length of every learning curve of the curves benchmark.
const CurveSteps = 50

// CurveRun is one seed's outcome of the curves benchmark.
type CurveRun struct {
	// Steps is the number of curve steps consumed by all trials.
	Steps int `json:"steps"`
	// Completed and Pruned count the trials that ran all steps and those pruned.
	Completed int `json:"completed"`
	Pruned    int `json:"pruned"`
	// BestFinal is the best noise-free final value among the completed trials (0 if none).
	BestFinal float64 `json:"best_final"`
}

// CurvesResult is the curves benchmark for one family, sampler and pruner, in the form
// bench/optuna_more.py --mode curves prints.
type CurvesResult struct {
	Lib     string     `json:"lib"`
	Mode    string     `json:"mode"`
	Family  string     `json:"family"`
	Sampler string     `json:"sampler"`
	Pruner  string     `json:"pruner"`
	N       int        `json:"n"`
	First   int        `json:"first_seed"`
	Seeds   int        `json:"seeds"`
	Steps   int        `json:"steps"`
	Runs    []CurveRun `json:"runs"`
	WallS   float64    `json:"wall_s"`
}

// FindCurveFamily returns the learning-curve family with that name.
func FindCurveFamily(name string) (problem.CurveFamily, error) {
	var names []string
	for _, f := range problem.CurveFamilies {
		if f.Name == name {
			return f, nil
		}
		names = append(names, f.Name)
	}
	return problem.CurveFamily{}, fmt.Errorf("unknown curve family %q: want one of %s", name, strings.Join(names, ", "))
}

// CurvePruning runs the curves benchmark, pruning with a sampler in the loop: for each seed
// s in 0..seeds-1, a study (seed s+1) with the sampler and the pruner (as the pruning
// benchmark names them) maximizes n trials; each suggests the family's params and reports
// Value(params, step, CurveSteps, s, trial number) at steps 1..CurveSteps unless pruned.
// Unlike Pruning, the configurations are the sampler's, so a pruner's verdicts also steer
// what the sampler tries next.
func CurvePruning(ctx context.Context, family, sampler, pruner string, n, seeds int) (CurvesResult, error) {
	return CurvePruningFrom(ctx, family, sampler, pruner, n, 0, seeds)
}

// CurvePruningFrom is CurvePruning on seeds first..first+seeds-1, to check on fresh seeds a
// choice made on others.
func CurvePruningFrom(ctx context.Context, family, sampler, pruner string, n, first, seeds int) (CurvesResult, error) {
	fam, err := FindCurveFamily(family)
	if err != nil {
		return CurvesResult{}, err
	}
	res := CurvesResult{Lib: "retune", Mode: "curves", Family: family, Sampler: sampler, Pruner: pruner, N: n, First: first, Seeds: seeds, Steps: CurveSteps}
	start := time.Now()
	for seed := first; seed < first+seeds; seed++ {
		smp, err := NewSampler(sampler)
		if err != nil {
			return res, err
		}
		pr, err := newPruner(pruner, CurveSteps)
		if err != nil {
			return res, err
		}
		s, err := retune.NewStudy(ctx, retune.Config{Direction: retune.Maximize, Sampler: smp, Pruner: pr, Seed: uint64(seed) + 1})
		if err != nil {
			return res, err
		}
		run := CurveRun{BestFinal: math.Inf(-1)}
		_, err = s.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
			p := Suggest(t, fam.Space)
			var v float64
			for step := 1; step <= CurveSteps; step++ {
				v = fam.Value(p, step, CurveSteps, seed, t.Number())
				run.Steps++
				if err := t.Report(ctx, int64(step), v); err != nil {
					if errors.Is(err, retune.ErrPruned) {
						run.Pruned++
					}
					return 0, err
				}
			}
			run.Completed++
			run.BestFinal = math.Max(run.BestFinal, fam.Final(p, CurveSteps))
			return v, nil
		}, retune.OptimizeOptions{Trials: n})
		if err != nil {
			return res, fmt.Errorf("curves %s seed %d: %w", family, seed, err)
		}
		if run.Completed == 0 {
			run.BestFinal = 0
		}
		res.Runs = append(res.Runs, run)
	}
	res.WallS = time.Since(start).Seconds()
	return res, nil
}
