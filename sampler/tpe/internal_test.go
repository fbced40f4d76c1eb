package tpe

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pareto"
)

func TestExpNeg(t *testing.T) {
	t.Parallel()
	worst := 0.0
	for i := range 1_000_000 {
		x := -float64(i) * 0.0007
		got, want := expNeg(x), math.Exp(x)
		if want == 0 {
			continue
		}
		worst = math.Max(worst, math.Abs(got-want)/want)
	}
	if worst > 1e-15 {
		t.Errorf("expNeg: worst relative error %g, want below 1e-15", worst)
	}
	if got := expNeg(-800); got != 0 {
		t.Errorf("expNeg(-800) = %g, want 0", got)
	}
}

func TestLowerTail(t *testing.T) {
	t.Parallel()
	worst := 0.0
	for i := range 1_000_000 {
		a := float64(i) * 1e-5
		worst = math.Max(worst, math.Abs(lowerTail(a)-0.5*math.Erfc(a/math.Sqrt2)))
	}
	if worst > 1e-10 {
		t.Errorf("lowerTail: worst absolute error %g, want below 1e-10", worst)
	}
}

func TestGaussTransform(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 10, 500, 3000} {
		lo, hi, sigma := -2.0, 3.0, 0.05
		mu, c := make([]float64, n), make([]float64, n)
		for i := range mu {
			mu[i] = lo + (hi-lo)*math.Pow(r.Float64(), 3) // crowded near lo
			c[i] = r.Float64()
		}
		slices.Sort(mu)
		var g gaussTransform
		g.build(lo, hi, sigma, mu, c, 1e-300)
		for range 200 {
			x := lo + (hi-lo)*r.Float64()
			want := 0.0
			for i := range mu {
				z := (x - mu[i]) / sigma
				want += c[i] * math.Exp(-z*z/2)
			}
			got := g.at(x)
			total := 0.0
			for _, ci := range c {
				total += ci
			}
			if math.Abs(got-want) > 1e-9*want+1e-12*total {
				t.Errorf("n=%d: at(%v) = %v, direct sum %v", n, x, got, want)
			}
		}
	}
}

// scoreWeights returns the scoring weights of an estimator built with sampled: each
// kernel's sampling weight times its bandwidth, normalized; the prior's last.
func scoreWeights(p *parzen1) []float64 {
	w := make([]float64, len(p.w)+1)
	total := 0.0
	for i := range p.w {
		w[i] = p.w[i] * p.sigma[i]
		total += w[i]
	}
	w[len(p.w)] = (1 - sumOf(p.w)) * p.psigma
	total += w[len(p.w)]
	for i := range w {
		w[i] /= total
	}
	return w
}

// referencePDF is the density of the kernels of an estimator built with sampled, summed
// over every kernel with the exact truncation.
func referencePDF(p *parzen1, x float64) float64 {
	d := func(mu, s, w float64) float64 {
		z := (x - mu) / s
		return w * math.Exp(-z*z/2) * invSqrt2Pi / (s * phiDiff((p.lo-mu)/s, (p.hi-mu)/s))
	}
	w := scoreWeights(p)
	sum := d(p.pmu, p.psigma, w[len(p.mu)])
	for i := range p.mu {
		sum += d(p.mu[i], p.sigma[i], w[i])
	}
	return sum
}

func referenceMass(p *parzen1, a, b float64) float64 {
	m := func(mu, s, w float64) float64 {
		return w * phiDiff((a-mu)/s, (b-mu)/s) / phiDiff((p.lo-mu)/s, (p.hi-mu)/s)
	}
	w := scoreWeights(p)
	sum := m(p.pmu, p.psigma, w[len(p.mu)])
	for i := range p.mu {
		sum += m(p.mu[i], p.sigma[i], w[i])
	}
	return sum
}

func sumOf(s []float64) float64 {
	t := 0.0
	for _, x := range s {
		t += x
	}
	return t
}

