package retune

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMarshalParamsDirect: MarshalParams gives json.Marshal's bytes, or its error, for
// names and values of every kind, escaped names and non-finite values included.
func TestMarshalParamsDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"x", "lr", "a b", "ü", "a<b", "a&b", "q\"", "back\\slash", "\u2028", "z9", "Ω", "_", "x1", "x10", "x2"}
	floats := []float64{0, math.Copysign(0, -1), 1e-300, 5e-324, 1e21, 1e20, 123456789.125, -2.5, 0.1, 1.0 / 3, math.Inf(1), math.NaN()}
	direct := 0 // encoded without json.Marshal
	for n := range 3000 {
		params, dists := map[string]any{}, map[string]Distribution{}
		for range 1 + rng.IntN(5) {
			name := names[rng.IntN(len(names))]
			switch rng.IntN(4) {
			case 0:
				x := floats[rng.IntN(len(floats))]
				params[name], dists[name] = x, FloatDistribution{Low: -1e300, High: 1e300}
			case 1:
				if rng.IntN(2) == 0 {
					params[name], dists[name] = rng.Float64()*10-5, FloatDistribution{Low: -5, High: 5}
				} else {
					params[name], dists[name] = float64(rng.IntN(21))*0.5-5, FloatDistribution{Low: -5, High: 5, Step: 0.5}
				}
			case 2:
				params[name], dists[name] = int64(rng.IntN(100)), IntDistribution{Low: 0, High: 99}
			default:
				choices := []any{"a", "<b>", 1.5, true, nil, "é&"}
				params[name], dists[name] = choices[rng.IntN(len(choices))], CategoricalDistribution{Choices: choices}
			}
		}
		if n%50 == 0 { // a param without its distribution
			params["orphan"] = 1.0
		}
		got, gotErr := MarshalParams(params, dists)
		want, wantErr := marshalParamsJSON(params, dists)
		// With two bad params, either may be named.
		if (gotErr == nil) != (wantErr == nil) || errors.Is(gotErr, ErrInvalid) != errors.Is(wantErr, ErrInvalid) {
			t.Fatalf("MarshalParams(%v, %v) error = %v, json.Marshal's %v", params, dists, gotErr, wantErr)
		}
		plain := true
		for name := range params {
			plain = plain && plainJSONString(name)
		}
		if gotErr == nil && plain {
			direct++
		}
		if string(got) != string(want) {
			t.Fatalf("MarshalParams(%v, %v) = %s, json.Marshal's %s", params, dists, got, want)
		}
	}
	if direct < 300 {
		t.Errorf("only %d of 3000 encodings were written directly: the test hardly tests", direct)
	}
}
