package importance

import (
	"fmt"
	"math"
	"slices"

	"github.com/a6b40afc/retune"
)

// Defaults of PEDANOVAOptions: those of Optuna's PedAnovaImportanceEvaluator.
const (
	DefaultTargetQuantile = 0.1
	DefaultRegionQuantile = 1.0
)

// Settings of the Parzen estimators, fixed as in Optuna.
const (
	pedGridSteps     = 50  // grid points of a continuous param's range
	pedPriorWeight   = 1.0 // weight of the prior kernel
	pedMinRegime     = 2   // fewest region trials a regime needs to count
	pedSigmaMin      = 0.5 / 1.64
	pedDensityFloor  = 1e-12 // added to both densities
	pedScottConstant = 1.059
)

// PEDANOVAOptions configures PEDANOVA. The zero value analyses the first objective, minimized,
// over every param, with Optuna's quantiles.
type PEDANOVAOptions struct {
	// Objective is the index of the objective to analyse.
	Objective int
	// Direction says which values are best: the top trials are the lowest (Minimize) or the
	// highest (Maximize) values.
	Direction retune.Direction
	// Params names the params to analyse; nil means every param that a used trial has.
	Params []string
	// TargetQuantile (γ′) is the share of trials whose distribution is examined: the top
	// 10% by default (0).
	TargetQuantile float64
	// RegionQuantile (γ) is the share of trials they are compared with: all of them by
	// default (0 or 1); 0.5 measures what matters to get from the top half into the top γ′.
	RegionQuantile float64
}

// PEDANOVA computes each param's importance for reaching the top TargetQuantile of trials
// (see the package doc): (γ′/γ)² times the Pearson divergence ∫ p_region (p_top/p_region −
// 1)² between the top trials' and the region's distributions of the param, both Parzen
// estimators on a grid, as Optuna's PedAnovaImportanceEvaluator computes them:
//
//   - a numeric param is counted on a grid of 50 points over its range (log-scaled for Log
//     distributions; fewer for ints and stepped floats with fewer values, and for log ints
//     ⌈log₂(high−low+1)⌉+1), each value going to the nearest grid point; the estimator puts
//     a discretized, truncated Gaussian on every occupied point, weighted by its count, with
//     Scott's bandwidth 1.059·min(IQR/1.34, σ)·n^(−1/5) (in grid steps, at least 0.5/1.64),
//     plus a prior kernel of weight 1 centred on the range with a width of the range;
//   - a categorical param is counted per choice; each observed choice's kernel puts mass
//     1 + 1/(k+1) on it and 1/(k+1) on every choice (k distinct choices observed), the prior
//     kernel is uniform, and the Pearson divergence is a finite sum over the choices.
//
// Top trials: those whose value is at most (Minimize) the ⌈γ′n⌉-th best, ties included.
// Conditional params, as conditional PED-ANOVA (Optuna 4.x): the region's trials are split
// into regimes by the distribution the param has in them, trials without the param forming
// one regime; regimes with fewer than two trials are dropped, and the importance sums, over
// the regimes where the param is present and varies, (α²/β) times the regime's divergence,
// where α and β are the regime's shares of the top and region trials. With one regime this
// is the plain PED-ANOVA.
//
// PEDANOVA returns an error wrapping ErrTooFewTrials with fewer than two usable trials and
// retune.ErrInvalid for invalid options.
func PEDANOVA(trials []retune.FrozenTrial, opts PEDANOVAOptions) (Result, error) {
	gt, g := opts.TargetQuantile, opts.RegionQuantile
	if gt == 0 {
		gt = DefaultTargetQuantile
	}
	if g == 0 {
		g = DefaultRegionQuantile
	}
	if !(0 < gt && gt < g && g <= 1) {
		return Result{}, fmt.Errorf("%w: quantiles target %v, region %v: want 0 < target < region <= 1", retune.ErrInvalid, gt, g)
	}
	sel, err := selectTrials("ped-anova", trials, opts.Objective)
	if err != nil {
		return sel.res, err
	}
	names, err := sel.paramNames(opts.Params)
	if err != nil {
		return sel.res, err
	}
	loss := slices.Clone(sel.y)
	if opts.Direction == retune.Maximize {
		for i := range loss {
			loss[i] = -loss[i]
		}
	}
	region := topQuantile(loss, g)
	top := topQuantile(loss, gt)
	inTop := make([]bool, len(loss))
	for _, i := range top {
		inTop[i] = true
	}
	res := sel.res
	for _, name := range names {
		p := Param{Name: name}
		for _, t := range sel.trials {
			if _, ok := t.Params[name]; ok {
				p.Trials++
			}
		}
		if len(top) < len(region) {
			p.Raw = pedImportance(sel.trials, name, region, inTop, len(top))
			q := float64(len(top)) / float64(len(region))
			p.Raw *= q * q
		}
		res.Params = append(res.Params, p)
	}
	res.finish()
	return res, nil
}

