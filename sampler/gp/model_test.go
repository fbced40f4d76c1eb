package gp

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/a6b40afc/retune"
)

// solveDense solves A·x = b by Gaussian elimination with partial pivoting, independently of
// the package's Cholesky code.
func solveDense(a [][]float64, b []float64) []float64 {
	n := len(b)
	m := make([][]float64, n)
	for i := range m {
		m[i] = append(append([]float64{}, a[i]...), b[i])
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		m[c], m[p] = m[p], m[c]
		for r := c + 1; r < n; r++ {
			f := m[r][c] / m[c][c]
			for k := c; k <= n; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	x := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		s := m[i][n]
		for k := i + 1; k < n; k++ {
			s -= m[i][k] * x[k]
		}
		x[i] = s / m[i][i]
	}
	return x
}

// newPosterior conditions a GP with hyperparameters p on points x (n×d) with values y.
func newPosterior(x []float64, d int, cat []bool, p kernelParams, y []float64) *posterior {
	n := len(y)
	l, _ := extendFactor(nil, 0, n, x, d, cat, p, nil)
	alpha := append([]float64{}, y...)
	forwardSolve(l, n, alpha)
	backSolve(l, n, alpha)
	return &posterior{d: d, cat: cat, p: p, x: x, n: n, l: l, alpha: alpha}
}

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestPosteriorTwoPointsByHand(t *testing.T) {
	t.Parallel()
	// Two points in one dimension, lengthscale 0.5 (invLS2 = 4), scale 2, noise 0.1.
	// r between the points is |0.2-0.7|·2 = 1, so k12 = 2·(1+√5+5/3)·exp(-√5).
	p := kernelParams{invLS2: []float64{4}, scale: 2, noise: 0.1}
	ps := newPosterior([]float64{0.2, 0.7}, 1, []bool{false}, p, []float64{1, -0.5})
	m1 := func(r float64) float64 { return (1 + math.Sqrt(5)*r + 5*r*r/3) * math.Exp(-math.Sqrt(5)*r) }
	k12 := 2 * m1(1)
	a, c := 2+0.1, k12 // K = [[a c] [c a]]
	det := a*a - c*c
	inv := [2][2]float64{{a / det, -c / det}, {-c / det, a / det}}
	// Test point 0.45: r = 0.25·2 = 0.5 to both points.
	ks := [2]float64{2 * m1(0.5), 2 * m1(0.5)}
	y := [2]float64{1, -0.5}
	wantMu, wantVar := 0.0, 2.0
	for i := range 2 {
		for j := range 2 {
			wantMu += ks[i] * inv[i][j] * y[j]
			wantVar -= ks[i] * inv[i][j] * ks[j]
		}
	}
	k := make([]float64, 2)
	mu, v := ps.predict([]float64{0.45}, k)
	if !near(mu, wantMu, 1e-12) || !near(v, wantVar, 1e-12) {
		t.Errorf("predict(0.45) = %v, %v, want %v, %v", mu, v, wantMu, wantVar)
	}
}

func TestPosteriorMixedMatchesDenseSolve(t *testing.T) {
	t.Parallel()
	// Three points in (numeric, categorical) space: the categorical difference counts as 1.
	p := kernelParams{invLS2: []float64{3, 0.7}, scale: 1.5, noise: 0.01}
	x := []float64{0.1, 0, 0.5, 1, 0.9, 0}
	cat := []bool{false, true}
	y := []float64{0.3, -1, 0.8}
	ps := newPosterior(x, 2, cat, p, y)
	kern := func(a, b []float64) float64 {
		r2 := 3 * (a[0] - b[0]) * (a[0] - b[0])
		if a[1] != b[1] {
			r2 += 0.7
		}
		r := math.Sqrt(r2)
		return 1.5 * (1 + math.Sqrt(5)*r + 5*r2/3) * math.Exp(-math.Sqrt(5)*r)
	}
	pts := [][]float64{{0.1, 0}, {0.5, 1}, {0.9, 0}}
	K := make([][]float64, 3)
	for i := range K {
		K[i] = make([]float64, 3)
		for j := range K[i] {
			K[i][j] = kern(pts[i], pts[j])
		}
		K[i][i] += 0.01
	}
	for _, q := range [][]float64{{0.3, 0}, {0.5, 1}, {0.75, 1}, {0.1, 0}} {
		ks := []float64{kern(q, pts[0]), kern(q, pts[1]), kern(q, pts[2])}
		a := solveDense(K, y)
		b := solveDense(K, ks)
		wantMu := ks[0]*a[0] + ks[1]*a[1] + ks[2]*a[2]
		wantVar := 1.5 - (ks[0]*b[0] + ks[1]*b[1] + ks[2]*b[2])
		mu, v := ps.predict(q, make([]float64, 3))
		if !near(mu, wantMu, 1e-10) || !near(v, wantVar, 1e-9) {
			t.Errorf("predict(%v) = %v, %v, want %v, %v", q, mu, v, wantMu, wantVar)
		}
	}
}

func TestDuplicatePointsStayFinite(t *testing.T) {
	t.Parallel()
	const n, d = 40, 2
	x := make([]float64, 0, n*d)
	y := make([]float64, n)
	for i := range n {
		x = append(x, 0.25, 0.75) // every point the same
		y[i] = float64(i%3) - 1
	}
	cat := []bool{false, false}
	for _, p := range []kernelParams{
		{invLS2: []float64{1, 1}, scale: 1, noise: minNoise},
		{invLS2: []float64{1e-5, 1e-5}, scale: 50, noise: minNoise},
	} {
		ps := newPosterior(x, d, cat, p, y)
		for _, v := range ps.l {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("factor with duplicates has %v (params %+v)", v, p)
			}
		}
		k := make([]float64, n)
		for _, q := range [][]float64{{0.25, 0.75}, {0.9, 0.1}} {
			mu, v := ps.predict(q, k)
			if math.IsNaN(mu) || math.IsNaN(v) || v <= 0 {
				t.Errorf("predict(%v) = %v, %v, want finite mean and positive variance", q, mu, v)
			}
			ei, _, _ := logEI(mu, math.Sqrt(v), -1)
			if math.IsNaN(ei) {
				t.Errorf("logEI at %v is NaN", q)
			}
		}
	}
	// The fit copes too.
	f := newFitter(x, n, d, cat, y, false)
	p := f.fit(f.theta(defaultParams(d, false)), 20)
	if math.IsNaN(p.scale) || math.IsNaN(p.noise) || math.IsNaN(p.invLS2[0]) {
		t.Errorf("fit on duplicates = %+v, want finite", p)
	}
}

