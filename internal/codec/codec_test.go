package codec_test

import (
	"math"
	"testing"

	"github.com/a6b40afc/retune/internal/codec"
)

// FuzzFloats: every float64, NaN and ±Inf included, survives the values encoding.
func FuzzFloats(f *testing.F) {
	f.Add(0.0, math.Inf(1), math.NaN())
	f.Add(math.Copysign(0, -1), math.Inf(-1), 5e-324)
	f.Fuzz(func(t *testing.T, a, b, c float64) {
		in := []float64{a, b, c}
		out, err := codec.UnmarshalFloats(codec.MarshalFloats(in))
		if err != nil {
			t.Fatal(err)
		}
		for i := range in {
			same := in[i] == out[i] && math.Signbit(in[i]) == math.Signbit(out[i]) || math.IsNaN(in[i]) && math.IsNaN(out[i])
			if !same {
				t.Errorf("value %d: %v became %v", i, in[i], out[i])
			}
		}
	})
}