func randomObs(r *rand.Rand, n int, dm *dim) []obs {
	o := make([]obs, n)
	for i := range o {
		x := dm.fromExternal(retune.SampleUniform(r, dm.d))
		if r.IntN(3) == 0 && i > 0 { // duplicates and crowds
			x = o[r.IntN(i)].x
		}
		o[i] = obs{x: x, w: 0.2 + r.Float64()}
	}
	slices.SortFunc(o, func(a, b obs) int {
		switch {
		case a.x < b.x:
			return -1
		case a.x > b.x:
			return 1
		}
		return 0
	})
	return o
}

func TestParzen1MatchesDirectSum(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(2, 2))
	dists := []retune.Distribution{
		retune.FloatDistribution{Low: -5, High: 5},
		retune.FloatDistribution{Low: 1e-5, High: 1, Log: true},
		retune.FloatDistribution{Low: 0, High: 2, Step: 0.25},
		retune.IntDistribution{Low: 1, High: 10},
		retune.IntDistribution{Low: 1, High: 1000, Log: true},
		retune.IntDistribution{Low: 0, High: 100000},
	}
	for _, d := range dists {
		for _, n := range []int{0, 1, 2, 30, 400} {
			dm := newDim(d)
			o := randomObs(r, n, &dm)
			var p parzen1
			p.build(dm.lo, dm.hi, o, 1, dm.kind == continuous, true)
			for range 100 {
				x := dm.snap(p.sample(r))
				var got, want float64
				if dm.kind == discrete {
					a, b := dm.cell(x)
					got, want = math.Exp(p.logMass(a, b)), referenceMass(&p, a, b)
				} else {
					got, want = math.Exp(p.logPDF(x)), referencePDF(&p, x)
				}
				if math.Abs(got-want) > 1e-8*want {
					t.Errorf("%v, %d observations: density at %v = %v, direct sum %v", d, n, x, got, want)
				}
			}
		}
	}
}

func TestParzen1Normalized(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 3))
	for _, d := range []retune.Distribution{
		retune.IntDistribution{Low: -3, High: 12},
		retune.IntDistribution{Low: 1, High: 300, Log: true},
		retune.FloatDistribution{Low: 0, High: 1, Step: 0.1},
		retune.FloatDistribution{Low: -1, High: 2},
	} {
		dm := newDim(d)
		var p parzen1
		p.build(dm.lo, dm.hi, randomObs(r, 50, &dm), 1, dm.kind == continuous, true)
		total := 0.0
		if dm.kind == discrete {
			for v := dm.snap(dm.lo); ; {
				a, b := dm.cell(v)
				total += math.Exp(p.logMass(a, b))
				next := dm.snap(b + 1e-9)
				if next == v {
					break
				}
				v = next
			}
		} else {
			const steps = 200000
			h := (dm.hi - dm.lo) / steps
			for i := range steps {
				total += math.Exp(p.logPDF(dm.lo+(float64(i)+0.5)*h)) * h
			}
		}
		if math.Abs(total-1) > 1e-6 {
			t.Errorf("%v: total probability %v, want 1", d, total)
		}
	}
}

func TestCat1(t *testing.T) {
	t.Parallel()
	var c cat1
	c.build(4, []obs{{0, 1}, {2, 1}, {2, 0.5}}, 1)
	if got := sumOf(c.p); math.Abs(got-1) > 1e-12 {
		t.Errorf("probabilities sum to %v, want 1", got)
	}
	if !(c.p[2] > c.p[0] && c.p[0] > c.p[1] && c.p[1] == c.p[3]) {
		t.Errorf("p = %v, want choice 2 most likely, then 0, then 1 and 3 equal", c.p)
	}
	c.build(3, nil, 1)
	for _, p := range c.p {
		if math.Abs(p-1.0/3) > 1e-15 {
			t.Errorf("prior only: p = %v, want uniform", c.p)
		}
	}
}

