package lowdisc

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// variant names one way of building a sequence.
type variant struct {
	name     string
	max      int
	scramble bool
	build    func(dim int, scramble bool, seed uint64) (Sequence, error)
}

func sobolSeq(dim int, scramble bool, seed uint64) (Sequence, error) {
	return NewSobol(dim, scramble, seed)
}

func haltonSeq(dim int, scramble bool, seed uint64) (Sequence, error) {
	return NewHalton(dim, scramble, seed)
}

var variants = []variant{
	{"sobol", MaxSobolDim, false, sobolSeq},
	{"sobol-scrambled", MaxSobolDim, true, sobolSeq},
	{"halton", MaxHaltonDim, false, haltonSeq},
	{"halton-scrambled", MaxHaltonDim, true, haltonSeq},
}

func mustSeq(t testing.TB, v variant, dim int, seed uint64) Sequence {
	t.Helper()
	s, err := v.build(dim, v.scramble, seed)
	if err != nil {
		t.Fatalf("%s(dim=%d): %v", v.name, dim, err)
	}
	if s.Dim() != dim {
		t.Fatalf("%s: Dim() = %d, want %d", v.name, s.Dim(), dim)
	}
	return s
}

// points returns points 0..n-1 of s.
func points(s Sequence, n int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = s.Point(uint64(i), nil)
	}
	return out
}

func TestDimensionErrors(t *testing.T) {
	t.Parallel()
	for _, v := range variants {
		for _, tc := range []struct {
			dim     int
			wantErr bool
		}{
			{-1, true}, {0, true}, {1, false}, {v.max, false}, {v.max + 1, true}, {1 << 20, true},
		} {
			t.Run(fmt.Sprintf("%s/dim=%d", v.name, tc.dim), func(t *testing.T) {
				t.Parallel()
				s, err := v.build(tc.dim, v.scramble, 1)
				if !tc.wantErr {
					if err != nil {
						t.Fatalf("unexpected error: %v", err)
					}
					if s.Dim() != tc.dim {
						t.Fatalf("Dim() = %d, want %d", s.Dim(), tc.dim)
					}
					return
				}
				if err == nil {
					t.Fatal("expected an error")
				}
				for _, want := range []string{fmt.Sprint(tc.dim), fmt.Sprintf("[1, %d]", v.max)} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not mention %q", err, want)
					}
				}
			})
		}
	}
}

func TestSobolTable(t *testing.T) {
	t.Parallel()
	rows, prev := 0, uint16(0)
	for i := 0; i < len(sobolTable); rows++ {
		poly := sobolTable[i]
		if poly <= prev || poly&1 == 0 {
			t.Fatalf("row %d: polynomial %d not odd and increasing", rows, poly)
		}
		prev = poly
		deg := 0
		for p := poly; p > 1; p >>= 1 {
			deg++
		}
		if i+deg >= len(sobolTable) {
			t.Fatalf("row %d truncated", rows)
		}
		for k := 1; k <= deg; k++ {
			if m := sobolTable[i+k]; m&1 == 0 || m >= 1<<k {
				t.Fatalf("row %d: m_%d = %d, want odd and < 2^%d", rows, k, m, k)
			}
		}
		i += 1 + deg
	}
	if rows != MaxSobolDim-1 {
		t.Fatalf("table has %d rows, want %d", rows, MaxSobolDim-1)
	}
}

