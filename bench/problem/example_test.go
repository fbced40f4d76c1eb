package problem_test

import (
	"fmt"

	"github.com/a6b40afc/retune/bench/problem"
)

// Example evaluates a few problems at their optima, scores a small
// two-objective front, and walks the table a harness would use.
func Example() {
	fmt.Printf("branin(pi, 2.275) = %.6f\n", problem.Branin(3.141592653589793, 2.275))
	fmt.Printf("mixedB optimum = %.6f\n", problem.MixedB(1.5, 1e-3, 7, 100, "c"))
	fmt.Printf("mixedB unknown kind = %v\n", problem.MixedB(1.5, 1e-3, 7, 100, "z"))

	// (0.6, 0.9) is dominated and (1.2, 0.05) lies outside the reference box.
	front := [][2]float64{{0.9, 0.1}, {0.2, 0.8}, {0.6, 0.9}, {0.5, 0.4}, {1.2, 0.05}}
	fmt.Printf("hypervolume = %.4f\n", problem.Hypervolume2D(front, [2]float64{1.1, 1.1}))

	x1, x2, lr := problem.PruningConfig(0, 0)
	v, final := problem.Curve(x1, x2, lr, 0, 0, 10, 50)
	fmt.Printf("pruning s0 i0: lr = %.6f, step 10 = %.4f, final = %.4f\n", lr, v, final)

	for _, p := range problem.Problems {
		fmt.Printf("%s: %d params, optimum %g\n", p.Name, len(p.Space), p.Optimum)
	}
	// Output:
	// branin(pi, 2.275) = 0.397887
	// mixedB optimum = 0.000000
	// mixedB unknown kind = NaN
	// hypervolume = 0.5700
	// pruning s0 i0: lr = 0.001238, step 10 = 0.2653, final = 0.6166
	// sphereA: 5 params, optimum 0
	// branin: 2 params, optimum 0.397887
	// hartmann6: 6 params, optimum -3.32237
	// rosenbrock5: 5 params, optimum 0
	// ackley5: 5 params, optimum 0
	// mixedB: 5 params, optimum 0
}

// ExampleProblem_Eval evaluates a problem from the table with the parameter
// types Eval expects: float64 for floats, int64 for ints, string for
// categoricals.
func ExampleProblem_Eval() {
	mixed := problem.Problems[len(problem.Problems)-1]
	v := mixed.Eval(map[string]any{"x": -2.0, "lr": 1e-4, "depth": int64(3), "n": int64(10), "kind": "a"})
	fmt.Printf("%s = %.4f\n", mixed.Name, v)
	// Output:
	// mixedB = 13.7778
}
