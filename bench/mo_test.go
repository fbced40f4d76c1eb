package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/sampler/random"
)

func TestMultiObjective(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, p := range []string{"zdt1", "zdt2"} {
		res, err := MultiObjective(ctx, p, "nsga2", 120, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hypervolume) != 2 || res.Mode != "mo" || res.Problem != p || res.TrialMs <= 0 {
			t.Fatalf("MultiObjective(%s) = %+v, want 2 hypervolumes", p, res)
		}
		// Random points of ZDT already dominate most of the box; nothing can exceed the
		// true front's 11.77 (ZDT1) or 11.43 (ZDT2).
		for i, hv := range res.Hypervolume {
			if hv < 7 || hv > 11.77 {
				t.Errorf("%s seed %d: hypervolume %v, want in [7, 11.77]", p, i, hv)
			}
		}
	}
	// The same seed gives the same run, and a checkpoint's hypervolume is that of a run of
	// that many trials.
	a, _ := MultiObjective(ctx, "dtlz2-3", "random", 50, 1, 20, 50, 70, 0)
	b, _ := MultiObjective(ctx, "dtlz2-3", "random", 50, 1)
	c, _ := MultiObjective(ctx, "dtlz2-3", "random", 20, 1)
	if a.Hypervolume[0] != b.Hypervolume[0] {
		t.Errorf("two runs of seed 0: hypervolumes %v and %v, want equal", a.Hypervolume, b.Hypervolume)
	}
	if len(a.HypervolumeAt) != 1 || a.HypervolumeAt["20"][0] != c.Hypervolume[0] || c.Hypervolume[0] > a.Hypervolume[0] {
		t.Errorf("checkpoints 20, 50, 70 and 0 of 50 trials: %v, want only 20's, %v (a run of 20), at most %v", a.HypervolumeAt, c.Hypervolume, a.Hypervolume)
	}
	if _, err := MultiObjective(ctx, "zdt3", "nsga2", 10, 1); err == nil {
		t.Errorf("MultiObjective(zdt3): no error")
	}
	if _, err := MultiObjective(ctx, "zdt1", "nope", 10, 1); err == nil {
		t.Errorf("MultiObjective with an unknown sampler: no error")
	}
}

// Every problem evaluates to one finite value per objective inside its space, and random
// points stay below (or near) its reference point: the hypervolume of 50 random trials is
// positive, and below the true front's where that is known. DTLZ4's is 0: its x^100 puts
// random points near f_1 = 1 + g, beyond 1.1 unless g < 0.1.
func TestMOProblems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	seen := map[string]bool{}
	for _, p := range MOProblems {
		if seen[p.Name] {
			t.Errorf("problem %s listed twice", p.Name)
		}
		seen[p.Name] = true
		r := rand.New(rand.NewPCG(1, 2))
		for range 20 {
			params := map[string]any{}
			for _, sp := range p.Space {
				switch sp.Kind {
				case "float":
					params[sp.Name] = sp.Low + (sp.High-sp.Low)*r.Float64()
				case "int":
					params[sp.Name] = int64(sp.Low) + r.Int64N(int64(sp.High-sp.Low)+1)
				default:
					params[sp.Name] = sp.Choices[r.IntN(len(sp.Choices))]
				}
			}
			f := p.Eval(params)
			if len(f) != len(p.Ref) {
				t.Fatalf("%s: %d objectives, reference point of %d", p.Name, len(f), len(p.Ref))
			}
			for j, v := range f {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s at %v: f%d = %v", p.Name, params, j+1, v)
				}
			}
		}
		res, err := MultiObjective(ctx, p.Name, "random", 50, 1)
		if err != nil {
			t.Fatal(err)
		}
		hv := res.Hypervolume[0]
		if strings.HasPrefix(p.Name, "dtlz4-") {
			if hv != 0 {
				t.Errorf("%s: 50 random trials have hypervolume %v, want 0", p.Name, hv)
			}
			continue
		}
		if !(hv > 0) || (p.Front > 0 && hv >= p.Front) {
			t.Errorf("%s: 50 random trials have hypervolume %v, want > 0 and below the front's %v", p.Name, hv, p.Front)
		}
	}
	for _, m := range []int{3, 4} {
		for w := 1; w <= 7; w++ {
			if !seen["dtlz"+strconv.Itoa(w)+"-"+strconv.Itoa(m)] {
				t.Errorf("dtlz%d-%d missing", w, m)
			}
		}
		for w := 1; w <= 9; w++ {
			if !seen["wfg"+strconv.Itoa(w)+"-"+strconv.Itoa(m)] {
				t.Errorf("wfg%d-%d missing", w, m)
			}
		}
	}
	if _, err := FindMOProblem("dtlz8-3"); err == nil {
		t.Error("FindMOProblem(dtlz8-3): no error")
	}
	// The front's hypervolume for DTLZ2 with 3 objectives: 1.1³ - π/6.
	p, _ := FindMOProblem("dtlz2-3")
	if math.Abs(p.Front-(1.331-math.Pi/6)) > 1e-12 {
		t.Errorf("dtlz2-3 front %v, want %v", p.Front, 1.331-math.Pi/6)
	}
	// A point on DTLZ2's front is inside the reference box.
	x := []float64{0.3, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}
	for j, v := range problem.DTLZ(2, x, 3) {
		if v >= p.Ref[j] {
			t.Errorf("dtlz2-3 front point f%d = %v beyond the reference %v", j+1, v, p.Ref[j])
		}
	}
}

