package retune

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// randomParams returns n random sets of params of every kind, with names JSON escapes,
// non-finite values and, now and then, a param without a distribution.
func randomParams(n int) (ps []map[string]any, ds []map[string]Distribution) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"x", "lr", "a b", "ü", "a<b", "a&b", "q\"", "back\\slash", "\u2028", "z9", "Ω", "_", "x1", "x10", "x2"}
	floats := []float64{0, math.Copysign(0, -1), 1e-300, 5e-324, 1e21, 1e20, 123456789.125, -2.5, 0.1, 1.0 / 3, math.Inf(1), math.NaN()}
	for i := range n {
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
				choices := []any{"a", "<b>", 1.5, true, nil, "é&", 3}
				params[name], dists[name] = choices[rng.IntN(len(choices))], CategoricalDistribution{Choices: choices}
			}
		}
		if i%50 == 0 {
			params["orphan"] = 1.0
		}
		ps, ds = append(ps, params), append(ds, dists)
	}
	return ps, ds
}

// TestMarshalParamsDirect: MarshalParams gives json.Marshal's bytes, or its error.
func TestMarshalParamsDirect(t *testing.T) {
	ps, ds := randomParams(3000)
	direct := 0 // encoded without json.Marshal
	for i, params := range ps {
		dists := ds[i]
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

// TestMarshalParamsRead: MarshalParamsRead gives MarshalParams's encoding and what
// UnmarshalParams reads from it.
func TestMarshalParamsRead(t *testing.T) {
	ps, ds := randomParams(3000)
	for i, params := range ps {
		dists := ds[i]
		b, values, read, err := MarshalParamsRead(params, dists)
		want, wantErr := MarshalParams(params, dists)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("MarshalParamsRead(%v, %v) error = %v, MarshalParams's %v", params, dists, err, wantErr)
		}
		if err != nil {
			continue
		}
		if string(b) != string(want) {
			t.Fatalf("MarshalParamsRead(%v, %v) = %s, MarshalParams's %s", params, dists, b, want)
		}
		wantValues, wantRead, err := UnmarshalParams(b)
		if err != nil {
			t.Fatalf("UnmarshalParams(%s): %v", b, err)
		}
		if !reflect.DeepEqual(values, wantValues) || !reflect.DeepEqual(read, wantRead) {
			t.Fatalf("MarshalParamsRead(%v, %v) read %#v %#v, UnmarshalParams %#v %#v", params, dists, values, read, wantValues, wantRead)
		}
	}
}
