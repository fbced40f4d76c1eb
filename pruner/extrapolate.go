package pruner

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/a6b40afc/retune"
)

// ExtrapolateOptions configures NewExtrapolate. Zero values are the documented defaults.
type ExtrapolateOptions struct {
	// StartupTrials is how many COMPLETE trials the study needs before any trial is
	// pruned. 0 means 5; a negative value means none.
	StartupTrials int
	// WarmupSteps is the first step at which a trial may be pruned. Default 0: any step.
	WarmupSteps int64
	// Neighbors is how many COMPLETE trials, the nearest to the judged one, lend it their
	// gain from the step to their end; the largest of their gains is used. 0 means 1.
	Neighbors int
	// ParamWeight weighs the distance between params against the distance between
	// learning curves when the nearest trials are chosen. 0 means 0.75; a negative value
	// means that params are ignored.
	ParamWeight float64
	// Novelty is the optimism granted for being unlike every completed trial: added to the
	// extrapolated final, per unit of distance to the nearest completed trial, in ranges of
	// the completed trials' final values. 0 means 3; a negative value means none.
	Novelty float64
	// MinImprovement is how much the optimistic final must beat the best completed final
	// by for the trial to go on, in ranges of the completed trials' final values. 0 means
	// 0.2; a negative value means none (a tie is enough).
	MinImprovement float64
	// NearBestDistance makes a trial whose nearest completed trial is the best one, at a
	// distance below it, a near-copy of the best: it needs to beat the best by only
	// NearBestImprovement. 0 means 0.1; a negative value means that no trial is a
	// near-copy.
	NearBestDistance float64
	// NearBestImprovement is the margin of a near-copy of the best, in ranges of the
	// completed trials' final values; MinImprovement applies when it is the smaller. 0
	// means 0.05; a negative value means none.
	NearBestImprovement float64
	// Drop is how far below its own peak a learning curve must fall to count as turned
	// down, in ranges of the completed trials' final values (and, in any case, by more
	// than four times the curve's own step-to-step noise). 0 means 0.1; a negative value
	// means that no curve counts as turned down.
	Drop float64
}

// Extrapolate prunes a trial when even an optimistic extrapolation of its final value
// cannot beat the best final value of the COMPLETE trials by MinImprovement. The
// extrapolation borrows the completed trials' own learning curves, as a nearest-neighbour
// model of the curve: among the Neighbors completed trials nearest to the judged one, it
// takes the largest gain any of them made from the judged step to its final value, and
// adds it to the trial's value at the step. A trial that starts slowly is kept while
// completed trials like it went on to gain enough; a trial that looks good early but
// resembles completed trials that stalled, or fell back, is stopped. Since the model is
// only as good as its nearest completed trial is near, the optimistic final also gets
// Novelty times the distance to that trial: a trial unlike any completed one is given room
// to show what it does. MinImprovement keeps trials that could at best tie the best one
// from running to the end.
//
// Every length is in units of R, the range (best minus worst) of the completed trials'
// final values: the trial is pruned when
//
//	value + gain + Novelty·distance·R < best + MinImprovement·R.
//
// Two refinements make this work where configurations overfit or diverge late in
// training, whose curves peak and then fall:
//
//   - Near-copies of the best. A trial whose nearest completed trial is the best one, at a
//     distance below NearBestDistance, can at best tie it by the extrapolation, so the full
//     margin would stop every trial near the best at its first step and the study would
//     stop refining the best region. Such a trial needs only NearBestImprovement.
//   - Turned-down curves. A curve more than Drop·R below its own peak (and further below
//     it than four times the median absolute second difference of its values, so that
//     noise alone never counts) has turned down. Its distance to the completed trials
//     grows as it falls, which would otherwise earn it novelty, so it gets none. And a
//     PRUNED trial whose curve had turned down lends its gain like a completed one, with
//     its last value as its final: a collapse seen once teaches the pruner that nearby
//     configurations collapse, without running one to the end.
//
// The distance between the judged trial t and a completed trial c at step s is the root
// mean square difference of their values over the steps t reported up to s (c's value at
// a step being the one at its largest reported step not after it), divided by R, plus
// ParamWeight times the mean distance of their params: for a float or int param the
// difference of the values scaled to [0, 1] (on a log scale when the distribution is),
// for a categorical one 0 when equal and 1 otherwise; a param only one of them has counts
// 1. The direction of the objective orients values and gains, so minimizing works alike.
//
// A NaN value is worse than any number: a trial reporting NaN is pruned once judging is
// possible, and completed trials with a non-finite value at the step or at the end lend
// no gain. A trial reporting ±Inf is compared as it is. Extrapolate supports a single
// objective only. It is immutable and safe for concurrent use.
type Extrapolate struct {
	startup     int
	warmup      int64
	neighbors   int
	paramWeight float64
	novelty     float64
	improvement float64
	nearDist    float64
	nearImprove float64
	drop        float64
}