func TestSobolDirectionNumbers(t *testing.T) {
	t.Parallel()
	// Recompute the first 32 direction numbers of every dimension with the
	// integer form of the recurrence,
	//   m_k = 2 a_1 m_{k-1} ^ 4 a_2 m_{k-2} ^ ... ^ 2^s m_{k-s} ^ m_{k-s},
	// where a_i is bit s-1-i of the table's a, and compare.
	s, err := NewSobol(MaxSobolDim, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	row := 0
	for j := 1; j < MaxSobolDim; j++ {
		poly := int(sobolTable[row])
		deg := 0
		for p := poly; p > 1; p >>= 1 {
			deg++
		}
		a := poly >> 1 & (1<<(deg-1) - 1)
		m := make([]uint64, 33) // m[k], k = 1..32
		for k := 1; k <= deg; k++ {
			m[k] = uint64(sobolTable[row+k])
		}
		for k := deg + 1; k <= 32; k++ {
			m[k] = m[k-deg]<<deg ^ m[k-deg]
			for i := 1; i < deg; i++ {
				if a>>(deg-1-i)&1 == 1 {
					m[k] ^= m[k-i] << i
				}
			}
		}
		for k := 1; k <= 32; k++ {
			if got, want := s.dirs[j][k-1]>>32, m[k]<<(32-k); got != want {
				t.Fatalf("dimension %d: v_%d = %#x, want %#x", j+1, k, got, want)
			}
		}
		row += 1 + deg
	}
	// Dimension 4 (x^3+x+1, m = 1,3,1) has m_4 = 5.
	if got := s.dirs[3][3] >> 60; got != 5 {
		t.Errorf("dimension 4: m_4 = %d, want 5", got)
	}
}

func TestSobolSequentialGrayCode(t *testing.T) {
	t.Parallel()
	// Stepping x_{n+1} = x_n ^ v_c, with c the lowest zero bit of n, gives
	// the same points as random access.
	s, err := NewSobol(MaxSobolDim, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]uint64, MaxSobolDim)
	buf := make([]float64, MaxSobolDim)
	for n := uint64(0); n < 1<<12; n++ {
		p := s.Point(n, buf)
		for j := range x {
			if want := float64(x[j]>>11) * 0x1p-53; p[j] != want {
				t.Fatalf("point %d coordinate %d = %v, want %v", n, j, p[j], want)
			}
			x[j] ^= s.dirs[j][bits.TrailingZeros64(^n)]
		}
	}
}

func TestSobolKnownPoints(t *testing.T) {
	t.Parallel()
	// Gray-code order; dimension 2 has polynomial x+1 (m=1), dimension 3 has
	// x^2+x+1 (m=1,3), so v = 1/2, 3/4, 3/8 in dimension 3.
	want := [][]float64{
		{0, 0, 0},
		{0.5, 0.5, 0.5},
		{0.75, 0.25, 0.25},
		{0.25, 0.75, 0.75},
		{0.375, 0.375, 0.625},
		{0.875, 0.875, 0.125},
		{0.625, 0.125, 0.875},
		{0.125, 0.625, 0.375},
	}
	for _, dim := range []int{2, 3} {
		t.Run(fmt.Sprintf("dim=%d", dim), func(t *testing.T) {
			t.Parallel()
			s, err := NewSobol(dim, false, 0)
			if err != nil {
				t.Fatal(err)
			}
			for n, w := range want {
				if got := s.Point(uint64(n), nil); !slices.Equal(got, w[:dim]) {
					t.Errorf("point %d = %v, want %v", n, got, w[:dim])
				}
			}
		})
	}
}

func TestHaltonKnownPoints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dim  int
		base int
		nums []float64 // numerators over den
		den  float64
	}{
		{1, 2, []float64{0, 4, 2, 6, 1, 5, 3, 7}, 8},
		{2, 3, []float64{0, 3, 6, 1, 4, 7, 2, 5, 8}, 9},
	} {
		t.Run(fmt.Sprintf("base=%d", tc.base), func(t *testing.T) {
			t.Parallel()
			h, err := NewHalton(tc.dim, false, 0)
			if err != nil {
				t.Fatal(err)
			}
			for n, num := range tc.nums {
				got := h.Point(uint64(n), nil)[tc.dim-1]
				if want := num / tc.den; got != want {
					t.Errorf("point %d = %v, want %v", n, got, want)
				}
			}
		})
	}
}

func TestPointsInUnitCube(t *testing.T) {
	t.Parallel()
	big := []uint64{1<<31 - 1, 1 << 40, 1<<53 + 12345, 1<<63 + 1, math.MaxUint64 - 1, math.MaxUint64}
	for _, v := range variants {
		for _, dim := range []int{1, 7, v.max} {
			t.Run(fmt.Sprintf("%s/dim=%d", v.name, dim), func(t *testing.T) {
				t.Parallel()
				s := mustSeq(t, v, dim, 42)
				check := func(n uint64, p []float64) {
					for j, x := range p {
						if !(x >= 0 && x < 1) {
							t.Fatalf("point %d coordinate %d = %v, outside [0,1)", n, j, x)
						}
					}
				}
				buf := make([]float64, dim)
				count := 2048
				if dim == v.max {
					count = 64
				}
				for n := range uint64(count) {
					check(n, s.Point(n, buf))
				}
				for _, n := range big {
					check(n, s.Point(n, buf))
				}
			})
		}
	}
}

