package bench

import (
	"math"
	"testing"
)

func TestMannWhitney(t *testing.T) {
	t.Parallel()
	a := []float64{5, 6, 7, 8, 9, 10, 11, 12}
	b := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	// Reference p-values: scipy.stats.mannwhitneyu(alternative="greater", method="asymptotic").
	if p := MannWhitneyGreater(a, b); math.Abs(p-0.0066565013819083) > 1e-12 {
		t.Errorf("MannWhitneyGreater(a, b) = %v, want 0.0066565013819083", p)
	}
	if p := MannWhitneyGreater(b, a); p < 0.99 {
		t.Errorf("clearly smaller: p = %v, want > 0.99", p)
	}
	same := []float64{1, 1, 1, 1}
	if p := MannWhitneyGreater(same, same); p != 1 {
		t.Errorf("all tied: p = %v, want 1", p)
	}
	x := []float64{1.1, 2.3, 3.5, 4.2, 7.7}
	y := []float64{2.0, 3.1, 5.5, 6.4, 8.8}
	if p := MannWhitneyGreater(x, y); math.Abs(p-0.7983023475536859) > 1e-12 {
		t.Errorf("MannWhitneyGreater(x, y) = %v, want 0.7983023475536859", p)
	}
}

func TestHolm(t *testing.T) {
	t.Parallel()
	got := Holm([]float64{0.01, 0.04, 0.03, 0.005})
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("Holm = %v, want %v", got, want)
		}
	}
}

func TestClopperPearson(t *testing.T) {
	t.Parallel()
	// Reference values from scipy.stats.beta quantiles (exact binomial intervals).
	cases := []struct {
		k, n   int
		lo, hi float64
	}{{0, 20, 0, 0.16843}, {5, 20, 0.08657, 0.49105}, {20, 20, 0.83157, 1}, {100, 2000, 0.04086, 0.06048}}
	for _, c := range cases {
		lo, hi := ClopperPearson(c.k, c.n)
		if math.Abs(lo-c.lo) > 2e-4 || math.Abs(hi-c.hi) > 2e-4 {
			t.Errorf("ClopperPearson(%d, %d) = [%.5f, %.5f], want [%.5f, %.5f]", c.k, c.n, lo, hi, c.lo, c.hi)
		}
	}
}

func TestQuantiles(t *testing.T) {
	t.Parallel()
	xs := []float64{4, 1, 3, 2}
	if m := Median(xs); m != 2.5 {
		t.Errorf("Median = %v", m)
	}
	if q := Quantile(xs, 0.25); q != 1.75 {
		t.Errorf("Quantile(0.25) = %v", q)
	}
	lo, hi := BootstrapMedianDiff([]float64{1, 2, 3, 4, 5}, []float64{1, 2, 3, 4, 5}, 200, 1)
	if lo != 0 || hi != 0 {
		t.Errorf("bootstrap of zero differences = [%v, %v]", lo, hi)
	}
}