func TestParzenNMatchesDirectProduct(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(4, 4))
	ds := []retune.Distribution{
		retune.FloatDistribution{Low: -5, High: 5},
		retune.FloatDistribution{Low: 1e-5, High: 1e-1, Log: true},
		retune.IntDistribution{Low: 1, High: 10},
		retune.IntDistribution{Low: 1, High: 1000, Log: true},
		retune.CategoricalDistribution{Choices: []any{"a", "b", "c", "d"}},
	}
	dims := make([]*dim, len(ds))
	for i, d := range ds {
		m := newDim(d)
		dims[i] = &m
	}
	D := len(dims)
	for _, n := range []int{0, 3, 200} {
		mu, w := randomCentres(r, dims, n)
		var p parzenN
		p.build(dims, mu, w, 1, nil)
		var sc scratch
		x := make([]float64, D)
		for range 50 {
			p.sample(r, x)
			got := math.Exp(p.logDensity(x, &sc))
			want, total := directProduct(&p, x, -1), p.pw
			for _, m := range p.dims {
				if m.kind != categorical {
					total *= m.hi - m.lo
				}
			}
			for i := range n {
				want += directProduct(&p, x, i)
				ti := p.w[i]
				for d, m := range p.dims {
					if m.kind != categorical {
						ti *= p.sigma[d]
					}
				}
				total += ti
			}
			want /= total
			if math.Abs(got-want) > 1e-8*want {
				t.Errorf("n=%d: density at %v = %v, direct sum %v", n, x, got, want)
			}
		}
	}
}

// directProduct is the term of kernel i (-1: the prior) at x, computed plainly. Kernels
// weigh their weight times the product of their bandwidths, the prior its weight times the
// product of the ranges; the total is not normalized.
func directProduct(p *parzenN, x []float64, i int) float64 {
	w := p.pw
	if i >= 0 {
		w = p.w[i]
	}
	for d, m := range p.dims {
		switch {
		case m.kind == categorical:
		case i < 0:
			w *= m.hi - m.lo
		default:
			w *= p.sigma[d]
		}
	}
	v := w
	for d, m := range p.dims {
		if m.kind == categorical {
			k := float64(m.k)
			switch {
			case i < 0:
				v /= k
			case x[d] == p.mu[i*p.D+d]:
				v *= 1 - p.lambda[d] + p.lambda[d]/k
			default:
				v *= p.lambda[d] / k
			}
			continue
		}
		mu, s := p.pmu[d], p.psigma[d]
		if i >= 0 {
			mu, s = p.mu[i*p.D+d], p.sigma[d]
		}
		z := phiDiff((m.lo-mu)/s, (m.hi-mu)/s)
		if m.kind == discrete {
			a, b := m.cell(x[d])
			v *= phiDiff((a-mu)/s, (b-mu)/s) / z
		} else {
			u := (x[d] - mu) / s
			v *= math.Exp(-u*u/2) * invSqrt2Pi / (s * z)
		}
	}
	return v
}

func TestDimRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 5))
	for _, d := range []retune.Distribution{
		retune.FloatDistribution{Low: -1, High: 1},
		retune.FloatDistribution{Low: 0.01, High: 100, Log: true},
		retune.FloatDistribution{Low: 0.5, High: 2, Step: 0.5},
		retune.IntDistribution{Low: -7, High: 8},
		retune.IntDistribution{Low: 2, High: 20, Step: 6},
		retune.IntDistribution{Low: 1, High: 50, Log: true},
		retune.CategoricalDistribution{Choices: []any{"x", 3, false}},
	} {
		m := newDim(d)
		for range 200 {
			v := retune.SampleUniform(r, d)
			x := m.fromExternal(v)
			got := m.external(m.snap(x))
			if f, ok := v.(float64); ok && math.Abs(got.(float64)-f) <= 1e-14*math.Abs(f) {
				got = v // exp(log(v)) may differ in the last bit
			}
			if fmt.Sprint(got) != fmt.Sprint(v) {
				t.Errorf("%v: external(snap(model(%v))) = %v", d, v, got)
			}
			if m.kind != categorical && (x < m.lo || x > m.hi) {
				t.Errorf("%v: model(%v) = %v outside [%v, %v]", d, v, x, m.lo, m.hi)
			}
			// Any point of the bounds snaps to a valid value.
			y := m.lo + (m.hi-m.lo)*r.Float64()
			if got := m.external(m.snap(y)); !d.Contains(got) {
				t.Errorf("%v: external(snap(%v)) = %v, not in the distribution", d, y, got)
			}
		}
	}
}

