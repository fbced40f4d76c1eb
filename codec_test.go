package retune_test

import (
	"math"
	"testing"

	"github.com/a6b40afc/retune"
)

// FuzzParamsRoundTrip: any valid float or int distribution with a value inside it reads
// back exactly through the stored encoding.
func FuzzParamsRoundTrip(f *testing.F) {
	f.Add(0.0, 1.0, 0.5, false, 0.0, int64(0), int64(10), int64(3), int64(1))
	f.Add(1e-5, 1e-1, 1e-3, true, 0.0, int64(1), int64(1000), int64(100), int64(1))
	f.Add(-1.0, 1.0, 0.25, false, 0.25, int64(-100), int64(100), int64(-50), int64(5))
	f.Add(5e-324, math.MaxFloat64, 1e300, true, 0.0, int64(math.MinInt64), int64(math.MaxInt64), int64(math.MaxInt64-1), int64(1))
	f.Fuzz(func(t *testing.T, lo, hi, x float64, log bool, step float64, ilo, ihi, n, istep int64) {
		fd := retune.FloatDistribution{Low: lo, High: hi, Log: log, Step: step}
		id := retune.IntDistribution{Low: ilo, High: ihi, Step: istep}
		params := map[string]any{}
		dists := map[string]retune.Distribution{}
		if fd.Validate() == nil && fd.Contains(x) {
			params["f"], dists["f"] = x, fd
		}
		if istep >= 1 && id.Validate() == nil && id.Contains(n) {
			params["i"], dists["i"] = n, id
		}
		b, err := retune.MarshalParams(params, dists)
		if err != nil {
			t.Fatalf("MarshalParams(%v, %v) error: %v", params, dists, err)
		}
		gotP, gotD, err := retune.UnmarshalParams(b)
		if err != nil {
			t.Fatalf("UnmarshalParams(%s) error: %v", b, err)
		}
		for k, v := range params {
			if gotP[k] != v || !gotD[k].Equal(dists[k]) {
				t.Errorf("round trip of %s=%v in %v = %v in %v (via %s)", k, v, dists[k], gotP[k], gotD[k], b)
			}
		}
	})
}

func TestSampleUniformInside(t *testing.T) {
	t.Parallel()
	dists := []retune.Distribution{
		retune.FloatDistribution{Low: -1, High: 1},
		retune.FloatDistribution{Low: 1e-8, High: 1, Log: true},
		retune.FloatDistribution{Low: 0, High: 1, Step: 0.1},
		retune.FloatDistribution{Low: 3, High: 3},
		retune.IntDistribution{Low: -5, High: 5},
		retune.IntDistribution{Low: 1, High: 1 << 40, Log: true},
		retune.IntDistribution{Low: 0, High: 100, Step: 25},
		retune.CategoricalDistribution{Choices: []any{"a", "b", "c"}},
	}
	for _, d := range dists {
		seen := map[any]bool{}
		r := newRand(1)
		for range 2000 {
			v := retune.SampleUniform(r, d)
			if !d.Contains(v) {
				t.Fatalf("SampleUniform(%v) = %v, outside", d, v)
			}
			seen[v] = true
		}
		if id, ok := d.(retune.IntDistribution); ok && id.Step == 25 && len(seen) != 5 {
			t.Errorf("SampleUniform(%v) hit %d of 5 values", d, len(seen))
		}
	}
}
