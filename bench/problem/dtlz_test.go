package problem

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// fixedPoint is bench/optuna_mo.py's fixed_point: a deterministic point in [low, high]^n.
func fixedPoint(n, p int, low, high float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		v := math.Sin(12.9898*float64(i+1)+78.233*float64(p+1)) * 43758.5453
		x[i] = low + (high-low)*(v-math.Floor(v))
	}
	return x
}

// TestMOValues reproduces, to 1e-9 relative, the values bench/optuna_mo.py --mode check
// prints (bench/testdata/mo_values.txt): DTLZ1…7 with 3 and 4 objectives at three fixed
// points each, and MixedMO at four settings.
func TestMOValues(t *testing.T) {
	f, err := os.Open("../testdata/mo_values.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mixed := []struct {
		lr            float64
		layers, width int
		act           string
		dropout       float64
	}{{1e-3, 3, 256, "relu", 0.1}, {0.05, 8, 1024, "gelu", 0.5}, {2e-4, 1, 16, "sigmoid", 0}, {1e-2, 5, 100, "tanh", 0.25}}
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 {
			t.Fatalf("line %q: want a name, a point number and values", sc.Text())
		}
		p, err := strconv.Atoi(fields[1])
		if err != nil {
			t.Fatal(err)
		}
		var want []float64
		for _, s := range fields[2:] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, v)
		}
		var got []float64
		switch name := fields[0]; {
		case name == "mixedmo":
			c := mixed[p]
			e, k := MixedMO(c.lr, c.layers, c.width, c.act, c.dropout)
			got = []float64{e, k}
		case strings.HasPrefix(name, "dtlz"):
			which, _ := strconv.Atoi(name[4:5])
			m, _ := strconv.Atoi(name[6:])
			got = DTLZ(which, fixedPoint(m-1+DTLZDistance(which), p, 0, 1), m)
		default:
			t.Fatalf("unknown problem %q", name)
		}
		if len(got) != len(want) {
			t.Fatalf("%s point %d: %d values, want %d", fields[0], p, len(got), len(want))
		}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-9*math.Max(1, math.Abs(want[i])) {
				t.Errorf("%s point %d: f%d = %.15g, want %.15g", fields[0], p, i+1, got[i], want[i])
			}
		}
		lines++
	}
	if lines != 46 {
		t.Errorf("%d lines checked, want 46", lines)
	}
}

// TestDTLZFront checks points with the distance params at their optimum (1/2; 0 for DTLZ6;
// 0 for DTLZ7) against the known fronts, and that moving a distance param off its optimum
// gives a dominated point.
func TestDTLZFront(t *testing.T) {
	for _, m := range []int{2, 3, 4} {
		for which := 1; which <= 7; which++ {
			for p := range 5 {
				pos := fixedPoint(m-1, p, 0, 1)
				x := append(pos, make([]float64, DTLZDistance(which))...)
				opt := 0.5
				if which >= 6 {
					opt = 0
				}
				for i := m - 1; i < len(x); i++ {
					x[i] = opt
				}
				f := DTLZ(which, x, m)
				sum, sq := 0.0, 0.0
				for _, v := range f {
					sum += v
					sq += v * v
				}
				switch which {
				case 1:
					if math.Abs(sum-0.5) > 1e-12 {
						t.Errorf("DTLZ1 m=%d at %v: Σf = %v, want 1/2", m, x, sum)
					}
				case 2, 3, 4, 5, 6:
					if math.Abs(sq-1) > 1e-12 {
						t.Errorf("DTLZ%d m=%d at %v: Σf² = %v, want 1", which, m, x, sq)
					}
				case 7:
					// g = 1 on the front: f_m = 2(m - Σ f_i/2 (1 + sin 3π f_i)).
					h := float64(m)
					for i := range m - 1 {
						if f[i] != pos[i] {
							t.Errorf("DTLZ7: f%d = %v, want x%d = %v", i+1, f[i], i, pos[i])
						}
						h -= f[i] / 2 * (1 + math.Sin(3*math.Pi*f[i]))
					}
					if math.Abs(f[m-1]-2*h) > 1e-12 {
						t.Errorf("DTLZ7 m=%d: f%d = %v, want %v", m, m, f[m-1], 2*h)
					}
				}
				off := append([]float64(nil), x...)
				off[len(off)-1] = 0.9
				g := DTLZ(which, off, m)
				worse := false
				for i := range f {
					if g[i] < f[i]-1e-12 {
						t.Errorf("DTLZ%d m=%d: off the optimum f%d = %v < %v", which, m, i+1, g[i], f[i])
					}
					worse = worse || g[i] > f[i]
				}
				if !worse {
					t.Errorf("DTLZ%d m=%d: off the optimum %v is not dominated by %v", which, m, g, f)
				}
			}
		}
	}
}

func TestDTLZInvalid(t *testing.T) {
	for _, tt := range []struct {
		which int
		x     []float64
		m     int
	}{
		{0, []float64{0.5, 0.5, 0.5}, 3},
		{8, []float64{0.5, 0.5, 0.5}, 3},
		{2, []float64{0.5}, 3},
		{2, []float64{0.5, 1.5, 0.5}, 3},
		{2, []float64{0.5, math.NaN(), 0.5}, 3},
		{2, []float64{0.5, 0.5, 0.5}, 1},
	} {
		f := DTLZ(tt.which, tt.x, tt.m)
		if len(f) != tt.m {
			t.Errorf("DTLZ(%d, %v, %d) = %v: want %d NaNs", tt.which, tt.x, tt.m, f, tt.m)
		}
		for _, v := range f {
			if !math.IsNaN(v) {
				t.Errorf("DTLZ(%d, %v, %d) = %v: want NaNs", tt.which, tt.x, tt.m, f)
			}
		}
	}
	if f := DTLZ(2, []float64{0.5}, 0); f != nil {
		t.Errorf("DTLZ with 0 objectives = %v, want nil", f)
	}
	if e, c := MixedMO(1e-3, 3, 256, "swish", 0.1); !math.IsNaN(e) || !math.IsNaN(c) {
		t.Errorf("MixedMO with an unknown activation = %v, %v, want NaN", e, c)
	}
	if e, _ := MixedMO(1, 3, 256, "relu", 0.1); !math.IsNaN(e) {
		t.Errorf("MixedMO with lr 1 = %v, want NaN", e)
	}
}
