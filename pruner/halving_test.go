package pruner_test

import (
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
)

func TestSuccessiveHalving(t *testing.T) {
	t.Parallel()
	sh := pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{}) // rungs at 1, 4, 16, …; η = 4
	sh2 := pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{ReductionFactor: 2})
	// Seven trials that reached rung 1 with values 1..7, in every state.
	seven := []retune.FrozenTrial{
		curve(0, complete, 1), curve(1, pruned, 2), curve(2, failed, 3), curve(3, running, 4),
		curve(4, complete, 5), curve(5, pruned, 6), curve(6, running, 7),
	}
	three := seven[:3]
	// Rung 4: trial 0 reached step 16 (value 1 at step 4), trial 1 stopped at step 4 (2),
	// trial 2 was pruned at step 1, trial 3 is running at step 3.
	rung4 := []retune.FrozenTrial{
		curve(0, complete, 9, 9, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
		curve(1, pruned, 9, 9, 9, 2),
		curve(2, pruned, 0),
		curve(3, running, 0, 0, 0),
	}
	cases := []pruneCase{
		{"alone at the rung: nothing to compare", sh, request(min1, curve(9, running, 100)), false},
		// n = 4 at rung 1: keep max(1, ⌊4/4⌋) = 1, so only a trial no one beats.
		{"n=4: best kept", sh, request(min1, curve(9, running, 0.5), three...), false},
		{"n=4: tie with the best kept", sh, request(min1, curve(9, running, 1), three...), false},
		{"n=4: second pruned", sh, request(min1, curve(9, running, 1.5), three...), true},
		// n = 8: keep 2, so at most one ahead.
		{"n=8: second kept", sh, request(min1, curve(9, running, 1.5), seven...), false},
		{"n=8: third pruned", sh, request(min1, curve(9, running, 2.5), seven...), true},
		{"η=2, n=4: keep 2, second kept", sh2, request(min1, curve(9, running, 1.5), three...), false},
		{"η=2, n=4: keep 2, third pruned", sh2, request(min1, curve(9, running, 2.5), three...), true},
		{"step 2 is no rung", sh, request(min1, curve(9, running, 0, 100), seven...), false},
		{"step 5 passed no new rung", sh, request(min1, curve(9, running, 0, 0, 0, 0, 100), seven...), false},
		// At rung 4 only trials 0 (1) and 1 (2) reached step 4: n = 3, keep 1.
		{"rung 4: best of those that reached it", sh, request(min1, curve(9, running, 5, 5, 5, 0.9), rung4...), false},
		{"rung 4: beaten by one that reached it", sh, request(min1, curve(9, running, 5, 5, 5, 1.5), rung4...), true},
		{
			"rung value is the latest at or before the rung",
			sh,
			// The trial reports steps 2 and 5; crossing rung 4 at step 5, its rung value is
			// the value at step 2 (0.5), not at 5.
			request(min1, at(9, running, map[int64]float64{2: 0.5, 5: 100}), rung4...),
			false,
		},
		{
			"rung value of another trial: latest at or before",
			sh,
			// Trial 8 reported steps 3 and 20: its rung-4 value is the one at 3 (0.1), which
			// beats the judged 0.5.
			request(min1, curve(9, running, 5, 5, 5, 0.5), at(8, complete, map[int64]float64{3: 0.1, 20: 9})),
			true,
		},
		{
			"rung value of a trial that first reported past the rung",
			sh,
			// Trial 8's first report is at step 10: that is its rung-4 value (0.1).
			request(min1, curve(9, running, 5, 5, 5, 0.5), at(8, complete, map[int64]float64{10: 0.1})),
			true,
		},
		{
			"first report past two rungs: judged at both",
			sh,
			// At rung 1 the trial (value 3 from step 4) ties with the best (n=2, keep 1); at
			// rung 4 trial 0's 1 beats it.
			request(min1, at(9, running, map[int64]float64{4: 3}), at(0, complete, map[int64]float64{1: 3, 4: 1})),
			true,
		},
		{
			"a later step was already reported: not judged again",
			sh,
			requestAt(min1, at(9, running, map[int64]float64{1: 100, 6: 100}), 1, seven...),
			false,
		},
		{
			"min early stopping rate 1: first rung at 4",
			pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{MinEarlyStoppingRate: 1}),
			request(min1, curve(9, running, 100), seven...),
			false,
		},
		{
			"min resource 2: rungs at 2, 8",
			pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{MinResource: 2}),
			request(min1, curve(9, running, 0, 100), curve(0, complete, 5, 1)),
			true,
		},
		{"maximize: best kept", sh, request(max1, curve(9, running, -0.5), flip(three...)...), false},
		{"maximize: second pruned", sh, request(max1, curve(9, running, -1.5), flip(three...)...), true},
		{"NaN at the rung with others: pruned", sh, request(min1, curve(9, running, nan), three...), true},
		{"NaN alone at the rung: kept", sh, request(min1, curve(9, running, nan)), false},
		{"others' NaN ranks worst", sh, request(min1, curve(9, running, 1000), curve(0, complete, nan), curve(1, complete, nan), curve(2, complete, nan)), false},
		{"+Inf against finite values: pruned", sh, request(min1, curve(9, running, inf), three...), true},
		{"-Inf against -Inf: tie kept", sh, request(min1, curve(9, running, -inf), curve(0, complete, -inf), curve(1, complete, 0), curve(2, complete, 0)), false},
		{
			"auto min resource: no completed trial yet",
			pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{AutoMinResource: true}),
			request(min1, curve(9, running, 100), curve(0, pruned, 1), curve(1, running, 1)),
			false,
		},
		{
			"auto min resource: first completed trial ran 400 steps, rungs at 4, 16",
			pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{AutoMinResource: true}),
			request(min1, curve(9, running, 100), at(0, complete, map[int64]float64{1: 1, 400: 1}), curve(1, complete, 1)),
			false,
		},
		{
			"auto min resource: judged at rung 4",
			pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{AutoMinResource: true}),
			request(min1, curve(9, running, 100, 100, 100, 100), at(0, complete, map[int64]float64{4: 1, 400: 1})),
			true,
		},
	}
	runCases(t, cases)
}