// NewExtrapolate returns an extrapolating pruner. It panics if an option is out of range.
func NewExtrapolate(o ExtrapolateOptions) *Extrapolate {
	p, err := newExtrapolate(o)
	must(err)
	return p
}

func newExtrapolate(o ExtrapolateOptions) (*Extrapolate, error) {
	p := &Extrapolate{startup: o.StartupTrials, warmup: o.WarmupSteps, neighbors: o.Neighbors, paramWeight: o.ParamWeight, novelty: o.Novelty, improvement: o.MinImprovement,
		nearDist: o.NearBestDistance, nearImprove: o.NearBestImprovement, drop: o.Drop}
	switch {
	case p.startup == 0:
		p.startup = 5
	case p.startup < 0:
		p.startup = 0
	}
	if p.warmup < 0 {
		return nil, invalid("warmup steps %d: want >= 0", o.WarmupSteps)
	}
	switch {
	case p.neighbors == 0:
		p.neighbors = 1
	case p.neighbors < 0:
		return nil, invalid("neighbors %d: want >= 1 (or 0 for 1)", o.Neighbors)
	}
	for _, o := range []struct {
		name string
		v    *float64
		def  float64
	}{{"param weight", &p.paramWeight, 0.75}, {"novelty", &p.novelty, 3}, {"min improvement", &p.improvement, 0.2},
		{"near best distance", &p.nearDist, 0.1}, {"near best improvement", &p.nearImprove, 0.05}, {"drop", &p.drop, 0.1}} {
		switch {
		case !finite(*o.v):
			return nil, invalid("%s %v: want a finite value", o.name, *o.v)
		case *o.v == 0:
			*o.v = o.def
		case *o.v < 0:
			*o.v = 0
		}
	}
	return p, nil
}

// finisher is a COMPLETE trial, or a PRUNED one whose curve turned down (its last value as
// its final), as Extrapolate uses it: oriented so that larger is better.
type finisher struct {
	t     *retune.FrozenTrial
	final float64 // oriented final value
	at    float64 // oriented value at the judged step
	dist  float64
}

