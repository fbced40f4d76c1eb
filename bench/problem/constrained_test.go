package problem_test

import (
	"math"
	"testing"

	"github.com/a6b40afc/retune/bench/problem"
)

// TestBraninDisc: the documented optimum is feasible and attained, the other two Branin
// minima are infeasible, and WorstFeasible is the feasible maximum on a fine grid.
func TestBraninDisc(t *testing.T) {
	t.Parallel()
	p := problem.BraninDisc
	at := func(x1, x2 float64) map[string]any { return map[string]any{"x1": x1, "x2": x2} }
	if c := p.Constraint(at(math.Pi, 2.275)); c > 0 {
		t.Errorf("the optimum (pi, 2.275) has constraint value %v, want <= 0", c)
	}
	if v := p.Eval(at(math.Pi, 2.275)); math.Abs(v-p.Optimum) > 1e-6 {
		t.Errorf("value at the optimum = %v, want %v", v, p.Optimum)
	}
	for _, x := range [][2]float64{{-math.Pi, 12.275}, {9.42478, 2.475}} {
		if c := p.Constraint(at(x[0], x[1])); c <= 0 {
			t.Errorf("Branin minimum %v is feasible (constraint %v), want infeasible", x, c)
		}
	}
	const n = 1500 // the documented figure is from 4001 x 4001 points: the coarser grid lands within 0.1
	worst, best, feasible := math.Inf(-1), math.Inf(1), 0
	for i := 0; i <= n; i++ {
		for j := 0; j <= n; j++ {
			q := at(-5+15*float64(i)/n, 15*float64(j)/n)
			if p.Constraint(q) > 0 {
				continue
			}
			feasible++
			v := p.Eval(q)
			worst, best = math.Max(worst, v), math.Min(best, v)
		}
	}
	if worst > p.WorstFeasible || worst < p.WorstFeasible-0.1 {
		t.Errorf("largest feasible value on the grid = %v, want %v", worst, p.WorstFeasible)
	}
	if best < p.Optimum-1e-6 {
		t.Errorf("a grid point beats the optimum: %v < %v", best, p.Optimum)
	}
	if frac := float64(feasible) / ((n + 1) * (n + 1)); math.Abs(frac-0.70) > 0.01 {
		t.Errorf("feasible fraction = %v, want about 0.70", frac)
	}
}
