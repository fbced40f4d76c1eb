package bench

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain"
)

// DecisionResult is the retraining-decision simulation (PROTOCOL §6) for one policy and
// scenario: how many of the simulated studies the policy called an improvement.
type DecisionResult struct {
	Lib      string  `json:"lib"`
	Mode     string  `json:"mode"`
	Policy   string  `json:"policy"`
	Scenario string  `json:"scenario"`
	Rho      float64 `json:"rho,omitempty"`
	Studies  int     `json:"studies"`
	Improved int     `json:"improved"`
	Rate     float64 `json:"rate"`
	Low      float64 `json:"ci_low"`
	High     float64 `json:"ci_high"`
}

// SimulateDecisions runs studies simulated studies of 30 search evaluations with Gaussian
// noise σ = 1 around a true value, against a champion whose true and recorded value is
// c = 0 (maximized). Scenario "null": every configuration's true value is c; "effect":
// every one is c + 2σ. The policy's Repeats (0 = point comparison) re-run the winner and
// the champion; the noise of pair i has correlation rho (0: independent, as PROTOCOL §6
// pins; a shared seed that picks the data split makes it positive). The rate comes with
// its Clopper-Pearson 95% interval. The same seed draws the same studies and noise for
// every policy with the same Repeats, so policies compare side by side.
func SimulateDecisions(p retrain.Policy, scenario string, studies int, seed uint64, rho float64) (DecisionResult, error) {
	var truth float64
	switch scenario {
	case "null":
	case "effect":
		truth = 2
	default:
		return DecisionResult{}, fmt.Errorf("scenario %q: want null or effect", scenario)
	}
	if err := p.Validate(); err != nil {
		return DecisionResult{}, err
	}
	if !(rho >= 0 && rho < 1) {
		return DecisionResult{}, fmt.Errorf("rho %v: want a correlation in [0, 1)", rho)
	}
	shared, own := math.Sqrt(rho), math.Sqrt(1-rho)
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	const search, c = 30, 0.0
	improved := 0
	for range studies {
		best := r.NormFloat64() + truth
		for range search - 1 {
			best = max(best, r.NormFloat64()+truth)
		}
		var e retune.Evidence
		var err error
		if p.Repeats == 0 {
			e, err = p.ComparePoint(retune.Maximize, best, c)
		} else {
			cand := make([]float64, p.Repeats)
			champ := make([]float64, p.Repeats)
			for i := range cand {
				z := r.NormFloat64()
				cand[i] = truth + shared*z + own*r.NormFloat64()
				champ[i] = c + shared*z + own*r.NormFloat64()
			}
			e, err = p.ComparePaired(retune.Maximize, cand, champ)
		}
		if err != nil {
			return DecisionResult{}, err
		}
		if ok, _ := retrain.Verdict(e); ok {
			improved++
		}
	}
	name := "point"
	if p.Repeats > 0 {
		name = fmt.Sprintf("confirm k=%d %s", p.Repeats, cmp.Or(p.Analysis, retrain.AnalysisBoth))
	}
	lo, hi := ClopperPearson(improved, studies)
	return DecisionResult{Lib: "retune", Mode: "decisions", Policy: name, Scenario: scenario, Rho: rho, Studies: studies,
		Improved: improved, Rate: float64(improved) / float64(studies), Low: lo, High: hi}, nil
}
