package problem

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// ranks returns the rank (0-based, ties averaged) of each of xs.
func ranks(xs []float64) []float64 {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	r := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && xs[idx[j]] == xs[idx[i]] {
			j++
		}
		for k := i; k < j; k++ {
			r[idx[k]] = float64(i+j-1) / 2
		}
		i = j
	}
	return r
}

// spearman is the rank correlation of a and b.
func spearman(a, b []float64) float64 {
	ra, rb := ranks(a), ranks(b)
	n := float64(len(a))
	var ma, mb float64
	for i := range ra {
		ma += ra[i] / n
		mb += rb[i] / n
	}
	var sab, saa, sbb float64
	for i := range ra {
		sab += (ra[i] - ma) * (rb[i] - mb)
		saa += (ra[i] - ma) * (ra[i] - ma)
		sbb += (rb[i] - mb) * (rb[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}

// curveTable holds the noise-free values of configurations at steps 1…50 (row i, column
// step-1).
type curveTable [][]float64

func (c curveTable) at(step int) []float64 {
	out := make([]float64, len(c))
	for i, row := range c {
		out[i] = row[step-1]
	}
	return out
}

func (c curveTable) peak() []float64 {
	out := make([]float64, len(c))
	for i, row := range c {
		out[i] = math.Inf(-1)
		for _, v := range row {
			out[i] = math.Max(out[i], v)
		}
	}
	return out
}

// familyTable evaluates a family at n random configurations.
func familyTable(f CurveFamily, n int) curveTable {
	r := rand.New(rand.NewPCG(7, 11))
	tab := make(curveTable, n)
	for i := range tab {
		p := randomParams(f.Space, r)
		for step := 1; step <= 50; step++ {
			tab[i] = append(tab[i], f.Curve(p, step, 50))
		}
	}
	return tab
}

// publicTable evaluates the pruning benchmark's Curve at n of its configurations.
func publicTable(n int) curveTable {
	tab := make(curveTable, n)
	for i := range tab {
		x1, x2, lr := PruningConfig(i/100, i%100)
		for step := 1; step <= 50; step++ {
			_, noiseFree := Curve(x1, x2, lr, 0, 0, 1, step)
			tab[i] = append(tab[i], noiseFree)
		}
	}
	return tab
}

// meanTopRank is the mean rank, as a fraction of n, in by of the top fraction of
// configurations in of.
func meanTopRank(of, by []float64, top float64) float64 {
	r := ranks(by)
	idx := make([]int, len(of))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return of[idx[a]] > of[idx[b]] })
	k := int(top * float64(len(of)))
	s := 0.0
	for _, i := range idx[:k] {
		s += r[i] / float64(len(of)-1)
	}
	return s / float64(k)
}

// declined is the fraction of configurations that end more than d below their peak.
func declined(c curveTable, d float64) float64 {
	peak, final := c.peak(), c.at(50)
	k := 0
	for i := range peak {
		if final[i] < peak[i]-d {
			k++
		}
	}
	return float64(k) / float64(len(peak))
}

// Each family's values are finite accuracies; Value is Curve plus at most 0.01 of jitter
// that depends on seed, trial and step; Final is the noise-free last value; and a run of
// 100 steps reads the same curve at half-steps.
func TestCurveFamilies(t *testing.T) {
	t.Parallel()
	if len(CurveFamilies) < 3 {
		t.Fatalf("%d curve families, want at least 3", len(CurveFamilies))
	}
	for _, f := range CurveFamilies {
		r := rand.New(rand.NewPCG(1, 2))
		for trial := range 200 {
			p := randomParams(f.Space, r)
			for step := 1; step <= 50; step++ {
				c := f.Curve(p, step, 50)
				v := f.Value(p, step, 50, 4, trial)
				if math.IsNaN(v) || c < 0.05 || c > 0.99 || math.Abs(v-c) > 0.01 {
					t.Fatalf("%s at %v, step %d: curve %v, value %v; want a curve in [0.05, 0.99] and a value within 0.01", f.Name, p, step, c, v)
				}
				if c2 := f.Curve(p, 2*step, 100); c2 != c {
					t.Fatalf("%s at %v: step %d of 50 is %v, step %d of 100 is %v", f.Name, p, step, c, 2*step, c2)
				}
			}
			if fin := f.Final(p, 50); fin != f.Curve(p, 50, 50) {
				t.Fatalf("%s: Final %v, last noise-free value %v", f.Name, fin, f.Curve(p, 50, 50))
			}
		}
		if CurveJitter(4, 1, 3) == CurveJitter(5, 1, 3) || CurveJitter(4, 1, 3) == CurveJitter(4, 2, 3) || CurveJitter(4, 1, 3) == CurveJitter(4, 1, 4) {
			t.Errorf("jitter does not depend on seed, trial and step")
		}
	}
}

// In latebloom the best final configurations start slowest: the rank correlation of the
// values at step 5 and at step 50 is negative, and the top 5% by final value sit in the
// lower third at step 5. For the pruning benchmark's Curve, both are the other way round.
func TestLateBloom(t *testing.T) {
	t.Parallel()
	tab := familyTable(findFamily(t, "latebloom"), 2000)
	if rho := spearman(tab.at(5), tab.at(50)); rho > -0.25 {
		t.Errorf("latebloom: Spearman(step 5, final) = %.3f, want below -0.25", rho)
	}
	if m := meanTopRank(tab.at(50), tab.at(5), 0.05); m > 1.0/3 {
		t.Errorf("latebloom: the top 5%% by final value have mean rank %.3f at step 5, want below 1/3", m)
	}
	pub := publicTable(1000)
	if rho := spearman(pub.at(5), pub.at(50)); rho < 0.9 {
		t.Errorf("Curve: Spearman(step 5, final) = %.3f, want above 0.9", rho)
	}
	if m := meanTopRank(pub.at(50), pub.at(5), 0.05); m < 0.9 {
		t.Errorf("Curve: the top 5%% by final value have mean rank %.3f at step 5, want above 0.9", m)
	}
}

// In crossing the ranking changes late: values at step 25 say almost nothing of the final
// ranking, those at step 40 little, and the top 5% by final value are below the median at
// step 30. For Curve all three hold the ranking.
func TestCrossing(t *testing.T) {
	t.Parallel()
	tab := familyTable(findFamily(t, "crossing"), 2000)
	if rho := spearman(tab.at(25), tab.at(50)); math.Abs(rho) > 0.2 {
		t.Errorf("crossing: Spearman(step 25, final) = %.3f, want within ±0.2", rho)
	}
	if rho := spearman(tab.at(40), tab.at(50)); rho > 0.75 {
		t.Errorf("crossing: Spearman(step 40, final) = %.3f, want below 0.75", rho)
	}
	if m := meanTopRank(tab.at(50), tab.at(30), 0.05); m > 0.5 {
		t.Errorf("crossing: the top 5%% by final value have mean rank %.3f at step 30, want below 0.5", m)
	}
	pub := publicTable(1000)
	for _, step := range []int{25, 40} {
		if rho := spearman(pub.at(step), pub.at(50)); rho < 0.95 {
			t.Errorf("Curve: Spearman(step %d, final) = %.3f, want above 0.95", step, rho)
		}
	}
}

// In divergent many curves fall after their peak: over a quarter end more than 0.05 below
// it, the peaks do not predict the finals, and the top 5% by peak end below the median.
// Curve's noise-free values never fall.
func TestDivergent(t *testing.T) {
	t.Parallel()
	tab := familyTable(findFamily(t, "divergent"), 2000)
	if d := declined(tab, 0.05); d < 0.25 {
		t.Errorf("divergent: %.3f of the configurations end 0.05 below their peak, want over 0.25", d)
	}
	if rho := spearman(tab.peak(), tab.at(50)); rho > 0.3 {
		t.Errorf("divergent: Spearman(peak, final) = %.3f, want below 0.3", rho)
	}
	if m := meanTopRank(tab.peak(), tab.at(50), 0.05); m > 0.5 {
		t.Errorf("divergent: the top 5%% by peak have mean final rank %.3f, want below 0.5", m)
	}
	pub := publicTable(1000)
	if d := declined(pub, 0); d != 0 {
		t.Errorf("Curve: %.3f of the configurations end below their peak, want 0", d)
	}
	if rho := spearman(pub.peak(), pub.at(50)); rho < 0.999 {
		t.Errorf("Curve: Spearman(peak, final) = %.3f, want 1", rho)
	}
}
