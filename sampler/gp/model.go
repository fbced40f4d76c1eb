package gp

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/optimize"
)

const sqrt5 = 2.23606797749979

// minNoise is the smallest noise variance (in standardized units): it keeps the kernel
// matrix positive definite when points repeat.
const minNoise = 1e-6

// kernelParams are the GP's hyperparameters: a Matérn-5/2 kernel
// scale·m(r), r² = Σ_j invLS2_j·δ_j², where δ_j is the difference of numeric inputs or
// 1 for different choices (0 for equal ones), plus noise variance on the diagonal.
type kernelParams struct {
	invLS2 []float64 // inverse squared lengthscale per dimension
	scale  float64
	noise  float64
}

// sqdist returns r² between a and b.
func sqdist(a, b, w []float64, cat []bool) float64 {
	a, b, cat = a[:len(w)], b[:len(w)], cat[:len(w)]
	s := 0.0
	for j, wj := range w {
		if cat[j] {
			if a[j] != b[j] {
				s += wj
			}
			continue
		}
		d := a[j] - b[j]
		s += wj * d * d
	}
	return s
}

// matern returns m(r) = (1 + √5r + 5r²/3)·exp(-√5r) and g = -dm/d(r²) =
// 5/6·(1 + √5r)·exp(-√5r), given r².
func matern(r2 float64) (m, g float64) {
	r := math.Sqrt(r2)
	e := math.Exp(-sqrt5 * r)
	a := 1 + sqrt5*r
	return (a + 5.0/3*r2) * e, 5.0 / 6 * a * e
}

func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// rowStart returns the offset of row i in a packed lower-triangular matrix.
func rowStart(i int) int { return i * (i + 1) / 2 }

// cholAppend extends the packed Cholesky factor l of the first i rows of a symmetric
// positive definite matrix with row i, given that row of the matrix (krow[:i] below the
// diagonal, krow[i] on it). krow is overwritten. A pivot that rounding makes tiny or
// negative is raised to a floor relative to the diagonal, so the factor stays finite
// (it is then the factor of a matrix with a slightly larger diagonal).
func cholAppend(l []float64, i int, krow []float64) []float64 {
	krow = krow[:i+1]
	forwardSolve(l, i, krow[:i])
	d := krow[i] - dot(krow[:i], krow[:i])
	if floor := 1e-10 * math.Abs(krow[i]); !(d > floor) {
		d = math.Max(floor, 1e-300)
	}
	krow[i] = math.Sqrt(d)
	return append(l, krow...)
}

// forwardSolve solves L·v = b in place for the first n rows of packed l.
func forwardSolve(l []float64, n int, b []float64) {
	b = b[:n]
	for i := range b {
		off := rowStart(i)
		b[i] = (b[i] - dot(l[off:off+i], b[:i])) / l[off+i]
	}
}

// forwardSolve4 solves L·v = b for four right-hand sides at once, sharing the loads of l.
func forwardSolve4(l []float64, n int, b0, b1, b2, b3 []float64) {
	b0, b1, b2, b3 = b0[:n], b1[:n], b2[:n], b3[:n]
	for i := range n {
		off := rowStart(i)
		row := l[off : off+i]
		var s0, s1, s2, s3 float64
		for k, v := range row {
			s0 += v * b0[k]
			s1 += v * b1[k]
			s2 += v * b2[k]
			s3 += v * b3[k]
		}
		d := l[off+i]
		b0[i] = (b0[i] - s0) / d
		b1[i] = (b1[i] - s1) / d
		b2[i] = (b2[i] - s2) / d
		b3[i] = (b3[i] - s3) / d
	}
}

// backSolve solves Lᵀ·x = b in place for the first n rows of packed l.
func backSolve(l []float64, n int, b []float64) {
	b = b[:n]
	for i := n - 1; i >= 0; i-- {
		off := rowStart(i)
		b[i] /= l[off+i]
		x := b[i]
		row := l[off : off+i]
		for j, v := range row {
			b[j] -= v * x
		}
	}
}