// Prune implements retune.Pruner. It returns an error wrapping retune.ErrInvalid for a
// study with several objectives.
func (p *Extrapolate) Prune(_ context.Context, req *retune.PruneRequest) (bool, error) {
	if len(req.Directions) != 1 {
		return false, invalid("the extrapolating pruner needs a single objective; the study has %d", len(req.Directions))
	}
	sign := 1.0
	if req.Directions[0] == retune.Minimize {
		sign = -1
	}
	t := &req.Trial
	v, ok := valueAt(t, req.Step, 1)
	if !ok || req.Step < p.warmup {
		return false, nil
	}
	var (
		fs       []finisher
		complete int
		best     = math.Inf(-1)
		bestNum  = -1
	)
	for i := range req.Trials {
		c := &req.Trials[i]
		if c.State != retune.TrialComplete || c.Number == t.Number || len(c.Values) != 1 {
			continue
		}
		complete++
		final := sign * c.Values[0]
		if math.IsNaN(final) {
			continue
		}
		if final > best {
			best, bestNum = final, c.Number
		}
		at, ok := rungValue(c, req.Step, 1)
		if !ok || !finite(final) || !finite(at[0]) {
			continue
		}
		fs = append(fs, finisher{t: c, final: final, at: sign * at[0]})
	}
	if complete < p.startup || complete == 0 || math.IsInf(best, -1) {
		return false, nil
	}
	y := sign * v[0]
	if math.IsNaN(y) {
		return true, nil
	}
	if len(fs) == 0 || math.IsInf(y, 0) {
		return y < best, nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, f := range fs {
		lo, hi = math.Min(lo, f.final), math.Max(hi, f.final)
	}
	scale := hi - lo
	if p.drop > 0 {
		for i := range req.Trials {
			c := &req.Trials[i]
			if c.State != retune.TrialPruned || c.Number == t.Number {
				continue
			}
			last, down := p.turnedDown(c, math.MaxInt64, sign, scale)
			if !down {
				continue
			}
			if at, ok := rungValue(c, req.Step, 1); ok && finite(at[0]) {
				fs = append(fs, finisher{t: c, final: last, at: sign * at[0]})
			}
		}
	}
	p.measure(t, req.Step, sign, scale, fs)
	slices.SortStableFunc(fs, func(a, b finisher) int { return cmp.Compare(a.dist, b.dist) })
	gain := math.Inf(-1)
	for _, f := range fs[:min(p.neighbors, len(fs))] {
		gain = math.Max(gain, f.final-f.at)
	}
	novelty := p.novelty * fs[0].dist * scale
	if _, down := p.turnedDown(t, req.Step, sign, scale); down {
		novelty = 0
	}
	margin := p.improvement
	if fs[0].t.Number == bestNum && fs[0].dist < p.nearDist {
		margin = min(margin, p.nearImprove)
	}
	return y+gain+novelty < best+margin*scale, nil
}

// turnedDown reports whether t's curve up to step (oriented by sign, larger better) has
// turned down: its value at its last step up to step is more than Drop·scale below its
// peak, and more than four times the median absolute second difference of its values, a
// measure of its noise that a smooth curve's trend barely moves. last is that value.
func (p *Extrapolate) turnedDown(t *retune.FrozenTrial, step int64, sign, scale float64) (last float64, down bool) {
	if p.drop <= 0 {
		return 0, false
	}
	// One pass finds the peak and the last value; only a curve that fell far enough is
	// sorted for its noise.
	var (
		n      int
		peak   = math.Inf(-1)
		lastAt = int64(math.MinInt64)
	)
	for s, v := range t.Intermediate {
		if s > step || len(v) != 1 || !finite(v[0]) {
			continue
		}
		n++
		y := sign * v[0]
		peak = math.Max(peak, y)
		if s > lastAt {
			lastAt, last = s, y
		}
	}
	if n < 3 {
		return 0, false
	}
	fall := peak - last
	if !(fall > p.drop*scale) {
		return last, false
	}
	ys := finitePoints(t, step)
	d2 := make([]float64, 0, len(ys)-2)
	for i := 2; i < len(ys); i++ {
		d2 = append(d2, math.Abs(sign*(ys[i].v-2*ys[i-1].v+ys[i-2].v)))
	}
	slices.Sort(d2)
	return last, fall > 4*d2[len(d2)/2]
}

// point is a reported step and its single value.
type point struct {
	step int64
	v    float64
}

// points returns t's single values at steps up to upto, in step order.
func points(t *retune.FrozenTrial, upto int64) []point {
	out := make([]point, 0, len(t.Intermediate))
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for s, v := range t.Intermediate {
		if s <= upto && len(v) == 1 {
			out = append(out, point{s, v[0]})
			lo, hi = min(lo, s), max(hi, s)
		}
	}
	if len(out) > 0 && hi-lo == int64(len(out)-1) {
		// Consecutive steps, the usual case: each point's place is its step.
		for i := 0; i < len(out); {
			if at := int(out[i].step - lo); at != i {
				out[i], out[at] = out[at], out[i]
			} else {
				i++
			}
		}
		return out
	}
	slices.SortFunc(out, func(a, b point) int { return cmp.Compare(a.step, b.step) })
	return out
}

// finitePoints is points without the non-finite values.
func finitePoints(t *retune.FrozenTrial, upto int64) []point {
	return slices.DeleteFunc(points(t, upto), func(p point) bool { return !finite(p.v) })
}

// measure sets the distance of every finisher to t at step; scale is the range of the
// finishers' final values, the unit of the curves' distance. A finisher's value at a step
// is rungValue's: the one at its largest reported step not after it, else at its first.
// Both curves are walked once, in step order.
func (p *Extrapolate) measure(t *retune.FrozenTrial, step int64, sign, scale float64, fs []finisher) {
	if !(scale > 0) {
		scale = 1
	}
	tp := finitePoints(t, step)
	for i := range fs {
		fp := points(fs[i].t, math.MaxInt64)
		var sum float64
		n, j := 0, -1 // fp[j] is the finisher's last point at or before the step
		for _, a := range tp {
			for j+1 < len(fp) && fp[j+1].step <= a.step {
				j++
			}
			var b float64
			switch {
			case j >= 0:
				b = fp[j].v
			case len(fp) > 0:
				b = fp[0].v
			default:
				continue
			}
			if !finite(b) {
				continue
			}
			d := sign * (a.v - b)
			sum += d * d
			n++
		}
		curve := math.Inf(1)
		if n > 0 {
			curve = math.Sqrt(sum/float64(n)) / scale
		}
		fs[i].dist = curve + p.paramWeight*paramDistance(t, fs[i].t)
	}
}

// paramDistance is the mean distance of the params a and b share with the same
// distribution: floats and ints scaled to [0, 1] (log scale when the distribution is),
// categoricals 0 when equal and 1 otherwise. Params only one of them has count as 1.
func paramDistance(a, b *retune.FrozenTrial) float64 {
	var sum float64
	n := 0
	for name, da := range a.Distributions {
		n++
		db, ok := b.Distributions[name]
		if !ok || !da.Equal(db) {
			sum++
			continue
		}
		sum += unitDistance(da, a.Params[name], b.Params[name])
	}
	for name := range b.Distributions {
		if _, ok := a.Distributions[name]; !ok {
			n++
			sum++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// unitDistance is |x-y| scaled to [0, 1] by the distribution d, or 1 if either is not in d.
// Unlike retune.ToUnit it maps the bounds themselves to 0 and 1 (ToUnit maps an int or a
// stepped float to the centre of its cell), so the ends of an int range are a full unit
// apart; on the curve families, ToUnit's scale met the steps/loss target on one family of
// three against two.
func unitDistance(d retune.Distribution, x, y any) float64 {
	a, okA := d.ToInternal(x)
	b, okB := d.ToInternal(y)
	if !okA || !okB {
		return 1
	}
	var lo, hi float64
	logScale := false
	switch d := d.(type) {
	case retune.FloatDistribution:
		lo, hi, logScale = d.Low, d.High, d.Log
	case retune.IntDistribution:
		lo, hi, logScale = float64(d.Low), float64(d.High), d.Log
	default:
		if a == b {
			return 0
		}
		return 1
	}
	if logScale {
		a, b, lo, hi = math.Log(a), math.Log(b), math.Log(lo), math.Log(hi)
	}
	if !(hi > lo) {
		return 0
	}
	return math.Abs(a-b) / (hi - lo)
}

// Spec implements retune.Specer.
func (p *Extrapolate) Spec() retune.Spec {
	o := map[string]any{
		"startup_trials": p.startup, "warmup_steps": p.warmup, "neighbors": p.neighbors,
		"param_weight": p.paramWeight, "novelty": p.novelty, "min_improvement": p.improvement,
	}
	// Rules that are off are left out, so that the spec of a study stored before they
	// existed, which FromSpec reads as off, is the spec of the pruner it gives.
	if p.nearDist > 0 {
		o["near_best_distance"], o["near_best_improvement"] = p.nearDist, p.nearImprove
	}
	if p.drop > 0 {
		o["drop"] = p.drop
	}
	return retune.Spec{Name: "extrapolate", Options: o}
}