// viewOf makes a view of trials for the splitter.
func viewOf(dirs []retune.Direction, trials []retune.FrozenTrial) (*history, view) {
	h := newHistory(dirs)
	h.extend(trials)
	return h, h.view(len(trials))
}

func TestSplitSingleObjective(t *testing.T) {
	t.Parallel()
	want := []int32{8, 1, 5, 4, 9, 3, 7, 0, 6}
	for _, dir := range []retune.Direction{retune.Minimize, retune.Maximize} {
		sign := 1.0
		if dir == retune.Maximize {
			sign = -1
		}
		ft := func(state retune.TrialState, v float64, inter map[int64]float64) retune.FrozenTrial {
			f := retune.FrozenTrial{State: state, End: time.Unix(0, 0)}
			if state == retune.TrialComplete {
				f.Values = []float64{sign * v}
			}
			if inter != nil {
				f.Intermediate = map[int64][]float64{}
				for s, x := range inter {
					f.Intermediate[s] = []float64{sign * x}
				}
			}
			return f
		}
		tr := []retune.FrozenTrial{
			0: ft(retune.TrialPruned, 0, map[int64]float64{1: -100}),         // pruned early, great value
			1: ft(retune.TrialComplete, 5, nil),                              //
			2: ft(retune.TrialFail, 0, nil),                                  // ignored
			3: ft(retune.TrialPruned, 0, map[int64]float64{1: 0, 4: 9}),      // pruned at step 4
			4: ft(retune.TrialComplete, math.Inf(1), nil),                    // worst COMPLETE
			5: ft(retune.TrialComplete, 5, nil),                              // ties with 1: later
			6: ft(retune.TrialPruned, 0, nil),                                // pruned, nothing reported
			7: ft(retune.TrialPruned, 0, map[int64]float64{4: math.NaN()}),   // NaN: worst at step 4
			8: ft(retune.TrialComplete, math.Inf(-1), nil),                   // best
			9: ft(retune.TrialPruned, 0, map[int64]float64{4: math.Inf(-1)}), // best at step 4
		}
		h, v := viewOf([]retune.Direction{dir}, tr)
		order, orderLen := h.ranking()
		sp := splitter{v: &v, n: len(tr)}
		for k := range len(want) + 1 {
			got := sp.best(k, order, orderLen, nil, nil, []int32{10, 11}, nil)
			exp := slices.Clone(want[:k])
			slices.Sort(exp)
			if fmt.Sprint(got) != fmt.Sprint(exp) {
				t.Errorf("%v: best %d = %v, want %v", dir, k, got, exp)
			}
		}
		if got := sp.best(10, order, orderLen, nil, nil, []int32{10, 11}, nil); fmt.Sprint(got) != "[0 1 3 4 5 6 7 8 9 10]" {
			t.Errorf("%v: best 10 = %v, want every usable trial and the first running one", dir, got)
		}
	}
}