// posterior is a GP conditioned on n points: x (n×d), the packed Cholesky factor l of
// K + noise·I and alpha = (K + noise·I)⁻¹y. It is read-only once built.
type posterior struct {
	d     int
	cat   []bool
	p     kernelParams
	x     []float64
	n     int
	l     []float64
	alpha []float64
}

// kvec sets k[i] = k(x, x_i).
func (ps *posterior) kvec(x, k []float64) {
	d := ps.d
	for i := range ps.n {
		m, _ := matern(sqdist(x, ps.x[i*d:i*d+d], ps.p.invLS2, ps.cat))
		k[i] = ps.p.scale * m
	}
}

// floorVar is the smallest posterior variance, relative to the kernel scale.
const floorVar = 1e-10

// predict returns the posterior mean and variance of f(x); k is scratch of length n.
func (ps *posterior) predict(x, k []float64) (mu, v float64) {
	k = k[:ps.n]
	ps.kvec(x, k)
	mu = dot(k, ps.alpha)
	forwardSolve(ps.l, ps.n, k)
	v = math.Max(ps.p.scale-dot(k, k), floorVar*ps.p.scale)
	return mu, v
}

// predict4 is predict for four points at once.
func (ps *posterior) predict4(xs *[4][]float64, ks *[4][]float64, mu, v *[4]float64) {
	for c := range 4 {
		ps.kvec(xs[c], ks[c][:ps.n])
		mu[c] = dot(ks[c][:ps.n], ps.alpha)
	}
	forwardSolve4(ps.l, ps.n, ks[0], ks[1], ks[2], ks[3])
	for c := range 4 {
		k := ks[c][:ps.n]
		v[c] = math.Max(ps.p.scale-dot(k, k), floorVar*ps.p.scale)
	}
}

// predictGrad is predict that also sets dmu and dv to the gradients with respect to the
// numeric coordinates of x (categorical ones are left 0). k, g and b are scratch of length n.
func (ps *posterior) predictGrad(x, k, g, b, dmu, dv []float64) (mu, v float64) {
	n, d := ps.n, ps.d
	k, g, b = k[:n], g[:n], b[:n]
	w := ps.p.invLS2
	for i := range n {
		m, gi := matern(sqdist(x, ps.x[i*d:i*d+d], w, ps.cat))
		k[i] = ps.p.scale * m
		g[i] = ps.p.scale * gi
	}
	mu = dot(k, ps.alpha)
	copy(b, k)
	forwardSolve(ps.l, n, b)
	v = ps.p.scale - dot(b, b)
	floored := v < floorVar*ps.p.scale
	if floored {
		v = floorVar * ps.p.scale
	}
	backSolve(ps.l, n, b) // b = K⁻¹k
	clear(dmu[:d])
	clear(dv[:d])
	for i := range n {
		// dk_i/dx_j = -2·g_i·w_j·(x_j - x_ij)
		xi := ps.x[i*d : i*d+d]
		ca, cb := -2*g[i]*ps.alpha[i], 4*g[i]*b[i]
		for j := range d {
			if ps.cat[j] {
				continue
			}
			t := w[j] * (x[j] - xi[j])
			dmu[j] += ca * t
			dv[j] += cb * t
		}
	}
	if floored {
		clear(dv[:d])
	}
	return mu, v
}

// fitter evaluates the negative log posterior of the hyperparameters (negative log
// marginal likelihood minus the log prior) and its gradient, for points x (n×d) with
// standardized values y. The hyperparameters are optimized as
// θ = (log invLS2_1..d, log scale, log(noise - minNoise)); the last is absent when the
// noise is fixed at minNoise.
type fitter struct {
	x        []float64
	n, d     int
	cat      []bool
	y        []float64
	fixNoise bool

	a, alpha   []float64
	w          []float64
	last, grad []float64
	lastF      float64
	have       bool
	best       []float64
	bestF      float64
	evals      int
}

// thetaBound bounds each θ coordinate; beyond it a quadratic penalty pulls θ back.
const thetaBound = 12

