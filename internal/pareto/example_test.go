package pareto_test

import (
	"fmt"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/pareto"
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
