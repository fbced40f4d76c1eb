package gp

import "math"

// lbfgs minimizes a smooth function over a box with limited-memory BFGS directions
// projected onto the box (coordinates at a bound whose gradient points outward are held)
// and a backtracking Armijo line search. It is deterministic and reuses its memory.
type lbfgs struct {
	mem            int
	s, y           [][]float64 // the last pairs of steps and gradient changes, oldest first
	rho            []float64
	g, d, xn, gn   []float64
	alpha          []float64
	maxIter, evals int
	maxEvals       int
	gtol, ftol     float64
}

func newLBFGS(n, mem int) *lbfgs {
	o := &lbfgs{mem: mem, g: make([]float64, n), d: make([]float64, n), xn: make([]float64, n),
		gn: make([]float64, n), alpha: make([]float64, mem)}
	for range mem {
		o.s = append(o.s, make([]float64, n))
		o.y = append(o.y, make([]float64, n))
	}
	o.rho = make([]float64, mem)
	return o
}

// minimize moves x (inside [lo, hi]) to the best point found and returns its value. f
// returns the value at x and writes the gradient to g.
func (o *lbfgs) minimize(f func(x, g []float64) float64, x, lo, hi []float64) float64 {
	n := len(x)
	g, d, xn, gn := o.g[:n], o.d[:n], o.xn[:n], o.gn[:n]
	for i := range x {
		x[i] = math.Max(lo[i], math.Min(x[i], hi[i]))
	}
	fx := f(x, g)
	o.evals = 1
	if math.IsNaN(fx) || math.IsInf(fx, 0) {
		return fx
	}
	k := 0 // pairs stored
	next := 0
	active := func(i int, gi float64) bool {
		return (x[i] <= lo[i] && gi > 0) || (x[i] >= hi[i] && gi < 0)
	}
	small := 0
	for iter := 0; iter < o.maxIter && o.evals < o.maxEvals; iter++ {
		pg := 0.0
		for i, gi := range g {
			if !active(i, gi) {
				pg = math.Max(pg, math.Abs(gi))
			}
		}
		if pg <= o.gtol {
			break
		}
		// Two-loop recursion on the free coordinates.
		for i, gi := range g {
			if active(i, gi) {
				d[i] = 0
			} else {
				d[i] = gi
			}
		}
		for j := 0; j < k; j++ {
			p := (next - 1 - j + o.mem) % o.mem
			o.alpha[p] = o.rho[p] * dot(o.s[p][:n], d)
			axpy(-o.alpha[p], o.y[p][:n], d)
		}
		if k > 0 {
			p := (next - 1 + o.mem) % o.mem
			yy := dot(o.y[p][:n], o.y[p][:n])
			scale(d, 1/(o.rho[p]*yy))
		}
		for j := k - 1; j >= 0; j-- {
			p := (next - 1 - j + o.mem) % o.mem
			b := o.rho[p] * dot(o.y[p][:n], d)
			axpy(o.alpha[p]-b, o.s[p][:n], d)
		}
		for i := range d {
			d[i] = -d[i]
			if active(i, g[i]) {
				d[i] = 0
			}
		}
		if dot(d, g) >= 0 { // not a descent direction: restart from steepest descent
			k = 0
			for i, gi := range g {
				d[i] = -gi
				if active(i, gi) {
					d[i] = 0
				}
			}
		}
		t := 1.0
		if k == 0 {
			t = 1 / math.Max(1, maxAbs(d))
		}
		fn := math.Inf(1)
		accepted := false
		for ls := 0; ls < 30 && o.evals < o.maxEvals; ls++ {
			dec := 0.0
			for i := range xn {
				xn[i] = math.Max(lo[i], math.Min(x[i]+t*d[i], hi[i]))
				dec += g[i] * (xn[i] - x[i])
			}
			fn = f(xn, gn)
			o.evals++
			if fn <= fx+1e-4*dec && !math.IsNaN(fn) {
				accepted = true
				break
			}
			t *= 0.3
		}
		if !accepted {
			break
		}
		// Store the pair when the curvature condition holds.
		sp, yp := o.s[next][:n], o.y[next][:n]
		for i := range sp {
			sp[i] = xn[i] - x[i]
			yp[i] = gn[i] - g[i]
		}
		if sy := dot(sp, yp); sy > 1e-12*math.Sqrt(dot(sp, sp)*dot(yp, yp)) && sy > 0 {
			o.rho[next] = 1 / sy
			next = (next + 1) % o.mem
			k = min(k+1, o.mem)
		}
		if fx-fn <= o.ftol*math.Max(1, math.Abs(fx)) {
			small++
		} else {
			small = 0
		}
		copy(x, xn)
		copy(g, gn)
		fx = fn
		if small >= 2 {
			break
		}
	}
	return fx
}

func axpy(a float64, x, y []float64) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

func scale(x []float64, a float64) {
	for i := range x {
		x[i] *= a
	}
}

func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}
