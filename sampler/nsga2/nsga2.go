package nsga2

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/a6b40afc/retune"
)

// Crossover names a crossover operator for numeric params.
type Crossover string

// Crossover operators. Categorical params always use uniform crossover.
const (
	// SBX is simulated binary crossover: a child near one parent, more likely the nearer
	// the parents are to each other.
	SBX Crossover = "sbx"
	// Uniform takes each param from one parent or the other.
	Uniform Crossover = "uniform"
)

// Mutation names a mutation operator for numeric params.
type Mutation string

// Mutation operators. A mutated categorical param is always drawn uniformly.
const (
	// Polynomial perturbs the value with Deb's bounded polynomial distribution.
	Polynomial Mutation = "polynomial"
	// Resample draws the value uniformly from its distribution.
	Resample Mutation = "uniform"
)

// Selection names how survivors and parents are chosen with three or more objectives.
type Selection string

// Selections. With one or two objectives selection is always NSGA-II's.
const (
	// Crowding is NSGA-II's: the front that does not fit is cut by crowding distance, and
	// parents win binary tournaments on front, then crowding distance.
	Crowding Selection = "crowding"
	// Reference is NSGA-III's: the front that does not fit is spread over Das–Dennis
	// reference points, and parents are drawn uniformly.
	Reference Selection = "reference"
)

// Options configures a Sampler. Zero values are the documented defaults.
type Options struct {
	// PopulationSize is the number of trials in a generation. Default 50; at least 2.
	PopulationSize int
	// Crossover is the operator for numeric params. Default Uniform (see the package doc).
	Crossover Crossover
	// CrossoverProb is the probability that a child is bred from two parents rather than
	// copied from one (and then mutated). 0 means 0.9; a negative value means never.
	CrossoverProb float64
	// SwappingProb is the probability that crossover acts on a param: uniform crossover
	// then takes the second parent's value, SBX replaces the value by an SBX child. Other
	// params keep the first parent's value. 0 means 0.5; a negative value means never.
	SwappingProb float64
	// CrossoverEta is SBX's distribution index: larger keeps children closer to their
	// parents. Default 20.
	CrossoverEta float64
	// Mutation is the operator for numeric params. Default Polynomial.
	Mutation Mutation
	// MutationProb is the probability that each param of a child is mutated. 0 means
	// 1/(number of params in the joint space); a negative value means never.
	MutationProb float64
	// MutationEta is the polynomial mutation's distribution index: larger keeps mutants
	// closer to the value. Default 20.
	MutationEta float64
	// Divisions is the number of divisions of each objective's axis for NSGA-III's
	// reference points (three or more objectives), C(Divisions+m-1, m-1) of them with m
	// objectives. Default: the largest number that gives at most PopulationSize points
	// (at least 1).
	Divisions int
	// Selection is the selection with three or more objectives. Default Crowding (see
	// the package doc for why not NSGA-III's Reference).
	Selection Selection
}

// Sampler is NSGA-II, and NSGA-III with three or more objectives. It is safe for concurrent
// use. It keeps the population it derives from a study's finished trials between asks; it
// can serve several studies but does so fastest when it serves one.
type Sampler struct {
	size      int
	crossover Crossover
	crossProb float64
	swapProb  float64
	crossEta  float64
	mutation  Mutation
	mutProb   float64 // 0: 1/n
	mutEta    float64
	divisions int
	selection Selection

	mu    sync.Mutex // guards cache
	cache *generations
}

var (
	_ retune.Sampler = (*Sampler)(nil)
	_ retune.Specer  = (*Sampler)(nil)
)

