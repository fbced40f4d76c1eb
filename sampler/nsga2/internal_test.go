package nsga2

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pareto"
)

func TestReferencePoints(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ m, h, want int }{{2, 1, 2}, {2, 4, 5}, {3, 4, 15}, {3, 12, 91}, {5, 3, 35}} {
		pts := referencePoints(tt.m, tt.h)
		if len(pts) != tt.want {
			t.Errorf("referencePoints(%d, %d): %d points, want %d", tt.m, tt.h, len(pts), tt.want)
		}
		seen := map[string]bool{}
		for _, p := range pts {
			s := 0.0
			for _, x := range p {
				s += x
				if k := x * float64(tt.h); x < 0 || math.Abs(k-math.Round(k)) > 1e-9 {
					t.Errorf("referencePoints(%d, %d): %v is not on the lattice", tt.m, tt.h, p)
				}
			}
			if math.Abs(s-1) > 1e-12 {
				t.Errorf("referencePoints(%d, %d): %v sums to %v, want 1", tt.m, tt.h, p, s)
			}
			k := fmt.Sprint(p)
			if seen[k] {
				t.Errorf("referencePoints(%d, %d): %v twice", tt.m, tt.h, p)
			}
			seen[k] = true
		}
	}
	if got, want := referencePoints(2, 2), [][]float64{{1, 0}, {0.5, 0.5}, {0, 1}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("referencePoints(2, 2) = %v, want %v", got, want)
	}
}

func TestDefaultDivisions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ m, size, want int }{{3, 50, 8}, {3, 91, 12}, {3, 90, 11}, {3, 2, 1}, {4, 50, 4}, {10, 50, 1}} {
		if got := defaultDivisions(tt.m, tt.size); got != tt.want {
			t.Errorf("defaultDivisions(%d, %d) = %d, want %d", tt.m, tt.size, got, tt.want)
		}
	}
}

// The last front's members are spread over the reference points: from a cluster at one
// corner of the simplex and three lone points elsewhere, four survivors are the lone
// points and one of the cluster.
func TestNicheSelectSpreads(t *testing.T) {
	t.Parallel()
	dirs := []retune.Direction{retune.Minimize, retune.Minimize, retune.Minimize}
	var pts [][]float64
	for i := range 30 {
		e := 0.001 * float64(i+1)
		pts = append(pts, []float64{1 - 2*e, e, e})
	}
	pts = append(pts, []float64{0, 1, 0}, []float64{0, 0, 1}, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3})
	refs := referencePoints(3, 2)
	for seed := range uint64(10) {
		keep := nicheSelect(dirs, pts, 4, refs, rand.New(rand.NewPCG(seed, 1)))
		slices.Sort(keep)
		if len(keep) != 4 || keep[0] >= 30 || !slices.Equal(keep[1:], []int{30, 31, 32}) {
			t.Errorf("seed %d: nicheSelect kept %v, want one of 0..29 and 30, 31, 32", seed, keep)
		}
	}
}

// Whole fronts that fit are kept, and only they when they fill the population exactly.
func TestNicheSelectFronts(t *testing.T) {
	t.Parallel()
	dirs := []retune.Direction{retune.Minimize, retune.Maximize, retune.Minimize}
	pts := [][]float64{
		{0, 1, 1}, {1, 1, 0}, // front 0
		{2, 0, 2}, {1, 0, 1}, {2, -1, 0}, // dominated
		{0.5, 1, 0.5}, // front 0
	}
	refs := referencePoints(3, 3)
	keep := nicheSelect(dirs, pts, 3, refs, rand.New(rand.NewPCG(1, 1)))
	slices.Sort(keep)
	if !slices.Equal(keep, []int{0, 1, 5}) {
		t.Errorf("nicheSelect(size 3) = %v, want the first front [0 1 5]", keep)
	}
	keep = nicheSelect(dirs, pts, 4, refs, rand.New(rand.NewPCG(1, 1)))
	slices.Sort(keep)
	if len(keep) != 4 || !slices.Equal(keep[:2], []int{0, 1}) || keep[3] != 5 {
		t.Errorf("nicheSelect(size 4) = %v, want the first front and one more", keep)
	}
	// Infinite values and a degenerate hyperplane do not break it.
	pts = append(pts, []float64{math.Inf(-1), 5, 9}, []float64{3, math.Inf(1), 3}, []float64{0, 1, 1})
	if keep := nicheSelect(dirs, pts, 5, refs, rand.New(rand.NewPCG(1, 1))); len(keep) != 5 {
		t.Errorf("nicheSelect with infinite values kept %v, want 5 points", keep)
	}
}

