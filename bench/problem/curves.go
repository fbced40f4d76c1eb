package problem

import "math"

// CurveFamily is a learning-curve problem (to maximize) over a search space, for pruners
// driven by a sampler: a trial suggests the params of Space, reports Value at steps
// 1…steps, and is judged by Final, the noise-free value after its last step. Unlike Curve,
// whose configurations keep their ranking from the first steps on, each family makes early
// values mislead in one way. The curves are accuracies in about [0.1, 0.95] and are defined
// on a time axis of 50 steps: with steps other than 50, step t is read at time 50·t/steps.
// bench/optuna_more.py defines the same families.
type CurveFamily struct {
	Name  string
	Space []Param
	// Curve is the noise-free value after step (1…steps) of a run of steps steps. Params
	// are read as Problem.Eval reads them (a missing one or one of another type panics); an
	// unknown category gives NaN.
	Curve func(p map[string]any, step, steps int) float64
}

// Value is the value reported after step in trial (0-based number) of the run with seed:
// Curve plus CurveJitter(seed, trial, step).
func (f CurveFamily) Value(p map[string]any, step, steps, seed, trial int) float64 {
	return f.Curve(p, step, steps) + CurveJitter(seed, trial, step)
}

// Final is the noise-free value after the last step.
func (f CurveFamily) Final(p map[string]any, steps int) float64 {
	return f.Curve(p, steps, steps)
}

// CurveJitter is the deterministic jitter of the curve families, uniform in [-0.01, 0.01):
// 0.01·(2·HashUnit(2, seed, trial, step) - 1).
func CurveJitter(seed, trial, step int) float64 {
	return 0.01 * (2*HashUnit(2, uint64(seed), uint64(trial), uint64(step)) - 1)
}

// curveChance is the value every family starts from (chance level of ten classes).
const curveChance = 0.1

// curveTime is step's place on the families' 50-step time axis.
func curveTime(step, steps int) float64 { return 50 * float64(step) / float64(steps) }

// CurveFamilies lists the learning-curve families:
//
//   - latebloom: the best final configurations start slowest.
//   - crossing: curves cross late in training, after learning-rate decays.
//   - divergent: many configurations get worse after a peak, by overfitting or by diverging.
var CurveFamilies = []CurveFamily{
	{
		Name: "latebloom",
		Space: []Param{
			{Name: "lr", Kind: "float", Low: 1e-4, High: 1e-1, Log: true},
			{Name: "width", Kind: "int", Low: 16, High: 1024, Log: true},
			{Name: "optimizer", Kind: "categorical", Choices: []string{"adam", "momentum", "sgd"}},
		},
		Curve: func(p map[string]any, step, steps int) float64 {
			return LateBloom(floatParam(p, "lr"), intParam(p, "width"), stringParam(p, "optimizer"), curveTime(step, steps))
		},
	},
	{
		Name: "crossing",
		Space: []Param{
			{Name: "lr", Kind: "float", Low: 1e-3, High: 1, Log: true},
			{Name: "schedule", Kind: "categorical", Choices: []string{"constant", "step", "cosine"}},
			{Name: "decay_at", Kind: "int", Low: 10, High: 45},
		},
		Curve: func(p map[string]any, step, steps int) float64 {
			return Crossing(floatParam(p, "lr"), stringParam(p, "schedule"), intParam(p, "decay_at"), curveTime(step, steps))
		},
	},
	{
		Name: "divergent",
		Space: []Param{
			{Name: "lr", Kind: "float", Low: 1e-4, High: 1e-1, Log: true},
			{Name: "layers", Kind: "int", Low: 1, High: 8},
			{Name: "dropout", Kind: "float", Low: 0, High: 0.7},
			{Name: "norm", Kind: "categorical", Choices: []string{"none", "batch", "layer"}},
		},
		Curve: func(p map[string]any, step, steps int) float64 {
			return Divergent(floatParam(p, "lr"), intParam(p, "layers"), floatParam(p, "dropout"), stringParam(p, "norm"), curveTime(step, steps))
		},
	},
}

// LateBloom is the latebloom family's noise-free curve at time u (0…50): Domhan, Springenberg
// and Hutter's Weibull curve model ("Speeding up automatic hyperparameter optimization of
// deep neural networks by extrapolation of learning curves", IJCAI 2015),
// α - (α - 0.1)·exp(-(u/τ)²), whose S shape starts flat. A smaller learning rate, a wider
// network and plain SGD each raise the asymptote α but lengthen τ; with ℓ = log10(lr),
// r = (ℓ+4)/3 and w = log2(width/16)/6 (both 0…1),
//
//	τ = 5·10^(-0.6(ℓ+2.5))·(1+w)·{adam 0.6, momentum 1, sgd 1.4}
//	α = 0.55 + 0.3·(1-r)^0.7 + 0.06·w + {adam -0.03, momentum 0, sgd 0.03}
//
// The best finals come from configurations slow enough to reach a high α but fast enough
// to get there in 50 steps, and these are among the slowest at step 5: over random
// configurations the rank correlation of the values at step 5 and 50 is about -0.4.
func LateBloom(lr float64, width int64, optimizer string, u float64) float64 {
	var slow, bonus float64
	switch optimizer {
	case "adam":
		slow, bonus = 0.6, -0.03
	case "momentum":
		slow, bonus = 1, 0
	case "sgd":
		slow, bonus = 1.4, 0.03
	default:
		return math.NaN()
	}
	l := math.Log10(lr)
	r := (l + 4) / 3
	w := math.Log2(float64(width)/16) / 6
	tau := 5 * math.Pow(10, -0.6*(l+2.5)) * (1 + w) * slow
	alpha := 0.55 + 0.3*math.Pow(1-r, 0.7) + 0.06*w + bonus
	v := u / tau
	return alpha - (alpha-curveChance)*math.Exp(-v*v)
}

