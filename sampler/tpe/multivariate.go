package tpe

import (
	"math"
	"math/rand/v2"
)

// memoMax is the largest grid of a discrete param whose cell masses are memoized per kernel
// centre while one candidate is scored.
const memoMax = 4096

// parzenN is a joint Parzen estimator over several params: one product kernel per
// observation plus a prior kernel. Samples are drawn with the observations' weights;
// densities weigh each kernel by its weight times the product of its bandwidths (the
// ranges for the prior). Numeric params use Gaussians truncated to the bounds with one
// bandwidth per param, by Scott's rule: σ̂·n^(-1/(d+4)) for continuous params, σ̂ the
// spread of the kernel centres (spreadBandwidth), and 0.2·n^(-1/(d+4)) times the range for
// discrete ones (jointBandwidth), clipped to [range/min(100, n+1), range]; discrete params
// take the kernel's mass over the candidate's cell; categorical params use the kernel of
// cat1.
type parzenN struct {
	dims []*dim
	D, n int
	mu   []float64 // n×D kernel centres
	su   []float64 // D×n: per column (perm order), the centres times scale (categorical: the index)
	w    []float64 // normalized kernel weights
	pw   float64   // normalized prior weight
	lpw  float64   // log of the prior's scoring weight
	base []float64 // per kernel: log weight, truncations and continuous normalizations

	sigma, inv   []float64 // per numeric dim
	scale        []float64 // per dim: 1/(√2σ) for numeric dims, 1 for categorical ones
	lsame, ldiff []float64 // per categorical dim: log kernel mass on its own / another choice
	lambda       []float64 // per categorical dim
	cont, disc   []int     // numeric dims by kind
	cats         []int
	perm         []int   // cont, then disc, then cats: the column order of su
	grid         []int32 // (discrete dims)×n grid indexes of the centres
	gridSize     []int   // per discrete dim
	pmu, psigma  []float64
	pz           []float64 // prior truncation mass per numeric dim
}

// jointBandwidth returns the bandwidth of every kernel of a discrete param of range span in
// a joint estimator of n observations over d params: 0.2·n^(-1/(d+4))·span, with the
// power rounded to a step of 1% so that truncation masses can be kept between proposals,
// clipped to [span/min(100, n+1), span].
func jointBandwidth(span float64, n, d int) float64 {
	f := math.Round(100*math.Log(max(1, float64(n)))/float64(d+4)) / 100
	return max(span/min(100, float64(n+1)), min(span, 0.2*span*math.Exp(-f)))
}

// spreadBandwidth returns the bandwidth of every kernel of continuous param d in a joint
// estimator of the n = len(w) observations in mu (D values each) with raw weights w:
// Scott's rule σ̂·n^(-1/(D+4)), where σ̂ is the weighted standard deviation of the kernel
// centres, the prior's (the range's centre, weighing priorWeight) included, clipped to
// [range/min(100, n+1), range].
func spreadBandwidth(m *dim, mu []float64, D, d int, w []float64, priorWeight float64) float64 {
	n := len(w)
	c := (m.lo + m.hi) / 2
	// One pass, with moments about the prior's centre: as that is one of the centres, the
	// variance is at least priorWeight/tw of the second moment, so little precision is lost.
	tw, s1, s2 := priorWeight, 0.0, 0.0
	for i, x := range w {
		dx := mu[i*D+d] - c
		tw += x
		s1 += x * dx
		s2 += x * dx * dx
	}
	mean := s1 / tw
	sd := math.Sqrt(max(0, s2/tw-mean*mean))
	span := m.hi - m.lo
	return max(span/min(100, float64(n+1)), min(span, sd*math.Pow(float64(n), -1/float64(D+4))))
}

