package pareto

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/a6b40afc/retune"
)

var (
	minMin = []retune.Direction{retune.Minimize, retune.Minimize}
	minMax = []retune.Direction{retune.Minimize, retune.Maximize}
	nan    = math.NaN()
	inf    = math.Inf(1)
)

func TestCompare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    retune.Direction
		a, b float64
		want int
	}{
		{"min better", retune.Minimize, 1, 2, -1},
		{"min worse", retune.Minimize, 2, 1, 1},
		{"max better", retune.Maximize, 2, 1, -1},
		{"equal", retune.Maximize, 3, 3, 0},
		{"NaN worse than +Inf when minimizing", retune.Minimize, nan, inf, 1},
		{"NaN worse than -Inf when maximizing", retune.Maximize, nan, -inf, 1},
		{"number better than NaN", retune.Maximize, -inf, nan, -1},
		{"NaN equals NaN", retune.Minimize, nan, nan, 0},
		{"-Inf best when minimizing", retune.Minimize, -inf, -1e308, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Compare(tt.d, tt.a, tt.b); got != tt.want {
				t.Errorf("Compare(%v, %v, %v) = %d, want %d", tt.d, tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestDominates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dirs []retune.Direction
		a, b []float64
		want bool
	}{
		{"better in both", minMin, []float64{1, 1}, []float64{2, 2}, true},
		{"better in one, equal in other", minMin, []float64{1, 2}, []float64{2, 2}, true},
		{"equal", minMin, []float64{1, 2}, []float64{1, 2}, false},
		{"trade-off", minMin, []float64{1, 3}, []float64{2, 2}, false},
		{"worse", minMin, []float64{3, 3}, []float64{2, 2}, false},
		{"mixed directions", minMax, []float64{1, 5}, []float64{2, 4}, true},
		{"mixed directions, worse second", minMax, []float64{1, 3}, []float64{2, 4}, false},
		{"number dominates NaN", minMin, []float64{1, 1}, []float64{1, nan}, true},
		{"NaN dominates nothing better", minMin, []float64{0, nan}, []float64{1, inf}, false},
		{"+Inf dominates NaN", minMin, []float64{1, inf}, []float64{1, nan}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Dominates(tt.dirs, tt.a, tt.b); got != tt.want {
				t.Errorf("Dominates(%v, %v, %v) = %v, want %v", tt.dirs, tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestFronts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		dirs   []retune.Direction
		points [][]float64
		want   [][]int
	}{
		{"empty", minMin, nil, nil},
		{"one", minMin, [][]float64{{1, 1}}, [][]int{{0}}},
		{
			"two fronts, minimize both",
			minMin,
			// 0 (1,4), 1 (2,2), 2 (4,1) form the front; 3 (3,3) is dominated by 1;
			// 4 (5,5) by 3.
			[][]float64{{1, 4}, {2, 2}, {4, 1}, {3, 3}, {5, 5}},
			[][]int{{0, 1, 2}, {3}, {4}},
		},
		{
			"maximize the second",
			minMax,
			// (1,1) and (2,2) trade off; (2,1) is dominated by both (worse first than
			// (1,1), worse second than (2,2)).
			[][]float64{{2, 1}, {1, 1}, {2, 2}},
			[][]int{{1, 2}, {0}},
		},
		{
			"duplicates share a front",
			minMin,
			[][]float64{{1, 2}, {1, 2}, {2, 1}, {2, 2}},
			[][]int{{0, 1, 2}, {3}},
		},
		{
			"NaN is worst, Inf ranks normally",
			minMin,
			[][]float64{{nan, 0}, {0, inf}, {1, 1}, {nan, nan}},
			// (0,Inf) and (1,1) trade off; (NaN,0) trades off with both since 0 beats
			// them in the second value; (NaN,NaN) is dominated by all.
			[][]int{{0, 1, 2}, {3}},
		},
		{
			"equal first values",
			minMin,
			[][]float64{{1, 3}, {1, 2}, {1, 1}},
			[][]int{{2}, {1}, {0}},
		},
		{
			"three objectives",
			[]retune.Direction{retune.Minimize, retune.Minimize, retune.Minimize},
			[][]float64{{1, 2, 3}, {3, 2, 1}, {2, 2, 2}, {3, 3, 3}, {1, 2, 4}},
			[][]int{{0, 1, 2}, {3, 4}},
		},
		{
			"three objectives, three fronts, mixed directions",
			[]retune.Direction{retune.Minimize, retune.Maximize, retune.Minimize},
			// 0 and 1 trade off; 2 is dominated by 0 only; 3 by 2 (and 0); 4 equals 2.
			[][]float64{{1, 5, 1}, {0, 4, 2}, {2, 5, 1}, {2, 4, 1}, {2, 5, 1}},
			[][]int{{0, 1}, {2, 4}, {3}},
		},
		{
			"four objectives",
			[]retune.Direction{retune.Minimize, retune.Minimize, retune.Minimize, retune.Minimize},
			// 0..3 are the unit vectors' complements, mutually non-dominated; 4 is worse
			// than all of them; 5 is dominated by 3 alone, so it shares front 1 with 4.
			[][]float64{{0, 1, 1, 1}, {1, 0, 1, 1}, {1, 1, 0, 1}, {1, 1, 1, 0}, {1, 1, 1, 1}, {2, 2, 2, 0}},
			[][]int{{0, 1, 2, 3}, {4, 5}},
		},
		{
			"one objective",
			[]retune.Direction{retune.Maximize},
			[][]float64{{1}, {3}, {nan}, {3}, {2}},
			[][]int{{1, 3}, {4}, {0}, {2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Fronts(tt.dirs, tt.points); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Fronts(%v) = %v, want %v", tt.points, got, tt.want)
			}
		})
	}
}

// TestLevelsAgree checks the specialised sorts against the general one on random points
// with many ties and non-finite values.
func TestLevelsAgree(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	vals := []float64{nan, inf, -inf, 0, 1, 2, 3, 4, 5}
	for _, dirs := range [][]retune.Direction{{retune.Minimize}, {retune.Maximize}, minMin, minMax, {retune.Maximize, retune.Maximize}} {
		for trial := range 300 {
			n := 1 + r.IntN(40)
			points := make([][]float64, n)
			for i := range points {
				points[i] = make([]float64, len(dirs))
				for m := range points[i] {
					if trial%2 == 0 {
						points[i][m] = vals[r.IntN(len(vals))]
					} else {
						points[i][m] = r.NormFloat64()
					}
				}
			}
			got := Levels(dirs, points)
			want := levelsN(dirs, points)
			if !slices.Equal(got, want) {
				t.Fatalf("Levels(%v, %v) = %v, want %v", dirs, points, got, want)
			}
			checkLevels(t, dirs, points, got)
		}
	}
}

// checkLevels verifies the definition: no point is dominated by a point of its own or a
// later front, and every point past front 0 is dominated by a point of the front before.
func checkLevels(t *testing.T, dirs []retune.Direction, points [][]float64, lv []int) {
	t.Helper()
	for i := range points {
		byPrev := false
		for j := range points {
			if Dominates(dirs, points[j], points[i]) {
				if lv[j] >= lv[i] {
					t.Fatalf("point %v (front %d) is dominated by %v (front %d)", points[i], lv[i], points[j], lv[j])
				}
				if lv[j] == lv[i]-1 {
					byPrev = true
				}
			}
		}
		if lv[i] > 0 && !byPrev {
			t.Fatalf("point %v in front %d is not dominated by front %d", points[i], lv[i], lv[i]-1)
		}
	}
}

func TestCrowding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		dirs   []retune.Direction
		points [][]float64
		front  []int
		want   []float64
	}{
		{"one point", minMin, [][]float64{{0, 1}}, []int{0}, []float64{inf}},
		{"two points", minMin, [][]float64{{0, 1}, {1, 0}}, []int{0, 1}, []float64{inf, inf}},
		{"all equal", minMin, [][]float64{{1, 1}, {1, 1}, {1, 1}}, []int{0, 1, 2}, []float64{inf, inf, inf}},
		{
			"equal points get equal distances",
			minMin,
			// The two (1,3) use the nearest distinct values around them: 0 and 4 in both
			// objectives, 4/4 each.
			[][]float64{{0, 4}, {1, 3}, {1, 3}, {4, 0}},
			[]int{0, 1, 2, 3},
			[]float64{inf, 2, 2, inf},
		},
		{
			"every point with the extreme value is a boundary point",
			[]retune.Direction{retune.Minimize, retune.Minimize, retune.Minimize},
			// Objective 0: 0, 0 are both best, 2 is worst; objective 1 and 2 likewise.
			[][]float64{{0, 1, 2}, {0, 2, 1}, {1, 0, 1}, {2, 1, 0}},
			[]int{0, 1, 2, 3},
			[]float64{inf, inf, inf, inf},
		},
		{
			"evenly spread",
			minMin,
			// Ranges are 4 in both objectives. Point 1's neighbours are 0 and 2 in the
			// first (2/4) and 4 and 1 in the second (3/4); point 2's are 1 and 4 (3/4)
			// and 3 and 0 (3/4).
			[][]float64{{0, 4}, {1, 3}, {2, 1}, {4, 0}},
			[]int{0, 1, 2, 3},
			[]float64{inf, 0.5 + 0.75, 0.75 + 0.75, inf},
		},
		{
			"front subset",
			minMin,
			[][]float64{{9, 9}, {0, 2}, {1, 1}, {2, 0}},
			[]int{1, 2, 3},
			[]float64{inf, 2, inf},
		},
		{
			"infinite neighbour",
			minMin,
			[][]float64{{-inf, 3}, {0, 2}, {1, 1}, {2, 0}},
			// Point 1's first-objective neighbours are -Inf and 1: +Inf. Point 2's are 0
			// and 2 over the finite range 2: 1, plus 2/3 in the second objective.
			[]int{0, 1, 2, 3},
			[]float64{inf, inf, 1 + 2.0/3, inf},
		},
		{
			"flat objective",
			minMin,
			[][]float64{{0, 5}, {1, 5}, {2, 5}},
			[]int{0, 1, 2},
			// In the second objective all are equal: the extremes by sort order are 0 and
			// 2 (stable), point 1 gets 0 there.
			[]float64{inf, 1, inf},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Crowding(tt.dirs, tt.points, tt.front)
			if len(got) != len(tt.want) {
				t.Fatalf("Crowding = %v, want %v", got, tt.want)
			}
			for i := range got {
				if !(got[i] == tt.want[i] || math.Abs(got[i]-tt.want[i]) < 1e-12) {
					t.Errorf("Crowding = %v, want %v", got, tt.want)
					break
				}
			}
		})
	}
}

// TestCrowdingOrderFree checks that shuffling a front does not change any point's
// distance.
func TestCrowdingOrderFree(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	vals := []float64{nan, inf, -inf, 0, 1, 2, 3}
	dirs := []retune.Direction{retune.Minimize, retune.Maximize, retune.Minimize}
	for range 200 {
		n := 1 + r.IntN(12)
		points := make([][]float64, n)
		for i := range points {
			points[i] = []float64{vals[r.IntN(len(vals))], vals[r.IntN(len(vals))], r.Float64()}
			if r.IntN(3) == 0 && i > 0 {
				points[i] = slices.Clone(points[r.IntN(i)])
			}
		}
		front := make([]int, n)
		for i := range front {
			front[i] = i
		}
		want := Crowding(dirs, points, front)
		r.Shuffle(n, func(i, j int) { front[i], front[j] = front[j], front[i] })
		got := Crowding(dirs, points, front)
		for k, i := range front {
			if got[k] != want[i] && !(math.IsNaN(got[k]) && math.IsNaN(want[i])) {
				t.Fatalf("point %v: distance %v after shuffling, %v before", points[i], got[k], want[i])
			}
			if math.IsNaN(got[k]) || got[k] < 0 {
				t.Fatalf("point %v: distance %v", points[i], got[k])
			}
		}
	}
}

func TestOrder(t *testing.T) {
	t.Parallel()
	points := [][]float64{
		{5, 5},     // 0: front 2 (dominated by 7)
		{0, 4},     // 1: front 0, extreme
		{1, 3},     // 2: front 0
		{2, 1},     // 3: front 0
		{4, 0},     // 4: front 0, extreme
		{1.1, 2.9}, // 5: front 0, crowded next to 2
		{nan, nan}, // 6: front 3
		{4.5, 0.5}, // 7: front 1 (dominated by 4)
	}
	got := Order(minMin, points)
	// Front 0 is {1,2,3,4,5}; extremes 1 and 4 first (by index), then by crowding:
	// 3: (4-1.1)/4 + (2.9-0)/4 = 1.45; 5: (2-1)/4 + (3-1)/4 = 0.75; 2: (1.1-0)/4 + (4-2.9)/4 = 0.55.
	// Then fronts {7}, {0}, {6}.
	want := []int{1, 4, 3, 5, 2, 7, 0, 6}
	if !slices.Equal(got, want) {
		t.Errorf("Order = %v, want %v", got, want)
	}
}

func TestInputsUnchanged(t *testing.T) {
	t.Parallel()
	points := [][]float64{{3, 1}, {1, 3}, {2, 2}, {3, 3}}
	before := [][]float64{{3, 1}, {1, 3}, {2, 2}, {3, 3}}
	front := []int{2, 0, 1}
	Order(minMin, points)
	Crowding(minMin, points, front)
	if !reflect.DeepEqual(points, before) || !slices.Equal(front, []int{2, 0, 1}) {
		t.Errorf("inputs modified: %v %v", points, front)
	}
}

func TestLevelsPanicsOnLength(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("Levels with a short point did not panic")
		}
	}()
	Levels(minMin, [][]float64{{1}})
}

func BenchmarkLevels(b *testing.B) {
	for _, m := range []int{2, 3} {
		dirs := make([]retune.Direction, m)
		r := rand.New(rand.NewPCG(3, 4))
		points := make([][]float64, 1000)
		for i := range points {
			points[i] = make([]float64, m)
			for j := range points[i] {
				points[i][j] = r.Float64()
			}
		}
		b.Run(map[int]string{2: "objectives=2", 3: "objectives=3"}[m], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Levels(dirs, points)
			}
		})
	}
}