// Crossing is the crossing family's noise-free curve at time u (0…50): SGD with an initial
// learning rate lr and a schedule, after the curves of step decay (the rate divided at
// decay_at) and cosine annealing (Loshchilov and Hutter, "SGDR: stochastic gradient descent
// with warm restarts", ICLR 2017). While the rate stays high, a larger one holds the curve
// on a lower plateau p1; decaying it releases a gain J that grows with the rate, so curves
// cross late in training, the case Hyperband's brackets hedge against (Li et al.,
// "Hyperband: a novel bandit-based approach to hyperparameter optimization", JMLR 2018).
// With r = (log10(lr)+3)/3 (0…1):
//
//	p1 = 0.84 - 0.5·r,  J = max(0, 0.78 + 0.2·r - 0.08·r³ - p1),  y1(u) = p1 - (p1-0.1)·e^(-u/(2+8(1-r)))
//	constant: y1(u)
//	cosine:   y1(u) + 0.85·J·((1 - cos(πu/50))/2)²
//	step:     y1(u) before decay_at = d; then y1(d) + (p1 + h·J - y1(d))·(1 - e^(-(u-d)/4)),
//	          h = 0.8 + 0.2·(d-10)/35 (a longer high-rate phase gains more, but a late decay
//	          leaves too little time to collect it)
//
// decay_at is ignored by the other schedules. Over random configurations the rank
// correlation of the values at step 25 and 50 is about 0, and the 5% with the best final
// values sit, on average, in the bottom sixth at step 30.
func Crossing(lr float64, schedule string, decayAt int64, u float64) float64 {
	r := (math.Log10(lr) + 3) / 3
	p1 := 0.84 - 0.5*r
	gain := math.Max(0, 0.78+0.2*r-0.08*r*r*r-p1)
	tau1 := 2 + 8*(1-r)
	y1 := func(t float64) float64 { return p1 - (p1-curveChance)*math.Exp(-t/tau1) }
	switch schedule {
	case "constant":
		return y1(u)
	case "cosine":
		phi := (1 - math.Cos(math.Pi*u/50)) / 2
		return y1(u) + 0.85*gain*phi*phi
	case "step":
		d := float64(decayAt)
		if u < d {
			return y1(u)
		}
		h := 0.8 + 0.2*(d-10)/35
		yd := y1(d)
		return yd + (p1+h*gain-yd)*(1-math.Exp(-(u-d)/4))
	}
	return math.NaN()
}

// Divergent is the divergent family's noise-free curve at time u (0…50): a saturating
// curve α - (α-0.1)·e^(-u/τ), the exponential approach freeze-thaw Bayesian optimization
// assumes (Swersky, Snoek and Adams, "Freeze-thaw Bayesian optimization", 2014), from which
// two things take away late in training:
//
//   - overfitting, the validation curve rising then falling (Prechelt, "Early stopping —
//     but when?", Neural Networks: Tricks of the Trade, 1998): from u0 = 1.5τ on, the curve
//     loses o·(1 - e^(-(u-u0)/20)), o = 0.4·c²·(1 - dropout/0.7)² with c = layers/8;
//   - divergence of a learning rate above the critical 10^ℓc, ℓc = -1.9 - 0.1·layers +
//     {none 0, batch 0.6, layer 0.3} (normalization tolerates higher rates: Ioffe and
//     Szegedy, "Batch normalization", ICML 2015): around td = 15 + 35·e^(-3(ℓ-ℓc)) the
//     curve collapses to 0.1, y → 0.1 + (y-0.1)/(1 + e^((u-td)/1.5)).
//
// With ℓ = log10(lr) and s = 10^(0.5(ℓ+2.5)), τ = 5/s·(1+0.5c)·(1+dropout)·{none 1,
// batch 0.7, layer 0.85} and α = 0.6 + 0.32·√c - 0.12·dropout: deep networks without
// dropout peak highest, then lose most. Over random configurations
// nearly 40% end more than 0.05 below their peak, and the 5% with the highest peaks end,
// on average, in the bottom fifth.
func Divergent(lr float64, layers int64, dropout float64, norm string, u float64) float64 {
	var tauFactor, tolerance float64
	switch norm {
	case "none":
		tauFactor, tolerance = 1, 0
	case "batch":
		tauFactor, tolerance = 0.7, 0.6
	case "layer":
		tauFactor, tolerance = 0.85, 0.3
	default:
		return math.NaN()
	}
	l := math.Log10(lr)
	c := float64(layers) / 8
	s := math.Pow(10, 0.5*(l+2.5))
	tau := 5 / s * (1 + 0.5*c) * (1 + dropout) * tauFactor
	alpha := 0.6 + 0.32*math.Sqrt(c) - 0.12*dropout
	y := alpha - (alpha-curveChance)*math.Exp(-u/tau)
	if u0 := 1.5 * tau; u > u0 {
		k := 1 - dropout/0.7
		y -= 0.4 * c * c * k * k * (1 - math.Exp(-(u-u0)/20))
	}
	if lc := -1.9 - 0.1*float64(layers) + tolerance; l > lc {
		td := 15 + 35*math.Exp(-3*(l-lc))
		y = curveChance + (y-curveChance)/(1+math.Exp((u-td)/1.5))
	}
	return y
}
