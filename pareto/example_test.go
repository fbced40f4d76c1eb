package pareto_test

import (
	"fmt"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pareto"
)

func Example() {
	dirs := []retune.Direction{retune.Minimize, retune.Maximize} // loss down, accuracy up
	points := [][]float64{
		{0.2, 0.90},
		{0.1, 0.80},
		{0.3, 0.95},
		{0.3, 0.85}, // dominated by {0.2, 0.90}
		{0.15, 0.88},
	}
	fmt.Println(pareto.Fronts(dirs, points))
	fmt.Println(pareto.Order(dirs, points))
	// Output:
	// [[0 1 2 4] [3]]
	// [1 2 0 4 3]
}

func ExampleHypervolume() {
	dirs := []retune.Direction{retune.Minimize, retune.Minimize}
	points := [][]float64{{0.2, 0.8}, {0.5, 0.4}, {0.9, 0.1}, {0.6, 0.5}} // the last is dominated
	fmt.Printf("%.2f\n", pareto.Hypervolume(dirs, points, []float64{1.1, 1.1}))
	// Output: 0.57
}
