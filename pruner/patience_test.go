package pruner_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
)

// fixed is a pruner that always answers the same and counts its calls.
type fixed struct {
	answer bool
	err    error
	calls  atomic.Int64
}

func (f *fixed) Prune(context.Context, *retune.PruneRequest) (bool, error) {
	f.calls.Add(1)
	return f.answer, f.err
}

func TestPatience(t *testing.T) {
	t.Parallel()
	p2 := pruner.NewPatience(pruner.PatienceOptions{Patience: 2})
	p1 := pruner.NewPatience(pruner.PatienceOptions{})
	cases := []pruneCase{
		// Best before the last two reports is 4; the last two (4.5, 4.6) do not beat it.
		{"two reports without improvement", p2, request(min1, curve(0, running, 5, 4, 4.5, 4.6)), true},
		{"improved within the last two", p2, request(min1, curve(0, running, 5, 4, 3.9, 4.6)), false},
		{"equal is no improvement", p2, request(min1, curve(0, running, 5, 4, 4, 4)), true},
		{"only one report since the best", p2, request(min1, curve(0, running, 5, 4, 4.5)), false},
		{"too few reports to judge", p2, request(min1, curve(0, running, 9, 9)), false},
		{"min delta: 0.1 is not enough", pruner.NewPatience(pruner.PatienceOptions{Patience: 2, MinDelta: 0.2}), request(min1, curve(0, running, 5, 4, 3.9, 4.6)), true},
		{"min delta: 0.3 is enough", pruner.NewPatience(pruner.PatienceOptions{Patience: 2, MinDelta: 0.2}), request(min1, curve(0, running, 5, 4, 3.7, 4.6)), false},
		{"maximize: stalled", p2, request(max1, curve(0, running, 1, 2, 1.5, 1.4)), true},
		{"maximize: improved", p2, request(max1, curve(0, running, 1, 2, 2.1, 1)), false},
		{"patience 1 (default): last report no better", p1, request(min1, curve(0, running, 3, 3.1)), true},
		{"patience 1: last report better", p1, request(min1, curve(0, running, 3, 2.9)), false},
		{"judged at an earlier step: later reports ignored", p1, requestAt(min1, curve(0, running, 3, 2.9, 5), 2), false},
		{"NaN before, number now: improvement", p1, request(min1, curve(0, running, nan, 3)), false},
		{"number before, NaN now: stalled", p1, request(min1, curve(0, running, 3, nan)), true},
		{"NaN throughout: stalled", p1, request(min1, curve(0, running, nan, nan)), true},
		{"+Inf then finite: improvement", pruner.NewPatience(pruner.PatienceOptions{MinDelta: 1}), request(min1, curve(0, running, inf, 1e300)), false},
		{"-Inf cannot be improved on", p1, request(min1, curve(0, running, -inf, -1e300)), true},
		{"gaps between steps: reports count", p2, request(min1, at(0, running, map[int64]float64{1: 5, 10: 4, 20: 4.5, 30: 4.6})), true},
		{"several objectives: improvement in one", p2, request(min2, vecs(0, running, []float64{5, 5}, []float64{4, 4}, []float64{9, 3.9}, []float64{9, 9})), false},
		{"several objectives: no improvement in any", p2, request(min2, vecs(0, running, []float64{5, 5}, []float64{4, 4}, []float64{9, 4}, []float64{4, 9})), true},
	}
	runCases(t, cases)
}

func TestPatienceWrapped(t *testing.T) {
	t.Parallel()
	stalled := request(min1, curve(0, running, 3, 4))
	better := request(min1, curve(0, running, 3, 2))
	tests := []struct {
		name      string
		answer    bool
		req       *retune.PruneRequest
		want      bool
		wantCalls int64
	}{
		{"stalled, wrapped says prune", true, stalled, true, 1},
		{"stalled, wrapped says keep", false, stalled, false, 1},
		{"improving: wrapped not asked", true, better, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := &fixed{answer: tt.answer}
			p := pruner.NewPatience(pruner.PatienceOptions{Wrapped: w})
			got, err := p.Prune(context.Background(), tt.req)
			if err != nil || got != tt.want || w.calls.Load() != tt.wantCalls {
				t.Errorf("Prune = %v, %v with %d wrapped calls, want %v with %d", got, err, w.calls.Load(), tt.want, tt.wantCalls)
			}
		})
	}
	boom := errors.New("boom")
	p := pruner.NewPatience(pruner.PatienceOptions{Wrapped: &fixed{err: boom}})
	if _, err := p.Prune(context.Background(), stalled); !errors.Is(err, boom) {
		t.Errorf("Prune with a failing wrapped pruner = %v, want its error", err)
	}
}

func TestPatienceOptionsInvalid(t *testing.T) {
	t.Parallel()
	for _, o := range []pruner.PatienceOptions{{Patience: -1}, {MinDelta: -1}, {MinDelta: nan}, {MinDelta: inf}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewPatience(%+v) did not panic", o)
				}
			}()
			pruner.NewPatience(o)
		}()
	}
}
