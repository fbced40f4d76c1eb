package pruner_test

import (
	"errors"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
)

func TestMedian(t *testing.T) {
	t.Parallel()
	med := pruner.NewMedian(pruner.MedianOptions{})
	hist := five() // completed curves 1..5: the median at every step is 3
	cases := []pruneCase{
		{"better than the median: kept", med, request(min1, curve(9, running, 2.5), hist...), false},
		{"equal to the median: kept", med, request(min1, curve(9, running, 3), hist...), false},
		{"worse than the median: pruned", med, request(min1, curve(9, running, 3.5), hist...), true},
		{"best so far counts, not the last value", med, request(min1, curve(9, running, 2.9, 4), hist...), false},
		{"last value best: kept", med, request(min1, curve(9, running, 4, 2.9), hist...), false},
		{"worse at step 3: pruned", med, request(min1, curve(9, running, 4, 4, 3.5), hist...), true},
		{"four completed trials are below the 5 startup trials", med, request(min1, curve(9, running, 100), hist[:4]...), false},
		{"no completed trial reported step 4", med, request(min1, curve(9, running, 1, 1, 1, 100), hist...), false},
		{
			"pruned, failed and running trials are not compared",
			med,
			// With them the median at step 1 would be 2; without them it is 3.
			request(min1, curve(9, running, 2.5), append(five(), curve(5, pruned, 0), curve(6, failed, 0), curve(7, running, 0), curve(8, running, 0))...),
			false,
		},
		{
			"a trial still counts toward startup without a value at the step",
			med,
			request(min1, curve(9, running, 3.5), append(five()[:4], at(4, complete, map[int64]float64{10: 0}))...),
			// Completed: 5; values at step 1: 1, 2, 3, 4 → median 2.5.
			true,
		},
		{"negative startup: prune with one completed trial", pruner.NewMedian(pruner.MedianOptions{StartupTrials: -1}), request(min1, curve(9, running, 2), curve(0, complete, 1)), true},
		{"startup 6 not reached", pruner.NewMedian(pruner.MedianOptions{StartupTrials: 6}), request(min1, curve(9, running, 100), hist...), false},
		{"warmup: step 1 below 2 steps", pruner.NewMedian(pruner.MedianOptions{WarmupSteps: 2}), request(min1, curve(9, running, 100), hist...), false},
		{"warmup: step 2 judged", pruner.NewMedian(pruner.MedianOptions{WarmupSteps: 2}), request(min1, curve(9, running, 100, 100), hist...), true},
		{"interval 2: step 2 opens [2,4)", pruner.NewMedian(pruner.MedianOptions{IntervalSteps: 2}), request(min1, curve(9, running, 100, 100), hist...), true},
		{"interval 2: step 3 is the second report in [2,4)", pruner.NewMedian(pruner.MedianOptions{IntervalSteps: 2}), request(min1, curve(9, running, 100, 100, 100), hist...), false},
		{
			"interval 2: step 3 is judged when step 2 was skipped",
			pruner.NewMedian(pruner.MedianOptions{IntervalSteps: 2}),
			request(min1, at(9, running, map[int64]float64{1: 100, 3: 100}), hist...),
			true,
		},
		{"min trials 6: only 5 values at the step", pruner.NewMedian(pruner.MedianOptions{MinTrials: 6}), request(min1, curve(9, running, 100), hist...), false},
		{"min trials 5 reached", pruner.NewMedian(pruner.MedianOptions{MinTrials: 5}), request(min1, curve(9, running, 100), hist...), true},
		{"judged at an earlier step than its last", med, requestAt(min1, curve(9, running, 3.5, 1), 1, hist...), true},
		{"maximize: below the median is worse", med, request(max1, curve(9, running, 2.5), hist...), true},
		{"maximize: above the median is better", med, request(max1, curve(9, running, 3.5), hist...), false},
		{"maximize: best so far is the highest", med, request(max1, curve(9, running, 3.5, 1), hist...), false},
		{"NaN so far: pruned", med, request(min1, curve(9, running, nan, nan), hist...), true},
		{"NaN then a good value: kept", med, request(min1, curve(9, running, nan, 1), hist...), false},
		{"+Inf when minimizing: pruned", med, request(min1, curve(9, running, inf), hist...), true},
		{"-Inf when maximizing: pruned", med, request(max1, curve(9, running, -inf), hist...), true},
		{"-Inf when minimizing: kept", med, request(min1, curve(9, running, -inf), hist...), false},
		{
			"others' NaN ranks worst",
			med,
			// Step-1 values 1, NaN, NaN, NaN, 5: sorted best first 1, 5, NaN, NaN, NaN → the
			// median is NaN, which nothing but NaN fails to beat.
			request(min1, curve(9, running, 1000), curve(0, complete, 1), curve(1, complete, nan), curve(2, complete, nan), curve(3, complete, nan), curve(4, complete, 5)),
			false,
		},
		{
			"others' NaN does not lower the bar below numbers",
			med,
			// Sorted 1, 2, 3, 5, NaN → median 3.
			request(min1, curve(9, running, 3.5), curve(0, complete, 1), curve(1, complete, 2), curve(2, complete, 3), curve(3, complete, nan), curve(4, complete, 5)),
			true,
		},
		{
			"others' -Inf",
			med,
			// Sorted -Inf, -Inf, -Inf, 1, 2 → median -Inf: anything finite is worse.
			request(min1, curve(9, running, 0), curve(0, complete, -inf), curve(1, complete, -inf), curve(2, complete, -inf), curve(3, complete, 1), curve(4, complete, 2)),
			true,
		},
		{"no value at the judged step", med, requestAt(min1, curve(9, running, 100), 2, hist...), false},
	}
	runCases(t, cases)
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	hist := five()
	p25 := pruner.NewPercentile(pruner.PercentileOptions{}) // P = 25
	p40 := pruner.NewPercentile(pruner.PercentileOptions{Percentile: 40})
	p60 := pruner.NewPercentile(pruner.PercentileOptions{Percentile: 60})
	infs := []retune.FrozenTrial{curve(0, complete, -inf), curve(1, complete, -inf), curve(2, complete, -inf), curve(3, complete, 1), curve(4, complete, 2)}
	cases := []pruneCase{
		// Sorted best first 1, 2, 3, 4, 5: rank h = 4·25/100 = 1 → 2.
		{"p25 minimize: 2 kept", p25, request(min1, curve(9, running, 2), hist...), false},
		{"p25 minimize: 2.5 pruned", p25, request(min1, curve(9, running, 2.5), hist...), true},
		// Maximize, best first 5, 4, 3, 2, 1: rank 1 → 4.
		{"p25 maximize: 4 kept", p25, request(max1, curve(9, running, 4), hist...), false},
		{"p25 maximize: 3.9 pruned", p25, request(max1, curve(9, running, 3.9), hist...), true},
		// h = 1.6 → 2 + 0.6·(3-2) = 2.6.
		{"p40 interpolates: 2.55 kept", p40, request(min1, curve(9, running, 2.55), hist...), false},
		{"p40 interpolates: 2.65 pruned", p40, request(min1, curve(9, running, 2.65), hist...), true},
		// Maximize h = 1.6 → 4 - 0.6 = 3.4.
		{"p40 maximize: 3.45 kept", p40, request(max1, curve(9, running, 3.45), hist...), false},
		{"p40 maximize: 3.35 pruned", p40, request(max1, curve(9, running, 3.35), hist...), true},
		{"p100 keeps all but the worse than the worst", pruner.NewPercentile(pruner.PercentileOptions{Percentile: 100}), request(min1, curve(9, running, 5), hist...), false},
		// -Inf, -Inf, -Inf, 1, 2 at h = 2.4: between -Inf and 1 the worse one, 1, is used.
		{"interpolation next to -Inf uses the worse value: 1 kept", p60, request(min1, curve(9, running, 1), infs...), false},
		{"interpolation next to -Inf uses the worse value: 1.5 pruned", p60, request(min1, curve(9, running, 1.5), infs...), true},
	}
	runCases(t, cases)
}

