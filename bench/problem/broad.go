package problem

import (
	"math"
	"strconv"
)

// Broad lists single-objective problems of other kinds than Problems: many local optima
// (rastrigin10, schwefel10, levy10, michalewicz10), ill-conditioning (ellipsoid10), 16 and
// 20 dimensions (styblinski16, rosenbrock20), mixed spaces with interacting params (func3C,
// whose categoricals choose the landscape of its floats, and ackleyMixed) and observation
// noise (hartmann6Noisy).
// bench/optuna_more.py defines the same problems under the same names, with the params
// suggested in the same order; bench/testdata/more_values.txt holds its values at fixed
// points. Callers must not modify it.
var Broad = []Problem{
	{
		Name:    "rastrigin10",
		Optimum: 0,
		Space:   box(10, -5.12, 5.12),
		Eval:    func(p map[string]any) float64 { return Rastrigin(boxPoint(p, 10)) },
	},
	{
		// The true minimum is 10·(418.9829 - 418.98288727...) ≈ 1.2727567e-4: the standard
		// form's constant 418.9829 is rounded. The optimum is that value rounded down.
		Name:    "schwefel10",
		Optimum: 1.27275e-4,
		Space:   box(10, -500, 500),
		Eval:    func(p map[string]any) float64 { return Schwefel(boxPoint(p, 10)) },
	},
	{
		Name:    "levy10",
		Optimum: 0,
		Space:   box(10, -10, 10),
		Eval:    func(p map[string]any) float64 { return Levy(boxPoint(p, 10)) },
	},
	{
		Name:    "ellipsoid10",
		Optimum: 0,
		Space:   box(10, -5, 5),
		Eval:    func(p map[string]any) float64 { return RotatedEllipsoid(boxPoint(p, 10)) },
	},
	{
		// -39.16616570377142·16 = -626.6586512603427, rounded down to six significant digits.
		Name:    "styblinski16",
		Optimum: -626.659,
		Space:   box(16, -5, 5),
		Eval:    func(p map[string]any) float64 { return StyblinskiTang(boxPoint(p, 16)) },
	},
	{
		// Rosenbrock's function (Rosenbrock, "An automatic method for finding the greatest or
		// least value of a function", Computer J. 3, 1960) in 20 variables on rosenbrock5's domain.
		Name:    "rosenbrock20",
		Optimum: 0,
		Space:   box(20, -5, 10),
		Eval:    func(p map[string]any) float64 { return Rosenbrock(boxPoint(p, 20)) },
	},
	{
		// The minimum, -9.6601517156..., rounded down to six significant digits.
		Name:    "michalewicz10",
		Optimum: -9.66016,
		Space:   box(10, 0, math.Pi),
		Eval:    func(p map[string]any) float64 { return Michalewicz(boxPoint(p, 10)) },
	},
	{
		// 7/10 of the six-hump camel's minimum, -0.72213991744291..., rounded down.
		Name:    "func3C",
		Optimum: -0.722140,
		Space: []Param{
			{Name: "x0", Kind: "float", Low: -1, High: 1},
			{Name: "x1", Kind: "float", Low: -1, High: 1},
			{Name: "h1", Kind: "categorical", Choices: indexChoices(3)},
			{Name: "h2", Kind: "categorical", Choices: indexChoices(5)},
			{Name: "h3", Kind: "categorical", Choices: indexChoices(4)},
		},
		Eval: func(p map[string]any) float64 {
			return Func3C(floatParam(p, "x0"), floatParam(p, "x1"),
				choiceIndex(p, "h1"), choiceIndex(p, "h2"), choiceIndex(p, "h3"))
		},
	},
	{
		Name:    "ackleyMixed",
		Optimum: 0,
		Space:   ackleyMixedSpace(),
		Eval:    func(p map[string]any) float64 { return Ackley(ackleyMixedPoint(p)) },
	},
	{
		// Hartmann6 (Dixon and Szegő, Towards Global Optimisation 2, 1978) observed with
		// HartmannNoise; the regret is measured on the noise-free value.
		Name:    "hartmann6Noisy",
		Optimum: -3.32237,
		Space:   box(6, 0, 1),
		Eval:    func(p map[string]any) float64 { return Hartmann6(boxPoint(p, 6)) },
		Noise:   HartmannNoise,
	},
}

