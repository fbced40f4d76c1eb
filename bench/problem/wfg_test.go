package problem

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// wfgConfig is one choice of objectives m, position parameters k and
// distance parameters l.
type wfgConfig struct{ m, k, l int }

// wfgConfigs are the settings the front tests use: WFGDims's for m = 2, 3, 4
// and a small one with k = 6, l = 4 for each m.
func wfgConfigs() []wfgConfig {
	var cs []wfgConfig
	for m := 2; m <= 4; m++ {
		k, l := WFGDims(m)
		cs = append(cs, wfgConfig{m, k, l}, wfgConfig{m, 6, 4})
	}
	return cs
}

// wfgV is b_param's v(u) with A = 0.98/49.98.
func wfgV(u float64) float64 {
	const a = 0.98 / 49.98
	return a - (1-2*u)*math.Abs(math.Floor(0.5-u)+a)
}

// wfgOptimal returns a decision vector z of problem which whose normalized
// position parameters are pos and whose l distance parameters are optimal,
// constructed as the toolkit's generators of Pareto-optimal solutions do:
// y_i = 0.35 for WFG1 to WFG7; for WFG8 and WFG9 the y_i that b_param maps
// to 0.35 given the mean u of the y before it (WFG8, first to last) or after
// it (WFG9, last to first, the last one being 0.35).
func wfgOptimal(which int, pos []float64, l int) []float64 {
	k := len(pos)
	n := k + l
	y := append(append([]float64(nil), pos...), make([]float64, l)...)
	for i := k; i < n; i++ {
		y[i] = 0.35
	}
	solve := func(u float64) float64 { return math.Pow(0.35, 1/(0.02+49.98*wfgV(u))) }
	mean := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	switch which {
	case 8:
		for i := k; i < n; i++ {
			y[i] = solve(mean(y[:i]))
		}
	case 9:
		for i := n - 2; i >= k; i-- {
			y[i] = solve(mean(y[i+1:]))
		}
	}
	z := make([]float64, n)
	for i, v := range y {
		z[i] = v * 2 * float64(i+1)
	}
	return z
}

// wfgExactOptimum reports whether every distance parameter of z normalizes
// back to exactly 0.35. It does not for 2(i+1) in {6, 12, 24, ...}, which
// WFG1's b_poly magnifies (see WFG's doc comment).
func wfgExactOptimum(z []float64, k int) bool {
	for i := k; i < len(z); i++ {
		if z[i]/(2*float64(i+1)) != 0.35 {
			return false
		}
	}
	return true
}

// groupPositions returns k normalized position parameters equal to v[j]
// throughout the j-th of the m-1 groups.
func groupPositions(v []float64, k int) []float64 {
	g := k / len(v)
	pos := make([]float64, k)
	for i := range pos {
		pos[i] = v[i/g]
	}
	return pos
}

// convexFront returns 2j convex_j(x) for j < M and 2M last for the last
// objective, M = len(x)+1, straight from the paper's definition.
func convexFront(x []float64, last float64) []float64 {
	mm := len(x) + 1
	f := make([]float64, mm)
	for j := 1; j < mm; j++ {
		h := 1.0
		for i := 1; i <= mm-j; i++ {
			h *= 1 - math.Cos(x[i-1]*math.Pi/2)
		}
		if j > 1 {
			h *= 1 - math.Sin(x[mm-j]*math.Pi/2)
		}
		f[j-1] = 2 * float64(j) * h
	}
	f[mm-1] = 2 * float64(mm) * last
	return f
}

// sphere returns sum_j (f_j/(2j))^2, 1 on the front of WFG4 to WFG9.
func sphere(f []float64) float64 {
	s := 0.0
	for j, v := range f {
		r := v / (2 * float64(j+1))
		s += r * r
	}
	return s
}

// plane returns sum_j f_j/(2j), 1 on WFG3's front.
func plane(f []float64) float64 {
	s := 0.0
	for j, v := range f {
		s += v / (2 * float64(j+1))
	}
	return s
}