// New returns an NSGA-II sampler. It panics if an option is invalid: PopulationSize 1 or
// negative, a probability above 1 or NaN, an unknown operator, a negative or non-finite
// distribution index, negative Divisions.
func New(o Options) *Sampler {
	s := &Sampler{
		size: o.PopulationSize, crossover: o.Crossover, crossProb: o.CrossoverProb, swapProb: o.SwappingProb,
		crossEta: o.CrossoverEta, mutation: o.Mutation, mutProb: o.MutationProb, mutEta: o.MutationEta,
		divisions: o.Divisions, selection: o.Selection,
	}
	prob := func(name string, p float64) {
		if p > 1 || math.IsNaN(p) {
			panic(fmt.Sprintf("nsga2: %s %v: want a probability in [0, 1] (0 for the default, negative for never)", name, p))
		}
	}
	prob("CrossoverProb", o.CrossoverProb)
	prob("SwappingProb", o.SwappingProb)
	prob("MutationProb", o.MutationProb)
	eta := func(name string, e float64) {
		if e < 0 || math.IsNaN(e) || math.IsInf(e, 0) {
			panic(fmt.Sprintf("nsga2: %s %v: want a finite index >= 0 (0 for 20)", name, e))
		}
	}
	eta("CrossoverEta", o.CrossoverEta)
	eta("MutationEta", o.MutationEta)
	switch {
	case o.PopulationSize < 0 || o.PopulationSize == 1:
		panic(fmt.Sprintf("nsga2: PopulationSize %d: want at least 2 (or 0 for 50)", o.PopulationSize))
	case o.Crossover != "" && o.Crossover != SBX && o.Crossover != Uniform:
		panic(fmt.Sprintf("nsga2: Crossover %q: want %q or %q", o.Crossover, SBX, Uniform))
	case o.Mutation != "" && o.Mutation != Polynomial && o.Mutation != Resample:
		panic(fmt.Sprintf("nsga2: Mutation %q: want %q or %q", o.Mutation, Polynomial, Resample))
	case o.Divisions < 0:
		panic(fmt.Sprintf("nsga2: Divisions %d: want at least 1 (or 0 for the default)", o.Divisions))
	case o.Selection != "" && o.Selection != Crowding && o.Selection != Reference:
		panic(fmt.Sprintf("nsga2: Selection %q: want %q or %q", o.Selection, Crowding, Reference))
	}
	if s.selection == "" {
		s.selection = Crowding
	}
	if s.size == 0 {
		s.size = 50
	}
	if s.crossover == "" {
		s.crossover = Uniform
	}
	if s.mutation == "" {
		s.mutation = Polynomial
	}
	s.crossProb = defProb(s.crossProb, 0.9)
	s.swapProb = defProb(s.swapProb, 0.5)
	if s.mutProb < 0 {
		s.mutProb = -1 // never; 0 stays "1/n"
	}
	if s.crossEta == 0 {
		s.crossEta = 20
	}
	if s.mutEta == 0 {
		s.mutEta = 20
	}
	return s
}

func defProb(p, d float64) float64 {
	switch {
	case p == 0:
		return d
	case p < 0:
		return 0
	}
	return p
}

// Spec implements retune.Specer: name "nsga2" and the options in effect. A MutationProb of
// 1/n appears as "1/n"; default Divisions as 0; Selection Reference is left out, so that
// the spec of a study stored before the option existed (when three or more objectives
// always used reference points) is that of Reference.
func (s *Sampler) Spec() retune.Spec {
	var mp any = s.mutProb
	switch {
	case s.mutProb == 0:
		mp = "1/n"
	case s.mutProb < 0:
		mp = 0.0
	}
	o := map[string]any{
		"population_size": s.size, "crossover": string(s.crossover), "crossover_prob": s.crossProb,
		"swapping_prob": s.swapProb, "crossover_eta": s.crossEta, "mutation": string(s.mutation),
		"mutation_prob": mp, "mutation_eta": s.mutEta, "divisions": s.divisions,
	}
	if s.selection != Reference {
		o["selection"] = string(s.selection)
	}
	return retune.Spec{Name: "nsga2", Options: o}
}

// Independent implements retune.Sampler: params outside the joint space, and every param
// of the first generation, are drawn uniformly (retune.SampleUniform).
func (s *Sampler) Independent(_ context.Context, req *retune.SampleRequest, _ string, d retune.Distribution) (any, error) {
	return retune.SampleUniform(req.Rand, d), nil
}