func TestSplitMultiObjective(t *testing.T) {
	t.Parallel()
	vals := [][]float64{
		0: {1, 5}, // front 1
		1: {2, 4}, // front 1, small contribution
		2: {2.1, 3.95},
		3: {5, 1}, // front 1
		4: {3, 5}, // front 2
		5: {6, 6}, // front 3
	}
	var trials []retune.FrozenTrial
	for _, v := range vals {
		trials = append(trials, retune.FrozenTrial{State: retune.TrialComplete, Values: v})
	}
	trials = append(trials, retune.FrozenTrial{State: retune.TrialPruned, Intermediate: map[int64][]float64{2: {0, 0}}})
	dirs := []retune.Direction{retune.Minimize, retune.Minimize}
	_, v := viewOf(dirs, trials)
	pool := []int32{0, 1, 2, 3, 4, 5, 6}
	sp := splitter{v: &v, n: len(trials)}
	for _, c := range []struct {
		k    int
		want string
	}{
		{1, "[2]"},     // adds the most hypervolume once the others are gone
		{3, "[0 2 3]"}, // 1 adds the least
		{4, "[0 1 2 3]"},
		{5, "[0 1 2 3 4]"},
		{6, "[0 1 2 3 4 5]"},
		{7, "[0 1 2 3 4 5 6]"},
	} {
		if got := fmt.Sprint(sp.below(pool, c.k, nil)); got != c.want {
			t.Errorf("below %d = %s, want %s", c.k, got, c.want)
		}
	}
	// Three objectives: greedy hypervolume subset selection at the reference point
	// (5.5, 5.5, 5.5). Boxes: 1.375 for the three extremes, 30.375 for 1 and 30.976 for 2,
	// which comes first. Given 2, 1 adds 30.375 - 4.4·4.4·1.5 = 1.335, 4 adds
	// 1.375 - 0.5·0.5·1.6 = 0.975, 0 and 3 add 1.375 - 4.4·0.5·0.5 = 0.275: 1 comes second.
	// Given 2 and 1, 4 still adds 0.975 and 0 and 3 only 0.25. (Crowding distance would
	// have kept the extremes 0, 3 and 4, the points farthest from the front's middle.)
	var t3 []retune.FrozenTrial
	for _, v := range [][]float64{{0, 5, 5}, {1, 1, 4}, {1.1, 1.1, 3.9}, {5, 0, 5}, {5, 5, 0}} {
		t3 = append(t3, retune.FrozenTrial{State: retune.TrialComplete, Values: v})
	}
	_, v3 := viewOf([]retune.Direction{0, 0, 0}, t3)
	sp3 := splitter{v: &v3, n: 5}
	for _, c := range []struct {
		k    int
		want string
	}{{1, "[2]"}, {2, "[1 2]"}, {3, "[1 2 4]"}, {5, "[0 1 2 3 4]"}} {
		if got := fmt.Sprint(sp3.below([]int32{0, 1, 2, 3, 4}, c.k, nil)); got != c.want {
			t.Errorf("three objectives: below %d = %s, want %s", c.k, got, c.want)
		}
	}
}