func closeAbs(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestWFGDims(t *testing.T) {
	for m, want := range map[int][2]int{2: {2, 20}, 3: {4, 20}, 4: {6, 20}, 5: {8, 20}} {
		if k, l := WFGDims(m); k != want[0] || l != want[1] {
			t.Errorf("WFGDims(%d) = %d, %d; want %d, %d", m, k, l, want[0], want[1])
		}
	}
}

// TestWFGTransformations checks the transformation functions at points whose
// values follow from their definitions in the paper.
func TestWFGTransformations(t *testing.T) {
	cases := []struct {
		name      string
		got, want float64
	}{
		{"s_linear(A)", sLinear(0.35, 0.35), 0},
		{"s_linear(0)", sLinear(0, 0.35), 1},
		{"s_linear(1)", sLinear(1, 0.35), 1},
		{"b_flat(0)", bFlat(0, 0.8, 0.75, 0.85), 0},
		{"b_flat(B)", bFlat(0.75, 0.8, 0.75, 0.85), 0.8},
		{"b_flat(0.8)", bFlat(0.8, 0.8, 0.75, 0.85), 0.8},
		{"b_flat(C)", bFlat(0.85, 0.8, 0.75, 0.85), 0.8},
		{"b_flat(1)", bFlat(1, 0.8, 0.75, 0.85), 1},
		{"b_flat(B/2)", bFlat(0.375, 0.8, 0.75, 0.85), 0.4},
		{"b_poly", bPoly(0.25, 0.5), 0.5},
		{"b_param(u=1/2) is identity", bParam(0.3, 0.5, 0.98/49.98, 0.02, 50), 0.3},
		{"b_param(u=0) is y^B", bParam(0.3, 0, 0.98/49.98, 0.02, 50), math.Pow(0.3, 0.02)},
		{"b_param(u=1) is y^C", bParam(0.9, 1, 0.98/49.98, 0.02, 50), math.Pow(0.9, 50)},
		{"s_decept(A)", sDecept(0.35, 0.35, 0.001, 0.05), 0},
		{"s_decept(0)", sDecept(0, 0.35, 0.001, 0.05), 0.05},
		{"s_decept(1)", sDecept(1, 0.35, 0.001, 0.05), 0.05},
		{"s_decept(A+B)", sDecept(0.351, 0.35, 0.001, 0.05), 1},
		{"s_multi(C)", sMulti(0.35, 30, 10, 0.35), 0},
		{"s_multi(0)", sMulti(0, 30, 10, 0.35), 1},
		{"s_multi(1)", sMulti(1, 30, 95, 0.35), 1},
		{"r_sum", rSum([]float64{0.2, 0.8}, []float64{3, 1}), 0.35},
		{"r_mean", rMean([]float64{0.2, 0.4, 0.9}), 0.5},
		{"r_nonsep(0)", rNonsep([]float64{0, 0, 0, 0}, 2), 0},
		{"r_nonsep alternating", rNonsep([]float64{1, 0, 1, 0}, 2), 1},
		{"r_nonsep(A=1) is the mean", rNonsep([]float64{0.2, 0.4, 0.9}, 1), 0.5},
		// (0.1+0.4+0.3) + (0.5+0.1+0.4) + (0.4+0.3+0.1) = 2.6, over (3/3)*2*(1+6-4) = 6.
		{"r_nonsep(A=3)", rNonsep([]float64{0.1, 0.5, 0.4}, 3), 2.6 / 6},
	}
	for _, c := range cases {
		if !closeAbs(c.got, c.want, 1e-12) {
			t.Errorf("%s = %.17g, want %.17g", c.name, c.got, c.want)
		}
	}
}

// TestWFGParetoFront evaluates points with optimal distance parameters and
// checks that they lie on each problem's front.
func TestWFGParetoFront(t *testing.T) {
	rng := rand.New(rand.NewPCG(2006, 10))
	const tol = 1e-9
	wfg1Checked := 0
	for _, c := range wfgConfigs() {
		for trial := range 30 {
			// Position values per group: the corners on the first trials,
			// then uniform ones.
			v := make([]float64, c.m-1)
			for j := range v {
				switch trial {
				case 0:
					v[j] = 0
				case 1:
					v[j] = 1
				default:
					v[j] = rng.Float64()
				}
			}
			name := fmt.Sprintf("m=%d k=%d l=%d v=%v", c.m, c.k, c.l, v)

			// WFG1: t_j = v_j after b_poly(., 0.02), so the groups hold v^50.
			p1 := make([]float64, len(v))
			for j, x := range v {
				p1[j] = math.Pow(x, 50)
			}
			z := wfgOptimal(1, groupPositions(p1, c.k), c.l)
			if wfgExactOptimum(z, c.k) {
				x := v[0]
				want := convexFront(v, 1-x-math.Cos(10*math.Pi*x+math.Pi/2)/(10*math.Pi))
				checkFront(t, "WFG1 "+name, WFG(1, z, c.m, c.k), want, tol)
				wfg1Checked++
			}

			// WFG2: t_j = v_j, the group means.
			z = wfgOptimal(2, groupPositions(v, c.k), c.l)
			x := v[0]
			cs := math.Cos(5 * math.Pi * x)
			checkFront(t, "WFG2 "+name, WFG(2, z, c.m, c.k), convexFront(v, 1-x*cs*cs), tol)

			// WFG3: x_1 = v_1 and x_2 = ... = x_{m-1} = 1/2: the line
			// h_1 = v_1/2^(m-2), h_j = v_1/2^(m-j) for 1 < j < m, h_m = 1-v_1.
			z = wfgOptimal(3, groupPositions(v, c.k), c.l)
			f := WFG(3, z, c.m, c.k)
			want := make([]float64, c.m)
			for j := 1; j <= c.m; j++ {
				var h float64
				switch {
				case j == 1:
					h = x / math.Pow(2, float64(c.m-2))
				case j < c.m:
					h = x / math.Pow(2, float64(c.m-j))
				default:
					h = 1 - x
				}
				want[j-1] = 2 * float64(j) * h
			}
			checkFront(t, "WFG3 "+name, f, want, tol)
			if p := plane(f); !closeAbs(p, 1, tol) {
				t.Errorf("WFG3 %s: sum f_j/(2j) = %.17g, want 1", name, p)
			}

			// WFG4 to WFG9: any position parameters, the unit sphere.
			pos := make([]float64, c.k)
			for i := range pos {
				pos[i] = rng.Float64()
			}
			if trial < 2 {
				pos = groupPositions(v, c.k)
			}
			for which := 4; which <= 9; which++ {
				f := WFG(which, wfgOptimal(which, pos, c.l), c.m, c.k)
				if s := sphere(f); !closeAbs(s, 1, tol) {
					t.Errorf("WFG%d %s pos=%v: sum (f_j/(2j))^2 = %.17g, want 1 (f=%v)", which, name, pos, s, f)
				}
			}
		}
	}
	if wfg1Checked == 0 {
		t.Error("no WFG1 front point checked")
	}
}

func checkFront(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	for j := range want {
		if !closeAbs(got[j], want[j], tol) {
			t.Errorf("%s: f = %v, want %v", name, got, want)
			return
		}
	}
}

// TestWFGDominated moves the distance parameters off their optimum and checks
// the point gets worse: every objective strictly larger than at the optimum
// with the same position parameters (x_m > 0 is added to each, the rest is
// unchanged), except in WFG3, where x_2, ..., x_{m-1} move with x_m (only f_m
// is sure to grow, and the point leaves the plane), and WFG7 and WFG9, whose
// b_param on the position parameters reads the distance parameters (there
// the point is strictly dominated by its radial projection on the sphere:
// every f_j >= x_m > 0).
func TestWFGDominated(t *testing.T) {
	rng := rand.New(rand.NewPCG(2006, 11))
	for _, c := range wfgConfigs() {
		for trial := range 20 {
			pos := make([]float64, c.k)
			for i := range pos {
				pos[i] = rng.Float64()
			}
			for which := 1; which <= 9; which++ {
				opt := wfgOptimal(which, pos, c.l)
				if which == 1 && !wfgExactOptimum(opt, c.k) {
					continue
				}
				bad := append([]float64(nil), opt...)
				if trial%2 == 0 {
					// One distance parameter nudged by 0.01 (normalized).
					i := c.k + rng.IntN(c.l)
					bad[i] += 0.01 * 2 * float64(i+1)
				} else {
					for i := c.k; i < len(bad); i++ {
						bad[i] = rng.Float64() * 2 * float64(i+1)
					}
				}
				fo, fb := WFG(which, opt, c.m, c.k), WFG(which, bad, c.m, c.k)
				name := fmt.Sprintf("WFG%d m=%d k=%d l=%d trial %d", which, c.m, c.k, c.l, trial)
				switch which {
				case 3:
					if !(fb[c.m-1] > fo[c.m-1]) || !(plane(fb) > 1) {
						t.Errorf("%s: f = %v not beyond optimum %v", name, fb, fo)
					}
				case 7, 9:
					if !(sphere(fb) > 1) {
						t.Errorf("%s: f = %v inside or on the front", name, fb)
					}
				default:
					for j := range fb {
						if !(fb[j] > fo[j]) {
							t.Errorf("%s: f = %v does not exceed optimum %v", name, fb, fo)
							break
						}
					}
					if which >= 4 && !(sphere(fb) > 1) {
						t.Errorf("%s: f = %v inside or on the front", name, fb)
					}
				}
			}
		}
	}
}

// TestWFG1FloatOptimum pins the float64 behavior described in WFG's doc
// comment: with WFGDims(3) the distance parameter i = 5 (2(i+1) = 12) cannot
// normalize to 0.35, and WFG1's b_poly turns the one-ulp residue into about
// 0.48, which shifts every objective of the would-be optimum by the same
// x_m > 0.
func TestWFG1FloatOptimum(t *testing.T) {
	const m = 3
	k, l := WFGDims(m)
	v := []float64{0.3, 0.6}
	p := []float64{math.Pow(v[0], 50), math.Pow(v[1], 50)}
	z := wfgOptimal(1, groupPositions(p, k), l)
	if wfgExactOptimum(z, k) {
		t.Fatalf("all distance parameters normalize to 0.35 exactly")
	}
	if y := z[5] / 12; y == 0.35 || bPoly(bFlat(sLinear(y, 0.35), 0.8, 0.75, 0.85), 0.02) < 0.4 {
		t.Fatalf("z[5]/12 = %.17g: residue not magnified", y)
	}
	f := WFG(1, z, m, k)
	x := v[0]
	front := convexFront(v, 1-x-math.Cos(10*math.Pi*x+math.Pi/2)/(10*math.Pi))
	shift := f[0] - front[0]
	if !(shift > 0.01) {
		t.Fatalf("f = %v, front point %v: shift %g, want > 0.01", f, front, shift)
	}
	for j := range f {
		if !closeAbs(f[j]-front[j], shift, 1e-9) {
			t.Errorf("f = %v, front point %v: objective %d shifted by %g, not %g", f, front, j+1, f[j]-front[j], shift)
		}
	}
}

// TestWFGMatchesPython reproduces bench/testdata/wfg_values.txt, printed by
// bench/wfg.py: WFG1 to WFG9 at fixed points for m = 3 and 4 with WFGDims.
// Values agree to 1e-9 relative (1e-12 absolute near zero, where a different
// last bit of cos(pi/2) shows).
func TestWFGMatchesPython(t *testing.T) {
	path := filepath.Join("..", "testdata", "wfg_values.txt")
	file, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer file.Close()
	parseList := func(s string) ([]float64, error) {
		var out []float64
		for _, f := range strings.Split(s, ",") {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	points := map[[2]int][]float64{}
	checked := map[[2]int]int{} // [which, m] -> values compared
	sc := bufio.NewScanner(file)
	sc.Buffer(nil, 1<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var head, list string
		var m, id int
		if strings.HasPrefix(line, "point ") {
			if _, err := fmt.Sscanf(line, "point m=%d id=%d z=%s", &m, &id, &list); err != nil {
				t.Fatalf("%s:%d: %v", path, ln, err)
			}
			z, err := parseList(list)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, ln, err)
			}
			points[[2]int{m, id}] = z
			continue
		}
		var which int
		if _, err := fmt.Sscanf(line, "%s m=%d point=%d f=%s", &head, &m, &id, &list); err != nil {
			t.Fatalf("%s:%d: %v", path, ln, err)
		}
		if _, err := fmt.Sscanf(head, "wfg%d", &which); err != nil {
			t.Fatalf("%s:%d: %q: %v", path, ln, head, err)
		}
		want, err := parseList(list)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, ln, err)
		}
		z, ok := points[[2]int{m, id}]
		if !ok {
			t.Fatalf("%s:%d: no point m=%d id=%d", path, ln, m, id)
		}
		k, l := WFGDims(m)
		if len(z) != k+l || len(want) != m {
			t.Fatalf("%s:%d: %d variables and %d objectives, want %d and %d", path, ln, len(z), len(want), k+l, m)
		}
		got := WFG(which, z, m, k)
		for j := range want {
			d := math.Abs(got[j] - want[j])
			if !(d <= 1e-9*math.Max(math.Abs(got[j]), math.Abs(want[j])) || d <= 1e-12) {
				t.Errorf("%s:%d: WFG%d m=%d point %d: f_%d = %.17g, Python %.17g", path, ln, which, m, id, j+1, got[j], want[j])
			}
		}
		checked[[2]int{which, m}] += len(want)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	for which := 1; which <= 9; which++ {
		for _, m := range []int{3, 4} {
			if checked[[2]int{which, m}] == 0 {
				t.Errorf("%s: no values for WFG%d m=%d", path, which, m)
			}
		}
	}
}

