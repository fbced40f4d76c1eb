package gp

import "math"

const (
	logSqrt2Pi   = 0.91893853320467274178 // log(2π)/2
	logSqrtPiBy2 = 0.22579135264472743236 // log(π/2)/2
	sqrt2        = 1.41421356237309504880
	sqrtPi       = 1.77245385090551602730
	sqrt2Pi      = 2.50662827463100050242
	// tailZ is where logH switches to the asymptotic series: z < tailZ means
	// -z/√2 > 26, beyond which exp(x²)·erfc(x) would overflow or lose precision.
	tailZ = -26 * sqrt2
)

// log1mexp returns log(1 - exp(t)) for t < 0, accurately at both ends.
func log1mexp(t float64) float64 {
	if t > -math.Ln2 {
		return math.Log(-math.Expm1(t))
	}
	return math.Log1p(-math.Exp(t))
}

// erfcx returns the scaled complementary error function exp(x²)·erfc(x) for x >= 0.
func erfcx(x float64) float64 {
	if x < 26 {
		return math.Exp(x*x) * math.Erfc(x)
	}
	u := 1 / (2 * x * x)
	return (1 - u*(1-u*(3-u*(15-u*105)))) / (x * sqrtPi)
}

// tailSeries returns 1 - √π·x·erfcx(x) for x = -z/√2 >= 26 from its asymptotic series in
// u = 1/z², without the cancellation of the direct form.
func tailSeries(z float64) float64 {
	u := 1 / (z * z)
	return u * (1 - u*(3-u*(15-u*(105-u*945))))
}

// logH returns log h(z), h(z) = φ(z) + z·Φ(z), the expected improvement of a standard
// normal over -z, accurately for every z: directly for z > -1; for smaller z as
// log φ(z) + log(1 - √(π/2)·|z|·erfcx(|z|/√2)), through log1mexp (Ament et al. 2023,
// "Unexpected improvements to expected improvement"); and in the far tail from the
// asymptotic series of erfc, so it stays finite where h underflows.
func logH(z float64) float64 {
	switch {
	case z > -1:
		return math.Log(phi(z) + z*normCDF(z))
	case z > tailZ:
		t := math.Log(-z*erfcx(-z/sqrt2)) + logSqrtPiBy2
		return -z*z/2 - logSqrt2Pi + log1mexp(t)
	}
	return -z*z/2 - logSqrt2Pi + math.Log(tailSeries(z))
}

// dlogH returns d log h(z)/dz = Φ(z)/h(z).
func dlogH(z float64) float64 {
	switch {
	case z > -1:
		return normCDF(z) / (phi(z) + z*normCDF(z))
	case z > tailZ:
		x := -z / sqrt2
		q := -math.Expm1(math.Log(-z*erfcx(x)) + logSqrtPiBy2)
		return erfcx(x) * sqrt2Pi / 2 / q
	}
	return erfcx(-z/sqrt2) * sqrt2Pi / 2 / tailSeries(z)
}

func phi(z float64) float64     { return math.Exp(-z*z/2 - logSqrt2Pi) }
func normCDF(z float64) float64 { return math.Erfc(-z/sqrt2) / 2 }

// logEI returns the log expected improvement of a normal N(mu, sigma²) below best
// (minimization), and its derivatives with respect to mu and sigma.
func logEI(mu, sigma, best float64) (v, dmu, dsigma float64) {
	z := (best - mu) / sigma
	v = logH(z) + math.Log(sigma)
	dz := dlogH(z)
	return v, -dz / sigma, (1 - dz*z) / sigma
}

// logPhi returns log Φ(z), the log of the standard normal CDF, and its derivative
// φ(z)/Φ(z), both accurate far into the lower tail (where Φ underflows).
func logPhi(z float64) (v, dz float64) {
	switch {
	case math.IsInf(z, 1):
		return 0, 0
	case z < 0:
		// Φ(z) = erfc(-z/√2)/2 = erfcx(-z/√2)·exp(-z²/2)/2.
		e := erfcx(-z / sqrt2)
		return math.Log(e) - z*z/2 - math.Ln2, 2 / (sqrt2Pi * e)
	}
	c := normCDF(z)
	return math.Log1p(-normCDF(-z)), phi(z) / c
}
