package tpe

import (
	"math"
	"math/rand/v2"
)

const (
	sqrt2      = math.Sqrt2
	invSqrt2Pi = 0.3989422804014327 // 1/√(2π)
	logSqrt2Pi = 0.9189385332046728 // log √(2π)
)

// expTable[j] = 2^(j/256).
var expTable = func() (t [256]float64) {
	for j := range t {
		t[j] = math.Exp2(float64(j) / 256)
	}
	return t
}()

// expNeg returns e^t for t <= 0, with a relative error below 1e-15; below -700 it returns
// 0. It is faster than math.Exp, and the densities evaluate it for most kernels.
func expNeg(t float64) float64 {
	if t < -700 {
		return 0
	}
	return expFast(t)
}

// expFast is expNeg for -700 <= t <= 0, small enough to be inlined.
func expFast(t float64) float64 {
	const (
		scale = 256 / math.Ln2
		ln2hi = 6.93147180369123816490e-01 / 256
		ln2lo = 1.90821492927058770002e-10 / 256
	)
	k := int(t*scale - 0.5)                        // t*scale <= 0: rounds to nearest
	r := (t - float64(k)*ln2hi) - float64(k)*ln2lo // |r| <= ln2/512
	r2 := r * r
	p := (1 + r) + r2*((0.5+r*(1.0/6))+r2*(1.0/24))
	return math.Float64frombits(math.Float64bits(expTable[k&255]*p) + uint64(int64(k>>8))<<52)
}

// phi is the standard normal CDF.
func phi(z float64) float64 { return 0.5 * math.Erfc(-z/sqrt2) }

// phiDiff returns Φ(b) - Φ(a) for a <= b, accurate in either tail.
func phiDiff(a, b float64) float64 {
	switch {
	case a >= 0:
		return 0.5 * (math.Erfc(a/sqrt2) - math.Erfc(b/sqrt2))
	case b <= 0:
		return 0.5 * (math.Erfc(-b/sqrt2) - math.Erfc(-a/sqrt2))
	}
	return 0.5 * (math.Erf(b/sqrt2) - math.Erf(a/sqrt2))
}

// tailZ is how many standard deviations inside the bounds a kernel's centre must be for its
// truncation to be ignored: Φ(-tailZ) is below 1e-10.
const tailZ = 6.4

// phiTable holds Φ(-j/phiSteps) and φ(j/phiSteps) for j = 0..tailZ·phiSteps+1, for the
// cubic Hermite interpolation of lowerTail.
const phiSteps = 128

var phiTable = func() (t [][2]float64) {
	for j := 0; float64(j) <= tailZ*phiSteps+1; j++ {
		a := float64(j) / phiSteps
		t = append(t, [2]float64{0.5 * math.Erfc(a/sqrt2), invSqrt2Pi * math.Exp(-a*a/2)})
	}
	return t
}()

// lowerTail returns Φ(-a) for a >= 0 within 1e-10 (absolute): 0 beyond tailZ. It
// interpolates a table, several times faster than math.Erfc.
func lowerTail(a float64) float64 {
	if a >= tailZ {
		return 0
	}
	u := a * phiSteps
	j := int(u)
	f := u - float64(j)
	p0, p1 := phiTable[j], phiTable[j+1]
	// Φ(-a) has derivative -φ(a); in table steps, -φ/phiSteps.
	d0, d1 := -p0[1]/phiSteps, -p1[1]/phiSteps
	f2 := f * f
	f3 := f2 * f
	return (2*f3-3*f2+1)*p0[0] + (f3-2*f2+f)*d0 + (-2*f3+3*f2)*p1[0] + (f3-f2)*d1
}

// truncMass returns the mass of N(mu, sigma) inside [lo, hi] (mu in [lo, hi]), within
// 2e-10.
func truncMass(mu, sigma, lo, hi float64) float64 {
	a, b := (mu-lo)/sigma, (hi-mu)/sigma
	if a > tailZ && b > tailZ {
		return 1
	}
	return 1 - lowerTail(a) - lowerTail(b)
}

// cellCorrection is the factor by which the mass of N(0,1) in [z-a, z+a] differs from
// 2a·φ(z): 1 + a²He₂(z)/6 + a⁴He₄(z)/120, whose error is below a⁶|He₆(z)|/5040. It is used
// for a <= midpointMax.
func cellCorrection(z, a float64) float64 {
	z2, a2 := z*z, a*a
	return 1 + a2*((z2-1)/6+a2*(z2*z2-6*z2+3)/120)
}

// midpointMax is the largest half-width, in standard deviations, for which a cell's mass is
// computed by cellCorrection instead of the CDF.
const midpointMax = 0.1

// truncNormal draws from N(mu, sigma) truncated to [lo, hi], where mu lies in [lo, hi], so
// at least a third of the mass is inside and rejection is quick. After 64 rejections it
// falls back to the inverse CDF.
func truncNormal(r *rand.Rand, mu, sigma, lo, hi float64) float64 {
	for range 64 {
		x := mu + sigma*r.NormFloat64()
		if x >= lo && x <= hi {
			return x
		}
	}
	a, b := phi((lo-mu)/sigma), phi((hi-mu)/sigma)
	u := a + r.Float64()*(b-a)
	x := mu + sigma*sqrt2*math.Erfinv(2*u-1)
	return math.Max(lo, math.Min(hi, x))
}