// indexChoices returns the labels "0", …, "n-1".
func indexChoices(n int) []string {
	c := make([]string, n)
	for i := range c {
		c[i] = strconv.Itoa(i)
	}
	return c
}

// choiceIndex reads a categorical parameter whose labels are indexChoices.
func choiceIndex(p map[string]any, name string) int {
	i, err := strconv.Atoi(stringParam(p, name))
	if err != nil {
		return -1
	}
	return i
}

// Rastrigin returns the Rastrigin function 10·d + Σ (x_i² - 10·cos(2π·x_i)), which has a
// local minimum near every point of the integer lattice. On the usual domain
// [-5.12, 5.12]^d its minimum is 0 at the origin. Rastrigin, Systems of Extremal Control
// (1974); the d-dimensional form is from Mühlenbein, Schomisch and Born, "The parallel
// genetic algorithm as function optimizer", Parallel Computing 17 (1991).
func Rastrigin(x []float64) float64 {
	s := 10 * float64(len(x))
	for _, v := range x {
		s += v*v - 10*math.Cos(2*math.Pi*v)
	}
	return s
}

// Schwefel returns Schwefel's function 418.9829·d - Σ x_i·sin(√|x_i|) on [-500, 500]^d,
// which has many local minima. Its minimum, at x_i = 420.9687 in every coordinate, lies
// near a corner of the domain; it is 1.2727567e-5·d rather than 0, as 418.9829 rounds the
// largest value of x·sin(√|x|) on the domain, 418.98288727. H.-P. Schwefel, Numerical
// Optimization of Computer Models, Wiley (1981); the constant is that of the usual
// statement (Surjanovic and Bingham, Virtual Library of Simulation Experiments).
func Schwefel(x []float64) float64 {
	s := 418.9829 * float64(len(x))
	for _, v := range x {
		s -= v * math.Sin(math.Sqrt(math.Abs(v)))
	}
	return s
}

// Levy returns the Levy function in the form of Laguna and Martí, "Experimental testing
// of advanced scatter search designs for global optimization of multimodal functions",
// J. Global Optim. 33 (2005): with w_i = 1 + (x_i - 1)/4,
// sin²(π·w_1) + Σ_{i<d} (w_i - 1)²·(1 + 10·sin²(π·w_i + 1)) + (w_d - 1)²·(1 + sin²(2π·w_d)).
// On [-10, 10]^d its minimum is 0 at x = (1, …, 1). An empty x gives NaN.
func Levy(x []float64) float64 {
	d := len(x)
	if d == 0 {
		return math.NaN()
	}
	w := func(i int) float64 { return 1 + (x[i]-1)/4 }
	s0 := math.Sin(math.Pi * w(0))
	s := s0 * s0
	for i := 0; i < d-1; i++ {
		wi := w(i)
		si := math.Sin(math.Pi*wi + 1)
		s += (wi - 1) * (wi - 1) * (1 + 10*si*si)
	}
	wd := w(d - 1)
	sd := math.Sin(2 * math.Pi * wd)
	return s + (wd-1)*(wd-1)*(1+sd*sd)
}

// EllipsoidShift is the minimizer of RotatedEllipsoid, fixed inside [-4, 4]^10 as the
// random shifts of BBOB are.
var EllipsoidShift = []float64{1.2, -3.1, 2.6, 0.4, -1.7, 3.8, -2.2, -0.6, 2.9, -3.5}

