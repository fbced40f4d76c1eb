package pruner_test

import (
	"context"
	"errors"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
)

// finishers is five COMPLETE learning curves of ten steps, an accuracy to maximize: a late
// bloomer that ends best (0.9), three that rise fast and stall at about 0.6, and a steady
// one that ends at 0.7.
func finishers() []retune.FrozenTrial {
	return []retune.FrozenTrial{
		curve(0, complete, 0.1, 0.1, 0.1, 0.2, 0.4, 0.6, 0.8, 0.85, 0.9, 0.9),
		curve(1, complete, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6),
		curve(2, complete, 0.52, 0.6, 0.61, 0.6, 0.61, 0.6, 0.61, 0.6, 0.61, 0.61),
		curve(3, complete, 0.48, 0.58, 0.6, 0.59, 0.6, 0.59, 0.6, 0.6, 0.6, 0.6),
		curve(4, complete, 0.3, 0.4, 0.5, 0.55, 0.6, 0.62, 0.65, 0.68, 0.7, 0.7),
	}
}

func TestExtrapolate(t *testing.T) {
	t.Parallel()
	def := pruner.NewExtrapolate(pruner.ExtrapolateOptions{})
	noNovelty := pruner.NewExtrapolate(pruner.ExtrapolateOptions{Novelty: -1})
	bloomer := curve(9, running, 0.1, 0.12, 0.2)
	staller := curve(9, running, 0.5, 0.6, 0.61)
	fin := finishers()
	flat := []retune.FrozenTrial{
		curve(0, complete, 0.5, 0.5, 0.5, 0.5), curve(1, complete, 0.6, 0.6, 0.6, 0.6), curve(2, complete, 0.7, 0.7, 0.7, 0.7),
		curve(3, complete, 0.8, 0.8, 0.8, 0.8), curve(4, complete, 0.9, 0.9, 0.9, 0.9),
	}
	stranger := curve(9, running, 0.2, 0.2, 0.2)
	runCases(t, []pruneCase{
		{"late bloomer kept", def, request(max1, bloomer, fin...), false},
		{"late bloomer kept without novelty", noNovelty, request(max1, bloomer, fin...), false},
		{"staller pruned", def, request(max1, staller, fin...), true},
		{"late bloomer kept, minimizing", def, request(min1, flip(bloomer)[0], flip(fin...)...), false},
		{"staller pruned, minimizing", def, request(min1, flip(staller)[0], flip(fin...)...), true},
		{"too few completed trials", def, request(max1, staller, fin[:4]...), false},
		{"pruned and running trials do not count", def, request(max1, staller, append(fin[:4], curve(5, pruned, 0.9), curve(6, running, 0.9, 0.9))...), false},
		{"no startup", pruner.NewExtrapolate(pruner.ExtrapolateOptions{StartupTrials: -1}), request(max1, staller, fin[1], fin[4]), true},
		{"before warmup", pruner.NewExtrapolate(pruner.ExtrapolateOptions{WarmupSteps: 4}), request(max1, staller, fin...), false},
		{"at warmup", pruner.NewExtrapolate(pruner.ExtrapolateOptions{WarmupSteps: 3}), request(max1, staller, fin...), true},
		{"no value at the step", def, requestAt(max1, staller, 5, fin...), false},
		{"NaN pruned", def, request(max1, curve(9, running, 0.5, nan), fin...), true},
		{"NaN before startup kept", def, request(max1, curve(9, running, 0.5, nan), fin[:2]...), false},
		{"+Inf kept", def, request(max1, curve(9, running, 0.5, inf), fin...), false},
		{"-Inf pruned", def, request(max1, curve(9, running, 0.5, -inf), fin...), true},
		{"-Inf kept when minimizing", def, request(min1, curve(9, running, 0.5, -inf), flip(fin...)...), false},
		{"NaN finals lend nothing", def, request(max1, staller, withFinal(fin[0], nan), withFinal(fin[1], nan), withFinal(fin[2], nan), withFinal(fin[3], nan), withFinal(fin[4], nan)), false},
		{"Inf value of a finisher lends nothing", def, request(max1, staller, append(fin[1:], curve(0, complete, inf, inf, inf, 0.9))...), true},
		{"the final is the trial's value", def, request(max1, staller, append(fin[1:], withFinal(fin[0], 0.6))...), true},
		{"unlike every finisher, without novelty", noNovelty, request(max1, stranger, flat...), true},
		{"unlike every finisher, less novelty", pruner.NewExtrapolate(pruner.ExtrapolateOptions{Novelty: 1}), request(max1, stranger, flat...), true},
		{"unlike every finisher, default novelty", def, request(max1, stranger, flat...), false},
		{"could only tie the best", def, request(max1, curve(9, running, 0.9, 0.9, 0.9), flat...), true},
		{"could only tie the best, no improvement needed", pruner.NewExtrapolate(pruner.ExtrapolateOptions{MinImprovement: -1}), request(max1, curve(9, running, 0.9, 0.9, 0.9), flat...), false},
	})
}

// TestExtrapolateParams checks that params choose the neighbour: the same curve is kept
// when its params are the late bloomer's and pruned when they are a staller's.
func TestExtrapolateParams(t *testing.T) {
	t.Parallel()
	dist := map[string]retune.Distribution{
		"lr":  retune.FloatDistribution{Low: 1e-4, High: 1, Log: true},
		"opt": retune.CategoricalDistribution{Choices: []any{"adam", "sgd"}},
	}
	with := func(ft retune.FrozenTrial, lr float64, opt string) retune.FrozenTrial {
		ft.Params = map[string]any{"lr": lr, "opt": opt}
		ft.Distributions = dist
		return ft
	}
	fin := finishers()
	fin[0] = with(fin[0], 1e-3, "sgd")
	for i := 1; i < 5; i++ {
		fin[i] = with(fin[i], 0.3, "adam")
	}
	// Halfway between the bloomer's curve and the stallers' at step 3.
	mid := curve(9, running, 0.3, 0.35, 0.35)
	p := pruner.NewExtrapolate(pruner.ExtrapolateOptions{ParamWeight: 4, Novelty: -1})
	curvesOnly := pruner.NewExtrapolate(pruner.ExtrapolateOptions{ParamWeight: -1, Novelty: -1})
	runCases(t, []pruneCase{
		{"params of the bloomer", p, request(max1, with(mid, 1.1e-3, "sgd"), fin...), false},
		{"params of a staller", p, request(max1, with(mid, 0.3, "adam"), fin...), true},
		{"curves only", curvesOnly, request(max1, with(mid, 1.1e-3, "sgd"), fin...), true},
	})
}

func TestExtrapolateSeveralObjectives(t *testing.T) {
	t.Parallel()
	p := pruner.NewExtrapolate(pruner.ExtrapolateOptions{})
	_, err := p.Prune(context.Background(), request(min2, vecs(9, running, []float64{1, 2})))
	if !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Prune with two objectives = %v, want an ErrInvalid", err)
	}
}

func TestExtrapolateOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []pruner.ExtrapolateOptions{{WarmupSteps: -1}, {Neighbors: -1}, {ParamWeight: nan}, {Novelty: inf}, {MinImprovement: -inf}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewExtrapolate(%+v) did not panic", o)
				}
			}()
			pruner.NewExtrapolate(o)
		}()
	}
}
