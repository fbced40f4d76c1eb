package pareto

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
)

var (
	min3 = []retune.Direction{retune.Minimize, retune.Minimize, retune.Minimize}
	max2 = []retune.Direction{retune.Maximize, retune.Maximize}
)

func TestHypervolumeKnown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		dirs   []retune.Direction
		points [][]float64
		ref    []float64
		want   float64
	}{
		{"no points", minMin, nil, []float64{1, 1}, 0},
		{"one objective", []retune.Direction{retune.Minimize}, [][]float64{{3}, {1}, {2}}, []float64{5}, 4},
		{"one objective, maximize", []retune.Direction{retune.Maximize}, [][]float64{{3}, {1}}, []float64{0}, 3},
		{"one point", minMin, [][]float64{{1, 2}}, []float64{3, 3}, 2},
		// Staircase: (0.2,0.8), (0.5,0.4), (0.9,0.1) with ref (1.1,1.1):
		// 0.9*0.3 + 0.6*0.4 + 0.2*0.3 = 0.27 + 0.24 + 0.06 = 0.57.
		{"staircase", minMin, [][]float64{{0.2, 0.8}, {0.5, 0.4}, {0.9, 0.1}}, []float64{1.1, 1.1}, 0.57},
		{"dominated and duplicate points add nothing", minMin,
			[][]float64{{0.5, 0.4}, {0.9, 0.1}, {0.6, 0.5}, {0.2, 0.8}, {0.5, 0.4}, {1, 1}}, []float64{1.1, 1.1}, 0.57},
		{"points not better than ref in every objective add nothing", minMin,
			[][]float64{{1, 1}, {0, 2}, {2, 0}, {0, 2.5}, {nan, 0}, {0, nan}}, []float64{2, 2}, 1},
		{"maximize both", max2, [][]float64{{2, 1}, {1, 2}}, []float64{0, 0}, 3},
		// (1,5) and (2,7), minimize the first and maximize the second, ref (3,4):
		// the box of (2,7) is 1x3, that of (1,5) 2x1, overlapping 1x1: 4.
		{"mixed directions", minMax, [][]float64{{1, 5}, {2, 7}}, []float64{3, 4}, 4},
		{"one point in 3-D", min3, [][]float64{{0, 0, 0}}, []float64{1, 2, 3}, 6},
		// Boxes 2x2x1 and 1x1x2 overlapping in a unit cube: 4 + 2 - 1.
		{"two points in 3-D", min3, [][]float64{{0, 0, 1}, {1, 1, 0}}, []float64{2, 2, 2}, 5},
		// Three boxes 2x1x1 (in turn along each axis), each pair and the three meeting in
		// the unit cube at (1,1,1): 6 - 3 + 1.
		{"three points in 3-D", min3, [][]float64{{0, 1, 1}, {1, 0, 1}, {1, 1, 0}}, []float64{2, 2, 2}, 4},
		{"3-D with dominated and outside points", min3,
			[][]float64{{0, 1, 1}, {1, 1, 1}, {1, 0, 1}, {1, 1, 0}, {1, 1, 2}, {0, 1, 1}}, []float64{2, 2, 2}, 4},
		{"3-D, maximize the last", []retune.Direction{retune.Minimize, retune.Minimize, retune.Maximize},
			[][]float64{{0, 1, 1}, {1, 0, 1}, {1, 1, 2}}, []float64{2, 2, 0}, 4},
		{"infinite value", minMin, [][]float64{{-inf, 1}}, []float64{1, 2}, inf},
		{"infinite ref", minMin, [][]float64{{0, 1}}, []float64{inf, 2}, inf},
		{"infinite ref, no point", minMin, [][]float64{{0, 3}}, []float64{inf, 2}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Hypervolume(tt.dirs, tt.points, tt.ref); math.Abs(got-tt.want) > 1e-12 && got != tt.want {
				t.Errorf("Hypervolume(%v, %v) = %v, want %v", tt.points, tt.ref, got, tt.want)
			}
		})
	}
}

// TestHypervolume2DAgrees checks the 2-D sweep and the general algorithm against the
// benchmark's Hypervolume2D on random sets.
func TestHypervolume2DAgrees(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		n := r.IntN(60)
		pts := make([][]float64, n)
		pts2 := make([][2]float64, n)
		for i := range pts {
			a, b := r.Float64()*1.3, r.Float64()*12
			if trial%3 == 0 { // many ties
				a, b = float64(r.IntN(5))/4, float64(r.IntN(5))*3
			}
			pts[i], pts2[i] = []float64{a, b}, [2]float64{a, b}
		}
		ref := [2]float64{1.1, 11}
		want := problem.Hypervolume2D(pts2, ref)
		if got := Hypervolume(minMin, pts, ref[:]); math.Abs(got-want) > 1e-9 {
			t.Fatalf("Hypervolume(%v) = %v, want %v", pts, got, want)
		}
		// The same points with a constant third objective: depth 1 times the area.
		pts3 := make([][]float64, n)
		for i, p := range pts {
			pts3[i] = []float64{p[0], p[1], 0}
		}
		if got := Hypervolume(min3, pts3, []float64{1.1, 11, 1}); math.Abs(got-want) > 1e-9 {
			t.Fatalf("Hypervolume(%v) in 3-D = %v, want %v", pts3, got, want)
		}
	}
}