func TestIntercepts(t *testing.T) {
	t.Parallel()
	got, ok := intercepts([][]float64{{2, 0, 0}, {0, 3, 0}, {0, 0, 4}})
	if !ok || math.Abs(got[0]-2) > 1e-12 || math.Abs(got[1]-3) > 1e-12 || math.Abs(got[2]-4) > 1e-12 {
		t.Errorf("intercepts(axes 2, 3, 4) = %v, %v, want [2 3 4], true", got, ok)
	}
	if _, ok := intercepts([][]float64{{1, 1, 0}, {1, 1, 0}, {0, 0, 1}}); ok {
		t.Errorf("intercepts of a repeated point: ok, want degenerate")
	}
}

func TestOperatorsStayInBounds(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(2, 3))
	for _, eta := range []float64{0.5, 2, 20, 100} {
		for _, pair := range [][2]float64{{0, 1}, {0.4, 0.6}, {0, 0.001}, {0.999, 1}, {0.3, 0.3}} {
			sum := 0.0
			const n = 4000
			for range n {
				c := sbx(r, pair[0], pair[1], eta)
				if c < 0 || c > 1 || math.IsNaN(c) {
					t.Fatalf("sbx(%v, %v) = %v, want a value in [0, 1]", pair, eta, c)
				}
				sum += c
			}
			// Away from the bounds the two children are symmetric about the parents' mean.
			if pair == [2]float64{0.4, 0.6} && math.Abs(sum/n-0.5) > 0.01 {
				t.Errorf("sbx(%v, %v): mean child %v, want 0.5", pair, eta, sum/n)
			}
		}
		for _, y := range []float64{0, 0.5, 1, 1e-9} {
			sum, far := 0.0, 0
			const n = 4000
			for range n {
				c := polynomialMutation(r, y, eta)
				if c < 0 || c > 1 || math.IsNaN(c) {
					t.Fatalf("polynomialMutation(%v, %v) = %v, want a value in [0, 1]", y, eta, c)
				}
				sum += c
				if math.Abs(c-y) > 0.25 {
					far++
				}
			}
			if y == 0.5 && math.Abs(sum/n-0.5) > 0.02 {
				t.Errorf("polynomialMutation(0.5, %v): mean %v, want 0.5", eta, sum/n)
			}
			if eta >= 20 && far > n/20 {
				t.Errorf("polynomialMutation(%v, %v): %d of %d moved more than 0.25, want few", y, eta, far, n)
			}
		}
	}
}

// The second population is the best PopulationSize of the first two blocks, by front and
// crowding distance.
func TestPopulationElitist(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(6, 7))
	dirs := []retune.Direction{retune.Minimize, retune.Maximize}
	var ts []retune.FrozenTrial
	var pts [][]float64
	for i := range 24 {
		v := []float64{r.Float64(), r.Float64()}
		state := retune.TrialComplete
		if i%6 == 5 {
			state, v = retune.TrialFail, nil
		} else {
			pts = append(pts, v)
		}
		ts = append(ts, retune.FrozenTrial{Number: i, State: state, Values: v})
	}
	s := New(Options{PopulationSize: 10})
	if g := s.population(&retune.SampleRequest{Directions: dirs, Trials: ts[:10]}); g != nil {
		t.Fatalf("population of 9 COMPLETE trials = %v, want nil", g.numbers)
	}
	g := s.population(&retune.SampleRequest{Directions: dirs, Trials: ts})
	if len(g.numbers) != 20 || len(g.pop) != 10 {
		t.Fatalf("population of 20 COMPLETE trials: %d consumed, %d members, want 20 and 10", len(g.numbers), len(g.pop))
	}
	var want []float64
	for _, i := range pareto.Order(dirs, pts)[:10] {
		want = append(want, pts[i][0])
	}
	var got []float64
	for _, m := range g.pop {
		got = append(got, m.Values[0])
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("second population has first values %v, want %v", got, want)
	}
}
