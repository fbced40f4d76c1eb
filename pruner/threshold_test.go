package pruner_test

import (
	"context"
	"errors"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
)

func TestThreshold(t *testing.T) {
	t.Parallel()
	upper := pruner.NewThreshold(pruner.ThresholdOptions{Upper: new(1.0)})
	lower := pruner.NewThreshold(pruner.ThresholdOptions{Lower: new(0.5)})
	both := pruner.NewThreshold(pruner.ThresholdOptions{Lower: new(0.0), Upper: new(1.0)})
	none := pruner.NewThreshold(pruner.ThresholdOptions{})
	second := pruner.NewThreshold(pruner.ThresholdOptions{Upper: new(1.0), Objective: 1})
	cases := []pruneCase{
		{"below the upper bound", upper, request(min1, curve(0, running, 0.9)), false},
		{"at the upper bound", upper, request(min1, curve(0, running, 1)), false},
		{"above the upper bound", upper, request(min1, curve(0, running, 1.1)), true},
		{"only the judged step counts", upper, requestAt(min1, curve(0, running, 0.9, 5), 1), false},
		{"+Inf above the upper bound", upper, request(min1, curve(0, running, inf)), true},
		{"-Inf below the lower bound", lower, request(max1, curve(0, running, -inf)), true},
		{"above the lower bound", lower, request(max1, curve(0, running, 0.6)), false},
		{"below the lower bound", lower, request(max1, curve(0, running, 0.4)), true},
		{"inside both", both, request(min1, curve(0, running, 0.5)), false},
		{"outside both, low", both, request(min1, curve(0, running, -0.1)), true},
		{"no bounds: numbers pass", none, request(min1, curve(0, running, 1e300)), false},
		{"no bounds: NaN pruned", none, request(min1, curve(0, running, nan)), true},
		{"NaN pruned", upper, request(min1, curve(0, running, nan)), true},
		{"first trial pruned without any other", upper, request(min1, curve(0, running, 2)), true},
		{"warmup", pruner.NewThreshold(pruner.ThresholdOptions{Upper: new(1.0), WarmupSteps: 2}), request(min1, curve(0, running, 5)), false},
		{"after warmup", pruner.NewThreshold(pruner.ThresholdOptions{Upper: new(1.0), WarmupSteps: 2}), request(min1, curve(0, running, 5, 5)), true},
		{"interval 3: step 2 is not the first of [0,3)", pruner.NewThreshold(pruner.ThresholdOptions{Upper: new(1.0), IntervalSteps: 3}), request(min1, curve(0, running, 0, 5)), false},
		{"interval 3: step 3 opens [3,6)", pruner.NewThreshold(pruner.ThresholdOptions{Upper: new(1.0), IntervalSteps: 3}), request(min1, curve(0, running, 0, 0, 5)), true},
		{"several objectives: the chosen one", second, request(min2, vecs(0, running, []float64{5, 0.5})), false},
		{"several objectives: the chosen one out", second, request(min2, vecs(0, running, []float64{0, 5})), true},
		{"several objectives: NaN in any", second, request(min2, vecs(0, running, []float64{nan, 0.5})), true},
		{"infinite bounds are no bounds", pruner.NewThreshold(pruner.ThresholdOptions{Lower: new(-inf), Upper: new(inf)}), request(min1, curve(0, running, -inf)), false},
	}
	runCases(t, cases)
}

func TestThresholdObjectiveMissing(t *testing.T) {
	t.Parallel()
	p := pruner.NewThreshold(pruner.ThresholdOptions{Upper: new(1.0), Objective: 2})
	_, err := p.Prune(context.Background(), request(min2, vecs(0, running, []float64{0, 0})))
	if !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Prune on objective 2 of 2 = %v, want ErrInvalid", err)
	}
}

func TestThresholdOptionsInvalid(t *testing.T) {
	t.Parallel()
	for _, o := range []pruner.ThresholdOptions{
		{Lower: new(2.0), Upper: new(1.0)}, {Lower: new(nan)}, {Upper: new(-inf)}, {Lower: new(inf)},
		{Objective: -1}, {WarmupSteps: -1}, {IntervalSteps: -1},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewThreshold(%+v) did not panic", o)
				}
			}()
			pruner.NewThreshold(o)
		}()
	}
}