// RotatedEllipsoid returns the rotated ellipsoid of condition number 10^6,
// Σ_k 10^(6k/(d-1))·z_k² with z = C·(x - EllipsoidShift), where C is the orthonormal
// DCT-II matrix (C_kn = √(2/d)·c_k·cos(π(n+½)k/d), c_0 = 1/√2, else 1), which sets every
// axis of the ellipsoid across all coordinates. It is BBOB's f10 (Hansen, Finck, Ros and
// Auger, "Real-parameter black-box optimization benchmarking 2009: noiseless functions
// definitions", INRIA RR-6829) with a fixed rotation and shift instead of random ones and
// without its oscillation transformation. Its minimum is 0 at EllipsoidShift. x must have
// length 10; any other length gives NaN.
func RotatedEllipsoid(x []float64) float64 {
	d := len(EllipsoidShift)
	if len(x) != d {
		return math.NaN()
	}
	s := 0.0
	for k := range d {
		ck := math.Sqrt(2 / float64(d))
		if k == 0 {
			ck = math.Sqrt(1 / float64(d))
		}
		z := 0.0
		for n := range d {
			z += ck * math.Cos(math.Pi*(float64(n)+0.5)*float64(k)/float64(d)) * (x[n] - EllipsoidShift[n])
		}
		s += math.Pow(10, 6*float64(k)/float64(d-1)) * z * z
	}
	return s
}

// StyblinskiTang returns ½·Σ (x_i⁴ - 16·x_i² + 5·x_i). On [-5, 5]^d its minimum is
// -39.16616570377142·d at x_i = -2.903534027771178; each coordinate has a second, worse
// local minimum near 2.7468. Styblinski and Tang, "Experiments in nonconvex optimization:
// stochastic approximation with function smoothing and simulated annealing", Neural
// Networks 3 (1990).
func StyblinskiTang(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		v2 := v * v
		s += v2*v2 - 16*v2 + 5*v
	}
	return s / 2
}

// Michalewicz returns Michalewicz's function -Σ_i sin(x_i)·sin(i·x_i²/π)^20 (i from 1, m =
// 10) on [0, π]^d: flat but for narrow valleys. It is separable, so its minimum is the sum
// of each coordinate's, -9.6601517156 for d = 10 (-1.8013 for d = 2, -4.687658 for d = 5).
// Michalewicz, Genetic Algorithms + Data Structures = Evolution Programs, Springer (1996).
func Michalewicz(x []float64) float64 {
	s := 0.0
	for i, v := range x {
		t := math.Sin(float64(i+1) * v * v / math.Pi)
		s -= math.Sin(v) * math.Pow(t, 20)
	}
	return s
}

// rosen2, camel and beale are the scaled 2-D functions of Func3C.
func rosen2(z0, z1 float64) float64 {
	a := z1 - z0*z0
	b := z0 - 1
	return (100*a*a + b*b) / 300
}

func camel(z0, z1 float64) float64 {
	z02 := z0 * z0
	z12 := z1 * z1
	return ((4-2.1*z02+z02*z02/3)*z02 + z0*z1 + (-4+4*z12)*z12) / 10
}

func beale(z0, z1 float64) float64 {
	a := 1.5 - z0 + z0*z1
	b := 2.25 - z0 + z0*z1*z1
	c := 2.625 - z0 + z0*z1*z1*z1
	return (a*a + b*b + c*c) / 50
}

// Func3C returns Func3C of Ru, Alvi, Nguyen, Osborne and Roberts, "Bayesian optimisation
// over multiple continuous and categorical inputs" (CoCaBO), ICML 2020, without its 1e-6
// uniform noise: with z = 2·(x0, x1) for x0, x1 in [-1, 1] and Rosenbrock/300 (R), the
// six-hump camel/10 (C) and Beale/50 (B) of z, it sums a term chosen by each categorical:
// h1 in 0..2 picks R, C, B; h2 in 0..4 picks R, C, B, B, B; h3 in 0..3 picks 5C, 2R, 2B,
// 3B. Only C goes below 0, so the minimum is 7/10 of the camel's, -0.7221399174429, at
// h = (1, 1, 0) and x = ±(0.0449210, -0.3563282). An index out of range gives NaN.
func Func3C(x0, x1 float64, h1, h2, h3 int) float64 {
	z0, z1 := 2*x0, 2*x1
	var f float64
	switch h1 {
	case 0:
		f = rosen2(z0, z1)
	case 1:
		f = camel(z0, z1)
	case 2:
		f = beale(z0, z1)
	default:
		return math.NaN()
	}
	switch h2 {
	case 0:
		f += rosen2(z0, z1)
	case 1:
		f += camel(z0, z1)
	case 2, 3, 4:
		f += beale(z0, z1)
	default:
		return math.NaN()
	}
	switch h3 {
	case 0:
		f += 5 * camel(z0, z1)
	case 1:
		f += 2 * rosen2(z0, z1)
	case 2, 3:
		f += float64(h3) * beale(z0, z1)
	default:
		return math.NaN()
	}
	return f
}