// build fits the estimator. mu holds len(w) observations of D values (model space); w are
// their raw weights. logZ, if not nil, holds for each observation the sum over discrete
// params of the log mass its kernel keeps inside the bounds (the range rule's bandwidths
// are the same from one proposal to the next, so these masses can be kept); the masses of
// the other numeric params are computed here.
func (p *parzenN) build(dims []*dim, mu, w []float64, priorWeight float64, logZ []float64) {
	D, n := len(dims), len(w)
	p.dims, p.D, p.n = dims, D, n
	p.mu = mu
	total := priorWeight
	for _, x := range w {
		total += x
	}
	p.w = resize(p.w, n)
	for i, x := range w {
		p.w[i] = x / total
	}
	p.pw = priorWeight / total
	p.sigma, p.inv = resize(p.sigma, D), resize(p.inv, D)
	p.lsame, p.ldiff, p.lambda = resize(p.lsame, D), resize(p.ldiff, D), resize(p.lambda, D)
	p.pmu, p.psigma, p.pz = resize(p.pmu, D), resize(p.psigma, D), resize(p.pz, D)
	p.gridSize = resize(p.gridSize, D)
	p.cont, p.disc, p.cats = p.cont[:0], p.disc[:0], p.cats[:0]
	for d, m := range dims {
		switch m.kind {
		case categorical:
			k := float64(m.k)
			alpha := priorWeight / float64(n+1)
			lam := k * alpha / (1 + k*alpha)
			p.lambda[d], p.lsame[d], p.ldiff[d] = lam, math.Log(1-lam+lam/k), math.Log(lam/k)
			p.cats = append(p.cats, d)
			continue
		case discrete:
			p.disc = append(p.disc, d)
			p.gridSize[d] = int(m.last) + 1
			if m.log {
				p.gridSize[d] = int(m.last-m.first) + 1
			}
		default:
			p.cont = append(p.cont, d)
		}
		span := m.hi - m.lo
		var s float64
		if m.kind == continuous {
			s = spreadBandwidth(m, mu, D, d, w, priorWeight)
		} else {
			s = jointBandwidth(span, n, D)
		}
		p.sigma[d], p.inv[d] = s, 1/s
		p.pmu[d], p.psigma[d] = (m.lo+m.hi)/2, span
		p.pz[d] = truncMass(p.pmu[d], span, m.lo, m.hi)
	}
	p.perm = append(append(append(p.perm[:0], p.cont...), p.disc...), p.cats...)
	p.scale = resize(p.scale, D)
	for d, m := range dims {
		p.scale[d] = 1
		if m.kind != categorical {
			p.scale[d] = p.inv[d] / math.Sqrt2
		}
	}
	// Scoring weights: each kernel weighs its raw weight times its bandwidths' product, so
	// relative to the observations' kernels the prior weighs priorWeight·Π(range/σ).
	logRS := 0.0
	for d, m := range dims {
		if m.kind != categorical {
			logRS += math.Log((m.hi - m.lo) / p.sigma[d])
		}
	}
	rawTotal := total - priorWeight
	scoreTotal := rawTotal + priorWeight*math.Exp(logRS)
	p.lpw = math.Log(priorWeight) + logRS - math.Log(scoreTotal)
	shift := math.Log(total / scoreTotal) // from w_i = x/total to x/scoreTotal
	p.base = resize(p.base, n)
	contNorm := -shift
	for _, d := range p.cont {
		contNorm += math.Log(p.sigma[d]) + logSqrt2Pi
	}
	p.grid = resize(p.grid, n*len(p.disc))
	p.su = resize(p.su, n*D)
	for i := range n {
		row := mu[i*D : i*D+D]
		for j, d := range p.disc {
			p.grid[j*n+i] = int32(dims[d].gridIndex(row[d]))
		}
		z := 1.0 // product of the truncation masses not in logZ
		for _, d := range p.cont {
			z *= truncMass(row[d], p.sigma[d], dims[d].lo, dims[d].hi)
		}
		if logZ != nil {
			p.base[i] = math.Log(p.w[i]/z) - logZ[i] - contNorm
		} else {
			for _, d := range p.disc {
				z *= truncMass(row[d], p.sigma[d], dims[d].lo, dims[d].hi)
			}
			p.base[i] = math.Log(p.w[i]/z) - contNorm
		}
		for j, d := range p.perm {
			p.su[j*n+i] = row[d] * p.scale[d]
		}
	}
}

// gridIndex returns the position of a discrete grid point.
func (m *dim) gridIndex(x float64) int {
	if m.log {
		return int(math.Round(math.Exp(x)) - m.first)
	}
	return int(math.Round((x - m.low) / m.step))
}

// blockKernels is how many kernels are scored against every candidate at a time: their
// centres (blockKernels×D values) stay in the first-level cache meanwhile.
const blockKernels = 256

