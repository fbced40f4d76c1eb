package problem

// ConstrainedProblem is a Problem with one inequality constraint on its params:
// Constraint(params) <= 0 is feasible.
type ConstrainedProblem struct {
	Problem // Optimum is the best feasible value
	// Constraint returns the constraint value: <= 0 when the params are feasible.
	Constraint func(params map[string]any) float64
	// WorstFeasible is the largest objective value of a feasible point: a run that finds
	// nothing feasible is scored with it.
	WorstFeasible float64
}

// BraninDisc is Branin on [-5, 10] x [0, 15] subject to the disc constraint
// (x1 - 2.5)² + (x2 - 7.5)² <= 50 (Gardner et al., "Bayesian optimization with inequality
// constraints", ICML 2014). About 70% of the domain is feasible; of Branin's three global
// minima only (pi, 2.275) lies in the disc, so the feasible optimum is Branin's, 0.397887,
// and a sampler drawn to either of the other two finds infeasible points. The largest
// feasible value, 179.35, is the maximum over a 4001 x 4001 grid of the domain (a test
// checks it).
var BraninDisc = ConstrainedProblem{
	Problem: Problem{
		Name:    "branin_disc",
		Optimum: 0.397887,
		Space:   []Param{{Name: "x1", Kind: "float", Low: -5, High: 10}, {Name: "x2", Kind: "float", Low: 0, High: 15}},
		Eval: func(p map[string]any) float64 {
			return Branin(floatParam(p, "x1"), floatParam(p, "x2"))
		},
	},
	Constraint: func(p map[string]any) float64 {
		d1, d2 := floatParam(p, "x1")-2.5, floatParam(p, "x2")-7.5
		return d1*d1 + d2*d2 - 50
	},
	WorstFeasible: 179.35,
}
