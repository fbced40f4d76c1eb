package stat

import (
	"math"
	"testing"
)

// Reference values computed with mpmath at 30 digits (scipy's t.ppf is off by up to 5e-9).
func TestStudentT(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p, df, want float64
	}{
		{0.95, 4, 2.13184678632665},
		{0.975, 4, 2.77644510519779},
		{0.95, 1, 6.31375151467504},
		{0.9, 29, 1.31143364730155},
		{0.05, 9, -1.83311293265624},
		{0.999, 2, 22.3271247701199},
	}
	for _, tt := range tests {
		if got := StudentTQuantile(tt.p, tt.df); math.Abs(got-tt.want) > 1e-11*math.Max(1, math.Abs(tt.want)) {
			t.Errorf("StudentTQuantile(%v, %v) = %.10f, want %.10f", tt.p, tt.df, got, tt.want)
		}
	}
	if got := StudentTCDF(1.5, 7); math.Abs(got-0.911350756505) > 1e-9 {
		t.Errorf("StudentTCDF(1.5, 7) = %v, want 0.911350756505", got)
	}
}

func TestBetaQuantile(t *testing.T) {
	t.Parallel()
	if got := BetaQuantile(0.975, 101, 1900); math.Abs(got-0.060481722083) > 1e-9 {
		t.Errorf("BetaQuantile(0.975, 101, 1900) = %v, want 0.060481722083", got)
	}
}
