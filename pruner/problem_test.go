package pruner_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
)

// The learning-curve problem of the benchmark suite (maximized, 50 steps, 100 fixed
// configurations per seed), so that only the pruner differs between runs.

func frac(x float64) float64 { return x - math.Floor(x) }

// pruningCurve returns configuration i of seed s's value at step and its noise-free final
// value.
func pruningCurve(seed, i int, step int64) (value, final float64) {
	var u [3]float64
	for k := range u {
		u[k] = frac(math.Sin(12.9898*float64(i+1)+78.233*float64(k+1)+37.719*float64(seed+1)) * 43758.5453)
	}
	x1, x2, lr := -5+10*u[0], -5+10*u[1], math.Pow(10, -4+3*u[2])
	l := math.Log10(lr)
	q := math.Exp(-((x1-1)*(x1-1)+(x2+2)*(x2+2))/10) * math.Exp(-(l+2.5)*(l+2.5)/2)
	tau := 30 - 25*(l+4)/3
	noise := 0.01 * math.Sin(12.9898*float64(step)+78.233*float64(i+1)+37.719*float64(seed+1))
	return q*(1-math.Exp(-float64(step)/tau)) + noise, q * (1 - math.Exp(-50/tau))
}

// runProblem returns the steps consumed and the best noise-free final value among trials
// that ran all 50 steps, for one seed.
func runProblem(t testing.TB, p retune.Pruner, seed int) (steps int, best float64) {
	ctx := context.Background()
	s, err := retune.NewStudy(ctx, retune.Config{Direction: retune.Maximize, Pruner: p, Seed: uint64(seed + 1)})
	if err != nil {
		t.Fatal(err)
	}
	best = math.Inf(-1)
	_, err = s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
		var v, final float64
		for step := int64(1); step <= 50; step++ {
			v, final = pruningCurve(seed, tr.Number(), step)
			steps++
			if err := tr.Report(ctx, step, v); err != nil {
				return v, err
			}
		}
		best = max(best, final)
		return v, nil
	}, retune.OptimizeOptions{Trials: 100})
	if err != nil {
		t.Fatal(err)
	}
	return steps, best
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	n := len(xs)
	return (xs[(n-1)/2] + xs[n/2]) / 2
}

// TestPruningProblem runs the benchmark's pruning problem over seeds 0..9. The standard
// single-objective rules make the same decisions as their usual implementations on it, so
// the medians are checked against what those give: MedianPruner 925.5 steps and best
// 0.860; successive halving (η = 4) 431.5 steps and 0.835 (Optuna 3.1, seeds 0..9).
// Hyperband's brackets depend on its trial-to-bracket rule, so only its savings and best
// value are checked.
func TestPruningProblem(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 3,000 trials")
	}
	t.Parallel()
	tests := []struct {
		name      string
		p         retune.Pruner
		wantSteps float64 // exact median steps; 0 = only bounded
		maxSteps  float64
		minBest   float64
	}{
		{"median", pruner.NewMedian(pruner.MedianOptions{}), 925.5, 0, 0.859},
		{"asha", pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{}), 431.5, 0, 0.834},
		{"hyperband", pruner.NewHyperband(pruner.HyperbandOptions{MaxResource: 50}), 0, 2000, 0.85},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var steps, bests []float64
			for seed := range 10 {
				s, b := runProblem(t, tt.p, seed)
				steps, bests = append(steps, float64(s)), append(bests, b)
			}
			ms, mb := median(steps), median(bests)
			t.Logf("steps %v: median %v; best final median %.4f", steps, ms, mb)
			if tt.wantSteps != 0 && ms != tt.wantSteps {
				t.Errorf("median steps %v, want %v", ms, tt.wantSteps)
			}
			if tt.maxSteps != 0 && ms > tt.maxSteps {
				t.Errorf("median steps %v, want <= %v", ms, tt.maxSteps)
			}
			if mb < tt.minBest {
				t.Errorf("median best final %.4f, want >= %v", mb, tt.minBest)
			}
		})
	}
}
