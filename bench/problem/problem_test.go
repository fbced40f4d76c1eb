package problem

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// near reports whether got is within 1e-6 of want, absolutely or relatively.
func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-6*math.Max(1, math.Abs(want))
}

// readReference parses the key=value lines printed by optuna_ref.py --mode check.
func readReference(t *testing.T) map[string]float64 {
	t.Helper()
	path := filepath.Join("..", "testdata", "reference_values.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	ref := map[string]float64{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s:%d: no '=' in %q", path, n, line)
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		if _, dup := ref[k]; dup {
			t.Fatalf("%s:%d: duplicate key %q", path, n, k)
		}
		ref[k] = x
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(ref) == 0 {
		t.Fatalf("%s: no values", path)
	}
	return ref
}

// referenceChecks evaluates each key of reference_values.txt at the point
// run_check in optuna_ref.py uses.
var referenceChecks = map[string]func() float64{
	"branin_opt": func() float64 { return Branin(math.Pi, 2.275) },
	"branin_1_2": func() float64 { return Branin(1, 2) },
	"hartmann_opt": func() float64 {
		return Hartmann6([]float64{0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573})
	},
	"hartmann_05": func() float64 { return Hartmann6([]float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}) },
	"rosen_1":     func() float64 { return Rosenbrock([]float64{1, 1, 1, 1, 1}) },
	"rosen_0":     func() float64 { return Rosenbrock([]float64{0, 0.5, -1, 2, 3}) },
	"ackley_0":    func() float64 { return Ackley([]float64{0, 0, 0, 0, 0}) },
	"ackley_1":    func() float64 { return Ackley([]float64{1, -2, 0.5, 3, -4}) },
	"mixed_opt":   func() float64 { return MixedB(1.5, 1e-3, 7, 100, "c") },
	"mixed_1":     func() float64 { return MixedB(-2, 1e-4, 3, 10, "a") },
	"zdt1_f2":     func() float64 { _, f2 := ZDT(zdtPoint(), 1); return f2 },
	"zdt2_f2":     func() float64 { _, f2 := ZDT(zdtPoint(), 2); return f2 },
	"prune_cfg_s0_i0_lr": func() float64 {
		_, _, lr := PruningConfig(0, 0)
		return lr
	},
	"prune_curve_s0_i0_t10": func() float64 {
		x1, x2, lr := PruningConfig(0, 0)
		v, _ := Curve(x1, x2, lr, 0, 0, 10, 50)
		return v
	},
	"hv_example": func() float64 {
		return Hypervolume2D([][2]float64{{0.2, 0.8}, {0.5, 0.4}, {0.9, 0.1}}, [2]float64{1.1, 1.1})
	},
}

// zdtPoint is run_check's ZDT point: 0.25 followed by nine 0.1s.
func zdtPoint() []float64 {
	x := []float64{0.25}
	for range 9 {
		x = append(x, 0.1)
	}
	return x
}

func TestReferenceValues(t *testing.T) {
	t.Parallel()
	ref := readReference(t)
	for name := range referenceChecks {
		if _, ok := ref[name]; !ok {
			t.Errorf("check %q has no value in reference_values.txt", name)
		}
	}
	for name, want := range ref {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, ok := referenceChecks[name]
			if !ok {
				t.Fatalf("reference key %q is not checked; add it to referenceChecks", name)
			}
			if got := f(); !near(got, want) {
				t.Errorf("%s = %.12g, want %.9g", name, got, want)
			}
		})
	}
}

func TestBranin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		x1, x2 float64
		want   float64
	}{
		{name: "min -pi", x1: -math.Pi, x2: 12.275, want: 0.397887358},
		{name: "min pi", x1: math.Pi, x2: 2.275, want: 0.397887358},
		{name: "min 3pi", x1: 9.42478, x2: 2.475, want: 0.397887358},
		{name: "origin", x1: 0, x2: 0, want: 55.6021},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Branin(tt.x1, tt.x2); math.Abs(got-tt.want) > 1e-4 {
				t.Errorf("Branin(%v, %v) = %v, want %v", tt.x1, tt.x2, got, tt.want)
			}
		})
	}
}