// With two objectives l's weights are scaled by (1 + c)/2, c the hypervolume contribution
// among l's COMPLETE trials divided by the largest; other entries by 1/2. With three, not.
func TestMultiObjectiveFactors(t *testing.T) {
	t.Parallel()
	var trials []retune.FrozenTrial
	for _, v := range [][]float64{{1, 3}, {2, 2}, {3, 1}} {
		trials = append(trials, retune.FrozenTrial{State: retune.TrialComplete, Values: v})
	}
	trials = append(trials, retune.FrozenTrial{State: retune.TrialPruned, Intermediate: map[int64][]float64{2: {0, 0}}})
	_, v := viewOf([]retune.Direction{retune.Minimize, retune.Minimize}, trials)
	sp := splitter{v: &v, n: len(trials)}
	// Reference point (3.2, 3.2): 0 adds 1·0.2, 1 adds 1·1, 2 adds 0.2·1.
	want := []float64{0.6, 1, 0.6, 0.5}
	got := sp.lFactors([]int32{0, 1, 2, 3})
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Errorf("factors %v, want %v", got, want)
			break
		}
	}
	if got := sp.lFactors([]int32{3}); len(got) != 1 || got[0] != 0.5 {
		t.Errorf("factors of a PRUNED trial alone = %v, want [0.5]", got)
	}
	if got := sp.lFactors([]int32{1, 3}); got[0] != 1 || got[1] != 0.5 {
		t.Errorf("factors of one COMPLETE and one PRUNED trial = %v, want [1 0.5]", got)
	}
	_, v3 := viewOf([]retune.Direction{0, 0, 0}, []retune.FrozenTrial{
		{State: retune.TrialComplete, Values: []float64{1, 2, 3}}, {State: retune.TrialComplete, Values: []float64{3, 2, 1}}})
	if got := (splitter{v: &v3, n: 2}).lFactors([]int32{0, 1}); got != nil {
		t.Errorf("three objectives: factors %v, want none", got)
	}
	// Contributions of points that tie and of one point.
	if c := contributions([][]float64{{1, 1}}); len(c) != 1 || c[0] != 1 {
		t.Errorf("contributions of one point = %v, want [1]", c)
	}
}

// The observations of l and g, from the ranking and sorted-column caches, are those of a
// plain sort of the history.
func TestObservationsMatchPlainSort(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(6, 6))
	d := retune.FloatDistribution{Low: 0, High: 1}
	var trials []retune.FrozenTrial
	for i := range 700 {
		ft := retune.FrozenTrial{Number: i, State: retune.TrialComplete, End: time.Unix(int64(i), 0),
			Params: map[string]any{"x": r.Float64()}, Distributions: map[string]retune.Distribution{"x": d},
			Values: []float64{math.Round(r.NormFloat64()*10) / 10}} // ties
		switch r.IntN(10) {
		case 0:
			ft.State, ft.Values = retune.TrialFail, nil
		case 1:
			ft.State, ft.Values = retune.TrialPruned, nil
			ft.Intermediate = map[int64][]float64{int64(r.IntN(3)): {r.NormFloat64()}}
		case 2:
			delete(ft.Params, "x")
		}
		trials = append(trials, ft)
	}
	s := New(Options{})
	dm := newDim(d)
	for _, n := range []int{40, 100, 333, 334, 500, 700, 650} {
		req := &retune.SampleRequest{Directions: []retune.Direction{retune.Minimize}, Trials: trials[:n]}
		h, v := s.sync(req)
		var w work
		lo, hi, err := s.observe1(req, h, &v, "x", &dm, &w)
		if err != nil {
			t.Fatal(err)
		}
		// The plain way: rank the usable trials, take γ(n), split, weigh by age, sort g.
		type entry struct {
			i     int
			class int8
			step  int64
			v     float64
		}
		var usable []entry
		for i, ft := range trials[:n] {
			c, step, vals := classify(&ft, 1)
			if c < 0 {
				continue
			}
			e := entry{i: i, class: c, step: step}
			if len(vals) == 1 {
				e.v = minimized(retune.Minimize, vals[0])
			}
			usable = append(usable, e)
		}
		ranked := slices.Clone(usable)
		slices.SortStableFunc(ranked, func(a, b entry) int {
			switch {
			case a.class != b.class:
				return int(a.class) - int(b.class)
			case a.class == classPruned && a.step != b.step:
				return int(b.step - a.step)
			case a.class <= classPruned && a.v < b.v:
				return -1
			case a.class <= classPruned && a.v > b.v:
				return 1
			}
			return a.i - b.i
		})
		k := defaultGamma(len(usable))
		isBelow := map[int]bool{}
		for _, e := range ranked[:k] {
			isBelow[e.i] = true
		}
		var wantLo, wantHi []obs
		for _, e := range usable {
			x, ok := trials[e.i].Params["x"].(float64)
			if !ok {
				continue
			}
			if isBelow[e.i] {
				wantLo = append(wantLo, obs{x: x})
			} else {
				wantHi = append(wantHi, obs{x: x})
			}
		}
		for _, set := range [][]obs{wantLo, wantHi} {
			wts, _ := s.weightsOf(len(set), new([]float64))
			for i := range set {
				set[i].w = wts[i]
			}
		}
		slices.SortStableFunc(wantHi, func(a, b obs) int {
			switch {
			case a.x < b.x:
				return -1
			case a.x > b.x:
				return 1
			}
			return 0
		})
		if fmt.Sprint(lo) != fmt.Sprint(wantLo) {
			t.Errorf("n=%d: l's observations\n%v\nwant\n%v", n, lo, wantLo)
		}
		if fmt.Sprint(hi) != fmt.Sprint(wantHi) {
			t.Errorf("n=%d: g's observations differ (%d vs %d)", n, len(hi), len(wantHi))
		}
	}
}

