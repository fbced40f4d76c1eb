package pruner_test

import (
	"context"
	"math"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
)

// BenchmarkExtrapolate is one decision at step 25 in a study of 1,000 finished trials of
// 50 steps: 200 COMPLETE and 800 PRUNED, a quarter of these after a collapse, so that the
// turned-down rule has curves to read; "drop off" is the pruner without it.
func BenchmarkExtrapolate(b *testing.B) {
	var trials []retune.FrozenTrial
	for i := range 1000 {
		a := 0.5 + 0.4*float64(i%97)/97
		steps := 50
		state := complete
		if i%5 != 0 {
			state, steps = pruned, 5+i%40
		}
		vals := make([]float64, steps)
		for s := range vals {
			vals[s] = a * (1 - math.Exp(-float64(s+1)/5))
			if state == pruned && i%4 == 1 && s > steps/2 {
				vals[s] = 0.1
			}
		}
		trials = append(trials, curve(i, state, vals...))
	}
	req := request(max1, curve(5000, running, saturating(0.8, 25)...), trials...)
	for _, c := range []struct {
		name string
		p    *pruner.Extrapolate
	}{{"drop on", pruner.NewExtrapolate(pruner.ExtrapolateOptions{})}, {"drop off", pruner.NewExtrapolate(pruner.ExtrapolateOptions{Drop: -1})}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.p.Prune(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