func TestPercentileMultiObjective(t *testing.T) {
	t.Parallel()
	med := pruner.NewMedian(pruner.MedianOptions{})
	// Five completed trials on one front at step 1.
	front := []retune.FrozenTrial{
		vecs(0, complete, []float64{1, 5}), vecs(1, complete, []float64{2, 4}), vecs(2, complete, []float64{3, 3}),
		vecs(3, complete, []float64{4, 2}), vecs(4, complete, []float64{5, 1}),
	}
	// A chain of fronts at steps 1 and 2: (1,1) dominates (2,2) dominates (3,3), …
	var chain []retune.FrozenTrial
	for i := range 5 {
		v := float64(i + 1)
		chain = append(chain, vecs(i, complete, []float64{v, v}, []float64{v, v}))
	}
	minMax := []retune.Direction{retune.Minimize, retune.Maximize}
	cases := []pruneCase{
		// n = 5 compared trials; the median keeps the trial when at most ⌊4·50/100⌋ = 2
		// rank ahead of it.
		{"dominates everyone: front 0 alone", med, request(min2, vecs(9, running, []float64{0, 0}), front...), false},
		{"dominated by everyone: all 5 ahead", med, request(min2, vecs(9, running, []float64{6, 6}), front...), true},
		{
			"extreme of the shared front: infinite crowding, no one strictly ahead",
			med, request(min2, vecs(9, running, []float64{0.5, 10}), front...), false,
		},
		{
			// In the front of six, (2.5,3.5) has crowding 1/4 + 1/4 = 0.5; (2,4) and (3,3)
			// have 0.75, (4,2) has 1, the extremes +Inf: all 5 are ahead.
			"crowded middle of the shared front", med, request(min2, vecs(9, running, []float64{2.5, 3.5}), front...), true,
		},
		{"dominated by one of the front: front 1", med, request(min2, vecs(9, running, []float64{3.5, 3.5}), front...), true},
		// The chain puts (1.5,1.5) in front 1 behind (1,1) only: 1 ahead ≤ 2.
		{"second front of a chain: 1 ahead", med, request(min2, vecs(9, running, []float64{1.5, 1.5}), chain...), false},
		{"third front of a chain: 2 ahead", med, request(min2, vecs(9, running, []float64{2.5, 2.5}), chain...), false},
		{"fourth front of a chain: 3 ahead", med, request(min2, vecs(9, running, []float64{3.5, 3.5}), chain...), true},
		{"equal to a chain member: ties favour the trial", med, request(min2, vecs(9, running, []float64{3, 3}), chain...), false},
		{"the vector at the step is judged, not the best so far", med, request(min2, vecs(9, running, []float64{0, 0}, []float64{3.5, 3.5}), chain...), true},
		// Maximizing the second objective: (x, -y) mirrors the chain.
		{"mixed directions: second front", med, request(minMax, vecs(9, running, []float64{1.5, -1.5}), flipSecond(chain)...), false},
		{"mixed directions: fourth front", med, request(minMax, vecs(9, running, []float64{3.5, -3.5}), flipSecond(chain)...), true},
		{"NaN is worse than 5: (5,NaN) is dominated by (5,5) and all others", med, request(min2, vecs(9, running, []float64{5, nan}), chain...), true},
		{"a NaN objective does not hide a better one: (0,NaN) is in front 0", med, request(min2, vecs(9, running, []float64{0, nan}), chain...), false},
		{"startup applies", med, request(min2, vecs(9, running, []float64{6, 6}), front[:4]...), false},
		// P = 25: at most ⌊4·25/100⌋ = 1 ahead.
		{"p25: second front kept", pruner.NewPercentile(pruner.PercentileOptions{}), request(min2, vecs(9, running, []float64{1.5, 1.5}), chain...), false},
		{"p25: third front pruned", pruner.NewPercentile(pruner.PercentileOptions{}), request(min2, vecs(9, running, []float64{2.5, 2.5}), chain...), true},
	}
	runCases(t, cases)
}