// scratch is the working memory of parzenN.logDensities. Per-column values follow the
// column order of su, candidate after candidate.
type scratch struct {
	xs      []float64 // C×D: the candidates, scaled (discrete columns: the cell centre)
	a, b    []float64 // C×nd: the candidates' cells
	mid     []bool    // C×nd: mass by the midpoint expansion, else by the CDF
	c2, c4  []float64 // C×nd: midpoint expansion coefficients
	cst     []float64 // C: constant of the midpoint cells
	top     []float64 // C: largest log term so far
	sum     []float64 // C: sum of exp(term - top) so far
	memoOff []int     // nd: offset into a candidate's memo, -1 if not memoized
	memo    []float64 // C×memoLen: log masses of CDF columns, by grid index
	stamp   []int32
	gen     int32
	ts, cs  []float64 // per kernel of a block: log term, cell-mass correction
}

// logDensities sets out[c] to the log density of the estimator at candidate c of x (C
// points of D values, model space): a product of densities over continuous params, cell
// masses over discrete ones and probabilities over categorical ones.
func (p *parzenN) logDensities(x []float64, C int, out []float64, sc *scratch) {
	D, nc, nd := p.D, len(p.cont), len(p.disc)
	nk := D - nc - nd
	xs := resize(sc.xs, C*D)
	a, b := resize(sc.a, C*nd), resize(sc.b, C*nd)
	mid := resize(sc.mid, C*nd)
	c2, c4 := resize(sc.c2, C*nd), resize(sc.c4, C*nd)
	cst, top, sum := resize(sc.cst, C), resize(sc.top, C), resize(sc.sum, C)
	memoOff := resize(sc.memoOff, nd)
	sc.xs, sc.a, sc.b, sc.mid, sc.c2, sc.c4, sc.cst, sc.top, sc.sum, sc.memoOff = xs, a, b, mid, c2, c4, cst, top, sum, memoOff
	memoLen := 0
	for j, d := range p.disc {
		memoOff[j] = -1
		if p.gridSize[d] <= memoMax {
			memoOff[j] = memoLen
			memoLen += p.gridSize[d]
		}
	}
	if memoLen*C > 1<<18 { // too much memory to memoize: compute every mass
		for j := range memoOff {
			memoOff[j] = -1
		}
		memoLen = 0
	}
	if memoLen > 0 {
		sc.memo = resize(sc.memo, C*memoLen)
		if len(sc.stamp) < C*memoLen {
			sc.stamp = make([]int32, C*memoLen, C*memoLen*3/2)
			sc.gen = 0
		}
		sc.gen++
	}
	// Per candidate: the prior's log term (the starting top), the constant of the
	// midpoint cells, and the scaled coordinates.
	for c := range C {
		xc, xsc := x[c*D:c*D+D], xs[c*D:c*D+D]
		prior := p.lpw
		cst[c] = 0
		for j, d := range p.cont {
			z := (xc[d] - p.pmu[d]) / p.psigma[d]
			prior += -0.5*z*z - math.Log(p.psigma[d]*p.pz[d]) - logSqrt2Pi
			xsc[j] = xc[d] * p.scale[d]
		}
		for j, d := range p.disc {
			lo, hi := p.dims[d].cell(xc[d])
			ctr, h := (lo+hi)/2, (hi-lo)/2
			k := c*nd + j
			a[k], b[k] = lo, hi
			prior += math.Log(phiDiff((lo-p.pmu[d])/p.psigma[d], (hi-p.pmu[d])/p.psigma[d]) / p.pz[d])
			xsc[nc+j] = ctr * p.scale[d]
			ah := h * p.inv[d]
			if mid[k] = ah <= midpointMax; mid[k] {
				// With u the scaled difference (z² = 2u²), cellCorrection is
				// 1 + c2·(2u²-1) + c4·(4u⁴-12u²+3).
				cst[c] += math.Log(2 * h * invSqrt2Pi * p.inv[d])
				c2[k], c4[k] = ah*ah/6, ah*ah*ah*ah/120
			}
		}
		for j, d := range p.cats {
			prior -= math.Log(float64(p.dims[d].k))
			xsc[nc+nd+j] = xc[d]
		}
		top[c], sum[c] = prior, 1
	}
	// Kernels a block at a time, each block against every candidate: first the log terms,
	// a column at a time (numeric columns are scaled by 1/(√2σ), so each subtracts the
	// square of a difference), then the sum relative to the largest term so far, skipping
	// terms below it plus log(negligible).
	logNeg := math.Log(negligible)
	n := p.n
	for b0 := 0; b0 < n; b0 += blockKernels {
		m := min(blockKernels, n-b0)
		ts, cs := resize(sc.ts, m), resize(sc.cs, m)
		sc.ts, sc.cs = ts, cs
		col := func(j int) []float64 { return p.su[j*n+b0 : j*n+b0+m] }
		for c := range C {
			xsc := xs[c*D : c*D+D]
			for i, base := range p.base[b0 : b0+m] {
				ts[i], cs[i] = base+cst[c], 1
			}
			j := 0
			for ; j+2 < nc; j += 3 { // three columns a pass: fewer loads and stores of ts
				x0, x1, x2 := xsc[j], xsc[j+1], xsc[j+2]
				c0, c1, c2 := col(j)[:m], col(j + 1)[:m], col(j + 2)[:m]
				for i := range ts {
					z0, z1, z2 := x0-c0[i], x1-c1[i], x2-c2[i]
					ts[i] -= z0*z0 + z1*z1 + z2*z2
				}
			}
			for ; j < nc; j++ {
				x0 := xsc[j]
				for i, mu := range col(j) {
					z := x0 - mu
					ts[i] -= z * z
				}
			}
			for j := range nd {
				k := c*nd + j
				if mid[k] {
					x0, a2, a4 := xsc[nc+j], c2[k], c4[k]
					for i, mu := range col(nc + j) {
						u := x0 - mu
						u2 := u * u
						ts[i] -= u2
						cs[i] *= 1 + a2*(2*u2-1) + a4*((4*u2-12)*u2+3)
					}
					continue
				}
				grid, off := p.grid[j*n+b0:j*n+b0+m], memoOff[j]
				if off >= 0 {
					off += c * memoLen
				}
				for i, g := range grid {
					if off >= 0 && sc.stamp[off+int(g)] == sc.gen {
						ts[i] += sc.memo[off+int(g)]
						continue
					}
					v := p.cellLogMass(a[k], b[k], p.disc[j], p.mu[(b0+i)*D+p.disc[j]])
					if off >= 0 {
						sc.memo[off+int(g)], sc.stamp[off+int(g)] = v, sc.gen
					}
					ts[i] += v
				}
			}
			for j := range nk {
				x0, same, diff := xsc[nc+nd+j], p.lsame[p.cats[j]], p.ldiff[p.cats[j]]
				for i, mu := range col(nc + nd + j) {
					if x0 == mu {
						ts[i] += same
					} else {
						ts[i] += diff
					}
				}
			}
			t0 := top[c]
			for _, t := range ts {
				t0 = max(t0, t)
			}
			if t0 > top[c] {
				sum[c] *= expNeg(top[c] - t0)
				top[c] = t0
			}
			cut, acc := t0+logNeg, 0.0
			for i, t := range ts {
				if t >= cut {
					acc += cs[i] * expFast(t-t0) // t-t0 >= log(negligible)
				}
			}
			sum[c] += acc
		}
	}
	for c := range C {
		out[c] = top[c] + math.Log(sum[c])
	}
}

