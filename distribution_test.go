package retune_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
)

func TestDistributionValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    retune.Distribution
		want string // substring of the error; "" = valid
	}{
		{"float ok", retune.FloatDistribution{Low: -1, High: 1}, ""},
		{"float single point", retune.FloatDistribution{Low: 2, High: 2}, ""},
		{"float low>high", retune.FloatDistribution{Low: 1, High: 0}, "low 1 > high 0"},
		{"float log low 0", retune.FloatDistribution{Low: 0, High: 1, Log: true}, "want low > 0"},
		{"float log and step", retune.FloatDistribution{Low: 1, High: 2, Log: true, Step: 0.5}, "use one of them"},
		{"float step divides", retune.FloatDistribution{Low: 0, High: 1, Step: 0.1}, ""},
		{"float step does not divide", retune.FloatDistribution{Low: 0, High: 1, Step: 0.3}, "does not divide"},
		{"float negative step", retune.FloatDistribution{Low: 0, High: 1, Step: -0.5}, "want a step > 0"},
		{"float NaN bound", retune.FloatDistribution{Low: math.NaN(), High: 1}, "finite"},
		{"float Inf bound", retune.FloatDistribution{Low: 0, High: math.Inf(1)}, "finite"},
		{"int ok", retune.IntDistribution{Low: 1, High: 10}, ""},
		{"int low>high", retune.IntDistribution{Low: 3, High: 2}, "low 3 > high 2"},
		{"int log low 0", retune.IntDistribution{Low: 0, High: 10, Log: true}, "want low >= 1"},
		{"int step does not divide", retune.IntDistribution{Low: 0, High: 10, Step: 3}, "does not divide"},
		{"int log and step", retune.IntDistribution{Low: 1, High: 9, Log: true, Step: 2}, "use one of them"},
		{"categorical ok", retune.CategoricalDistribution{Choices: []any{"a", 1, true}}, ""},
		{"categorical empty", retune.CategoricalDistribution{}, "want at least one"},
		{"categorical duplicate", retune.CategoricalDistribution{Choices: []any{"a", "b", "a"}}, "appears twice"},
		{"categorical duplicate across types", retune.CategoricalDistribution{Choices: []any{2, 2.0}}, "appears twice"},
		{"categorical NaN", retune.CategoricalDistribution{Choices: []any{math.NaN()}}, "non-finite"},
		{"categorical unencodable", retune.CategoricalDistribution{Choices: []any{make(chan int)}}, "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.d.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("%v.Validate() = %v, want nil", tt.d, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, retune.ErrInvalid)):
				t.Errorf("%v.Validate() = %v, want an ErrInvalid containing %q", tt.d, err, tt.want)
			}
		})
	}
}

func TestDistributionRoundTrip(t *testing.T) {
	t.Parallel()
	dists := []retune.Distribution{
		retune.FloatDistribution{Low: 0.1, High: 0.30000000000000004},
		retune.FloatDistribution{Low: 1e-300, High: 1e300, Log: true},
		retune.FloatDistribution{Low: -1, High: 1, Step: 0.25},
		retune.IntDistribution{Low: math.MinInt64 + 1, High: math.MaxInt64},
		retune.IntDistribution{Low: 1, High: 1024, Log: true},
		retune.IntDistribution{Low: 0, High: 100, Step: 5},
		retune.CategoricalDistribution{Choices: []any{"a", float64(1), true, nil}},
	}
	for _, d := range dists {
		b, err := retune.MarshalDistribution(d)
		if err != nil {
			t.Fatalf("MarshalDistribution(%v) error: %v", d, err)
		}
		got, err := retune.UnmarshalDistribution(b)
		if err != nil {
			t.Fatalf("UnmarshalDistribution(%s) error: %v", b, err)
		}
		if !got.Equal(d) {
			t.Errorf("round trip of %v = %v (via %s)", d, got, b)
		}
	}
	for _, bad := range []string{`{"type":"float","low":1,"high":0}`, `{"type":"normal"}`, `{"type":"int","low":1}`, `{"type":"float","low":0,"high":1,"extra":1}`, `[]`} {
		if _, err := retune.UnmarshalDistribution([]byte(bad)); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("UnmarshalDistribution(%s) error = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestDistributionContains(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    retune.Distribution
		v    any
		want bool
	}{
		{"float inside", retune.FloatDistribution{Low: 0, High: 1}, 0.5, true},
		{"float int value", retune.FloatDistribution{Low: 0, High: 1}, 1, true},
		{"float outside", retune.FloatDistribution{Low: 0, High: 1}, 1.5, false},
		{"float off step", retune.FloatDistribution{Low: 0, High: 1, Step: 0.25}, 0.3, false},
		{"float on step", retune.FloatDistribution{Low: 0, High: 1, Step: 0.1}, 0.7000000000000001, true},
		{"float string", retune.FloatDistribution{Low: 0, High: 1}, "0.5", false},
		{"int integral float", retune.IntDistribution{Low: 0, High: 10}, 3.0, true},
		{"int fractional", retune.IntDistribution{Low: 0, High: 10}, 3.5, false},
		{"int off step", retune.IntDistribution{Low: 0, High: 10, Step: 2}, int64(3), false},
		{"categorical json-equal", retune.CategoricalDistribution{Choices: []any{1, 2}}, 2.0, true},
		{"categorical missing", retune.CategoricalDistribution{Choices: []any{"a"}}, "b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.d.Contains(tt.v); got != tt.want {
				t.Errorf("%v.Contains(%v) = %v, want %v", tt.d, tt.v, got, tt.want)
			}
		})
	}
}