func flipSecond(ts []retune.FrozenTrial) []retune.FrozenTrial {
	out := make([]retune.FrozenTrial, len(ts))
	for i, ft := range ts {
		ft = cloneTrial(ft)
		for _, v := range ft.Intermediate {
			v[1] = -v[1]
		}
		if len(ft.Values) == 2 {
			ft.Values[1] = -ft.Values[1]
		}
		out[i] = ft
	}
	return out
}

func TestPercentileOptionsInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    pruner.PercentileOptions
	}{
		{"percentile above 100", pruner.PercentileOptions{Percentile: 101}},
		{"negative percentile", pruner.PercentileOptions{Percentile: -1}},
		{"NaN percentile", pruner.PercentileOptions{Percentile: nan}},
		{"negative warmup", pruner.PercentileOptions{WarmupSteps: -1}},
		{"negative interval", pruner.PercentileOptions{IntervalSteps: -1}},
		{"negative min trials", pruner.PercentileOptions{MinTrials: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("NewPercentile(%+v) did not panic", tt.o)
				}
			}()
			pruner.NewPercentile(tt.o)
		})
	}
	_, err := pruner.FromSpec(retune.Spec{Name: "percentile", Options: map[string]any{"percentile": 200}})
	if !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("FromSpec(percentile 200) = %v, want ErrInvalid", err)
	}
}