// stratified reports the first interval index hit twice, or -1 if the
// values hit each of len(xs) equal intervals of [0,1) exactly once. It is
// exact for dyadic values such as Sobol coordinates.
func stratified(xs []float64) int {
	seen := make([]bool, len(xs))
	for _, x := range xs {
		i := int(x * float64(len(xs)))
		if seen[i] {
			return i
		}
		seen[i] = true
	}
	return -1
}

func TestSobolStratification(t *testing.T) {
	t.Parallel()
	// Every aligned block of 2^m Sobol points has exactly one point in each
	// interval [i/2^m, (i+1)/2^m) of every coordinate, in every dimension;
	// Owen scrambling preserves this.
	for _, tc := range []struct {
		scramble bool
		seed     uint64
	}{{false, 0}, {true, 1}, {true, 2}, {true, 0xdeadbeef}} {
		t.Run(fmt.Sprintf("scramble=%v/seed=%d", tc.scramble, tc.seed), func(t *testing.T) {
			t.Parallel()
			s, err := NewSobol(MaxSobolDim, tc.scramble, tc.seed)
			if err != nil {
				t.Fatal(err)
			}
			const mMax = 10
			pts := make([][]float64, 3<<mMax)
			for n := range pts {
				pts[n] = s.Point(uint64(n), nil)
			}
			col := make([]float64, 0, len(pts))
			for j := range MaxSobolDim {
				for m := 0; m <= mMax; m++ {
					if m > 6 && j >= 20 {
						break // all dimensions at small m, the first 20 up to 2^10
					}
					size := 1 << m
					for start := 0; start+size <= len(pts) && start < 3*size; start += size {
						col = col[:0]
						for _, p := range pts[start : start+size] {
							col = append(col, p[j])
						}
						if i := stratified(col); i >= 0 {
							t.Fatalf("dim %d, points [%d,%d): interval %d/%d hit twice", j+1, start, start+size, i, size)
						}
					}
				}
			}
		})
	}
}

func TestSobol2DNet(t *testing.T) {
	t.Parallel()
	// The first two Sobol dimensions form a (0,m,2)-net for every m: each
	// box [a/2^m1, (a+1)/2^m1) x [b/2^m2, (b+1)/2^m2) with m1+m2 = m holds
	// exactly one of the first 2^m points.
	for _, scramble := range []bool{false, true} {
		t.Run(fmt.Sprintf("scramble=%v", scramble), func(t *testing.T) {
			t.Parallel()
			s, err := NewSobol(2, scramble, 7)
			if err != nil {
				t.Fatal(err)
			}
			pts := points(s, 1<<10)
			for m := 0; m <= 10; m++ {
				for m1 := 0; m1 <= m; m1++ {
					m2 := m - m1
					seen := make(map[[2]int]bool)
					for _, p := range pts[:1<<m] {
						box := [2]int{int(p[0] * float64(int(1)<<m1)), int(p[1] * float64(int(1)<<m2))}
						if seen[box] {
							t.Fatalf("m=%d m1=%d: box %v hit twice", m, m1, box)
						}
						seen[box] = true
					}
				}
			}
		})
	}
}