// topQuantile returns the indices of the values at most the ⌈q·n⌉-th smallest.
func topQuantile(loss []float64, q float64) []int {
	sorted := slices.Clone(loss)
	slices.Sort(sorted)
	k := int(math.Ceil(q*float64(len(loss)))) - 1
	k = max(0, min(k, len(loss)-1))
	var out []int
	for i, v := range loss {
		if v <= sorted[k] {
			out = append(out, i)
		}
	}
	return out
}

// pedImportance sums the regimes' weighted divergences for one param.
func pedImportance(trials []retune.FrozenTrial, name string, region []int, inTop []bool, nTop int) float64 {
	type regime struct {
		dist        retune.Distribution
		region, top []any // the param's values
	}
	var regimes []*regime
	for _, i := range region {
		t := trials[i]
		d, ok := t.Distributions[name]
		v, has := t.Params[name]
		if !ok || !has {
			continue // the absent regime adds nothing
		}
		var r *regime
		for _, x := range regimes {
			if x.dist.Equal(d) {
				r = x
				break
			}
		}
		if r == nil {
			r = &regime{dist: d}
			regimes = append(regimes, r)
		}
		r.region = append(r.region, v)
		if inTop[i] {
			r.top = append(r.top, v)
		}
	}
	var sum float64
	for _, r := range regimes {
		if len(r.region) < pedMinRegime || len(r.top) == 0 || singleValued(r.dist) {
			continue
		}
		alpha := float64(len(r.top)) / float64(nTop)
		beta := float64(len(r.region)) / float64(len(region))
		sum += alpha * alpha / beta * pearson(r.dist, r.top, r.region)
	}
	return sum
}

func singleValued(d retune.Distribution) bool {
	c := column{dist: d}
	return c.single()
}

// pearson returns ∫ p_region (p_top/p_region − 1)² for the grid estimators of the values.
func pearson(d retune.Distribution, top, region []any) float64 {
	pt, pr := gridDensity(d, top), gridDensity(d, region)
	var s float64
	for x := range pt {
		a, b := pt[x]+pedDensityFloor, pr[x]+pedDensityFloor
		r := a/b - 1
		s += b * r * r
	}
	return s
}

// gridDensity returns the Parzen estimator of the values at each grid point of d.
func gridDensity(d retune.Distribution, values []any) []float64 {
	if cd, ok := d.(retune.CategoricalDistribution); ok {
		counts := make([]float64, len(cd.Choices))
		for _, v := range values {
			if k := cd.Index(v); k >= 0 {
				counts[k]++
			}
		}
		return categoricalDensity(counts)
	}
	return numericDensity(gridCounts(d, values))
}

// gridCounts counts the values of a numeric param at the nearest point of its grid.
func gridCounts(d retune.Distribution, values []any) []float64 {
	var low, high float64
	var log bool
	steps := pedGridSteps
	switch d := d.(type) {
	case retune.FloatDistribution:
		low, high, log = d.Low, d.High, d.Log
		if d.Step > 0 {
			steps = min(steps, int(math.Round((d.High-d.Low)/d.Step))+1)
		}
	case retune.IntDistribution:
		low, high, log = float64(d.Low), float64(d.High), d.Log
		if d.Log {
			steps = min(steps, int(math.Ceil(math.Log2(high-low+1)))+1)
		} else {
			step := max(d.Step, 1)
			steps = min(steps, int((d.High-d.Low)/step)+1)
		}
	}
	if log {
		low, high = math.Log(low), math.Log(high)
	}
	counts := make([]float64, steps)
	width := (high - low) / float64(steps-1)
	for _, v := range values {
		x, ok := d.ToInternal(v)
		if !ok {
			continue
		}
		if log {
			x = math.Log(x)
		}
		// Midpoint ties go to the lower point, as in Optuna.
		k := int(math.Ceil((x-low)/width - 0.5))
		counts[max(0, min(k, steps-1))]++
	}
	return counts
}