func TestWFGInvalid(t *testing.T) {
	valid := func(n int) []float64 {
		z := make([]float64, n)
		for i := range z {
			z[i] = float64(i + 1) // the middle of [0, 2(i+1)]
		}
		return z
	}
	withAt := func(i int, v float64) []float64 { z := valid(24); z[i] = v; return z }
	cases := []struct {
		name         string
		which, m, k  int
		z            []float64
		wantFiniteOK bool
	}{
		{"valid", 4, 3, 4, valid(24), true},
		{"lower bounds", 1, 3, 4, make([]float64, 24), true},
		{"odd l for WFG4", 4, 3, 4, valid(25), true},
		{"which 0", 0, 3, 4, valid(24), false},
		{"which 10", 10, 3, 4, valid(24), false},
		{"m 1", 4, 1, 4, valid(24), false},
		{"k 0", 4, 3, 0, valid(24), false},
		{"k not a multiple of m-1", 4, 3, 3, valid(24), false},
		{"no distance parameter", 4, 3, 4, valid(4), false},
		{"odd l for WFG2", 2, 3, 4, valid(25), false},
		{"odd l for WFG3", 3, 3, 4, valid(25), false},
		{"negative z", 5, 3, 4, withAt(7, -1e-12), false},
		{"z above 2(i+1)", 6, 3, 4, withAt(7, 16.000000001), false},
		{"NaN z", 7, 3, 4, withAt(0, math.NaN()), false},
		{"Inf z", 8, 3, 4, withAt(23, math.Inf(1)), false},
	}
	for _, c := range cases {
		before := append([]float64(nil), c.z...)
		f := WFG(c.which, c.z, c.m, c.k)
		if len(f) != c.m {
			t.Errorf("%s: %d objectives, want %d", c.name, len(f), c.m)
			continue
		}
		for _, v := range f {
			if finite := !math.IsNaN(v) && !math.IsInf(v, 0); finite != c.wantFiniteOK {
				t.Errorf("%s: f = %v", c.name, f)
				break
			}
		}
		for i := range before {
			if before[i] != c.z[i] && !(math.IsNaN(before[i]) && math.IsNaN(c.z[i])) {
				t.Errorf("%s: z modified", c.name)
				break
			}
		}
	}
	for _, m := range []int{0, -1} {
		if f := WFG(4, valid(24), m, 4); f != nil {
			t.Errorf("m=%d: got %v, want nil", m, f)
		}
	}
	// The upper bounds are in the domain.
	for which := 1; which <= 9; which++ {
		z := valid(24)
		for i := range z {
			z[i] = 2 * float64(i+1)
		}
		for _, v := range WFG(which, z, 3, 4) {
			if math.IsNaN(v) {
				t.Errorf("WFG%d at the upper bounds: NaN", which)
			}
		}
	}
}