// TestHypervolumeGrid checks 3 and 4 objectives against an exact count of the unit cells
// that points with integer values dominate.
func TestHypervolumeGrid(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	const side = 6
	for _, m := range []int{3, 4} {
		for range 60 {
			dirs := make([]retune.Direction, m)
			ref := make([]float64, m)
			for k := range dirs {
				ref[k] = side
				if r.IntN(2) == 0 {
					dirs[k], ref[k] = retune.Maximize, 0
				}
			}
			pts := make([][]float64, r.IntN(25))
			for i := range pts {
				pts[i] = make([]float64, m)
				for k := range pts[i] {
					pts[i][k] = float64(r.IntN(side + 1)) // side itself is outside
					if dirs[k] == retune.Maximize {
						pts[i][k] = side - pts[i][k]
					}
				}
			}
			want := gridVolume(dirs, pts, side)
			if got := Hypervolume(dirs, pts, ref); math.Abs(got-want) > 1e-9 {
				t.Fatalf("Hypervolume(%v, %v, %v) = %v, want %v", dirs, pts, ref, got, want)
			}
		}
	}
}

// gridVolume counts the cells [c, c+1)^m of [0, side)^m that some point dominates, in
// minimization form.
func gridVolume(dirs []retune.Direction, pts [][]float64, side int) float64 {
	m := len(dirs)
	mins := make([][]float64, len(pts))
	for i, p := range pts {
		mins[i] = make([]float64, m)
		for k, d := range dirs {
			mins[i][k] = p[k]
			if d == retune.Maximize {
				mins[i][k] = float64(side) - p[k]
			}
		}
	}
	cell := make([]int, m)
	count := 0
	for {
		for _, p := range mins {
			in := true
			for k := range cell {
				if p[k] > float64(cell[k]) {
					in = false
					break
				}
			}
			if in {
				count++
				break
			}
		}
		k := 0
		for k < m {
			cell[k]++
			if cell[k] < side {
				break
			}
			cell[k] = 0
			k++
		}
		if k == m {
			return float64(count)
		}
	}
}

// TestHypervolumeTrueFronts samples the Pareto fronts of ZDT1 (f2 = 1 - √f1) and ZDT2
// (f2 = 1 - f1²) densely: their hypervolumes at (1.1, 11) are 10 + 2/3 + 1.1 and
// 10 + 1/3 + 1.1, approached from below.
func TestHypervolumeTrueFronts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		front func(float64) float64
		want  float64
	}{
		{"zdt1", func(f1 float64) float64 { return 1 - math.Sqrt(f1) }, 11.7667},
		{"zdt2", func(f1 float64) float64 { return 1 - f1*f1 }, 11.4333},
	} {
		const n = 10001
		pts := make([][]float64, n)
		for i := range pts {
			f1 := float64(i) / (n - 1)
			pts[i] = []float64{f1, tt.front(f1)}
		}
		got := Hypervolume(minMin, pts, []float64{1.1, 11})
		if got > tt.want+1e-4 || got < tt.want-1e-3 {
			t.Errorf("%s: Hypervolume(true front, %d points) = %v, want %v - [0, 0.001]", tt.name, n, got, tt.want)
		}
	}
}

func TestHypervolumeInputsUnchanged(t *testing.T) {
	t.Parallel()
	pts := [][]float64{{3, 1, 2}, {1, 2, 3}, {2, 3, 1}, {0, 4, 4}}
	orig := make([][]float64, len(pts))
	for i := range pts {
		orig[i] = slices.Clone(pts[i])
	}
	ref := []float64{5, 5, 5}
	dirs := []retune.Direction{retune.Minimize, retune.Maximize, retune.Minimize}
	Hypervolume(dirs, pts, ref)
	for i := range pts {
		if !slices.Equal(pts[i], orig[i]) {
			t.Fatalf("Hypervolume changed point %d: %v, want %v", i, pts[i], orig[i])
		}
	}
	if ref[1] != 5 {
		t.Fatalf("Hypervolume changed ref: %v", ref)
	}
}

func TestHypervolumePanicsOnLength(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		points [][]float64
		ref    []float64
	}{
		{"ref", [][]float64{{1, 1}}, []float64{1}},
		{"point", [][]float64{{1, 1, 1}}, []float64{2, 2}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Hypervolume did not panic", tt.name)
				}
			}()
			Hypervolume(minMin, tt.points, tt.ref)
		}()
	}
}

func TestNonDominated(t *testing.T) {
	t.Parallel()
	pts := [][]float64{{1, 4}, {2, 2}, {3, 3}, {4, 1}, {2, 2}, {5, 5}}
	if got, want := NonDominated(minMin, pts), []int{0, 1, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("NonDominated(%v) = %v, want %v", pts, got, want)
	}
	if got := NonDominated(minMin, nil); got != nil {
		t.Errorf("NonDominated(nil) = %v, want nil", got)
	}
}

func BenchmarkHypervolume(b *testing.B) {
	for _, m := range []int{2, 3, 4} {
		r := rand.New(rand.NewPCG(7, 8))
		dirs := make([]retune.Direction, m)
		ref := make([]float64, m)
		for k := range ref {
			ref[k] = 1.1
		}
		// Points on the unit sphere's positive orthant, flipped: all mutually non-dominated.
		pts := make([][]float64, 300)
		for i := range pts {
			p := make([]float64, m)
			s := 0.0
			for k := range p {
				p[k] = math.Abs(r.NormFloat64())
				s += p[k] * p[k]
			}
			for k := range p {
				p[k] = 1 - p[k]/math.Sqrt(s)
			}
			pts[i] = p
		}
		b.Run(string(rune('0'+m))+"d", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Hypervolume(dirs, pts, ref)
			}
		})
	}
}
