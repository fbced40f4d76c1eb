package retune_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/a6b40afc/retune"
)

// ToUnit inverts FromUnit: mapping a value to [0, 1] and back gives the value.
func TestUnitRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(4, 5))
	for _, d := range []retune.Distribution{
		retune.FloatDistribution{Low: -3, High: 7},
		retune.FloatDistribution{Low: 1e-4, High: 10, Log: true},
		retune.FloatDistribution{Low: 0, High: 1, Step: 0.125},
		retune.FloatDistribution{Low: 2, High: 2},
		retune.IntDistribution{Low: -4, High: 6},
		retune.IntDistribution{Low: 10, High: 100, Step: 15},
		retune.IntDistribution{Low: 1, High: 4096, Log: true},
		retune.IntDistribution{Low: 3, High: 3},
	} {
		for range 500 {
			v := retune.FromUnit(d, r.Float64())
			u, ok := retune.ToUnit(d, v)
			if !ok || u < 0 || u > 1 {
				t.Fatalf("retune.ToUnit(%v, %v) = %v, %v, want a value in [0, 1]", d, v, u, ok)
			}
			back := retune.FromUnit(d, u)
			x, _ := d.ToInternal(v)
			y, _ := d.ToInternal(back)
			if math.Abs(x-y) > 1e-9*math.Max(1, math.Abs(x)) {
				t.Fatalf("%v: FromUnit(retune.ToUnit(%v)) = %v", d, v, back)
			}
		}
	}
	if _, ok := retune.ToUnit(retune.FloatDistribution{Low: 0, High: 1}, 2.0); ok {
		t.Errorf("ToUnit of a value outside the range: ok")
	}
	if _, ok := retune.ToUnit(retune.CategoricalDistribution{Choices: []any{"a"}}, "a"); ok {
		t.Errorf("ToUnit of a categorical: ok")
	}
}
