package cmaes_test

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/sampler/cmaes"
)

// minimize runs o for at most gens generations and returns the best value seen.
func minimize(t *testing.T, o *cmaes.Optimizer, f func([]float64) float64, gens int, target float64) float64 {
	t.Helper()
	best := math.Inf(1)
	for range gens {
		sols := make([]cmaes.Solution, o.PopSize())
		for i := range sols {
			x := o.Ask()
			sols[i] = cmaes.Solution{X: x, Value: f(o.Discretize(x))}
			best = math.Min(best, sols[i].Value)
		}
		if err := o.Tell(sols); err != nil {
			t.Fatal(err)
		}
		if best < target {
			break
		}
	}
	return best
}

func TestOptimizerConverges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		f      func([]float64) float64
		mean   []float64
		o      cmaes.Options
		gens   int
		target float64
	}{
		{"sphere 3", problem.Sphere, []float64{3, -2, 1}, cmaes.Options{Seed: 1}, 400, 1e-12},
		{"sphere 10 separable", problem.Sphere, []float64{1, 2, 3, 4, 5, -1, -2, -3, -4, -5}, cmaes.Options{Seed: 2, Separable: true}, 1000, 1e-10},
		{"rosenbrock 2", problem.Rosenbrock, []float64{-1, 2}, cmaes.Options{Seed: 3}, 1000, 1e-10},
		{"rosenbrock 4", problem.Rosenbrock, []float64{0, 0, 0, 0}, cmaes.Options{Seed: 4}, 2000, 1e-10},
		{"rosenbrock 3 bounded", problem.Rosenbrock, []float64{0, 0, 0}, cmaes.Options{Seed: 5, Bounds: []cmaes.Bound{{-5, 10}, {-5, 10}, {-5, 10}}}, 2000, 1e-10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := cmaes.NewOptimizer(tt.mean, 1, tt.o)
			if got := minimize(t, o, tt.f, tt.gens, tt.target); got >= tt.target {
				t.Errorf("best after %d generations = %g, want < %g", o.Generation(), got, tt.target)
			}
		})
	}
}

func TestOptimizerBounds(t *testing.T) {
	t.Parallel()
	bounds := []cmaes.Bound{{0, 1}, {-1, 0}}
	o := cmaes.NewOptimizer([]float64{0.9, -0.9}, 2, cmaes.Options{Seed: 1, Bounds: bounds})
	for range 200 {
		x := o.Ask()
		for i, b := range bounds {
			if x[i] < b.Low || x[i] > b.High {
				t.Fatalf("Ask() = %v, outside %v", x, bounds)
			}
		}
	}
}

// Mixed integer and continuous coordinates: the continuous part shrinks the step size
// quickly; without the margin the integer coordinates freeze on wrong values, with it they
// reach the optimum.
func TestOptimizerMargin(t *testing.T) {
	t.Parallel()
	const n = 6
	grids := make([]cmaes.Grid, n)
	for i := 3; i < n; i++ {
		grids[i] = cmaes.LinearGrid(-10, 1, 21) // -10 … 10
	}
	target := []float64{0, 0, 0, 3, -7, 6}
	f := func(x []float64) float64 {
		s := 0.0
		for i, v := range x {
			w := 1.0
			if grids[i].Count > 0 {
				if v != math.Round(v) {
					t.Fatalf("evaluated %v: not on the grid", x)
				}
			} else {
				w = 1e4
			}
			s += w * (v - target[i]) * (v - target[i])
		}
		return s
	}
	mean := []float64{1, 1, 1, -8, 8, -8}
	bounds := slices.Repeat([]cmaes.Bound{{-10.5, 10.5}}, n)
	for _, margin := range []float64{0, -1} {
		o := cmaes.NewOptimizer(mean, 0.5, cmaes.Options{Seed: 7, Grids: grids, Bounds: bounds, Margin: margin})
		best := minimize(t, o, f, 400, -1)
		if margin == 0 && best > 1e-6 {
			t.Errorf("best with margin = %v, want 0 (within 1e-6)", best)
		}
		if margin < 0 && best < 1 {
			t.Errorf("best without margin = %v: the test no longer shows what the margin does", best)
		}
	}
}

func TestOptimizerDeterministic(t *testing.T) {
	t.Parallel()
	run := func() [][]float64 {
		o := cmaes.NewOptimizer([]float64{1, 1, 1}, 0.5, cmaes.Options{Seed: 42})
		var xs [][]float64
		for range 5 {
			sols := make([]cmaes.Solution, o.PopSize())
			for i := range sols {
				x := o.Ask()
				xs = append(xs, x)
				sols[i] = cmaes.Solution{X: x, Value: problem.Rosenbrock(x)}
			}
			if err := o.Tell(sols); err != nil {
				t.Fatal(err)
			}
		}
		return xs
	}
	a, b := run(), run()
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Fatalf("candidate %d: %v then %v, want the same", i, a[i], b[i])
		}
	}
	other := cmaes.NewOptimizer([]float64{1, 1, 1}, 0.5, cmaes.Options{Seed: 43}).Ask()
	if slices.Equal(other, a[0]) {
		t.Errorf("seeds 42 and 43 give the same first candidate %v", other)
	}
}

