package tpe

import (
	"math"
	"math/rand/v2"
	"sort"
)

// negligible is the relative size below which a kernel's contribution to a density is
// dropped: a kernel is skipped where it is below negligible times the prior kernel's
// smallest density, so the relative error of a mixture of n kernels is below n·negligible.
const negligible = 1e-14

// obs is an observation for a univariate estimator: its model-space value and raw weight.
type obs struct {
	x, w float64
}

// parzen1 is a univariate Parzen estimator over [lo, hi]: a mixture of Gaussians truncated
// to [lo, hi], one per observation, each with the distance to its farther neighbour (the
// prior's centre included) as its bandwidth, clipped to [range/min(100, n+2), range], plus
// a prior kernel at the centre as wide as the range. Samples are drawn with the
// observations' weights; densities weigh each kernel by its weight times its bandwidth.
//
// A density sums only the kernels within reach of the point. Kernels at the minimum
// bandwidth, which crowd where observations are dense, are summed by a gaussTransform
// when they are many and the param is continuous; the others are kept sorted by centre in
// two lists: narrow ones (bandwidth at most twice the minimum), found by binary search, and
// wide ones, which are few (their neighbour gaps add up to at most twice the range),
// scanned in full.
type parzen1 struct {
	lo, hi float64

	// every kernel, sorted by centre, for sampling
	mu, sigma, w []float64

	nmu, ninv, ncoef []float64 // narrow kernels
	wmu, winv, wcoef []float64 // wide kernels
	nreach           float64   // how far a narrow kernel can matter
	r2               float64   // how many squared bandwidths a kernel can matter
	gt               gaussTransform
	useGT            bool

	pmu, psigma, pcoef float64 // the prior kernel
}

// build fits the estimator to observations sorted by x, the prior kernel weighing
// priorWeight. For a continuous param it may sum the crowded kernels by a gaussTransform.
// Only an estimator built with sampled can sample.
func (p *parzen1) build(lo, hi float64, o []obs, priorWeight float64, cont, sampled bool) {
	*p = parzen1{
		lo: lo, hi: hi, gt: p.gt,
		mu: p.mu[:0], sigma: p.sigma[:0], w: p.w[:0],
		nmu: p.nmu[:0], ninv: p.ninv[:0], ncoef: p.ncoef[:0],
		wmu: p.wmu[:0], winv: p.winv[:0], wcoef: p.wcoef[:0],
	}
	span := hi - lo
	total := priorWeight
	for _, ob := range o {
		total += ob.w
	}
	invTotal := 1 / total
	p.pmu, p.psigma = (lo+hi)/2, span
	n := len(o)
	// The prior's centre counts as a neighbour: it sits before observation pi.
	pi := sort.Search(n, func(i int) bool { return o[i].x >= p.pmu })
	minSigma := span / math.Min(100, float64(n+2))
	p.useGT = false
	var gmu, gc []float64
	if cont && n >= gaussMin {
		p.useGT = true
		gmu, gc = p.gt.scratch(n)
	}
	// Coefficients are first w·φ-height/Z, and the sum of w·σ; scaled at the end.
	sw := 0.0
	for i := 0; i < n; i++ {
		x := o[i].x
		left, right := math.NaN(), math.NaN()
		switch {
		case i == pi:
			left = x - p.pmu
		case i > 0:
			left = x - o[i-1].x
		}
		switch {
		case i+1 == pi:
			right = p.pmu - x
		case i+1 < n:
			right = o[i+1].x - x
		}
		var s float64
		switch {
		case math.IsNaN(left):
			s = right
		case math.IsNaN(right):
			s = left
		default:
			s = max(left, right)
		}
		if s < minSigma {
			s = minSigma
		} else if s > span {
			s = span
		}
		if sampled {
			w := o[i].w * invTotal
			if k := len(p.mu) - 1; k >= 0 && p.mu[k] == x && p.sigma[k] == s {
				p.w[k] += w
			} else {
				p.mu, p.sigma, p.w = append(p.mu, x), append(p.sigma, s), append(p.w, w)
			}
		}
		sw += o[i].w * s
		c := o[i].w * invSqrt2Pi
		if x-lo < tailZ*s || hi-x < tailZ*s {
			c /= truncMass(x, s, lo, hi)
		}
		// Kernels with the same centre and bandwidth merge into one.
		switch {
		case p.useGT && s == minSigma:
			if k := len(gmu) - 1; k >= 0 && gmu[k] == x {
				gc[k] += c
			} else {
				gmu, gc = append(gmu, x), append(gc, c)
			}
		case s <= 2*minSigma:
			if k := len(p.nmu) - 1; k >= 0 && p.nmu[k] == x && p.ninv[k] == 1/s {
				p.ncoef[k] += c
			} else {
				p.nmu, p.ninv, p.ncoef = append(p.nmu, x), append(p.ninv, 1/s), append(p.ncoef, c)
			}
		default:
			if k := len(p.wmu) - 1; k >= 0 && p.wmu[k] == x && p.winv[k] == 1/s {
				p.wcoef[k] += c
			} else {
				p.wmu, p.winv, p.wcoef = append(p.wmu, x), append(p.winv, 1/s), append(p.wcoef, c)
			}
		}
	}
	// Each kernel weighs w·σ, the prior priorWeight·span: normalize by their sum.
	scale := 1 / (sw + priorWeight*span)
	p.pcoef = priorWeight * span * scale * invSqrt2Pi / (span * truncMass(p.pmu, span, lo, hi))
	// The prior's density is at least floor/negligible anywhere in [lo, hi] (|z| <= 1/2).
	floor := p.pcoef * math.Exp(-0.125) * negligible
	maxCoef := 0.0
	for _, cs := range [][]float64{p.ncoef, p.wcoef, gc} {
		for i := range cs {
			cs[i] *= scale
			maxCoef = max(maxCoef, cs[i])
		}
	}
	if maxCoef > floor {
		p.r2 = min(2*math.Log(maxCoef/floor), 1000) // e^{-500} is below any floor
	}
	p.nreach = 2 * minSigma * math.Sqrt(p.r2)
	if p.useGT {
		p.gt.build(lo, hi, minSigma, gmu, gc, floor)
	}
}

