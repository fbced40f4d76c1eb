package pruner

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/a6b40afc/retune"
)

// TestMeasureMatchesRungValue checks measure's single walk over both curves against the
// definition it implements: the root mean square difference, over the judged trial's
// finite values up to the step, from the finisher's rungValue at each of those steps
// (skipping non-finite ones). Curves have gaps, steps beyond the judged one, NaN and Inf,
// and vectors of another length, so both the consecutive and the sorted paths are taken.
func TestMeasureMatchesRungValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randomCurve := func(n int) *retune.FrozenTrial {
		inter := map[int64][]float64{}
		gaps := rng.IntN(2) == 0
		for s := int64(1); len(inter) < n; s++ {
			if gaps && rng.IntN(3) == 0 {
				continue
			}
			v := rng.Float64()
			switch rng.IntN(20) {
			case 0:
				v = math.NaN()
			case 1:
				v = math.Inf(1)
			}
			if rng.IntN(25) == 0 {
				inter[s] = []float64{v, v}
			} else {
				inter[s] = []float64{v}
			}
		}
		return &retune.FrozenTrial{Number: rng.IntN(1000), Intermediate: inter}
	}
	p := NewExtrapolate(ExtrapolateOptions{ParamWeight: -1})
	for range 500 {
		judged := randomCurve(1 + rng.IntN(30))
		step := int64(1 + rng.IntN(40))
		var fs []finisher
		for range 5 {
			fs = append(fs, finisher{t: randomCurve(1 + rng.IntN(30))})
		}
		sign := []float64{1, -1}[rng.IntN(2)]
		scale := 0.5
		p.measure(judged, step, sign, scale, fs)
		for _, f := range fs {
			var sum float64
			n := 0
			for _, s := range sortedSteps(judged, step) {
				a, ok := valueAt(judged, s, 1)
				if !ok || !finite(a[0]) {
					continue
				}
				b, ok := rungValue(f.t, s, 1)
				if !ok || !finite(b[0]) {
					continue
				}
				d := sign * (a[0] - b[0])
				sum += d * d
				n++
			}
			want := math.Inf(1)
			if n > 0 {
				want = math.Sqrt(sum/float64(n)) / scale
			}
			if !(f.dist == want || math.Abs(f.dist-want) < 1e-12) {
				t.Fatalf("measure gives %v, the definition %v (judged %v at step %d, finisher %v)", f.dist, want, judged.Intermediate, step, f.t.Intermediate)
			}
		}
	}
}
