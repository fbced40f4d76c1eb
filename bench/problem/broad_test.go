package problem

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// fixedParams is bench/optuna_more.py's fixed_params: a deterministic point of space.
func fixedParams(space []Param, point int) map[string]any {
	p := map[string]any{}
	for j, sp := range space {
		u := HashUnit(3, uint64(point), uint64(j))
		switch sp.Kind {
		case "float":
			if sp.Log {
				p[sp.Name] = math.Exp(math.Log(sp.Low) + u*(math.Log(sp.High)-math.Log(sp.Low)))
			} else {
				p[sp.Name] = sp.Low + (sp.High-sp.Low)*u
			}
		case "int":
			p[sp.Name] = int64(sp.Low) + int64(math.Floor(u*(sp.High-sp.Low+1)))
		default:
			p[sp.Name] = sp.Choices[int(math.Floor(u*float64(len(sp.Choices))))]
		}
	}
	return p
}

// randomParams draws a uniform point of space (log-uniform where Log is set).
func randomParams(space []Param, r *rand.Rand) map[string]any {
	p := map[string]any{}
	for _, sp := range space {
		u := r.Float64()
		switch sp.Kind {
		case "float":
			if sp.Log {
				p[sp.Name] = math.Exp(math.Log(sp.Low) + u*(math.Log(sp.High)-math.Log(sp.Low)))
			} else {
				p[sp.Name] = sp.Low + (sp.High-sp.Low)*u
			}
		case "int":
			if sp.Log {
				v := math.Round(math.Exp(math.Log(sp.Low) + u*(math.Log(sp.High)-math.Log(sp.Low))))
				p[sp.Name] = int64(math.Min(math.Max(v, sp.Low), sp.High))
			} else {
				p[sp.Name] = int64(sp.Low) + r.Int64N(int64(sp.High-sp.Low)+1)
			}
		default:
			p[sp.Name] = sp.Choices[r.IntN(len(sp.Choices))]
		}
	}
	return p
}

// constParams sets x0…x{d-1} to the given values.
func constParams(vals ...float64) map[string]any {
	p := map[string]any{}
	for i, v := range vals {
		p["x"+strconv.Itoa(i)] = v
	}
	return p
}

func repeat(v float64, d int) []float64 {
	x := make([]float64, d)
	for i := range x {
		x[i] = v
	}
	return x
}

// broadArgmins are the minimizers bench/optuna_more.py's check mode evaluates as "opt".
var broadArgmins = map[string]map[string]any{
	"rastrigin10":  constParams(repeat(0, 10)...),
	"schwefel10":   constParams(repeat(420.9687436961694, 10)...),
	"levy10":       constParams(repeat(1, 10)...),
	"ellipsoid10":  constParams(EllipsoidShift...),
	"styblinski16": constParams(repeat(-2.903534027771177, 16)...),
	"rosenbrock20": constParams(repeat(1, 20)...),
	"michalewicz10": constParams(2.2029055201639234, 1.5707963267912002, 1.2849915705402493, 1.923058469859634,
		1.7204697725772549, 1.5707963267903287, 1.4544139713503035, 1.756086520937532,
		1.6557174168110769, 1.5707963267905574),
	"func3C": {"x0": 0.08984201310031806 / 2, "x1": -0.7126564030207396 / 2, "h1": "1", "h2": "1", "h3": "0"},
	"ackleyMixed": {"x0": 0.0, "x1": 0.0, "x2": 0.0, "n0": int64(0), "n1": int64(0), "n2": int64(0),
		"c0": "8", "c1": "8", "c2": "8", "c3": "8"},
	"hartmann6Noisy": constParams(0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573),
}

