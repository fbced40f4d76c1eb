package gp

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/a6b40afc/retune"
)

// TestTrustLength replays TuRBO-1's rule by hand: three successes in a row double the
// side up to trMax, max(4, d) failures in a row halve it, and below trMin it starts again.
func TestTrustLength(t *testing.T) {
	t.Parallel()
	// better returns n values, each 10% below the one before.
	better := func(from float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			from *= 0.9
			out[i] = from
		}
		return out
	}
	same := func(v float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	cat := func(parts ...[]float64) []float64 {
		var out []float64
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name       string
		y          []float64
		startup, d int
		want       float64
	}{
		{"nothing yet", nil, 10, 2, trInit},
		{"two successes", cat([]float64{1}, better(1, 2)), 0, 2, trInit},
		{"three successes double", cat([]float64{1}, better(1, 3)), 0, 2, 2 * trInit},
		{"six successes stop at the largest", cat([]float64{1}, better(1, 6)), 0, 2, trMax},
		{"startup counts for neither", cat([]float64{1}, better(1, 3)), 4, 2, trInit},
		{"three failures", cat([]float64{1}, same(1, 3)), 0, 2, trInit},
		{"four failures halve (d 2)", cat([]float64{1}, same(1, 4)), 0, 2, trInit / 2},
		{"four failures do not halve (d 6)", cat([]float64{1}, same(1, 4)), 0, 6, trInit},
		{"six failures halve (d 6)", cat([]float64{1}, same(1, 6)), 0, 6, trInit / 2},
		{"a success breaks the failures", cat([]float64{1}, same(1, 3), better(1, 1), same(0.9, 3)), 0, 2, trInit},
		{"an improvement of less than 1e-3 fails", cat([]float64{1}, same(1-1e-4, 4)), 0, 2, trInit / 2},
		{"27 failures: the smallest side", cat([]float64{1}, same(1, 27)), 0, 2, trInit / 64},
		{"28 failures: below the smallest, start again", cat([]float64{1}, same(1, 28)), 0, 2, trInit},
		{"negative values", cat([]float64{-1}, better(-1, 0), []float64{-1.5, -2, -3}), 0, 2, 2 * trInit},
	}
	for _, c := range cases {
		if got := trustLength(c.y, c.startup, c.d); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: trustLength = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestTrustRegionBox checks the box's sides (scaled by the lengthscales over their
// geometric mean, clipped to the unit cube, categorical dims whole) and that every
// candidate and the maximized point lie inside it.
func TestTrustRegionBox(t *testing.T) {
	t.Parallel()
	dist := []retune.Distribution{
		retune.FloatDistribution{Low: 0, High: 1},
		retune.FloatDistribution{Low: -5, High: 5},
		retune.IntDistribution{Low: 0, High: 100},
		retune.CategoricalDistribution{Choices: []any{"a", "b", "c"}},
	}
	var dims []dim
	for j, d := range dist {
		dm, ok := newDim(string(rune('a'+j)), d)
		if !ok {
			t.Fatal("newDim")
		}
		dims = append(dims, dm)
	}
	const n, d = 30, 4
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, n*d)
	y := make([]float64, n)
	cat := []bool{false, false, false, true}
	for i := range n {
		row := x[i*d : i*d+d]
		for j := range dims {
			if cat[j] {
				row[j] = float64(r.IntN(3))
			} else {
				row[j] = dims[j].snap(r.Float64())
			}
		}
		y[i] = (row[0]-0.3)*(row[0]-0.3) + (row[1]-0.6)*(row[1]-0.6) + row[2]/4 + row[3]/10
	}
	standardize(y, y)
	// Lengthscales 0.5, 2 and 1 for the numeric dims: geometric mean 1.
	p := kernelParams{invLS2: []float64{4, 0.25, 1, 1}, scale: 1, noise: 1e-4}
	ps := newPosterior(x, d, cat, p, y)
	center := []float64{0.3, 0.95, dims[2].snap(0.5), 1}
	best := math.Inf(1)
	for _, v := range y {
		best = math.Min(best, v)
	}
	a := newAcquirer(ps, dims, best, nil)
	const L = 0.2
	a.box(center, p.invLS2, L)
	wantLo := []float64{0.3 - 0.05, 0.95 - 0.2, center[2] - 0.1, 0}
	wantHi := []float64{0.3 + 0.05, 1, center[2] + 0.1, 1}
	for j := range d {
		if math.Abs(a.boxLo[j]-wantLo[j]) > 1e-12 || math.Abs(a.boxHi[j]-wantHi[j]) > 1e-12 {
			t.Errorf("dim %d: box [%v, %v], want [%v, %v]", j, a.boxLo[j], a.boxHi[j], wantLo[j], wantHi[j])
		}
	}
	inside := func(what string, u []float64) {
		t.Helper()
		for j := range 3 { // the categorical dim is whole
			// An int's grid value nearest to a side may lie just outside it.
			slack := 0.0
			if dims[j].kind == discrete {
				slack = 0.5 / float64(dims[j].k)
			}
			if u[j] < a.boxLo[j]-slack || u[j] > a.boxHi[j]+slack {
				t.Errorf("%s: dim %d = %v, outside [%v, %v]", what, j, u[j], a.boxLo[j], a.boxHi[j])
			}
		}
	}
	xs, _ := a.candidates(256, rand.New(rand.NewPCG(3, 4)))
	seenCat := map[float64]bool{}
	for i := range 256 {
		inside("candidate", xs[i*d:i*d+d])
		seenCat[xs[i*d+3]] = true
	}
	if len(seenCat) != 3 {
		t.Errorf("candidates take %d of the 3 choices of the categorical dim", len(seenCat))
	}
	inside("maximized", a.maximize(rand.New(rand.NewPCG(5, 6)), 256, 4, center))
}
