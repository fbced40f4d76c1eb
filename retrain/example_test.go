package retrain_test

import (
	"fmt"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain"
)

// A search trial reached 0.912 accuracy against a champion's recorded 0.905: by its point
// value alone it clears a margin of 0.005.
func ExamplePolicy_ComparePoint() {
	p := retrain.Policy{MinImprovement: 0.005}
	ev, err := p.ComparePoint(retune.Maximize, 0.912, 0.905)
	if err != nil {
		panic(err)
	}
	improved, reason := retrain.Verdict(ev)
	fmt.Println(improved)
	fmt.Println(reason)
	// Output:
	// true
	// point comparison (no confirmation repeats): improvement 0.007 above the margin 0.005
}

// Re-run the candidate and the champion five times each, repeat i of both with the same
// seed: the same 0.007 mean improvement is not confirmed when the repeats scatter, and is
// when they agree.
func ExamplePolicy_ComparePaired() {
	p := retrain.Policy{MinImprovement: 0.005, Repeats: 5}
	champion := []float64{0.905, 0.899, 0.911, 0.903, 0.907}
	for _, candidate := range [][]float64{
		{0.921, 0.893, 0.925, 0.899, 0.922}, // scattered
		{0.9125, 0.9055, 0.9175, 0.9105, 0.9140},
	} {
		ev, err := p.ComparePaired(retune.Maximize, candidate, champion)
		if err != nil {
			panic(err)
		}
		improved, _ := retrain.Verdict(ev)
		fmt.Printf("mean %.4f, %.0f%% lower bound %.4f: improved %v\n", ev.Improvement, 100*ev.Level, *ev.LowerBound, improved)
	}
	// Output:
	// mean 0.0070, 95% lower bound -0.0067: improved false
	// mean 0.0070, 95% lower bound 0.0064: improved true
}