// Relative implements retune.Sampler: once the study has PopulationSize COMPLETE trials,
// it breeds a child of the current population for the joint space req.Space.
func (s *Sampler) Relative(_ context.Context, req *retune.SampleRequest) (map[string]any, error) {
	if len(req.Space) == 0 || len(req.Directions) == 0 {
		return nil, nil
	}
	g := s.population(req)
	if g == nil {
		return nil, nil
	}
	r := req.Rand
	a, b := s.parents(r, g)
	names := make([]string, 0, len(req.Space))
	for name := range req.Space {
		names = append(names, name)
	}
	slices.Sort(names)
	cross := r.Float64() < s.crossProb
	pm := s.mutProb
	if pm == 0 {
		pm = 1 / float64(len(names))
	}
	out := make(map[string]any, len(names))
	for _, name := range names {
		d := req.Space[name]
		if c, ok := d.(retune.CategoricalDistribution); ok {
			i := choiceOf(r, g.pop[a], name, c)
			if cross && r.Float64() < s.swapProb {
				i = choiceOf(r, g.pop[b], name, c)
			}
			if r.Float64() < pm {
				i = r.IntN(len(c.Choices))
			}
			out[name] = c.Choices[i]
			continue
		}
		from := g.pop[a]
		x, ok := unitOf(from, name, d)
		if !ok {
			x = r.Float64()
		}
		changed := false
		if cross && r.Float64() < s.swapProb {
			y, ok := unitOf(g.pop[b], name, d)
			if !ok {
				y = r.Float64()
			}
			if s.crossover == SBX {
				x, changed = sbx(r, x, y, s.crossEta), true
			} else {
				x, from = y, g.pop[b]
			}
		}
		if r.Float64() < pm {
			if s.mutation == Polynomial {
				x = polynomialMutation(r, x, s.mutEta)
			} else {
				x = r.Float64()
			}
			changed = true
		}
		if v, ok := d.ToInternal(from.Params[name]); ok && !changed && retune.SameKind(from.Distributions[name], d) {
			out[name] = d.ToExternal(v) // a parent's value, exactly
			continue
		}
		out[name] = retune.FromUnit(d, x)
	}
	return out, nil
}

// parents picks two members of the population, redrawing the second (up to 8 times) while
// it is the first: by binary tournament on the crowded comparison (front, then crowding
// distance), or uniformly with Reference selection and three or more objectives (NSGA-III). While the
// population holds infeasible trials, a tournament between two members of which one is
// infeasible picks the one with less constraint violation (a feasible one has none).
func (s *Sampler) parents(r *rand.Rand, g *generations) (int, int) {
	n := len(g.pop)
	pick := func() int {
		i := r.IntN(n)
		if g.crowding == nil && g.viol == nil {
			return i
		}
		j := r.IntN(n)
		if g.viol != nil && (g.viol[i] > 0 || g.viol[j] > 0) {
			if g.viol[j] < g.viol[i] {
				return j
			}
			return i
		}
		if g.crowding == nil {
			return i
		}
		switch {
		case g.levels[j] < g.levels[i]:
			return j
		case g.levels[j] == g.levels[i] && g.crowding[j] > g.crowding[i]:
			return j
		}
		return i
	}
	a := pick()
	b := pick()
	for k := 0; b == a && k < 8; k++ {
		b = pick()
	}
	return a, b
}

// unitOf returns trial t's value of param name in [0, 1] (see toUnit); ok is false when t
// has no usable value: a missing param, one drawn from a distribution of another kind, or
// one outside d.
func unitOf(t *retune.FrozenTrial, name string, d retune.Distribution) (u float64, ok bool) {
	if v, ok := t.Params[name]; ok && retune.SameKind(t.Distributions[name], d) {
		return retune.ToUnit(d, v)
	}
	return 0, false
}

// choiceOf returns the index of trial t's choice for param name, or a uniform draw when t
// has no usable value.
func choiceOf(r *rand.Rand, t *retune.FrozenTrial, name string, d retune.CategoricalDistribution) int {
	if v, ok := t.Params[name]; ok && retune.SameKind(t.Distributions[name], d) {
		if i := d.Index(v); i >= 0 {
			return i
		}
	}
	return r.IntN(len(d.Choices))
}