func TestSpreadBandwidth(t *testing.T) {
	t.Parallel()
	m := newDim(retune.FloatDistribution{Low: -5, High: 5})
	const D, d = 3, 1
	r := rand.New(rand.NewPCG(6, 6))
	for _, tc := range []struct {
		n      int
		centre float64 // observations drawn from centre ± spread
		spread float64
	}{{0, 0, 0}, {1, 2, 0}, {5, 1, 3}, {20, 3, 0.5}, {20, -4, 0.001}, {400, 2, 2}} {
		mu, w := make([]float64, tc.n*D), make([]float64, tc.n)
		for i := range tc.n {
			mu[i*D+d] = max(m.lo, min(m.hi, tc.centre+tc.spread*(2*r.Float64()-1)))
			w[i] = 0.5 + r.Float64()
		}
		const pw = 1.5
		// Two passes over the centres, the prior's (the range's centre) included.
		c := (m.lo + m.hi) / 2
		tw, mean := pw, pw*c
		for i, x := range w {
			tw += x
			mean += x * mu[i*D+d]
		}
		mean /= tw
		v := pw * (c - mean) * (c - mean)
		for i, x := range w {
			v += x * (mu[i*D+d] - mean) * (mu[i*D+d] - mean)
		}
		want := math.Sqrt(v/tw) * math.Pow(float64(tc.n), -1.0/(D+4))
		span := m.hi - m.lo
		want = max(span/min(100, float64(tc.n+1)), min(span, want))
		if got := spreadBandwidth(&m, mu, D, d, w, pw); math.Abs(got-want) > 1e-12*want {
			t.Errorf("n=%d centre %v spread %v: bandwidth %v, want %v", tc.n, tc.centre, tc.spread, got, want)
		}
	}
	// Observations gathered near one point get narrower kernels than spread ones.
	near, far := make([]float64, 40*D), make([]float64, 40*D)
	w := make([]float64, 40)
	for i := range w {
		w[i] = 1
		near[i*D+d] = 1 + 0.1*r.NormFloat64()
		far[i*D+d] = -5 + 10*r.Float64()
	}
	if a, b := spreadBandwidth(&m, near, D, d, w, 1), spreadBandwidth(&m, far, D, d, w, 1); a >= b/3 {
		t.Errorf("bandwidth of gathered observations %v, of spread ones %v: want much narrower", a, b)
	}
}