func TestVectorFunctions(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	tests := []struct {
		name string
		f    func([]float64) float64
		fn   string
		x    []float64
		want float64
	}{
		{name: "sphere origin", f: Sphere, fn: "Sphere", x: []float64{0, 0, 0, 0, 0}, want: 0},
		{name: "sphere 1..3", f: Sphere, fn: "Sphere", x: []float64{1, -2, 3}, want: 14},
		{name: "sphere empty", f: Sphere, fn: "Sphere", x: nil, want: 0},
		{name: "rosenbrock ones", f: Rosenbrock, fn: "Rosenbrock", x: []float64{1, 1, 1, 1, 1}, want: 0},
		{name: "rosenbrock 2d origin", f: Rosenbrock, fn: "Rosenbrock", x: []float64{0, 0}, want: 1},
		{name: "rosenbrock one coordinate", f: Rosenbrock, fn: "Rosenbrock", x: []float64{3}, want: 0},
		{name: "ackley origin", f: Ackley, fn: "Ackley", x: []float64{0, 0, 0, 0, 0}, want: 0},
		{name: "ackley empty", f: Ackley, fn: "Ackley", x: nil, want: nan},
		{name: "hartmann6 short", f: Hartmann6, fn: "Hartmann6", x: []float64{0.5, 0.5}, want: nan},
		{name: "hartmann6 long", f: Hartmann6, fn: "Hartmann6", x: make([]float64, 7), want: nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.f(tt.x)
			if math.IsNaN(tt.want) {
				if !math.IsNaN(got) {
					t.Errorf("%s(%v) = %v, want NaN", tt.fn, tt.x, got)
				}
				return
			}
			if !near(got, tt.want) {
				t.Errorf("%s(%v) = %v, want %v", tt.fn, tt.x, got, tt.want)
			}
		})
	}
}

func TestMixedB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		x, lr    float64
		depth, n int64
		kind     string
		want     float64
	}{
		{name: "optimum", x: 1.5, lr: 1e-3, depth: 7, n: 100, kind: "c", want: 0},
		{name: "kind a", x: 1.5, lr: 1e-3, depth: 7, n: 100, kind: "a", want: 1},
		{name: "kind b", x: 1.5, lr: 1e-3, depth: 7, n: 100, kind: "b", want: 0.5},
		{name: "kind d", x: 1.5, lr: 1e-3, depth: 7, n: 100, kind: "d", want: 2},
		// At lr=1e-2 the best x is 2, leaving only the lr term L^2 = 1.
		{name: "x follows lr", x: 2, lr: 1e-2, depth: 7, n: 100, kind: "c", want: 1},
		{name: "depth", x: 1.5, lr: 1e-3, depth: 10, n: 100, kind: "c", want: 1},
		{name: "n", x: 1.5, lr: 1e-3, depth: 7, n: 1000, kind: "c", want: 1},
		{name: "unknown kind", x: 1.5, lr: 1e-3, depth: 7, n: 100, kind: "e", want: math.NaN()},
		{name: "empty kind", x: 1.5, lr: 1e-3, depth: 7, n: 100, kind: "", want: math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := MixedB(tt.x, tt.lr, tt.depth, tt.n, tt.kind)
			if (math.IsNaN(tt.want) && !math.IsNaN(got)) || (!math.IsNaN(tt.want) && !near(got, tt.want)) {
				t.Errorf("MixedB(%v, %v, %v, %v, %q) = %v, want %v", tt.x, tt.lr, tt.depth, tt.n, tt.kind, got, tt.want)
			}
		})
	}
}

func TestZDT(t *testing.T) {
	t.Parallel()
	front := func(f1 float64) []float64 { return []float64{f1, 0, 0, 0, 0, 0, 0, 0, 0, 0} }
	tests := []struct {
		name         string
		x            []float64
		which        int
		want1, want2 float64
		wantNaN      bool
	}{
		{name: "zdt1 front", x: front(0.25), which: 1, want1: 0.25, want2: 0.5},
		{name: "zdt2 front", x: front(0.5), which: 2, want1: 0.5, want2: 0.75},
		{name: "zdt1 worst", x: []float64{0, 1, 1, 1, 1, 1, 1, 1, 1, 1}, which: 1, want1: 0, want2: 10},
		{name: "zdt2 f1 1 on front", x: front(1), which: 2, want1: 1, want2: 0},
		{name: "unknown which", x: front(0.5), which: 3, wantNaN: true},
		{name: "one variable", x: []float64{0.5}, which: 1, wantNaN: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f1, f2 := ZDT(tt.x, tt.which)
			if tt.wantNaN {
				if !math.IsNaN(f1) || !math.IsNaN(f2) {
					t.Errorf("ZDT(%v, %d) = (%v, %v), want (NaN, NaN)", tt.x, tt.which, f1, f2)
				}
				return
			}
			if !near(f1, tt.want1) || !near(f2, tt.want2) {
				t.Errorf("ZDT(%v, %d) = (%v, %v), want (%v, %v)", tt.x, tt.which, f1, f2, tt.want1, tt.want2)
			}
		})
	}
}