func TestHaltonStratification(t *testing.T) {
	t.Parallel()
	// The first b^k points of a base-b coordinate hit each interval
	// [i/b^k, (i+1)/b^k) once, scrambled or not.
	for _, tc := range []struct {
		scramble bool
		seed     uint64
	}{{false, 0}, {true, 1}, {true, 99}} {
		t.Run(fmt.Sprintf("scramble=%v/seed=%d", tc.scramble, tc.seed), func(t *testing.T) {
			t.Parallel()
			const dim = 30
			h, err := NewHalton(dim, tc.scramble, tc.seed)
			if err != nil {
				t.Fatal(err)
			}
			// Check the exact digits: a Halton coordinate is a rounded
			// fraction r/b^D, and rounding can move a point that sits on an
			// interval end across it.
			for j, a := range h.axes {
				for size := a.base; size <= 4096; size *= a.base {
					width := a.pow[a.digits] / size
					seen := make([]bool, size)
					for n := range size {
						r := a.fraction(n)
						if got := h.Point(n, nil)[j]; got != float64(r)/a.denom {
							t.Fatalf("base %d point %d: coordinate %v, want %d/%d", a.base, n, got, r, a.pow[a.digits])
						}
						if i := r / width; seen[i] {
							t.Fatalf("base %d, first %d points: interval %d hit twice", a.base, size, i)
						} else {
							seen[i] = true
						}
					}
				}
			}
		})
	}
}

func TestSeeds(t *testing.T) {
	t.Parallel()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			const dim, count = 6, 64
			a := points(mustSeq(t, v, dim, 11), count)
			b := points(mustSeq(t, v, dim, 11), count)
			c := points(mustSeq(t, v, dim, 12), count)
			same, differ := true, 0
			for n := range a {
				same = same && slices.Equal(a[n], b[n])
				for j := range a[n] {
					if a[n][j] != c[n][j] {
						differ++
					}
				}
			}
			if !same {
				t.Error("same seed gave different points")
			}
			if v.scramble && differ < count*dim*9/10 {
				t.Errorf("seeds 11 and 12 share %d of %d coordinates", count*dim-differ, count*dim)
			}
			if !v.scramble && differ != 0 {
				t.Error("unscrambled points depend on the seed")
			}
		})
	}
}

func TestPrefixConsistency(t *testing.T) {
	t.Parallel()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			small, large := mustSeq(t, v, 3, 5), mustSeq(t, v, 40, 5)
			for n := range uint64(100) {
				if a, b := small.Point(n, nil), large.Point(n, nil)[:3]; !slices.Equal(a, b) {
					t.Fatalf("point %d: dim 3 gives %v, dim 40 gives %v", n, a, b)
				}
			}
		})
	}
}

func TestCoordinateMeans(t *testing.T) {
	t.Parallel()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			const count = 1024
			// Unscrambled Halton coordinates with a large base b are biased
			// low until n reaches a multiple of b (in base 71, the last 30 of
			// 1024 points all lie in [0, 30/71)): test it only up to base 29.
			dim := 20
			if v.name == "halton" {
				dim = 10
			}
			s := mustSeq(t, v, dim, 3)
			sum := make([]float64, dim)
			for _, p := range points(s, count) {
				for j, x := range p {
					sum[j] += x
				}
			}
			for j := range sum {
				if mean := sum[j] / count; math.Abs(mean-0.5) > 1e-2 {
					t.Errorf("coordinate %d: mean %.4f over %d points", j, mean, count)
				}
			}
		})
	}
}

// centeredL2 returns Hickernell's centered L2 discrepancy of pts.
func centeredL2(pts [][]float64) float64 {
	n, d := float64(len(pts)), len(pts[0])
	sum1 := 0.0
	for _, p := range pts {
		prod := 1.0
		for _, x := range p {
			a := math.Abs(x - 0.5)
			prod *= 1 + a/2 - a*a/2
		}
		sum1 += prod
	}
	sum2 := 0.0
	for _, p := range pts {
		for _, q := range pts {
			prod := 1.0
			for k := range d {
				prod *= 1 + math.Abs(p[k]-0.5)/2 + math.Abs(q[k]-0.5)/2 - math.Abs(p[k]-q[k])/2
			}
			sum2 += prod
		}
	}
	return math.Sqrt(math.Pow(13.0/12, float64(d)) - 2/n*sum1 + sum2/(n*n))
}

func TestDiscrepancy(t *testing.T) {
	t.Parallel()
	const dim, count, trials = 5, 512, 4
	rnd := 0.0
	r := rand.New(rand.NewPCG(1, 2))
	for range trials {
		pts := make([][]float64, count)
		for i := range pts {
			pts[i] = make([]float64, dim)
			for j := range pts[i] {
				pts[i][j] = r.Float64()
			}
		}
		rnd += centeredL2(pts) / trials
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			cd := 0.0
			for seed := range uint64(trials) {
				cd += centeredL2(points(mustSeq(t, v, dim, seed), count)) / trials
			}
			t.Logf("centered L2 discrepancy, %d points in %d dims: %.5f (pseudo-random %.5f)", count, dim, cd, rnd)
			if cd > rnd/3 {
				t.Errorf("discrepancy %.5f not clearly below pseudo-random %.5f", cd, rnd)
			}
		})
	}
}

