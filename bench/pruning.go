package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/pruner"
	"github.com/a6b40afc/retune/sampler/random"
)

var (
	prunersMu sync.Mutex
	pruners   = map[string]func(steps int) retune.Pruner{
		"none":   func(int) retune.Pruner { return nil },
		"median": func(int) retune.Pruner { return pruner.NewMedian(pruner.MedianOptions{}) },
		// Optuna's SuccessiveHalvingPruner(min_resource=1, reduction_factor=4).
		"sha": func(int) retune.Pruner {
			return pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{MinResource: 1, ReductionFactor: 4})
		},
		// Optuna's HyperbandPruner(min_resource=1, max_resource=steps, reduction_factor=3).
		"hyperband": func(steps int) retune.Pruner {
			return pruner.NewHyperband(pruner.HyperbandOptions{MinResource: 1, MaxResource: int64(steps), ReductionFactor: 3})
		},
		"wilcoxon":   func(int) retune.Pruner { return pruner.NewWilcoxon(pruner.WilcoxonOptions{}) },
		"percentile": func(int) retune.Pruner { return pruner.NewPercentile(pruner.PercentileOptions{}) },
		// retune's own; Optuna has no equivalent.
		"extrapolate": func(int) retune.Pruner { return pruner.NewExtrapolate(pruner.ExtrapolateOptions{}) },
	}
)

// RegisterPruner makes a pruner available to the pruning benchmark under name (as
// optuna_ref.py names them: median, sha, hyperband); steps is the curves' length.
func RegisterPruner(name string, f func(steps int) retune.Pruner) {
	prunersMu.Lock()
	defer prunersMu.Unlock()
	pruners[name] = f
}

func newPruner(name string, steps int) (retune.Pruner, error) {
	prunersMu.Lock()
	defer prunersMu.Unlock()
	f, ok := pruners[name]
	if !ok {
		return nil, fmt.Errorf("unknown pruner %q: want one of %s", name, sortedKeys(pruners))
	}
	return f(steps), nil
}

// PruningRun is one seed's outcome.
type PruningRun struct {
	Steps     int     `json:"steps"`
	Pruned    int     `json:"pruned"`
	BestFinal float64 `json:"best_final"`
}

// PruningResult is the pruning benchmark for one pruner.
type PruningResult struct {
	Lib    string       `json:"lib"`
	Mode   string       `json:"mode"`
	Pruner string       `json:"pruner"`
	Family string       `json:"family,omitempty"`
	N      int          `json:"n"`
	Seeds  int          `json:"seeds"`
	Runs   []PruningRun `json:"runs"`
	WallS  float64      `json:"wall_s"`
}

// Curve families for the pruning benchmark. "public" is optuna_ref.py's; "slow" adds
// configurations that start slowly and end best, where a pruner that judges too early
// throws the winner away.
var families = map[string]func(x1, x2, lr float64, seed, i, step, steps int) (float64, float64){
	"public": problem.Curve,
	"slow": func(x1, x2, lr float64, seed, i, step, steps int) (float64, float64) {
		v, final := problem.Curve(x1, x2, lr, seed, i, step, steps)
		if i%10 != 7 { // one configuration in ten is a slow starter that ends best
			return v, final
		}
		q := 0.95 - 0.005*float64(i%3)
		shape := func(t float64) float64 { return q / (1 + math.Exp(-(t-0.7*float64(steps))/3)) }
		noise := 0.01 * math.Sin(12.9898*float64(step)+78.233*float64(i+1)+37.719*float64(seed+1))
		return shape(float64(step)) + noise, shape(float64(steps))
	},
}

// Pruning runs the pruning benchmark (PROTOCOL §4): per seed, the n fixed configurations
// of optuna_ref.py enqueued in order, each reporting its learning curve for steps steps
// unless pruned. It counts the steps consumed and the best noise-free final value among
// trials that ran every step.
func Pruning(ctx context.Context, pruner, family string, n, seeds, steps int) (PruningResult, error) {
	curve, ok := families[family]
	if !ok {
		return PruningResult{}, fmt.Errorf("unknown curve family %q: want public or slow", family)
	}
	res := PruningResult{Lib: "retune", Mode: "pruning", Pruner: pruner, Family: family, N: n, Seeds: seeds}
	start := time.Now()
	for seed := range seeds {
		pr, err := newPruner(pruner, steps)
		if err != nil {
			return res, err
		}
		s, err := retune.NewStudy(ctx, retune.Config{Direction: retune.Maximize, Sampler: random.New(), Pruner: pr, Seed: uint64(seed) + 1})
		if err != nil {
			return res, err
		}
		for i := range n {
			x1, x2, lr := problem.PruningConfig(seed, i)
			if err := s.Enqueue(ctx, map[string]any{"x1": x1, "x2": x2, "lr": lr}); err != nil {
				return res, err
			}
		}
		run := PruningRun{BestFinal: math.Inf(-1)}
		_, err = s.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
			x1, x2 := t.Float("x1", -5, 5), t.Float("x2", -5, 5)
			lr := t.Float("lr", 1e-4, 1e-1, retune.Log)
			var v, final float64
			for step := 1; step <= steps; step++ {
				v, final = curve(x1, x2, lr, seed, t.Number(), step, steps)
				run.Steps++
				if err := t.Report(ctx, int64(step), v); err != nil {
					if errors.Is(err, retune.ErrPruned) {
						run.Pruned++
					}
					return 0, err
				}
			}
			run.BestFinal = math.Max(run.BestFinal, final)
			return v, nil
		}, retune.OptimizeOptions{Trials: n})
		if err != nil {
			return res, err
		}
		res.Runs = append(res.Runs, run)
	}
	res.WallS = time.Since(start).Seconds()
	return res, nil
}
