package problem

// Conditional is a synthetic conditional search space in the manner of the algorithm-
// selection spaces of HPOlib and the SMAC/auto-sklearn benchmarks (Eggensperger et al.,
// "Towards an empirical foundation for assessing Bayesian optimization of
// hyperparameters", 2013): a categorical "model" chooses a branch, and each branch has
// params of its own — 2 for "a", 3 for "b", 4 for "c". The optimum, 0, lies in branch c
// at c = (0.3, 0.8, 0.2, 0.6); the best of branch b is 0.5 and of branch a 1.0, so a
// sampler must find the right branch and then tune 4 params inside it.
var Conditional = Problem{
	Name:    "conditional",
	Optimum: 0,
	Space: []Param{
		{Name: "model", Kind: "categorical", Choices: []string{"a", "b", "c"}},
		{Name: "a1", Kind: "float", High: 1}, {Name: "a2", Kind: "float", High: 1},
		{Name: "b1", Kind: "float", High: 1}, {Name: "b2", Kind: "float", High: 1}, {Name: "b3", Kind: "float", High: 1},
		{Name: "c1", Kind: "float", High: 1}, {Name: "c2", Kind: "float", High: 1}, {Name: "c3", Kind: "float", High: 1}, {Name: "c4", Kind: "float", High: 1},
	},
	Eval: evalConditional,
}

// ConditionalBranch returns the params of Conditional's space that model's branch uses.
func ConditionalBranch(model string) []string {
	switch model {
	case "a":
		return []string{"a1", "a2"}
	case "b":
		return []string{"b1", "b2", "b3"}
	}
	return []string{"c1", "c2", "c3", "c4"}
}

func evalConditional(p map[string]any) float64 {
	model := stringParam(p, "model")
	var base float64
	var centre []float64
	switch model {
	case "a":
		base, centre = 1.0, []float64{0.7, 0.2}
	case "b":
		base, centre = 0.5, []float64{0.1, 0.5, 0.9}
	default:
		base, centre = 0, []float64{0.3, 0.8, 0.2, 0.6}
	}
	v := base
	for i, name := range ConditionalBranch(model) {
		d := floatParam(p, name) - centre[i]
		v += 4 * d * d
	}
	return v
}