func TestScrambledPointsUniformOverSeeds(t *testing.T) {
	t.Parallel()
	// Under Owen scrambling or random digit permutation, each coordinate of
	// each point is uniform on [0,1) over seeds.
	for _, v := range variants {
		if !v.scramble {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			const seeds, bins = 4000, 16
			ns, js := []uint64{0, 1, 37}, []int{0, 1, 9}
			counts := make([][bins]float64, len(ns)*len(js))
			buf := make([]float64, 10)
			for seed := range uint64(seeds) {
				s := mustSeq(t, v, 10, seed*0x9e3779b97f4a7c15)
				for a, n := range ns {
					p := s.Point(n, buf)
					for b, j := range js {
						counts[a*len(js)+b][int(p[j]*bins)]++
					}
				}
			}
			for k, c := range counts {
				chi2 := 0.0
				for _, o := range c {
					chi2 += (o - seeds/bins) * (o - seeds/bins) / (seeds / bins)
				}
				// 15 degrees of freedom: P(chi2 > 45) < 1e-4.
				if chi2 > 45 {
					t.Errorf("point %d coordinate %d: chi-square %.1f over %d seeds", ns[k/len(js)], js[k%len(js)], chi2, seeds)
				}
			}
		})
	}
}

func TestHaltonScrambleRemovesCorrelation(t *testing.T) {
	t.Parallel()
	// Bases 113 and 127 (dimensions 30 and 31): unscrambled, the first 100
	// points are n/113 and n/127, perfectly correlated.
	corr := func(h *Halton) float64 {
		var sx, sy, sxx, syy, sxy float64
		const count = 100
		for n := range uint64(count) {
			p := h.Point(n, nil)
			x, y := p[29], p[30]
			sx, sy, sxx, syy, sxy = sx+x, sy+y, sxx+x*x, syy+y*y, sxy+x*y
		}
		cov := sxy/count - sx*sy/count/count
		return cov / math.Sqrt((sxx/count-sx*sx/count/count)*(syy/count-sy*sy/count/count))
	}
	plain, err := NewHalton(31, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c := corr(plain); c < 0.99 {
		t.Fatalf("unscrambled correlation %.3f, expected near 1", c)
	}
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			h, err := NewHalton(31, true, seed)
			if err != nil {
				t.Fatal(err)
			}
			if c := corr(h); math.Abs(c) > 0.35 {
				t.Errorf("scrambled correlation %.3f", c)
			}
		})
	}
}

func TestShufflePermutes(t *testing.T) {
	t.Parallel()
	h, err := NewHalton(MaxHaltonDim, true, 8)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []int{0, 1, 40, 200, MaxHaltonDim - 1} {
		a := &h.axes[j]
		for i := range a.digits {
			seen := make([]bool, a.base)
			for d := range a.base {
				p := a.permute(i, d)
				if p >= a.base || seen[p] {
					t.Fatalf("base %d position %d: not a permutation at %d -> %d", a.base, i, d, p)
				}
				seen[p] = true
			}
		}
	}
}

