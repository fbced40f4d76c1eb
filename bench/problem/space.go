package problem

import (
	"fmt"
	"strconv"
)

// Param describes one dimension of a problem's search space, independently
// of any optimizer API.
type Param struct {
	Name string
	// Kind is "float", "int" or "categorical".
	Kind string
	// Low and High are the inclusive bounds of a float or int parameter
	// (whole numbers for ints); unused for categoricals.
	Low, High float64
	// Log marks a float or int parameter sampled on a log scale.
	Log bool
	// Choices lists a categorical parameter's values, in order.
	Choices []string
}

// Problem is one single-objective (minimized) benchmark problem, described so
// that a harness can build the search space, call the objective and compute
// simple regret (best value - Optimum).
type Problem struct {
	// Name is the problem's name in optuna_ref.py (Problems) or
	// bench/optuna_more.py (Broad) and in reports.
	Name string
	// Optimum is the value the runners subtract to compute regret. For
	// branin (0.397887) and hartmann6 (-3.32237) it is rounded to six
	// significant digits, slightly below the true minimum, so regret stays
	// positive; Broad's problems say where theirs is rounded.
	Optimum float64
	// Space lists the parameters in the order and with the names that
	// the runner suggests them.
	Space []Param
	// Eval evaluates the objective. params maps each name in Space to a
	// float64 (float), int64 (int) or string (categorical); a missing
	// parameter or one of another type makes Eval panic.
	Eval func(params map[string]any) float64
	// Noise, when not nil, is added to Eval's value in trial (0-based
	// number) of the run with seed: the optimizer observes the sum, and
	// regret is measured on Eval's noise-free value of the trial with the
	// best observation.
	Noise func(seed, trial int) float64
}

// Problems lists the single-objective benchmark problems in the order of
// optuna_ref.py: sphereA, branin, hartmann6, rosenbrock5, ackley5, mixedB.
// Callers must not modify it.
var Problems = []Problem{
	{
		Name:    "sphereA",
		Optimum: 0,
		Space:   box(5, -5, 5),
		Eval:    func(p map[string]any) float64 { return Sphere(boxPoint(p, 5)) },
	},
	{
		Name:    "branin",
		Optimum: 0.397887,
		Space: []Param{
			{Name: "x0", Kind: "float", Low: -5, High: 10},
			{Name: "x1", Kind: "float", Low: 0, High: 15},
		},
		Eval: func(p map[string]any) float64 { return Branin(floatParam(p, "x0"), floatParam(p, "x1")) },
	},
	{
		Name:    "hartmann6",
		Optimum: -3.32237,
		Space:   box(6, 0, 1),
		Eval:    func(p map[string]any) float64 { return Hartmann6(boxPoint(p, 6)) },
	},
	{
		Name:    "rosenbrock5",
		Optimum: 0,
		Space:   box(5, -5, 10),
		Eval:    func(p map[string]any) float64 { return Rosenbrock(boxPoint(p, 5)) },
	},
	{
		Name:    "ackley5",
		Optimum: 0,
		Space:   box(5, -32.768, 32.768),
		Eval:    func(p map[string]any) float64 { return Ackley(boxPoint(p, 5)) },
	},
	{
		Name:    "mixedB",
		Optimum: 0,
		Space: []Param{
			{Name: "x", Kind: "float", Low: -5, High: 5},
			{Name: "lr", Kind: "float", Low: 1e-5, High: 1e-1, Log: true},
			{Name: "depth", Kind: "int", Low: 1, High: 10},
			{Name: "n", Kind: "int", Low: 1, High: 1000, Log: true},
			{Name: "kind", Kind: "categorical", Choices: []string{"a", "b", "c", "d"}},
		},
		Eval: func(p map[string]any) float64 {
			return MixedB(floatParam(p, "x"), floatParam(p, "lr"),
				intParam(p, "depth"), intParam(p, "n"), stringParam(p, "kind"))
		},
	},
}

// box returns d float parameters x0..x{d-1}, each in [lo, hi].
func box(d int, lo, hi float64) []Param {
	ps := make([]Param, d)
	for i := range ps {
		ps[i] = Param{Name: "x" + strconv.Itoa(i), Kind: "float", Low: lo, High: hi}
	}
	return ps
}

// boxPoint reads parameters x0..x{d-1} into a vector.
func boxPoint(p map[string]any, d int) []float64 {
	x := make([]float64, d)
	for i := range x {
		x[i] = floatParam(p, "x"+strconv.Itoa(i))
	}
	return x
}

func floatParam(p map[string]any, name string) float64 {
	v, ok := p[name].(float64)
	if !ok {
		panic(fmt.Sprintf("problem: parameter %q is %T, want float64", name, p[name]))
	}
	return v
}

func intParam(p map[string]any, name string) int64 {
	v, ok := p[name].(int64)
	if !ok {
		panic(fmt.Sprintf("problem: parameter %q is %T, want int64", name, p[name]))
	}
	return v
}

func stringParam(p map[string]any, name string) string {
	v, ok := p[name].(string)
	if !ok {
		panic(fmt.Sprintf("problem: parameter %q is %T, want string", name, p[name]))
	}
	return v
}