// logPDF returns the log density at x, a point of [lo, hi].
func (p *parzen1) logPDF(x float64) float64 {
	z := (x - p.pmu) / p.psigma
	sum := p.pcoef * expFast(-0.5*z*z)
	r2 := p.r2
	for i, m := range p.wmu {
		z := (x - m) * p.winv[i]
		if z2 := z * z; z2 <= r2 {
			sum += p.wcoef[i] * expNeg(-0.5*z2)
		}
	}
	mu := p.nmu
	for i := searchFloat(mu, x-p.nreach); i < len(mu) && mu[i] <= x+p.nreach; i++ {
		z := (x - mu[i]) * p.ninv[i]
		if z2 := z * z; z2 <= r2 {
			sum += p.ncoef[i] * expNeg(-0.5*z2)
		}
	}
	if p.useGT {
		sum += p.gt.at(x)
	}
	return math.Log(sum)
}

// logMass returns the log probability of the cell [a, b].
func (p *parzen1) logMass(a, b float64) float64 {
	c, h := (a+b)/2, (b-a)/2
	sum := cellMass(c, h, a, b, p.pmu, p.psigma, p.pcoef)
	r2 := p.r2
	for i, m := range p.wmu {
		if z := max(0, math.Abs(c-m)-h) * p.winv[i]; z*z <= r2 {
			sum += cellMass(c, h, a, b, m, 1/p.winv[i], p.wcoef[i])
		}
	}
	mu := p.nmu
	for i := searchFloat(mu, a-p.nreach); i < len(mu) && mu[i] <= b+p.nreach; i++ {
		if z := max(0, math.Abs(c-mu[i])-h) * p.ninv[i]; z*z <= r2 {
			sum += cellMass(c, h, a, b, mu[i], 1/p.ninv[i], p.ncoef[i])
		}
	}
	return math.Log(sum)
}

// cellMass is the mass of the cell [a, b] (centre c, half-width h) under a kernel with
// density coef·exp(-z²/2).
func cellMass(c, h, a, b, mu, sigma, coef float64) float64 {
	z, ah := (c-mu)/sigma, h/sigma
	if ah <= midpointMax {
		return 2 * h * coef * expNeg(-0.5*z*z) * cellCorrection(z, ah)
	}
	return coef * sigma / invSqrt2Pi * phiDiff((a-mu)/sigma, (b-mu)/sigma)
}

// sample draws a point of [lo, hi] from the mixture.
func (p *parzen1) sample(r *rand.Rand) float64 {
	u := r.Float64()
	for i, w := range p.w {
		if u -= w; u < 0 {
			return truncNormal(r, p.mu[i], p.sigma[i], p.lo, p.hi)
		}
	}
	return truncNormal(r, p.pmu, p.psigma, p.lo, p.hi)
}

// searchFloat returns the first index of sorted s whose value is >= x.
func searchFloat(s []float64, x float64) int {
	return sort.Search(len(s), func(i int) bool { return s[i] >= x })
}

// cat1 is a univariate estimator over k choices: each observation's kernel keeps 1-λ of its
// mass on its own choice and spreads λ evenly (an Aitchison–Aitken kernel), plus a uniform
// prior kernel. λ = kα/(1+kα) with α = priorWeight/(n+1), so each kernel is the observation
// counted once plus α for every choice, normalized.
type cat1 struct {
	p []float64 // probability of each choice
}

func (c *cat1) build(k int, o []obs, priorWeight float64) {
	c.p = c.p[:0]
	for range k {
		c.p = append(c.p, 0)
	}
	total := priorWeight
	for _, ob := range o {
		total += ob.w
	}
	alpha := priorWeight / float64(len(o)+1)
	lambda := float64(k) * alpha / (1 + float64(k)*alpha)
	spread := priorWeight / total / float64(k)
	for _, ob := range o {
		w := ob.w / total
		c.p[int(ob.x)] += (1 - lambda) * w
		spread += lambda * w / float64(k)
	}
	for i := range c.p {
		c.p[i] += spread
	}
}

func (c *cat1) sample(r *rand.Rand) int {
	u := r.Float64()
	for i, p := range c.p {
		if u -= p; u < 0 {
			return i
		}
	}
	return len(c.p) - 1
}