// numericDensity is the Scott-bandwidth Parzen estimator on the grid 0 … len(counts)−1.
func numericDensity(counts []float64) []float64 {
	n := len(counts)
	var obs, w []float64
	for k, c := range counts {
		if c > 0 {
			obs = append(obs, float64(k))
			w = append(w, c)
		}
	}
	p := make([]float64, n)
	if len(obs) == 0 {
		for k := range p {
			p[k] = 1 / float64(n)
		}
		return p
	}
	var total, mean float64
	for k := range obs {
		total += w[k]
		mean += obs[k] * w[k]
	}
	mean /= total
	var ss float64
	for k := range obs {
		ss += w[k] * (obs[k] - mean) * (obs[k] - mean)
	}
	sigma := math.Sqrt(ss / math.Max(1, total-1))
	// Quartiles of the weighted observations, as Optuna finds them (counts are whole).
	q1, q3 := math.Floor(total/4), math.Floor(total*3/4)
	i1, i3 := len(obs)-1, len(obs)-1
	var cum float64
	found1, found3 := false, false
	for k := range obs {
		cum += w[k]
		if !found1 && cum >= q1 {
			i1, found1 = k, true
		}
		if !found3 && cum > q3 {
			i3, found3 = k, true
		}
	}
	iqr := obs[i3] - obs[i1]
	sigma = pedScottConstant * math.Min(iqr/1.34, sigma) * math.Pow(total, -0.2)
	sigma = math.Max(sigma, pedSigmaMin)

	lo, hi := 0.0, float64(n-1)
	kernel := func(mu, s, weight float64) {
		z := gaussMass((lo-0.5-mu)/s, (hi+0.5-mu)/s)
		for x := range p {
			xf := float64(x)
			p[x] += weight * gaussMass((xf-0.5-mu)/s, (xf+0.5-mu)/s) / z
		}
	}
	norm := total + pedPriorWeight
	for k := range obs {
		kernel(obs[k], sigma, w[k]/norm)
	}
	kernel((lo+hi)/2, hi-lo+1, pedPriorWeight/norm)
	return p
}

// categoricalDensity is Optuna's categorical Parzen estimator of the counts per choice.
func categoricalDensity(counts []float64) []float64 {
	c := len(counts)
	p := make([]float64, c)
	var total float64
	var observed int
	for _, n := range counts {
		total += n
		if n > 0 {
			observed++
		}
	}
	if observed == 0 {
		for k := range p {
			p[k] = 1 / float64(c)
		}
		return p
	}
	kernels := float64(observed + 1)
	base := pedPriorWeight / kernels
	row := float64(c)*base + 1
	norm := total + pedPriorWeight
	for k, n := range counts {
		if n == 0 {
			continue
		}
		for x := range p {
			m := base
			if x == k {
				m++
			}
			p[x] += n / norm * m / row
		}
	}
	for x := range p {
		p[x] += pedPriorWeight / norm / float64(c)
	}
	return p
}

// gaussMass returns Φ(b) − Φ(a) for a <= b, accurately in both tails.
func gaussMass(a, b float64) float64 {
	switch {
	case a >= 0:
		return 0.5 * (math.Erfc(a/math.Sqrt2) - math.Erfc(b/math.Sqrt2))
	case b <= 0:
		return 0.5 * (math.Erfc(-b/math.Sqrt2) - math.Erfc(-a/math.Sqrt2))
	}
	return 1 - 0.5*(math.Erfc(-a/math.Sqrt2)+math.Erfc(b/math.Sqrt2))
}