// ackleyMixedSpace is the space of ackleyMixed: floats x0..x2 in [-1, 1], ints n0..n2 in
// [-8, 8] and categoricals c0..c3 with the 17 labels "0".."16".
func ackleyMixedSpace() []Param {
	var s []Param
	for i := range 3 {
		s = append(s, Param{Name: "x" + strconv.Itoa(i), Kind: "float", Low: -1, High: 1})
	}
	for i := range 3 {
		s = append(s, Param{Name: "n" + strconv.Itoa(i), Kind: "int", Low: -8, High: 8})
	}
	for i := range 4 {
		s = append(s, Param{Name: "c" + strconv.Itoa(i), Kind: "categorical", Choices: indexChoices(17)})
	}
	return s
}

// ackleyMixedPoint maps ackleyMixed's params to the point of [-1, 1]^10 at which Ackley is
// evaluated: x_i as they are, n_i/8, and c_i/8 - 1 for category c_i. This is the Ackley-5C
// problem of Ru et al. (CoCaBO, ICML 2020; one float and five 17-way categoricals mapped
// as here) with two more floats, three ordered ints and one categorical fewer. Every
// coordinate enters Ackley's two sums, so the params interact; the minimum is 0 with the
// floats and ints 0 and every category "8".
func ackleyMixedPoint(p map[string]any) []float64 {
	z := make([]float64, 0, 10)
	for i := range 3 {
		z = append(z, floatParam(p, "x"+strconv.Itoa(i)))
	}
	for i := range 3 {
		z = append(z, float64(intParam(p, "n"+strconv.Itoa(i)))/8)
	}
	for i := range 4 {
		z = append(z, float64(choiceIndex(p, "c"+strconv.Itoa(i)))/8-1)
	}
	return z
}

// HartmannNoise is hartmann6Noisy's observation noise in trial (0-based number) of the run
// with seed: 0.1·(u_1 + … + u_12 - 6), an Irwin–Hall approximation of a normal draw with
// standard deviation 0.1 (3% of Hartmann6's range), from uniforms u_j = HashUnit(1, seed,
// trial, j). Both languages compute it exactly alike, so retune and Optuna see the same
// noise in the same trial; the harness observes Hartmann6 + noise, and measures regret on
// the noise-free value of the trial with the best observation.
func HartmannNoise(seed, trial int) float64 {
	s := 0.0
	for j := range 12 {
		s += HashUnit(1, uint64(seed), uint64(trial), uint64(j))
	}
	return 0.1 * (s - 6)
}

// mix64 is SplitMix64's output function applied to x + 0x9E3779B97F4A7C15.
func mix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}

// HashUnit returns a number in [0, 1) that depends on keys alone: h = mix64(h ^ k) over
// the keys from h = 0, then the top 53 bits of h over 2^53. It uses integer arithmetic
// only, so Python (bench/optuna_more.py) computes the same number bit for bit. The first
// key names the use (1: noise, 2: curve jitter, 3: fixed test points).
func HashUnit(keys ...uint64) float64 {
	var h uint64
	for _, k := range keys {
		h = mix64(h ^ k)
	}
	return float64(h>>11) / (1 << 53)
}
