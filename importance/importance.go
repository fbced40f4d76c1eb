// Package importance tells which hyperparameters of a study matter, from its finished trials.
//
// Two methods, both on COMPLETE search trials only (confirmation trials, and trials that are
// waiting, running, pruned or failed are counted in the Result and left out):
//
// FANOVA (Hutter, Hoos and Leyton-Brown, "An Efficient Approach for Assessing Hyperparameter
// Importance", ICML 2014) fits a random forest of regression trees to the objective over the
// params, then decomposes each tree's prediction exactly, as a function on the whole search
// space: a param's importance is the variance of the tree's prediction averaged over every
// other param (its main effect) divided by the variance of the prediction itself, averaged
// over the trees. It measures how much of the objective's variation over the whole space a
// param explains on its own — the first-order Sobol index of the forest's surrogate — and,
// with FANOVAOptions.Interactions, how much pairs explain together beyond that. It needs
// trials spread over the space (random or quasi-random search; a sampler that crowds a
// corner teaches the forest little about the rest), and its cost is that of the forest:
// trees × params × trials × depth to grow it, then one pass over each tree's leaves per
// param (per pair of params for interactions); 10,000 trials of 10 params take about a
// second on two cores with the defaults, Optuna's pure-Python decomposition far longer.
//
// PEDANOVA (Watanabe, Bansal and Hutter, "PED-ANOVA: Efficiently Quantifying Hyperparameter
// Importance in Arbitrary Subspaces", IJCAI 2023) compares, param by param, the distribution
// of the best trials (the top TargetQuantile, default 10%) with that of all of them (or of
// the top RegionQuantile), as Parzen estimators on a grid, by their Pearson divergence. It
// measures what a param must be set to for a top result — local importance, in the region
// the study actually explored — needs no model, and costs one pass over the trials per param
// (about 60 ms for 10,000 trials of 10 params). Prefer it for studies run with TPE, GP or CMA-ES,
// whose trials crowd the good region, and to ask "what matters to get into the top 10%";
// prefer FANOVA for random or grid studies and to ask "what drives the objective across the
// whole space".
//
// Params are seen in a unit space: floats and ints linearly, or logarithmically when their
// distribution is Log, ints and stepped floats with one equal cell per value (as
// retune.ToUnit); categorical params by their choices (see FANOVA and PEDANOVA for how each
// method treats them and how each treats conditional params, those that only some trials
// have). One objective is analysed at a time, chosen by its index.
package importance

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/a6b40afc/retune"
)

// ErrTooFewTrials is returned when fewer than two trials can be used.
var ErrTooFewTrials = errors.New("importance: too few trials")

// Result is the importance of each param for one objective.
type Result struct {
	// Method is "fanova" or "ped-anova".
	Method string `json:"method"`
	// Objective is the index of the objective analysed.
	Objective int `json:"objective"`
	// Used counts the trials the method used.
	Used int `json:"used"`
	// Skipped counts the trials left out: NotComplete + NonFinite.
	Skipped int `json:"skipped"`
	// NotComplete counts trials that are not COMPLETE (waiting, running, pruned, failed)
	// and confirmation trials.
	NotComplete int `json:"not_complete"`
	// NonFinite counts COMPLETE trials whose value for the objective is ±Inf.
	NonFinite int `json:"non_finite"`
	// Params lists the params analysed, the most important first (ties by name).
	Params []Param `json:"params"`
	// Interactions lists pairs of params (FANOVA with Interactions), largest first.
	Interactions []Interaction `json:"interactions,omitempty"`
}

// Param is one param's importance.
type Param struct {
	Name string `json:"name"`
	// Importance is Raw divided by the sum of Raw over Params, so that importances sum to 1
	// (they are all 0 when every Raw is 0).
	Importance float64 `json:"importance"`
	// Raw is the method's own measure. FANOVA: the mean over trees of the fraction of the
	// prediction's variance that the param's main effect explains, an estimate of its
	// first-order Sobol index. PEDANOVA: (γ'/γ)² times the Pearson divergence between the
	// top and the region's distributions of the param (weighted over regimes for a
	// conditional param).
	Raw float64 `json:"raw"`
	// Trials counts the used trials that have the param.
	Trials int `json:"trials"`
}

// Interaction is the share of variance a pair of params explains together beyond their main
// effects (FANOVA only): the mean over trees of the pair's second-order fraction.
type Interaction struct {
	Params [2]string `json:"params"`
	Raw    float64   `json:"raw"`
}