// TestInvalidParams: every invalid distribution or redefinition fails the trial with a
// reason naming the param, and the suggest returns the zero value.
func TestInvalidParams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fn   func(tr *retune.Trial)
		want string
	}{
		{"low > high", func(tr *retune.Trial) { tr.Float("lr", 1, 0) }, `param "lr"`},
		{"log low <= 0", func(tr *retune.Trial) { tr.Float("lr", 0, 1, retune.Log) }, "want low > 0"},
		{"step does not divide", func(tr *retune.Trial) { tr.Float("x", 0, 1, retune.Step(0.3)) }, "does not divide"},
		{"log and step", func(tr *retune.Trial) { tr.Float("x", 1, 2, retune.Log, retune.Step(0.5)) }, "use one of them"},
		{"int fractional step", func(tr *retune.Trial) { tr.Int("n", 0, 10, retune.Step(2.5)) }, "whole number"},
		{"int log low 0", func(tr *retune.Trial) { tr.Int("n", 0, 10, retune.Log) }, "want low >= 1"},
		{"empty choices", func(tr *retune.Trial) { tr.Categorical("c") }, "at least one"},
		{"duplicate choices", func(tr *retune.Trial) { tr.Categorical("c", "a", "a") }, "appears twice"},
		{"redefinition", func(tr *retune.Trial) { tr.Float("x", 0, 1); tr.Float("x", 0, 2) }, "already has it"},
		{"kind change", func(tr *retune.Trial) { tr.Float("x", 0, 1); tr.Int("x", 0, 1) }, "already has it"},
		{"empty name", func(tr *retune.Trial) { tr.Float("", 0, 1) }, "name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := retune.NewStudy(ctx, retune.Config{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
				tt.fn(tr)
				return 1, nil
			}, retune.OptimizeOptions{Trials: 1})
			if err != nil || res.Failed != 1 {
				t.Fatalf("Optimize = %+v, %v, want 1 failed trial", res, err)
			}
			ts, _ := s.Trials(ctx)
			if ts[0].State != retune.TrialFail || !strings.Contains(ts[0].Reason, tt.want) {
				t.Errorf("trial = %v %q, want FAIL with a reason containing %q", ts[0].State, ts[0].Reason, tt.want)
			}
		})
	}
}

func TestSameParamTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := retune.NewStudy(ctx, retune.Config{Seed: 3})
	tr, err := s.Ask(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, b := tr.Float("x", 0, 1), tr.Float("x", 0, 1)
	n := retune.Choice(tr, "n", 8, 16, 32)
	if a != b || tr.Err() != nil || (n != 8 && n != 16 && n != 32) {
		t.Errorf("Float twice = %v, %v (err %v), Choice = %v", a, b, tr.Err(), n)
	}
	if err := s.Tell(ctx, tr, a); err != nil {
		t.Fatal(err)
	}
}