func TestHypervolume2D(t *testing.T) {
	t.Parallel()
	ref := [2]float64{1.1, 1.1}
	tests := []struct {
		name   string
		points [][2]float64
		ref    [2]float64
		want   float64
	}{
		{name: "nil", points: nil, ref: ref, want: 0},
		{name: "empty", points: [][2]float64{}, ref: ref, want: 0},
		{name: "single", points: [][2]float64{{0.1, 0.1}}, ref: ref, want: 1},
		{name: "example sorted", points: [][2]float64{{0.2, 0.8}, {0.5, 0.4}, {0.9, 0.1}}, ref: ref, want: 0.57},
		{name: "example unsorted", points: [][2]float64{{0.9, 0.1}, {0.2, 0.8}, {0.5, 0.4}}, ref: ref, want: 0.57},
		{name: "dominated points add nothing",
			points: [][2]float64{{0.6, 0.9}, {0.2, 0.8}, {1.0, 1.0}, {0.5, 0.4}, {0.95, 0.2}, {0.9, 0.1}},
			ref:    ref, want: 0.57},
		{name: "same f1 keeps the better f2", points: [][2]float64{{0.1, 0.6}, {0.1, 0.1}}, ref: ref, want: 1},
		{name: "duplicates", points: [][2]float64{{0.1, 0.1}, {0.1, 0.1}}, ref: ref, want: 1},
		{name: "outside ref", points: [][2]float64{{1.2, 0.1}, {0.1, 1.5}, {2, 2}}, ref: ref, want: 0},
		{name: "on ref boundary", points: [][2]float64{{1.1, 0.1}, {0.1, 1.1}}, ref: ref, want: 0},
		{name: "outside mixed with inside", points: [][2]float64{{1.2, 0}, {0.1, 0.1}, {0, 1.2}}, ref: ref, want: 1},
		{name: "NaN ignored", points: [][2]float64{{math.NaN(), 0}, {0.1, 0.1}}, ref: ref, want: 1},
		{name: "zdt ref", points: [][2]float64{{0, 1}, {1, 0}}, ref: [2]float64{1.1, 11}, want: 1.1*10 + 0.1*1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := fmt.Sprint(tt.points)
			if got := Hypervolume2D(tt.points, tt.ref); !near(got, tt.want) {
				t.Errorf("Hypervolume2D(%v, %v) = %v, want %v", tt.points, tt.ref, got, tt.want)
			}
			if after := fmt.Sprint(tt.points); after != before {
				t.Errorf("Hypervolume2D modified its input: %v, was %v", after, before)
			}
		})
	}
}

func TestPruningConfigRanges(t *testing.T) {
	t.Parallel()
	for seed := range 10 {
		for i := range 100 {
			x1, x2, lr := PruningConfig(seed, i)
			if x1 < -5 || x1 >= 5 || x2 < -5 || x2 >= 5 || lr < 1e-4 || lr >= 1e-1 {
				t.Fatalf("PruningConfig(%d, %d) = (%v, %v, %v), out of range", seed, i, x1, x2, lr)
			}
		}
	}
}

func TestCurve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		seed, i int
		step    int
	}{
		{name: "s0 i0 first", seed: 0, i: 0, step: 1},
		{name: "s0 i0 last", seed: 0, i: 0, step: 50},
		{name: "s3 i42 mid", seed: 3, i: 42, step: 25},
		{name: "s9 i99 last", seed: 9, i: 99, step: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x1, x2, lr := PruningConfig(tt.seed, tt.i)
			v, final := Curve(x1, x2, lr, tt.seed, tt.i, tt.step, 50)
			other, _ := Curve(x1, x2, lr, tt.seed, tt.i, tt.step, tt.step)
			_, noiseFree := Curve(x1, x2, lr, tt.seed, tt.i, 1, tt.step)
			if math.Abs(v-noiseFree) > 0.01+1e-12 {
				t.Errorf("Curve(..., step %d) = %v, more than 0.01 from its noise-free value %v", tt.step, v, noiseFree)
			}
			if other != v {
				t.Errorf("Curve value depends on steps: %v with steps=50, %v with steps=%d", v, other, tt.step)
			}
			if final <= 0 || final > 1 {
				t.Errorf("Curve(...) finalNoiseFree = %v, want in (0, 1]", final)
			}
		})
	}
	// The quality peaks at 1 at x1=1, x2=-2, lr=10^-2.5 (tau = 17.5).
	_, final := Curve(1, -2, math.Pow(10, -2.5), 0, 0, 1, 50)
	if want := 1 - math.Exp(-50/17.5); !near(final, want) {
		t.Errorf("Curve(1, -2, 10^-2.5, ...) finalNoiseFree = %v, want %v", final, want)
	}
}

