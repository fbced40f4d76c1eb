package bench

import (
	"math"
	"sort"

	"github.com/a6b40afc/retune/internal/stat"
)

// Median returns the median of xs (NaN for none).
func Median(xs []float64) float64 { return Quantile(xs, 0.5) }

// Quantile returns the q-quantile of xs by linear interpolation between order statistics.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// MannWhitneyGreater is the one-sided Mann-Whitney U test of "a tends to be larger than
// b": the p-value under the normal approximation with tie correction and continuity
// correction (good for the 10–30 samples per side used here).
func MannWhitneyGreater(a, b []float64) float64 {
	n1, n2 := float64(len(a)), float64(len(b))
	if n1 == 0 || n2 == 0 {
		return math.NaN()
	}
	type obs struct {
		v    float64
		from int
	}
	all := make([]obs, 0, len(a)+len(b))
	for _, v := range a {
		all = append(all, obs{v, 0})
	}
	for _, v := range b {
		all = append(all, obs{v, 1})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	n := n1 + n2
	var rankA, tieTerm float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // average of ranks i+1 … j
		t := float64(j - i)
		tieTerm += t*t*t - t
		for k := i; k < j; k++ {
			if all[k].from == 0 {
				rankA += rank
			}
		}
		i = j
	}
	u := rankA - n1*(n1+1)/2
	mean := n1 * n2 / 2
	variance := n1 * n2 / 12 * ((n + 1) - tieTerm/(n*(n-1)))
	if variance <= 0 {
		return 1 // every value tied: no evidence either way
	}
	z := (u - mean - 0.5) / math.Sqrt(variance)
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

// Holm adjusts p-values for multiple comparisons (Holm-Bonferroni step-down); the result is
// in the input's order.
func Holm(ps []float64) []float64 {
	m := len(ps)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool { return ps[idx[i]] < ps[idx[j]] })
	out := make([]float64, m)
	running := 0.0
	for rank, i := range idx {
		adj := math.Min(1, float64(m-rank)*ps[i])
		running = math.Max(running, adj)
		out[i] = running
	}
	return out
}

// BootstrapMedianDiff returns a percentile bootstrap 95% interval for the median of the
// paired differences a[i]-b[i], with a fixed seed so reports are reproducible.
func BootstrapMedianDiff(a, b []float64, rounds int, seed uint64) (lo, hi float64) {
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	st := seed | 1
	next := func() uint64 { // xorshift64*
		st ^= st >> 12
		st ^= st << 25
		st ^= st >> 27
		return st * 2685821657736338717
	}
	meds := make([]float64, rounds)
	sample := make([]float64, len(d))
	for r := range meds {
		for i := range sample {
			sample[i] = d[next()%uint64(len(d))]
		}
		meds[r] = Median(sample)
	}
	return Quantile(meds, 0.025), Quantile(meds, 0.975)
}

// ClopperPearson returns the exact two-sided 95% interval for a binomial rate k/n.
func ClopperPearson(k, n int) (lo, hi float64) {
	const alpha = 0.05
	if k > 0 {
		lo = stat.BetaQuantile(alpha/2, float64(k), float64(n-k+1))
	}
	hi = 1
	if k < n {
		hi = stat.BetaQuantile(1-alpha/2, float64(k+1), float64(n-k))
	}
	return lo, hi
}
