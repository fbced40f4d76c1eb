package problem

import "math"

// MixedMOSpace is the search space of MixedMO: a network's learning rate, depth, width,
// activation and dropout.
var MixedMOSpace = []Param{
	{Name: "lr", Kind: "float", Low: 1e-4, High: 1e-1, Log: true},
	{Name: "layers", Kind: "int", Low: 1, High: 8},
	{Name: "width", Kind: "int", Low: 16, High: 1024, Log: true},
	{Name: "activation", Kind: "categorical", Choices: []string{"relu", "tanh", "gelu", "sigmoid"}},
	{Name: "dropout", Kind: "float", Low: 0, High: 0.5},
}

// MixedMO is a two-objective problem in the manner of tuning a network for accuracy and size
// (both minimized): an error in about [0.03, 1.4] and a cost in about [0.38, 1]. It is
// synthetic, built so that its params interact as real ones do:
//
//   - capacity c = layers·log2(width/8) (1 to 56) lowers underfitting, exp(-c/12), and past
//     24 raises overfitting, which dropout cancels as (1 - 2·dropout)²; dropout alone costs
//     a little error (0.1·dropout²);
//   - the best learning rate falls with depth, 10^(-2.5 - 0.15·(layers-1)), and missing it
//     by a decade costs 0.2·(1 - e^(-1/2));
//   - activations shift the error (gelu -0.02, relu 0, tanh +0.04, sigmoid +0.1 plus 0.02 per
//     layer, its gradients vanishing with depth);
//   - the cost is log10 of the parameter count layers·width² (gelu 15% more), scaled by
//     its largest value, so it falls with both depth and width while the error wants
//     capacity.
//
// An unknown activation, or a value outside the space, gives NaN.
func MixedMO(lr float64, layers, width int, activation string, dropout float64) (errRate, cost float64) {
	offset, costFactor := 0.0, 1.0
	switch activation {
	case "relu":
	case "tanh":
		offset = 0.04
	case "gelu":
		offset, costFactor = -0.02, 1.15
	case "sigmoid":
		offset = 0.1 + 0.02*float64(layers)
	default:
		return math.NaN(), math.NaN()
	}
	if !(lr >= 1e-4 && lr <= 1e-1) || layers < 1 || layers > 8 || width < 16 || width > 1024 || !(dropout >= 0 && dropout <= 0.5) {
		return math.NaN(), math.NaN()
	}
	c := float64(layers) * math.Log2(float64(width)/8)
	under := math.Exp(-c / 12)
	d := 1 - 2*dropout
	over := math.Max(0, c-24) / 40 * d * d
	miss := math.Log10(lr) - (-2.5 - 0.15*float64(layers-1))
	errRate = 0.05 + 0.5*under + 0.3*over + 0.1*dropout*dropout + 0.2*(1-math.Exp(-miss*miss/2)) + offset
	params := float64(layers) * float64(width) * float64(width) * costFactor
	cost = math.Log10(params) / math.Log10(8*1024*1024*1.15)
	return errRate, cost
}