func findBroad(t *testing.T, name string) Problem {
	t.Helper()
	for _, p := range Broad {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no problem %q in Broad", name)
	return Problem{}
}

func findFamily(t *testing.T, name string) CurveFamily {
	t.Helper()
	for _, f := range CurveFamilies {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no curve family %q", name)
	return CurveFamily{}
}

// TestMoreValues reproduces the values bench/optuna_more.py --mode check prints
// (bench/testdata/more_values.txt) to 1e-9 relative, or 1e-12 absolute near 0: every Broad
// problem at its minimizer and three fixed points, its optimum constant exactly,
// hartmann6Noisy's noise, and each curve family at six fixed configurations.
func TestMoreValues(t *testing.T) {
	f, err := os.Open("../testdata/more_values.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 5 {
			t.Fatalf("line %q: want kind, name, point, detail and value", sc.Text())
		}
		kind, name, point, detail := fields[0], fields[1], fields[2], fields[3]
		want, err := strconv.ParseFloat(fields[4], 64)
		if err != nil {
			t.Fatal(err)
		}
		atoi := func(s string) int {
			v, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			return v
		}
		var got float64
		switch kind {
		case "optimum":
			if got = findBroad(t, name).Optimum; got != want {
				t.Errorf("%s: Optimum %v, Python's %v", name, got, want)
			}
		case "problem":
			p := findBroad(t, name)
			if point == "opt" {
				got = p.Eval(broadArgmins[name])
			} else {
				got = p.Eval(fixedParams(p.Space, atoi(point)))
			}
		case "noise":
			got = findBroad(t, name).Noise(atoi(point), atoi(detail))
		case "curve":
			fam := findFamily(t, name)
			step, steps, _ := strings.Cut(detail, "/")
			pt := atoi(point)
			got = fam.Value(fixedParams(fam.Space, pt), atoi(step), atoi(steps), 1, pt)
		case "final":
			fam := findFamily(t, name)
			got = fam.Final(fixedParams(fam.Space, atoi(point)), atoi(detail))
		default:
			t.Fatalf("line %q: unknown kind %q", sc.Text(), kind)
		}
		if d := math.Abs(got - want); !(d <= 1e-9*math.Abs(want) || d <= 1e-12) {
			t.Errorf("%s %s %s %s = %.17g, want %.17g", kind, name, point, detail, got, want)
		}
		seen[kind+" "+name]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, p := range Broad {
		if seen["problem "+p.Name] != 4 || seen["optimum "+p.Name] != 1 {
			t.Errorf("%s: %d values and %d optima checked, want 4 and 1", p.Name, seen["problem "+p.Name], seen["optimum "+p.Name])
		}
		if (p.Noise != nil) != (seen["noise "+p.Name] > 0) {
			t.Errorf("%s: noise %v, %d noise values checked", p.Name, p.Noise != nil, seen["noise "+p.Name])
		}
	}
	for _, fam := range CurveFamilies {
		if seen["curve "+fam.Name] != 30 || seen["final "+fam.Name] != 6 {
			t.Errorf("%s: %d curve values and %d finals checked, want 30 and 6", fam.Name, seen["curve "+fam.Name], seen["final "+fam.Name])
		}
	}
}

// Every Broad problem has a well-formed space and a name of its own; its minimizer gives
// its optimum (which is at most 1e-6 below, relatively, where rounded), no neighbour of
// the minimizer is lower, and points across the space evaluate to finite values no lower
// than the optimum.
func TestBroadProblems(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for _, p := range Problems {
		names[p.Name] = true
	}
	if len(Broad) < 8 {
		t.Fatalf("%d Broad problems, want at least 8", len(Broad))
	}
	for _, p := range Broad {
		if names[p.Name] {
			t.Errorf("problem %s listed twice", p.Name)
		}
		names[p.Name] = true
		seenParam := map[string]bool{}
		for _, sp := range p.Space {
			if seenParam[sp.Name] {
				t.Errorf("%s: param %s twice", p.Name, sp.Name)
			}
			seenParam[sp.Name] = true
			switch sp.Kind {
			case "float", "int":
				if !(sp.Low < sp.High) || (sp.Log && sp.Low <= 0) || (sp.Kind == "int" && (sp.Low != math.Trunc(sp.Low) || sp.High != math.Trunc(sp.High))) {
					t.Errorf("%s: bad param %+v", p.Name, sp)
				}
			case "categorical":
				if len(sp.Choices) < 2 {
					t.Errorf("%s: bad param %+v", p.Name, sp)
				}
			default:
				t.Errorf("%s: param %s has kind %q", p.Name, sp.Name, sp.Kind)
			}
		}
		argmin, ok := broadArgmins[p.Name]
		if !ok {
			t.Errorf("%s: no minimizer to test", p.Name)
			continue
		}
		best := p.Eval(argmin)
		if !(best >= p.Optimum) || !near(best, p.Optimum) {
			t.Errorf("%s: Eval(minimizer) = %.10g, want at most 1e-6 (relative) above the optimum %v", p.Name, best, p.Optimum)
		}
		for _, sp := range p.Space {
			var moves []any
			switch sp.Kind {
			case "float":
				v := argmin[sp.Name].(float64)
				h := 1e-4 * (sp.High - sp.Low)
				moves = []any{math.Max(sp.Low, v-h), math.Min(sp.High, v+h)}
			case "int":
				v := argmin[sp.Name].(int64)
				moves = []any{max(int64(sp.Low), v-1), min(int64(sp.High), v+1)}
			default:
				for _, c := range sp.Choices {
					moves = append(moves, c)
				}
			}
			for _, m := range moves {
				q := map[string]any{}
				for k, v := range argmin {
					q[k] = v
				}
				q[sp.Name] = m
				if got := p.Eval(q); got < best-1e-12 {
					t.Errorf("%s: %s = %v gives %.12g, below the minimizer's %.12g", p.Name, sp.Name, m, got, best)
				}
			}
		}
		r := rand.New(rand.NewPCG(3, uint64(len(p.Name))))
		for range 300 {
			q := randomParams(p.Space, r)
			if got := p.Eval(q); math.IsNaN(got) || math.IsInf(got, 0) || got < p.Optimum {
				t.Fatalf("%s: Eval(%v) = %v, want finite and >= %v", p.Name, q, got, p.Optimum)
			}
		}
	}
}

// hartmann6Noisy's noise is reproducible per (seed, trial), centred, with standard
// deviation 0.1, and differs between seeds and trials.
func TestHartmannNoise(t *testing.T) {
	t.Parallel()
	var s, s2 float64
	const n = 20000
	for i := range n {
		v := HartmannNoise(i%20, i/20)
		s += v
		s2 += v * v
	}
	mean := s / n
	sd := math.Sqrt(s2/n - mean*mean)
	if math.Abs(mean) > 0.004 || math.Abs(sd-0.1) > 0.004 {
		t.Errorf("noise mean %v and sd %v, want about 0 and 0.1", mean, sd)
	}
	if HartmannNoise(3, 7) != HartmannNoise(3, 7) || HartmannNoise(3, 7) == HartmannNoise(4, 7) || HartmannNoise(3, 7) == HartmannNoise(3, 8) {
		t.Errorf("noise not a function of (seed, trial) alone")
	}
	if p := findBroad(t, "hartmann6Noisy"); p.Noise == nil {
		t.Errorf("hartmann6Noisy has no noise")
	}
	for _, p := range Broad {
		if p.Name != "hartmann6Noisy" && p.Noise != nil {
			t.Errorf("%s has noise", p.Name)
		}
	}
}

func TestBroadInvalid(t *testing.T) {
	t.Parallel()
	for name, v := range map[string]float64{
		"ellipsoid of 9":     RotatedEllipsoid(make([]float64, 9)),
		"levy of none":       Levy(nil),
		"func3C h1 = 3":      Func3C(0, 0, 3, 0, 0),
		"func3C h2 = 5":      Func3C(0, 0, 0, 5, 0),
		"func3C h3 = -1":     Func3C(0, 0, 0, 0, -1),
		"latebloom rmsprop":  LateBloom(1e-3, 64, "rmsprop", 10),
		"crossing linear":    Crossing(1e-2, "linear", 20, 10),
		"divergent instance": Divergent(1e-3, 2, 0.1, "instance", 10),
	} {
		if !math.IsNaN(v) {
			t.Errorf("%s = %v, want NaN", name, v)
		}
	}
	// The per-coordinate minimum of Styblinski–Tang is where its derivative vanishes.
	x := -2.903534027771177
	if d := 4*x*x*x - 32*x + 5; math.Abs(d) > 1e-12 {
		t.Errorf("Styblinski–Tang derivative at %v = %v", x, d)
	}
}