func TestLogEIMatchesDirect(t *testing.T) {
	t.Parallel()
	for _, z := range []float64{-6, -3.5, -1.5, -1, -0.999, -0.3, 0, 0.4, 1, 2.5, 8} {
		for _, sigma := range []float64{0.1, 1, 3} {
			mu := 1.0
			best := mu + z*sigma
			ei := sigma * (z*normCDF(z) + phi(z))
			got, _, _ := logEI(mu, sigma, best)
			if want := math.Log(ei); !near(got, want, 1e-9) {
				t.Errorf("logEI(z=%v, σ=%v) = %v, want %v", z, sigma, got, want)
			}
		}
	}
}

func TestLogEITail(t *testing.T) {
	t.Parallel()
	prev := math.Inf(1)
	for _, z := range []float64{-5, -20, -36, -36.77, -36.78, -37, -50, -1e3, -1e6, -1e9} {
		v := logH(z)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("logH(%v) = %v, want finite", z, v)
		}
		if v >= prev {
			t.Errorf("logH(%v) = %v, not below logH of a larger z (%v)", z, v, prev)
		}
		prev = v
		// Asymptotically h(z) ≈ φ(z)/z².
		if z <= -1e3 {
			want := -z*z/2 - logSqrt2Pi - 2*math.Log(-z)
			if !near(v, want, 1e-9) {
				t.Errorf("logH(%v) = %v, want ≈ %v", z, v, want)
			}
		}
	}
	// The branches meet continuously.
	for _, z := range []float64{-1, tailZ} {
		lo, hi := logH(math.Nextafter(z, math.Inf(-1))), logH(math.Nextafter(z, math.Inf(1)))
		if !near(lo, hi, 1e-9) {
			t.Errorf("logH jumps at %v: %v vs %v", z, lo, hi)
		}
		dlo, dhi := dlogH(math.Nextafter(z, math.Inf(-1))), dlogH(math.Nextafter(z, math.Inf(1)))
		if !near(dlo, dhi, 1e-8) {
			t.Errorf("dlogH jumps at %v: %v vs %v", z, dlo, dhi)
		}
	}
}