func TestSwapOrNotUniform(t *testing.T) {
	t.Parallel()
	chi2 := func(counts []float64, expect func(i int) float64) float64 {
		x := 0.0
		for i, c := range counts {
			e := expect(i)
			x += (c - e) * (c - e) / e
		}
		return x
	}
	// Small bases: every permutation of [0,b) about equally likely.
	for _, b := range []uint64{2, 3, 5} {
		t.Run(fmt.Sprintf("base=%d", b), func(t *testing.T) {
			t.Parallel()
			const keys = 60000
			a := haltonAxis{base: b, rounds: swapRounds(b), keys: make([]uint64, 1)}
			counts := map[string]float64{}
			state := uint64(5)
			for range keys {
				a.keys[0] = splitmix64(&state)
				perm := ""
				for d := range b {
					perm += fmt.Sprint(a.shuffle(0, d), ",")
				}
				counts[perm]++
			}
			nperm := map[uint64]int{2: 2, 3: 6, 5: 120}[b]
			if len(counts) != nperm {
				t.Fatalf("%d distinct permutations, want %d", len(counts), nperm)
			}
			c := make([]float64, 0, nperm)
			for _, v := range counts {
				c = append(c, v)
			}
			// Mean nperm-1, standard deviation sqrt(2(nperm-1)).
			df := float64(nperm - 1)
			if x := chi2(c, func(int) float64 { return keys / float64(nperm) }); x > df+6*math.Sqrt(2*df)+6 {
				t.Errorf("chi-square %.1f over %d permutations", x, nperm)
			}
		})
	}
	// A large base: each image π(d) uniform over [0,b).
	t.Run("base=1223", func(t *testing.T) {
		t.Parallel()
		const b, keys, bins = 1223, 40000, 16
		a := haltonAxis{base: b, rounds: swapRounds(b), keys: make([]uint64, 1)}
		width := make([]float64, bins)
		for v := range b {
			width[v*bins/b]++
		}
		for _, d := range []uint64{0, 1, 611, b - 1} {
			counts := make([]float64, bins)
			state := d
			for range keys {
				a.keys[0] = splitmix64(&state)
				counts[a.shuffle(0, d)*bins/b]++
			}
			// 15 degrees of freedom: P(chi2 > 45) < 1e-4.
			if x := chi2(counts, func(i int) float64 { return keys * width[i] / b }); x > 45 {
				t.Errorf("π(%d): chi-square %.1f", d, x)
			}
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			const dim, count, workers = 8, 500, 8
			s := mustSeq(t, v, dim, 77)
			want := points(s, count)
			var wg sync.WaitGroup
			errs := make(chan string, workers)
			for w := range workers {
				wg.Go(func() {
					buf := make([]float64, dim)
					for i := range count {
						n := (i*7 + w*13) % count // different orders per worker
						if got := s.Point(uint64(n), buf); !slices.Equal(got, want[n]) {
							errs <- fmt.Sprintf("worker %d point %d: %v, want %v", w, n, got, want[n])
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
		})
	}
}

func TestPointDst(t *testing.T) {
	t.Parallel()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			const dim = 5
			s := mustSeq(t, v, dim, 1)
			want := s.Point(9, nil)
			if len(want) != dim {
				t.Fatalf("Point(nil) has length %d, want %d", len(want), dim)
			}
			big := make([]float64, 1, 16)
			got := s.Point(9, big)
			if len(got) != dim || &got[0] != &big[0] || !slices.Equal(got, want) {
				t.Errorf("Point with a roomy dst = %v (len %d), want %v in dst", got, len(got), want)
			}
			if got := s.Point(9, make([]float64, 2)); !slices.Equal(got, want) {
				t.Errorf("Point with a short dst = %v, want %v", got, want)
			}
		})
	}
}

// TestPointNoAlloc is not parallel: testing.AllocsPerRun requires that.
func TestPointNoAlloc(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			const dim = 50
			s := mustSeq(t, v, dim, 1)
			buf := make([]float64, dim)
			n := uint64(0)
			if allocs := testing.AllocsPerRun(200, func() {
				s.Point(n, buf)
				n += 977
			}); allocs != 0 {
				t.Errorf("Point with dst allocates %.1f times per call", allocs)
			}
		})
	}
}

func BenchmarkPoint(b *testing.B) {
	for _, v := range variants {
		for _, dim := range []int{5, 50} {
			b.Run(fmt.Sprintf("%s/dim=%d", v.name, dim), func(b *testing.B) {
				s := mustSeq(b, v, dim, 1)
				buf := make([]float64, dim)
				b.ReportAllocs()
				n := uint64(0)
				for b.Loop() {
					s.Point(n, buf)
					n++
				}
			})
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for _, v := range variants {
		for _, dim := range []int{5, 50, MaxSobolDim} {
			b.Run(fmt.Sprintf("%s/dim=%d", v.name, dim), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					mustSeq(b, v, dim, 1)
				}
			})
		}
	}
}
