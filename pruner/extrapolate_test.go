package pruner_test

import (
	"context"
	"errors"
	"math"
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
	for _, o := range []pruner.ExtrapolateOptions{{WarmupSteps: -1}, {Neighbors: -1}, {ParamWeight: nan}, {Novelty: inf}, {MinImprovement: -inf}, {NearBestDistance: nan}, {NearBestImprovement: inf}, {Drop: nan}} {
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

// TestExtrapolateNearBest checks the margin of a near-copy of the best completed trial: a
// trial just above the best's flat curve is kept with the near-copy margin and pruned
// with the full one, or when it is not near enough to count as a copy.
func TestExtrapolateNearBest(t *testing.T) {
	t.Parallel()
	flat := []retune.FrozenTrial{
		curve(0, complete, 0.5, 0.5, 0.5), curve(1, complete, 0.6, 0.6, 0.6), curve(2, complete, 0.7, 0.7, 0.7),
		curve(3, complete, 0.8, 0.8, 0.8), curve(4, complete, 0.9, 0.9, 0.9),
	}
	// Nearest to trial 4, the best, at distance 0.0144 (ranges of 0.4): optimistic final
	// 0.91 + 3·0.0144·0.4 = 0.927, above 0.9 + 0.05·0.4 and below 0.9 + 0.2·0.4.
	copyOfBest := curve(9, running, 0.9, 0.9, 0.91)
	// The same distance from trial 3, which is not the best: the full margin applies.
	copyOfSecond := curve(9, running, 0.8, 0.8, 0.81)
	runCases(t, []pruneCase{
		{"near-copy of the best kept", pruner.NewExtrapolate(pruner.ExtrapolateOptions{}), request(max1, copyOfBest, flat...), false},
		{"near-copy of the best, minimizing", pruner.NewExtrapolate(pruner.ExtrapolateOptions{}), request(min1, flip(copyOfBest)[0], flip(flat...)...), false},
		{"no near-copies", pruner.NewExtrapolate(pruner.ExtrapolateOptions{NearBestDistance: -1}), request(max1, copyOfBest, flat...), true},
		{"farther than the near-copy distance", pruner.NewExtrapolate(pruner.ExtrapolateOptions{NearBestDistance: 0.01}), request(max1, copyOfBest, flat...), true},
		{"near-copy margin above the full one", pruner.NewExtrapolate(pruner.ExtrapolateOptions{NearBestImprovement: 0.1, MinImprovement: 0.05}), request(max1, copyOfBest, flat...), false},
		{"near-copy margin larger still", pruner.NewExtrapolate(pruner.ExtrapolateOptions{NearBestImprovement: 0.1}), request(max1, copyOfBest, flat...), true},
		{"near the second best", pruner.NewExtrapolate(pruner.ExtrapolateOptions{}), request(max1, copyOfSecond, flat...), true},
	})
}

// saturating is a COMPLETE-style curve of steps values a·(1 - e^(-s/5)), s = 1..steps.
func saturating(a float64, steps int) []float64 {
	out := make([]float64, steps)
	for i := range out {
		out[i] = a * (1 - math.Exp(-float64(i+1)/5))
	}
	return out
}

// collapsing is saturating(0.95) up to step 20, then falling by 0.1 a step.
func collapsing(steps int) []float64 {
	out := saturating(0.95, min(steps, 20))
	for s := 21; s <= steps; s++ {
		out = append(out, out[19]-0.1*float64(s-20))
	}
	return out
}

// TestExtrapolateTurnedDown checks the rules for curves that fall from their peak: a
// collapsing trial earns no novelty, a PRUNED trial that collapsed lends its last value as
// its final, and noise alone is no fall.
func TestExtrapolateTurnedDown(t *testing.T) {
	t.Parallel()
	var fin []retune.FrozenTrial
	for i, a := range []float64{0.5, 0.6, 0.7, 0.8, 0.9} {
		fin = append(fin, curve(i, complete, saturating(a, 30)...))
	}
	bold := pruner.NewExtrapolate(pruner.ExtrapolateOptions{Novelty: 5})
	boldNoDrop := pruner.NewExtrapolate(pruner.ExtrapolateOptions{Novelty: 5, Drop: -1})
	def := pruner.NewExtrapolate(pruner.ExtrapolateOptions{})
	noDrop := pruner.NewExtrapolate(pruner.ExtrapolateOptions{Drop: -1})
	// At step 25 the collapsing curve is at 0.43, far from every finisher.
	falling := curve(9, running, collapsing(25)...)
	riserVals := saturating(0.55, 25)
	for i := range riserVals {
		riserVals[i] += 0.2
	}
	riser := curve(9, running, riserVals...)
	// A trial pruned after its collapse, and a running one whose first ten steps are its.
	collapsed := curve(7, pruned, collapsing(25)...)
	early := curve(9, running, collapsing(10)...)
	// A pruned trial whose values zigzag by 0.02: its last value, 0.02 below its peak, is
	// more than Drop·R below it when R is small, but within its noise.
	zigzag := func(n int, state retune.TrialState, steps int) retune.FrozenTrial {
		vals := make([]float64, steps)
		for i := range vals {
			vals[i] = 0.5 + 0.02*float64(i%2)
		}
		return curve(n, state, vals...)
	}
	tight := []retune.FrozenTrial{
		curve(0, complete, 0.5, 0.5, 0.5), curve(1, complete, 0.51, 0.51, 0.51), curve(2, complete, 0.52, 0.52, 0.52),
		curve(3, complete, 0.53, 0.53, 0.53), curve(4, complete, 0.54, 0.54, 0.54),
	}
	runCases(t, []pruneCase{
		{"falling curve pruned", bold, request(max1, falling, fin...), true},
		{"falling curve kept by novelty without the rule", boldNoDrop, request(max1, falling, fin...), false},
		{"like a collapsed pruned trial", def, request(max1, early, append(fin, collapsed)...), true},
		{"falling curve pruned, minimizing", bold, request(min1, flip(falling)[0], flip(fin...)...), true},
		// A curve that only ever improves, kept by its novelty: its values fall when
		// minimizing, which is no turn down.
		{"rising curve kept", bold, request(max1, riser, fin...), false},
		{"rising curve kept, minimizing", bold, request(min1, flip(riser)[0], flip(fin...)...), false},
		{"like a collapsed pruned trial, minimizing", def, request(min1, flip(early)[0], flip(append(fin, collapsed)...)...), true},
		{"kept without the rule, minimizing", noDrop, request(min1, flip(early)[0], flip(append(fin, collapsed)...)...), false},
		{"kept without the rule", noDrop, request(max1, early, append(fin, collapsed)...), false},
		{"kept when the pruned trial has not fallen", def, request(max1, early, append(fin, curve(7, pruned, collapsing(20)...))...), false},
		{"kept when the pruned trial is running", def, request(max1, early, append(fin, curve(7, running, collapsing(25)...))...), false},
		// The zigzag's last value (0.5) lent as a final would make the judged zigzag's
		// optimistic final 0.5 + its novelty 0, below the best 0.54.
		{"noise is no fall", noDrop, request(max1, zigzag(9, running, 6), append(tight, zigzag(7, pruned, 7))...), false},
		{"noise is no fall, with the rule", def, request(max1, zigzag(9, running, 6), append(tight, zigzag(7, pruned, 7))...), false},
	})
}