func TestLogEIDerivatives(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ mu, sigma, best float64 }{
		{0, 1, 0}, {1, 0.5, 0}, {3, 0.1, 0}, {-1, 2, 0}, {10, 0.2, 0},
	} {
		_, dmu, ds := logEI(c.mu, c.sigma, c.best)
		h := 1e-6
		fmu := func(m float64) float64 { v, _, _ := logEI(m, c.sigma, c.best); return v }
		fs := func(s float64) float64 { v, _, _ := logEI(c.mu, s, c.best); return v }
		if want := (fmu(c.mu+h) - fmu(c.mu-h)) / (2 * h); !near(dmu, want, 1e-5) {
			t.Errorf("dlogEI/dmu at %+v = %v, want %v", c, dmu, want)
		}
		if want := (fs(c.sigma+h) - fs(c.sigma-h)) / (2 * h); !near(ds, want, 1e-5) {
			t.Errorf("dlogEI/dsigma at %+v = %v, want %v", c, ds, want)
		}
	}
}

// randomData returns n points in d dimensions (the last categorical with 3 choices) and
// values of a smooth function.
func randomData(n, d int, seed uint64) ([]float64, []bool, []float64) {
	r := rand.New(rand.NewPCG(seed, 9))
	x := make([]float64, n*d)
	cat := make([]bool, d)
	cat[d-1] = true
	y := make([]float64, n)
	for i := range n {
		for j := range d {
			if cat[j] {
				x[i*d+j] = float64(r.IntN(3))
			} else {
				x[i*d+j] = r.Float64()
			}
		}
		y[i] = math.Sin(5*x[i*d]) + x[i*d+d-1]/2 + 0.1*r.NormFloat64()
	}
	standardize(y, y)
	return x, cat, y
}

func TestFitGradient(t *testing.T) {
	t.Parallel()
	x, cat, y := randomData(15, 3, 1)
	for _, fix := range []bool{false, true} {
		f := newFitter(x, 15, 3, cat, y, fix)
		theta := f.theta(kernelParams{invLS2: []float64{2, 0.5, 1.5}, scale: 0.8, noise: 0.05})
		g := make([]float64, len(theta))
		f.eval(theta, g)
		for q := range theta {
			h := 1e-6
			tp := append([]float64{}, theta...)
			tm := append([]float64{}, theta...)
			tp[q] += h
			tm[q] -= h
			scratch := make([]float64, len(theta))
			want := (f.eval(tp, scratch) - f.eval(tm, scratch)) / (2 * h)
			if !near(g[q], want, 1e-5) {
				t.Errorf("fixNoise=%v: gradient[%d] = %v, want %v", fix, q, g[q], want)
			}
		}
	}
}

func TestFitLowersObjective(t *testing.T) {
	t.Parallel()
	x, cat, y := randomData(30, 3, 2)
	f := newFitter(x, 30, 3, cat, y, false)
	init := f.theta(defaultParams(3, false))
	before := f.eval(init, make([]float64, len(init)))
	p := f.fit(init, 50)
	after := f.eval(f.theta(p), make([]float64, len(init)))
	if !(after < before) {
		t.Errorf("objective after fit = %v, want below %v", after, before)
	}
	// The data vary fastest along dimension 0 and not at all along dimension 1.
	if !(p.invLS2[0] > p.invLS2[1]) {
		t.Errorf("fitted inverse squared lengthscales %v: want dimension 0 shorter than 1", p.invLS2)
	}
}

