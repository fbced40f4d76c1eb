package tpe

import "math"

// gaussTerms is the number of Hermite terms per box. With boxes one bandwidth wide a
// kernel's offset from its box centre is at most 1/(2√2) in the expansion's units, and
// the truncation error is below about W·e^{-s²/2}·Σ_{k>=14} 0.5^k/√(k!) < 3e-10·W, for W
// the box's total weight.
const gaussTerms = 14

// gaussMin is the number of kernels from which a gaussTransform beats summing directly.
const gaussMin = 128

// gaussTransform evaluates Σ c_i·exp(-(x-μ_i)²/(2σ²)) for many kernels of one bandwidth σ
// (a fast Gauss transform): kernels are binned into boxes one bandwidth wide, each box
// keeps the Hermite expansion of its kernels about its centre,
//
//	exp(-(s-t)²) = Σ_k t^k/k! · H_k(s)·exp(-s²),
//
// and a point sums the expansions of the boxes within reach. Building costs gaussTerms
// operations per kernel, evaluating gaussTerms per box in reach, whatever the number of
// kernels.
type gaussTransform struct {
	lo, bw, inv float64 // inv = 1/(√2σ)
	nbox, reach int
	mom         []float64 // nbox × gaussTerms moments Σ c·t^k/k!
	mu, c       []float64 // kernels being collected
}

// scratch returns empty slices of capacity n to collect the kernels in.
func (g *gaussTransform) scratch(n int) (mu, c []float64) {
	if cap(g.mu) < n {
		g.mu, g.c = make([]float64, 0, n+n/2+8), make([]float64, 0, n+n/2+8)
	}
	return g.mu[:0], g.c[:0]
}

var invFactorial = func() (f [gaussTerms]float64) {
	f[0] = 1
	for k := 1; k < gaussTerms; k++ {
		f[k] = f[k-1] / float64(k)
	}
	return f
}()

// build bins kernels (centres mu sorted, weights c) of bandwidth sigma over [lo, hi].
// Contributions below floor are dropped.
func (g *gaussTransform) build(lo, hi, sigma float64, mu, c []float64, floor float64) {
	g.lo, g.bw, g.inv = lo, sigma, 1/(math.Sqrt2*sigma)
	g.nbox = max(1, int(math.Ceil((hi-lo)/sigma)))
	g.mom = resize(g.mom, g.nbox*gaussTerms)
	clear(g.mom)
	for i := 0; i < len(mu); {
		b := g.box(mu[i])
		centre := lo + (float64(b)+0.5)*g.bw
		var acc [gaussTerms]float64
		for ; i < len(mu) && g.box(mu[i]) == b; i++ {
			t := (mu[i] - centre) * g.inv
			t2 := t * t
			even, odd := c[i], c[i]*t // two shorter chains of powers
			for k := 0; k < gaussTerms; k += 2 {
				acc[k] += even
				acc[k+1] += odd
				even *= t2
				odd *= t2
			}
		}
		m := g.mom[b*gaussTerms : b*gaussTerms+gaussTerms]
		for k := range acc {
			m[k] += acc[k] * invFactorial[k]
		}
	}
	// A box at distance d from a point adds at most W·exp(-(d - bw/2)²/(2σ²)).
	maxW := 0.0
	for b := range g.nbox {
		maxW = math.Max(maxW, g.mom[b*gaussTerms])
	}
	g.reach = 1
	if maxW > floor {
		r := sigma * math.Sqrt(2*math.Log(maxW/floor))
		g.reach = min(int(math.Ceil(r/g.bw+0.5))+1, 36) // keeps s² below 700
	}
}

func (g *gaussTransform) box(x float64) int {
	return max(0, min(g.nbox-1, int((x-g.lo)/g.bw)))
}

// at returns the sum at x.
func (g *gaussTransform) at(x float64) float64 {
	b0 := g.box(x)
	sum := 0.0
	for b := max(0, b0-g.reach); b <= min(g.nbox-1, b0+g.reach); b++ {
		m := g.mom[b*gaussTerms : b*gaussTerms+gaussTerms]
		if m[0] == 0 {
			continue
		}
		s := (x - (g.lo + (float64(b)+0.5)*g.bw)) * g.inv
		e := expFast(-s * s)
		h0, h1 := e, 2*s*e
		acc := m[0]*h0 + m[1]*h1
		for k := 2; k < gaussTerms; k++ {
			h0, h1 = h1, 2*(s*h1-float64(k-1)*h0)
			acc += m[k] * h1
		}
		sum += acc
	}
	return sum
}
