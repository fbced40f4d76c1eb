package nsga2

import (
	"cmp"
	"math/rand/v2"
	"slices"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pareto"
)

// generations is the population bred so far from a study's COMPLETE trials: the first
// PopulationSize of them (in finish order) are the first population, and each further
// block of PopulationSize joins the population before the best PopulationSize of the union
// survive. It is immutable once built.
type generations struct {
	dirs    []retune.Direction
	numbers []int // numbers of the COMPLETE trials consumed, in finish order
	pop     []*retune.FrozenTrial
	// levels and crowding rank the population for parent selection (NSGA-II); crowding
	// is nil with Reference selection and three or more objectives.
	levels   []int
	crowding []float64
	// viol is the constraint violation of each member (retune.FrozenTrial.Violation), nil
	// when every member is feasible.
	viol []float64
}

// population returns the current population for req, or nil before the first one is
// complete. It extends the cached population when req's history continues the history it
// was built from, and starts over otherwise.
func (s *Sampler) population(req *retune.SampleRequest) *generations {
	dirs := req.Directions
	var complete []*retune.FrozenTrial
	for i := range req.Trials {
		if t := &req.Trials[i]; t.State == retune.TrialComplete && len(t.Values) == len(dirs) {
			complete = append(complete, t)
		}
	}
	full := len(complete) / s.size * s.size
	if full == 0 {
		return nil
	}
	s.mu.Lock()
	c := s.cache
	s.mu.Unlock()
	if c == nil || !c.continues(dirs, complete, full) {
		c = &generations{dirs: slices.Clone(dirs)}
	}
	if len(c.numbers) == full {
		return c
	}
	next := &generations{dirs: c.dirs, numbers: slices.Clone(c.numbers), pop: c.pop}
	var refs [][]float64
	if len(dirs) >= 3 && s.selection == Reference {
		h := s.divisions
		if h == 0 {
			h = defaultDivisions(len(dirs), s.size)
		}
		refs = referencePoints(len(dirs), h)
	}
	for start := len(c.numbers); start < full; start += s.size {
		block := complete[start : start+s.size]
		cand := slices.Clone(next.pop)
		for _, t := range block {
			tc := *t
			cand = append(cand, &tc)
			next.numbers = append(next.numbers, t.Number)
		}
		if next.pop == nil {
			next.pop = cand // the first generation, whole
			continue
		}
		// Deb's constrained domination: feasible trials survive first, ranked as without
		// constraints; places left go to infeasible ones by least violation.
		feasible, infeasible := splitFeasible(cand)
		var keep []int
		if len(feasible) >= s.size {
			fc := make([]*retune.FrozenTrial, len(feasible))
			for k, i := range feasible {
				fc[k] = cand[i]
			}
			points := values(fc)
			var sel []int
			if refs == nil {
				sel = pareto.Order(dirs, points)[:s.size]
			} else {
				// Ties in niching are broken by a generator seeded with the generation, so
				// that every process derives the same population.
				r := rand.New(rand.NewPCG(uint64(start/s.size), 0x6e736761))
				sel = nicheSelect(dirs, points, s.size, refs, r)
			}
			keep = make([]int, len(sel))
			for k, i := range sel {
				keep[k] = feasible[i]
			}
		} else {
			keep = append(feasible, infeasible[:s.size-len(feasible)]...)
		}
		pop := make([]*retune.FrozenTrial, len(keep))
		for k, i := range keep {
			pop[k] = cand[i]
		}
		next.pop = pop
	}
	if refs == nil {
		next.levels, next.crowding = pareto.LevelsCrowding(dirs, values(next.pop))
	}
	for i, t := range next.pop {
		if v := t.Violation(); v > 0 {
			if next.viol == nil {
				next.viol = make([]float64, len(next.pop))
			}
			next.viol[i] = v
		}
	}
	s.mu.Lock()
	if s.cache == nil || len(s.cache.numbers) < len(next.numbers) || !s.cache.continues(dirs, complete, full) {
		s.cache = next
	}
	s.mu.Unlock()
	return next
}

// continues reports whether g was built from a prefix of complete of at most full trials,
// under the same directions.
func (g *generations) continues(dirs []retune.Direction, complete []*retune.FrozenTrial, full int) bool {
	if !slices.Equal(g.dirs, dirs) || len(g.numbers) > full {
		return false
	}
	for i, n := range g.numbers {
		if complete[i].Number != n {
			return false
		}
	}
	return true
}

// splitFeasible returns the indexes of the feasible trials of ts, in order, and of the
// infeasible ones by least violation (ties by index).
func splitFeasible(ts []*retune.FrozenTrial) (feasible, infeasible []int) {
	viol := make([]float64, len(ts))
	for i, t := range ts {
		if t.Feasible() {
			feasible = append(feasible, i)
		} else {
			viol[i] = t.Violation()
			infeasible = append(infeasible, i)
		}
	}
	slices.SortStableFunc(infeasible, func(a, b int) int { return cmp.Compare(viol[a], viol[b]) })
	return feasible, infeasible
}

func values(ts []*retune.FrozenTrial) [][]float64 {
	out := make([][]float64, len(ts))
	for i, t := range ts {
		out[i] = t.Values
	}
	return out
}