// TestParzenNKeptTruncation checks that an estimator given the kept truncation masses of its
// discrete params (as g is) scores as one that computes them all.
func TestParzenNKeptTruncation(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 7))
	ds := []retune.Distribution{
		retune.FloatDistribution{Low: -5, High: 5},
		retune.IntDistribution{Low: 1, High: 10},
		retune.FloatDistribution{Low: 1e-5, High: 1e-1, Log: true},
		retune.IntDistribution{Low: 1, High: 1000, Log: true},
		retune.CategoricalDistribution{Choices: []any{"a", "b", "c"}},
	}
	dims := make([]*dim, len(ds))
	for i, d := range ds {
		m := newDim(d)
		dims[i] = &m
	}
	D, n := len(dims), 60
	mu, w := randomCentres(r, dims, n)
	logZ := make([]float64, n)
	for i := range n {
		for d, m := range dims {
			if m.kind == discrete {
				logZ[i] += math.Log(truncMass(mu[i*D+d], jointBandwidth(m.hi-m.lo, n, D), m.lo, m.hi))
			}
		}
	}
	var all, kept parzenN
	all.build(dims, mu, w, 1, nil)
	kept.build(dims, mu, w, 1, logZ)
	var sc scratch
	x := make([]float64, D)
	for range 50 {
		all.sample(r, x)
		a, b := all.logDensity(x, &sc), kept.logDensity(x, &sc)
		if math.Abs(a-b) > 1e-9 {
			t.Errorf("log density at %v: %v computing every truncation, %v with kept ones", x, a, b)
		}
	}
}

// randomCentres draws n kernel centres uniformly over dims (row-major, len(dims) values
// each) and weights in [0.5, 1.5).
func randomCentres(r *rand.Rand, dims []*dim, n int) (mu, w []float64) {
	mu, w = make([]float64, 0, n*len(dims)), make([]float64, n)
	for i := range n {
		for _, m := range dims {
			x := m.fromExternal(retune.SampleUniform(r, m.d))
			if m.kind == categorical {
				x, _ = m.d.ToInternal(retune.SampleUniform(r, m.d))
			}
			mu = append(mu, x)
		}
		w[i] = 0.5 + r.Float64()
	}
	return mu, w
}

// gain and thinHSSP against hypervolumes computed directly.
func TestHypervolumeSelection(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(4, 4))
	for _, m := range []int{2, 3, 4} {
		dirs := minimize(m)
		for trial := range 30 {
			n := 3 + r.IntN(20)
			pts := make([][]float64, n)
			for i := range pts {
				pts[i] = make([]float64, m)
				for j := range pts[i] {
					// Coarse values, so that ties and dominated limits occur.
					pts[i][j] = float64(r.IntN(8))
				}
			}
			ref := hvRef(pts)
			hv := func(set [][]float64) float64 {
				return pareto.Hypervolume(dirs, slices.Clone(set), ref)
			}
			for i := range pts {
				others := append(slices.Clone(pts[:i]), pts[i+1:]...)
				want := hv(pts) - hv(others)
				if got := gain(dirs, pts[i], others, ref); math.Abs(got-want) > 1e-9 {
					t.Fatalf("m=%d case %d: gain of %v = %v, want %v", m, trial, pts[i], got, want)
				}
			}
			// Greedy selection, recomputing every gain from scratch, on values without ties.
			for i := range pts {
				for j := range pts[i] {
					pts[i][j] += r.Float64()
				}
			}
			ref = hvRef(pts)
			k := 1 + r.IntN(n)
			keep := make([]int, n)
			for i := range keep {
				keep[i] = i
			}
			var sel [][]float64
			taken := make([]bool, n)
			for range k {
				best, bestGain := -1, 0.0
				for i := range pts {
					if taken[i] {
						continue
					}
					g := hv(append(slices.Clone(sel), pts[i])) - hv(sel)
					if best < 0 || g > bestGain+1e-9 {
						best, bestGain = i, g
					}
				}
				taken[best] = true
				sel = append(sel, pts[best])
			}
			var want []int
			for i := range taken {
				if taken[i] {
					want = append(want, i)
				}
			}
			if got := thinHSSP(pts, slices.Clone(keep), k); !slices.Equal(got, want) {
				t.Errorf("m=%d case %d: thinHSSP keeps %v, plain greedy %v", m, trial, got, want)
			}
		}
	}
}