func TestPredictGrad(t *testing.T) {
	t.Parallel()
	x, cat, y := randomData(20, 3, 3)
	p := kernelParams{invLS2: []float64{4, 1, 0.5}, scale: 1.2, noise: 0.01}
	ps := newPosterior(x, 3, cat, p, y)
	n := 20
	k, g, b := make([]float64, n), make([]float64, n), make([]float64, n)
	dmu, dv := make([]float64, 3), make([]float64, 3)
	q := []float64{0.3, 0.6, 1}
	ps.predictGrad(q, k, g, b, dmu, dv)
	for j := range 2 {
		h := 1e-6
		qp := append([]float64{}, q...)
		qm := append([]float64{}, q...)
		qp[j] += h
		qm[j] -= h
		mp, vp := ps.predict(qp, k)
		mm, vm := ps.predict(qm, k)
		if want := (mp - mm) / (2 * h); !near(dmu[j], want, 1e-5) {
			t.Errorf("dmu[%d] = %v, want %v", j, dmu[j], want)
		}
		if want := (vp - vm) / (2 * h); !near(dv[j], want, 1e-5) {
			t.Errorf("dvar[%d] = %v, want %v", j, dv[j], want)
		}
	}
	if dmu[2] != 0 || dv[2] != 0 {
		t.Errorf("gradient along a categorical dimension = %v, %v, want 0", dmu[2], dv[2])
	}
}

func TestLBFGSBox(t *testing.T) {
	t.Parallel()
	// Rosenbrock, whose minimum (1, 1) lies inside the box, and a quadratic whose
	// minimum lies outside it.
	rosen := func(x, g []float64) float64 {
		a, b := 1-x[0], x[1]-x[0]*x[0]
		g[0] = -2*a - 400*x[0]*b
		g[1] = 200 * b
		return a*a + 100*b*b
	}
	o := newLBFGS(2, 8)
	o.maxIter, o.maxEvals, o.gtol, o.ftol = 500, 2000, 1e-9, 0
	x := []float64{-1.2, 1}
	o.minimize(rosen, x, []float64{-2, -2}, []float64{2, 2})
	if !near(x[0], 1, 1e-4) || !near(x[1], 1, 1e-4) {
		t.Errorf("Rosenbrock minimum = %v, want [1 1]", x)
	}
	quad := func(x, g []float64) float64 {
		g[0], g[1] = 2*(x[0]-3), 2*(x[1]+0.5)
		return (x[0]-3)*(x[0]-3) + (x[1]+0.5)*(x[1]+0.5)
	}
	x = []float64{0.5, 0.5}
	o.minimize(quad, x, []float64{0, 0}, []float64{1, 1})
	if x[0] != 1 || !near(x[1], 0, 1e-9) {
		t.Errorf("box-constrained minimum = %v, want [1 0]", x)
	}
}