// FillHypervolumes computes from points what MultiObjective records.
func TestFillHypervolumes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	res, err := MultiObjective(ctx, "dtlz2-3", "random", 40, 2, 10, 25)
	if err != nil {
		t.Fatal(err)
	}
	// The same runs' points, recorded as bench/optuna_mo.py --points prints them.
	var pts [][][]float64
	p, _ := FindMOProblem("dtlz2-3")
	for seed := range 2 {
		s, err := retune.NewStudy(ctx, retune.Config{Directions: make([]retune.Direction, 3), Sampler: random.New(), Seed: uint64(seed) + 1})
		if err != nil {
			t.Fatal(err)
		}
		var seedPts [][]float64
		for range 40 {
			tr, err := s.Ask(ctx)
			if err != nil {
				t.Fatal(err)
			}
			f := p.Eval(Suggest(tr, p.Space))
			if err := s.Tell(ctx, tr, f...); err != nil {
				t.Fatal(err)
			}
			seedPts = append(seedPts, f)
		}
		pts = append(pts, seedPts)
	}
	o := MOResult{Problem: "dtlz2-3", N: 40, Seeds: 2, Points: pts}
	if err := o.FillHypervolumes(10, 25, 40, 0); err != nil {
		t.Fatal(err)
	}
	if o.Points != nil || !slices.Equal(o.Hypervolume, res.Hypervolume) || len(o.HypervolumeAt) != 2 ||
		!slices.Equal(o.HypervolumeAt["10"], res.HypervolumeAt["10"]) || !slices.Equal(o.HypervolumeAt["25"], res.HypervolumeAt["25"]) {
		t.Errorf("FillHypervolumes = %v %v, MultiObjective %v %v", o.Hypervolume, o.HypervolumeAt, res.Hypervolume, res.HypervolumeAt)
	}
	bad := MOResult{Problem: "dtlz2-3", N: 1, Points: [][][]float64{{{1, 2}}}}
	if err := bad.FillHypervolumes(); err == nil {
		t.Error("a point of 2 values for 3 objectives: no error")
	}
}

// JoinMOResults makes one run of blocks of seeds, whatever order they come in, and refuses
// blocks that leave a gap, overlap, or belong to another run.
func TestJoinMOResults(t *testing.T) {
	t.Parallel()
	pt := func(v float64) [][]float64 { return [][]float64{{v, v, v}} }
	block := func(first, seeds int, wall, ms float64) MOResult {
		r := MOResult{Lib: "optuna", Mode: "mo", Problem: "dtlz2-3", Sampler: "tpe", N: 1, FirstSeed: first, Seeds: seeds, WallS: wall, TrialMs: ms}
		for s := first; s < first+seeds; s++ {
			r.Points = append(r.Points, pt(float64(s)/10))
		}
		return r
	}
	got, err := JoinMOResults([]MOResult{block(5, 3, 2, 30), block(0, 5, 1, 10)})
	if err != nil {
		t.Fatal(err)
	}
	if got.FirstSeed != 0 || got.Seeds != 8 || len(got.Points) != 8 || got.WallS != 3 || math.Abs(got.TrialMs-(5*10+3*30)/8.0) > 1e-12 {
		t.Errorf("join = seeds %d+%d, %d points, wall %v, ms %v; want 0+8, 8, 3, %v", got.FirstSeed, got.Seeds, len(got.Points), got.WallS, got.TrialMs, (5*10+3*30)/8.0)
	}
	for s, p := range got.Points {
		if p[0][0] != float64(s)/10 {
			t.Errorf("seed %d's points = %v, want %v", s, p, pt(float64(s)/10))
		}
	}

	hv := func(first, seeds int, at map[string][]float64) MOResult {
		r := MOResult{Lib: "optuna", Mode: "mo", Problem: "dtlz2-3", Sampler: "tpe", N: 120, FirstSeed: first, Seeds: seeds, HypervolumeAt: at}
		for s := first; s < first+seeds; s++ {
			r.Hypervolume = append(r.Hypervolume, float64(s))
		}
		return r
	}
	got, err = JoinMOResults([]MOResult{
		hv(0, 2, map[string][]float64{"50": {0.5, 1.5}, "100": {0.7, 1.7}}),
		hv(2, 1, map[string][]float64{"50": {2.5}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Hypervolume, []float64{0, 1, 2}) || len(got.HypervolumeAt) != 1 || !slices.Equal(got.HypervolumeAt["50"], []float64{0.5, 1.5, 2.5}) {
		t.Errorf("join of hypervolumes = %v %v, want [0 1 2] and only checkpoint 50", got.Hypervolume, got.HypervolumeAt)
	}

	other := block(3, 2, 1, 1)
	other.Sampler = "nsga2"
	noPoints := hv(3, 2, nil)
	noPoints.N = 1
	for name, parts := range map[string][]MOResult{
		"nothing":       nil,
		"a gap":         {block(0, 2, 1, 1), block(3, 2, 1, 1)},
		"an overlap":    {block(0, 3, 1, 1), block(2, 2, 1, 1)},
		"other sampler": {block(0, 3, 1, 1), other},
		"mixed forms":   {block(0, 3, 1, 1), noPoints},
		"short points":  {func() MOResult { b := block(0, 3, 1, 1); b.Points = b.Points[:2]; return b }()},
	} {
		if r, err := JoinMOResults(parts); err == nil {
			t.Errorf("join of %s = seeds %d+%d, want an error", name, r.FirstSeed, r.Seeds)
		}
	}
}