func TestSuccessiveHalvingMultiObjective(t *testing.T) {
	t.Parallel()
	sh := pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{})
	sh2 := pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{ReductionFactor: 2})
	others := []retune.FrozenTrial{
		vecs(0, complete, []float64{1, 4}), vecs(1, pruned, []float64{4, 1}), vecs(2, running, []float64{5, 5}),
	}
	cases := []pruneCase{
		// n = 4, η = 4: keep 1.
		{"dominates all: alone in front 0", sh, request(min2, vecs(9, running, []float64{0.5, 0.5}), others...), false},
		// Front 0 is (1,4), (4,1), (2,2): the extremes have infinite crowding, so two are ahead.
		{"middle of front 0, keep 1", sh, request(min2, vecs(9, running, []float64{2, 2}), others...), true},
		// η = 2: keep 2, and still two are ahead.
		{"middle of front 0, keep 2", sh2, request(min2, vecs(9, running, []float64{2, 2}), others...), true},
		{
			"extreme of front 0, keep 2",
			// (0,6) extends front 0 to (0,6), (1,4), (4,1): (0,6) and (4,1) are extremes, so
			// only ties are "ahead": none.
			sh2, request(min2, vecs(9, running, []float64{0, 6}), others...), false,
		},
		{"last front", sh2, request(min2, vecs(9, running, []float64{6, 6}), others...), true},
		{
			"front 1 of two fronts of two, keep 2",
			// (1,4), (4,1) fill the two slots: front 1 is never reached.
			sh2, request(min2, vecs(9, running, []float64{4.5, 4.5}), others[:2]...), true,
		},
		{
			"three extremes: no one strictly ahead",
			// n = 3, η = 2: keep max(1, 1) = 1; both others are extremes, as is the trial:
			// all crowding +Inf, no one strictly ahead.
			sh2, request(min2, vecs(9, running, []float64{0, 6}), others[:2]...), false,
		},
		{
			"maximize both",
			sh2, request([]retune.Direction{retune.Maximize, retune.Maximize}, vecs(9, running, []float64{-6, -6}), flip(others...)...), true,
		},
	}
	runCases(t, cases)
}

func TestSuccessiveHalvingOptionsInvalid(t *testing.T) {
	t.Parallel()
	for _, o := range []pruner.SuccessiveHalvingOptions{
		{MinResource: -1}, {MinResource: 2, AutoMinResource: true}, {ReductionFactor: 1}, {ReductionFactor: -4}, {MinEarlyStoppingRate: -1},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewSuccessiveHalving(%+v) did not panic", o)
				}
			}()
			pruner.NewSuccessiveHalving(o)
		}()
	}
}