// column is one param as the methods see it.
type column struct {
	name string
	// dist is the distribution of the param in the last used trial that has it.
	dist retune.Distribution
	// unit holds each used trial's value of the param: in [0, 1] for numeric params, the
	// choice's index for categoricals, NaN where the trial lacks the param or its value lies
	// outside dist.
	unit []float64
	// cats is the number of choices of a categorical param, 0 for numeric ones.
	cats int
	// n counts the trials that have the param.
	n int
}

// single reports whether the param's distribution has one value only: it cannot matter.
func (c *column) single() bool {
	switch d := c.dist.(type) {
	case retune.FloatDistribution:
		return d.Low == d.High
	case retune.IntDistribution:
		return d.Low == d.High
	case retune.CategoricalDistribution:
		return len(d.Choices) <= 1
	}
	return true
}

// selection is the trials a method uses, with the objective's values.
type selection struct {
	trials []retune.FrozenTrial
	y      []float64
	res    Result
}

// selectTrials keeps the COMPLETE search trials with a finite value for objective.
func selectTrials(method string, trials []retune.FrozenTrial, objective int) (selection, error) {
	s := selection{res: Result{Method: method, Objective: objective}}
	if objective < 0 {
		return s, fmt.Errorf("%w: objective %d: want an index >= 0", retune.ErrInvalid, objective)
	}
	for _, t := range trials {
		if t.State != retune.TrialComplete || t.Kind != retune.KindSearch {
			s.res.NotComplete++
			continue
		}
		if objective >= len(t.Values) {
			return s, fmt.Errorf("%w: objective %d: trial %d has %d value(s)", retune.ErrInvalid, objective, t.Number, len(t.Values))
		}
		v := t.Values[objective]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			s.res.NonFinite++
			continue
		}
		s.trials = append(s.trials, t)
		s.y = append(s.y, v)
	}
	s.res.Used = len(s.trials)
	s.res.Skipped = s.res.NotComplete + s.res.NonFinite
	if len(s.trials) < 2 {
		return s, fmt.Errorf("%w: %d usable COMPLETE trial(s) (%d skipped), want at least 2", ErrTooFewTrials, len(s.trials), s.res.Skipped)
	}
	return s, nil
}

// paramNames returns want, checked against the used trials, or every param that a used trial
// has, sorted.
func (s *selection) paramNames(want []string) ([]string, error) {
	seen := make(map[string]bool)
	for _, t := range s.trials {
		for k := range t.Distributions {
			seen[k] = true
		}
	}
	if want == nil {
		names := make([]string, 0, len(seen))
		for k := range seen {
			names = append(names, k)
		}
		slices.Sort(names)
		return names, nil
	}
	var out []string
	for _, k := range want {
		if !seen[k] {
			return nil, fmt.Errorf("%w: param %q: no used trial has it", retune.ErrInvalid, k)
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// columns returns the used trials' values of each param in unit space.
func (s *selection) columns(names []string) []column {
	cols := make([]column, len(names))
	for j, name := range names {
		c := &cols[j]
		c.name = name
		last := -1
		for _, t := range s.trials {
			if d, ok := t.Distributions[name]; ok && t.Number >= last {
				c.dist, last = d, t.Number
			}
		}
		if cd, ok := c.dist.(retune.CategoricalDistribution); ok {
			c.cats = len(cd.Choices)
		}
		c.unit = make([]float64, len(s.trials))
		for i, t := range s.trials {
			c.unit[i] = math.NaN()
			v, ok := t.Params[name]
			if !ok {
				continue
			}
			if cd, ok := c.dist.(retune.CategoricalDistribution); ok {
				if k := cd.Index(v); k >= 0 {
					c.unit[i] = float64(k)
				}
			} else if u, ok := retune.ToUnit(c.dist, v); ok {
				c.unit[i] = u
			}
			if !math.IsNaN(c.unit[i]) {
				c.n++
			}
		}
	}
	return cols
}

// finish normalizes Raw into Importance and sorts the params and interactions.
func (r *Result) finish() {
	var sum float64
	for _, p := range r.Params {
		sum += p.Raw
	}
	for i := range r.Params {
		if sum > 0 {
			r.Params[i].Importance = r.Params[i].Raw / sum
		}
	}
	slices.SortStableFunc(r.Params, func(a, b Param) int {
		if c := cmp.Compare(b.Raw, a.Raw); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	slices.SortStableFunc(r.Interactions, func(a, b Interaction) int {
		if c := cmp.Compare(b.Raw, a.Raw); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Params[0], b.Params[0]); c != 0 {
			return c
		}
		return cmp.Compare(a.Params[1], b.Params[1])
	})
}