// logDensity returns the log density at one point x.
func (p *parzenN) logDensity(x []float64, sc *scratch) float64 {
	var out [1]float64
	p.logDensities(x, 1, out[:], sc)
	return out[0]
}

// cellLogMass returns the log mass of the cell [a, b] of discrete dim d under a kernel
// centred at mu (untruncated: the truncation is in base).
func (p *parzenN) cellLogMass(a, b float64, d int, mu float64) float64 {
	s := p.sigma[d]
	return math.Log(phiDiff((a-mu)/s, (b-mu)/s))
}

// sample draws a point (model space, snapped) from the estimator into x.
func (p *parzenN) sample(r *rand.Rand, x []float64) {
	u := r.Float64()
	k := -1
	for i, w := range p.w {
		if u -= w; u < 0 {
			k = i
			break
		}
	}
	for d, m := range p.dims {
		if m.kind == categorical {
			switch {
			case k < 0:
				x[d] = float64(r.IntN(m.k))
			case r.Float64() < p.lambda[d]:
				x[d] = float64(r.IntN(m.k))
			default:
				x[d] = p.mu[k*p.D+d]
			}
			continue
		}
		if k < 0 {
			x[d] = m.snap(truncNormal(r, p.pmu[d], p.psigma[d], m.lo, m.hi))
		} else {
			x[d] = m.snap(truncNormal(r, p.mu[k*p.D+d], p.sigma[d], m.lo, m.hi))
		}
	}
}

// resize returns s with length n, reallocating with room to grow when its capacity is
// short, so that scratch memory keeps up with a growing history without reallocating on
// every proposal.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/2+8)
	}
	return s[:n]
}