// A JSON round trip, at any point of a generation and in every mode, gives the same next
// candidates and the same updates.
func TestOptimizerJSONRoundTrip(t *testing.T) {
	t.Parallel()
	grids := []cmaes.Grid{{}, cmaes.LinearGrid(0, 1, 5), {}, {Count: 100, Origin: 1, Step: 1, Log: true, Scale: 0.2}}
	modes := []struct {
		name string
		o    cmaes.Options
	}{
		{"full", cmaes.Options{Seed: 1<<63 + 12345}},
		{"separable", cmaes.Options{Seed: 2, Separable: true}},
		{"bipop grids", cmaes.Options{Seed: 3, Restart: cmaes.RestartBIPOP, Grids: grids, Bounds: slices.Repeat([]cmaes.Bound{{-1, 5}}, 4), TolFun: 1}},
	}
	for _, md := range modes {
		t.Run(md.name, func(t *testing.T) {
			t.Parallel()
			a := cmaes.NewOptimizer([]float64{1, 2, 3, 1}, 0.7, md.o)
			for gen := range 40 {
				sols := make([]cmaes.Solution, a.PopSize())
				for i := range sols {
					if i == gen%len(sols) {
						b, err := json.Marshal(a)
						if err != nil {
							t.Fatal(err)
						}
						var c cmaes.Optimizer
						if err := json.Unmarshal(b, &c); err != nil {
							t.Fatal(err)
						}
						if x, y := c.Candidate(i+3), a.Candidate(i+3); !slices.Equal(x, y) {
							t.Fatalf("gen %d: restored Candidate(%d) = %v, want %v", gen, i+3, x, y)
						}
						a = &c
					}
					x := a.Ask()
					sols[i] = cmaes.Solution{X: x, Value: math.Floor(problem.Sphere(a.Discretize(x)) / 100)}
				}
				if err := a.Tell(sols); err != nil {
					t.Fatal(err)
				}
			}
			if md.o.Restart != "" && a.Restarts() == 0 {
				t.Errorf("no restart with TolFun 1 on a plateau")
			}
		})
	}
}

func TestOptimizerRestarts(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{cmaes.RestartIPOP, cmaes.RestartBIPOP} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			bounds := slices.Repeat([]cmaes.Bound{{-32.768, 32.768}}, 3)
			o := cmaes.NewOptimizer([]float64{10, 10, 10}, 10, cmaes.Options{Seed: 5, Bounds: bounds, Restart: mode, TolFun: 1e-8})
			var pops []int
			for range 3000 {
				if o.Restarts() >= 4 {
					break
				}
				pops = append(pops, o.PopSize())
				sols := make([]cmaes.Solution, o.PopSize())
				for i := range sols {
					x := o.Ask()
					sols[i] = cmaes.Solution{X: x, Value: problem.Ackley(x)}
				}
				if err := o.Tell(sols); err != nil {
					t.Fatal(err)
				}
			}
			if o.Restarts() < 4 {
				t.Fatalf("%d restarts, want at least 4", o.Restarts())
			}
			pops = slices.Compact(pops)
			if mode == cmaes.RestartIPOP {
				for i := 1; i < len(pops); i++ {
					if pops[i] != 2*pops[i-1] {
						t.Errorf("IPOP population sizes %v, want doubling", pops)
						break
					}
				}
			} else if slices.Min(pops) >= cmaes.DefaultPopSize(3) || slices.Max(pops) <= cmaes.DefaultPopSize(3) {
				t.Errorf("BIPOP population sizes %v, want small and large runs", pops)
			}
		})
	}
}

func TestTellErrors(t *testing.T) {
	t.Parallel()
	o := cmaes.NewOptimizer([]float64{0, 0}, 1, cmaes.Options{PopSize: 4})
	good := func() []cmaes.Solution {
		s := make([]cmaes.Solution, 4)
		for i := range s {
			s[i] = cmaes.Solution{X: o.Ask(), Value: float64(i)}
		}
		return s
	}
	tests := []struct {
		name string
		edit func([]cmaes.Solution) []cmaes.Solution
	}{
		{"too few", func(s []cmaes.Solution) []cmaes.Solution { return s[:3] }},
		{"NaN value", func(s []cmaes.Solution) []cmaes.Solution { s[1].Value = math.NaN(); return s }},
		{"short x", func(s []cmaes.Solution) []cmaes.Solution { s[2].X = s[2].X[:1]; return s }},
		{"Inf x", func(s []cmaes.Solution) []cmaes.Solution { s[0].X = []float64{math.Inf(1), 0}; return s }},
	}
	for _, tt := range tests {
		if err := o.Tell(tt.edit(good())); err == nil {
			t.Errorf("Tell with %s: no error", tt.name)
		}
	}
	s := good()
	s[0].Value, s[3].Value = math.Inf(-1), math.Inf(1)
	if err := o.Tell(s); err != nil {
		t.Errorf("Tell with ±Inf values: %v", err)
	}
}