func newFitter(x []float64, n, d int, cat []bool, y []float64, fixNoise bool) *fitter {
	f := &fitter{x: x, n: n, d: d, cat: cat, y: y, fixNoise: fixNoise}
	f.a = make([]float64, n*n)
	f.alpha = make([]float64, n)
	f.w = make([]float64, d)
	np := f.nparams()
	f.last, f.grad, f.best = make([]float64, np), make([]float64, np), make([]float64, np)
	f.bestF = math.Inf(1)
	return f
}

func (f *fitter) nparams() int {
	if f.fixNoise {
		return f.d + 1
	}
	return f.d + 2
}

// params returns the hyperparameters of θ (clamped to the bounds).
func (f *fitter) params(theta []float64) kernelParams {
	c := func(t float64) float64 { return math.Exp(math.Max(-thetaBound, math.Min(t, thetaBound))) }
	p := kernelParams{invLS2: make([]float64, f.d), scale: c(theta[f.d]), noise: minNoise}
	for j := range f.d {
		p.invLS2[j] = c(theta[j])
	}
	if !f.fixNoise {
		p.noise += c(theta[f.d+1])
	}
	return p
}

// theta returns θ for hyperparameters p.
func (f *fitter) theta(p kernelParams) []float64 {
	t := make([]float64, f.nparams())
	for j, w := range p.invLS2 {
		t[j] = math.Log(w)
	}
	t[f.d] = math.Log(p.scale)
	if !f.fixNoise {
		t[f.d+1] = math.Log(math.Max(p.noise-minNoise, 1e-12))
	}
	return t
}