func TestDims(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		d    retune.Distribution
		vals []any
	}{
		{"float", retune.FloatDistribution{Low: -3, High: 7}, []any{-3.0, 0.5, 7.0}},
		{"flog", retune.FloatDistribution{Low: 1e-4, High: 10, Log: true}, []any{1e-4, 0.01, 10.0}},
		{"fstep", retune.FloatDistribution{Low: 0, High: 1, Step: 0.125}, []any{0.0, 0.375, 1.0}},
		{"int", retune.IntDistribution{Low: -4, High: 6}, []any{int64(-4), int64(0), int64(6)}},
		{"istep", retune.IntDistribution{Low: 10, High: 100, Step: 15}, []any{int64(10), int64(55), int64(100)}},
		{"ilog", retune.IntDistribution{Low: 1, High: 4096, Log: true}, []any{int64(1), int64(77), int64(4096)}},
		{"cat", retune.CategoricalDistribution{Choices: []any{"a", "b", "c"}}, []any{"a", "c"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dm, ok := newDim(c.name, c.d)
			if !ok {
				t.Fatalf("newDim(%v) reports a single value", c.d)
			}
			for _, v := range c.vals {
				x, _ := c.d.ToInternal(v)
				u := dm.toU(x)
				if dm.kind != categorical && (u < 0 || u > 1) {
					t.Errorf("toU(%v) = %v, want in [0, 1]", v, u)
				}
				got := dm.external(u)
				if f, ok := v.(float64); ok && dm.kind == continuous {
					if g, _ := got.(float64); !near(g, f, 1e-12) {
						t.Errorf("external(toU(%v)) = %v, want %v", v, got, v)
					}
				} else if got != v {
					t.Errorf("external(toU(%v)) = %v (%T), want %v", v, got, got, v)
				}
				if dm.snap(u) != u {
					t.Errorf("snap(toU(%v)) = %v, want %v", v, dm.snap(u), u)
				}
			}
			for _, u := range []float64{0, 0.13, 0.5, 0.999, 1} {
				if v := dm.external(u); !c.d.Contains(v) {
					t.Errorf("external(%v) = %v, outside %v", u, v, c.d)
				}
			}
			for _, u := range dm.lineValues(dm.snap(0.4), nil) {
				if v := dm.external(u); !c.d.Contains(v) || dm.snap(u) != u {
					t.Errorf("line value %v gives %v, want a grid value of %v", u, v, c.d)
				}
			}
		})
	}
	if _, ok := newDim("one", retune.FloatDistribution{Low: 2, High: 2}); ok {
		t.Error("newDim of a single-valued float reports a dimension to model")
	}
}

func TestCheckpoints(t *testing.T) {
	t.Parallel()
	for m := 1; m <= 2000; m++ {
		c := checkpoint(m)
		if c > m || !isCheckpoint(c) {
			t.Fatalf("checkpoint(%d) = %d", m, c)
		}
		if m-c > max(1, m/10) {
			t.Errorf("checkpoint(%d) = %d, more than %d behind", m, c, m/10)
		}
		if p := parentCheckpoint(c); p >= c || (p > 0 && !isCheckpoint(p)) {
			t.Errorf("parentCheckpoint(%d) = %d", c, p)
		}
	}
}

func TestLogPhi(t *testing.T) {
	t.Parallel()
	for _, z := range []float64{-40, -8, -3, -1, -1e-9, 0, 0.5, 2, 9} {
		v, dz := logPhi(z)
		if want := math.Log(normCDF(z)); z > -30 && !near(v, want, 1e-9) {
			t.Errorf("logPhi(%v) = %v, want %v", z, v, want)
		}
		h := 1e-6
		vp, _ := logPhi(z + h)
		vm, _ := logPhi(z - h)
		if want := (vp - vm) / (2 * h); !near(dz, want, 1e-5) {
			t.Errorf("dlogPhi(%v) = %v, want %v", z, dz, want)
		}
	}
	if v, _ := logPhi(-1e4); math.IsInf(v, 0) || math.IsNaN(v) {
		t.Errorf("logPhi(-1e4) = %v, want finite", v)
	}
}

// TestLogPoFDerivatives: the log probability of feasibility's derivatives by the mean
// and the variance match finite differences.
func TestLogPoFDerivatives(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ thr, mu, v float64 }{{0, 0, 1}, {0.5, -1, 0.3}, {-1, 2, 0.05}, {1, 1.2, 4}} {
		cp := conPost{thr: c.thr}
		_, dmu, dv := cp.logPoF(c.mu, c.v)
		h := 1e-6
		f := func(mu, v float64) float64 { lp, _, _ := cp.logPoF(mu, v); return lp }
		if want := (f(c.mu+h, c.v) - f(c.mu-h, c.v)) / (2 * h); !near(dmu, want, 1e-5) {
			t.Errorf("dlogPoF/dmu at %+v = %v, want %v", c, dmu, want)
		}
		if want := (f(c.mu, c.v+h) - f(c.mu, c.v-h)) / (2 * h); !near(dv, want, 1e-5) {
			t.Errorf("dlogPoF/dvar at %+v = %v, want %v", c, dv, want)
		}
	}
}
