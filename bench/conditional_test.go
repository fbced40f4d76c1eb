package bench_test

import (
	"context"
	"testing"

	"github.com/a6b40afc/retune/bench"
	"github.com/a6b40afc/retune/bench/problem"
)

func TestConditionalProblem(t *testing.T) {
	t.Parallel()
	p := problem.Conditional
	best := map[string]any{"model": "c", "c1": 0.3, "c2": 0.8, "c3": 0.2, "c4": 0.6}
	if v := p.Eval(best); v != p.Optimum {
		t.Errorf("Eval(optimum) = %v, want %v", v, p.Optimum)
	}
	if v := p.Eval(map[string]any{"model": "b", "b1": 0.1, "b2": 0.5, "b3": 0.9}); v != 0.5 {
		t.Errorf("best of branch b = %v, want 0.5", v)
	}
	res, err := bench.Conditional(context.Background(), 100, 2, false)
	if err != nil || len(res.Regret["100"]) != 2 || res.Regret["100"][0] < 0 {
		t.Errorf("Conditional = %+v, %v", res, err)
	}
}