// ensure evaluates at theta unless it was the last point evaluated.
func (f *fitter) ensure(theta []float64) {
	if f.have && equal(theta, f.last) {
		return
	}
	copy(f.last, theta)
	f.lastF = f.eval(theta, f.grad)
	f.have = true
	f.evals++
	if f.lastF < f.bestF {
		f.bestF = f.lastF
		copy(f.best, theta)
	}
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// eval returns the objective at theta and writes its gradient to grad.
func (f *fitter) eval(theta, grad []float64) float64 {
	n, d := f.n, f.d
	w := f.w
	for j := range d {
		w[j] = math.Exp(math.Max(-thetaBound, math.Min(theta[j], thetaBound)))
	}
	s := math.Exp(math.Max(-thetaBound, math.Min(theta[d], thetaBound)))
	noise, dnoise := minNoise, 0.0
	if !f.fixNoise {
		dnoise = math.Exp(math.Max(-thetaBound, math.Min(theta[d+1], thetaBound)))
		noise += dnoise
	}
	a := f.a
	var t blas64.Triangular
	ok := false
	for jitter := 0.0; !ok; jitter = math.Max(10*jitter, 1e-8*s) {
		for i := range n {
			xi := f.x[i*d : i*d+d]
			row := a[i*n : i*n+i]
			for j := range row {
				m, _ := matern(sqdist(xi, f.x[j*d:j*d+d], w, f.cat))
				row[j] = s * m
			}
			a[i*n+i] = s + noise + jitter
		}
		t, ok = lapack64.Potrf(blas64.Symmetric{Uplo: blas.Lower, N: n, Stride: n, Data: a})
		if !ok && jitter > s {
			clear(grad)
			return math.Inf(1)
		}
	}
	copy(f.alpha, f.y)
	lapack64.Potrs(t, blas64.General{Rows: n, Cols: 1, Stride: 1, Data: f.alpha})
	obj := 0.5*dot(f.y, f.alpha) + 0.5*float64(n)*math.Log(2*math.Pi)
	for i := range n {
		obj += math.Log(a[i*n+i])
	}
	if _, ok := lapack64.Potri(t); !ok {
		clear(grad)
		return math.Inf(1)
	}
	// a's lower triangle now holds K⁻¹. The gradient of the negative log marginal
	// likelihood is ½·tr((K⁻¹ - ααᵀ)·∂K/∂θ).
	clear(grad)
	gs, gn := 0.0, 0.0
	for i := range n {
		xi := f.x[i*d : i*d+d]
		ai := f.alpha[i]
		row := a[i*n : i*n+i]
		for j, kinv := range row {
			wij := kinv - ai*f.alpha[j]
			xj := f.x[j*d : j*d+d]
			m, g := matern(sqdist(xi, xj, w, f.cat))
			gs += wij * s * m
			c := -wij * s * g
			for q := range d {
				if f.cat[q] {
					if xi[q] != xj[q] {
						grad[q] += c * w[q]
					}
					continue
				}
				dq := xi[q] - xj[q]
				grad[q] += c * w[q] * dq * dq
			}
		}
		wii := a[i*n+i] - ai*ai
		gs += 0.5 * wii * s
		gn += 0.5 * wii * dnoise
	}
	grad[d] = gs
	if !f.fixNoise {
		grad[d+1] = gn
	}
	// Priors: Gamma-like on each inverse squared lengthscale (-0.1/w - 0.1w, peaked at
	// w = 1), Gamma(2, 1) on the scale and Gamma(1.1, 30) on the noise variance.
	for j := range d {
		obj += 0.1/w[j] + 0.1*w[j]
		grad[j] += -0.1/w[j] + 0.1*w[j]
	}
	obj -= math.Log(s) - s
	grad[d] += s - 1
	if !f.fixNoise {
		obj -= 0.1*math.Log(noise) - 30*noise
		grad[d+1] -= (0.1/noise - 30) * dnoise
	}
	// Quadratic walls beyond the bounds keep θ where exp neither overflows nor underflows.
	for q, tq := range theta {
		if c := math.Max(-thetaBound, math.Min(tq, thetaBound)); c != tq {
			obj += 50 * (tq - c) * (tq - c)
			grad[q] += 100 * (tq - c)
		}
	}
	return obj
}

// fit minimizes the objective with gonum's L-BFGS from theta0, for at most iters
// iterations, and returns the best hyperparameters found. The objective is defined on all
// of θ-space (quadratic walls beyond ±thetaBound), so the search needs no bounds.
func (f *fitter) fit(theta0 []float64, iters int) kernelParams {
	p := optimize.Problem{
		Func: func(x []float64) float64 {
			f.ensure(x)
			return f.lastF
		},
		Grad: func(g, x []float64) {
			f.ensure(x)
			copy(g, f.grad)
		},
	}
	settings := &optimize.Settings{
		MajorIterations:   iters,
		FuncEvaluations:   2 * iters,
		GradientThreshold: 1e-2,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-6, Relative: 1e-6, Iterations: 2},
	}
	// Failing to converge within the budget is expected and fine: the best point seen
	// (f.best) is kept whatever the result.
	_, _ = optimize.Minimize(p, slices.Clone(theta0), settings, &optimize.LBFGS{Store: 10})
	if math.IsInf(f.bestF, 0) {
		return f.params(theta0)
	}
	return f.params(f.best)
}

// defaultParams are the hyperparameters a fit starts from when there is no earlier fit.
func defaultParams(d int, fixNoise bool) kernelParams {
	p := kernelParams{invLS2: make([]float64, d), scale: 1, noise: minNoise}
	for j := range p.invLS2 {
		p.invLS2[j] = 1
	}
	if !fixNoise {
		p.noise = 1e-2
	}
	return p
}

// extendFactor extends l, the packed Cholesky factor of K + noise·I over the first have
// points of x, to the first n points. krow is scratch, returned for reuse.
func extendFactor(l []float64, have, n int, x []float64, d int, cat []bool, p kernelParams, krow []float64) ([]float64, []float64) {
	for i := have; i < n; i++ {
		if cap(krow) < i+1 {
			krow = make([]float64, i+1, 2*i+2)
		}
		krow = krow[:i+1]
		xi := x[i*d : i*d+d]
		for j := range i {
			m, _ := matern(sqdist(xi, x[j*d:j*d+d], p.invLS2, cat))
			krow[j] = p.scale * m
		}
		krow[i] = p.scale + p.noise
		l = cholAppend(l, i, krow)
	}
	return l, krow
}