func TestProblemsTable(t *testing.T) {
	t.Parallel()
	box := func(n int) []string {
		var s []string
		for i := range n {
			s = append(s, "x"+strconv.Itoa(i))
		}
		return s
	}
	x5 := map[string]any{}
	for _, k := range box(5) {
		x5[k] = 0.0
	}
	ones5 := map[string]any{}
	for _, k := range box(5) {
		ones5[k] = 1.0
	}
	hart := map[string]any{}
	for i, v := range []float64{0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573} {
		hart["x"+strconv.Itoa(i)] = v
	}
	tests := []struct {
		name    string
		params  []string
		optimum float64
		argmin  map[string]any
	}{
		{name: "sphereA", params: box(5), optimum: 0, argmin: x5},
		{name: "branin", params: box(2), optimum: 0.397887, argmin: map[string]any{"x0": math.Pi, "x1": 2.275}},
		{name: "hartmann6", params: box(6), optimum: -3.32237, argmin: hart},
		{name: "rosenbrock5", params: box(5), optimum: 0, argmin: ones5},
		{name: "ackley5", params: box(5), optimum: 0, argmin: x5},
		{name: "mixedB", params: []string{"x", "lr", "depth", "n", "kind"}, optimum: 0,
			argmin: map[string]any{"x": 1.5, "lr": 1e-3, "depth": int64(7), "n": int64(100), "kind": "c"}},
	}
	if len(Problems) != len(tests) {
		t.Fatalf("len(Problems) = %d, want %d", len(Problems), len(tests))
	}
	for k, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Problems[k]
			if p.Name != tt.name {
				t.Fatalf("Problems[%d].Name = %q, want %q", k, p.Name, tt.name)
			}
			if p.Optimum != tt.optimum {
				t.Errorf("%s: Optimum = %v, want %v", p.Name, p.Optimum, tt.optimum)
			}
			if len(p.Space) != len(tt.params) {
				t.Fatalf("%s: %d params, want %d", p.Name, len(p.Space), len(tt.params))
			}
			low := map[string]any{}
			for j, sp := range p.Space {
				if sp.Name != tt.params[j] {
					t.Errorf("%s: param %d = %q, want %q", p.Name, j, sp.Name, tt.params[j])
				}
				switch sp.Kind {
				case "float":
					if !(sp.Low < sp.High) || (sp.Log && sp.Low <= 0) || len(sp.Choices) != 0 {
						t.Errorf("%s: bad float param %+v", p.Name, sp)
					}
					low[sp.Name] = sp.Low
				case "int":
					if !(sp.Low < sp.High) || sp.Low != math.Trunc(sp.Low) || sp.High != math.Trunc(sp.High) ||
						(sp.Log && sp.Low <= 0) || len(sp.Choices) != 0 {
						t.Errorf("%s: bad int param %+v", p.Name, sp)
					}
					low[sp.Name] = int64(sp.Low)
				case "categorical":
					if len(sp.Choices) == 0 || sp.Log {
						t.Errorf("%s: bad categorical param %+v", p.Name, sp)
					}
					low[sp.Name] = sp.Choices[0]
				default:
					t.Errorf("%s: param %q has kind %q", p.Name, sp.Name, sp.Kind)
				}
			}
			if got := p.Eval(tt.argmin); !near(got, p.Optimum) {
				t.Errorf("%s: Eval(%v) = %v, want %v", p.Name, tt.argmin, got, p.Optimum)
			}
			// Any point of the space, here every parameter at its lower
			// bound (first choice), evaluates to a finite value above the optimum.
			if got := p.Eval(low); math.IsNaN(got) || math.IsInf(got, 0) || got < p.Optimum {
				t.Errorf("%s: Eval(%v) = %v, want finite and >= %v", p.Name, low, got, p.Optimum)
			}
		})
	}
}

func TestEvalPanicsOnWrongType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		problem int
		params  map[string]any
	}{
		{name: "branin missing x1", problem: 1, params: map[string]any{"x0": 1.0}},
		{name: "branin int x0", problem: 1, params: map[string]any{"x0": 1, "x1": 2.0}},
		{name: "mixedB int depth", problem: 5,
			params: map[string]any{"x": 1.5, "lr": 1e-3, "depth": 7, "n": int64(100), "kind": "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Eval(%v) did not panic", Problems[tt.problem].Name, tt.params)
				}
			}()
			Problems[tt.problem].Eval(tt.params)
		})
	}
}
