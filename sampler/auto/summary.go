package auto

import (
	"reflect"

	"github.com/a6b40afc/retune"
)

// summary is what the rules need from a prefix of a study's finished trials.
type summary struct {
	n        int     // trials summarized
	last     trialID // the n-th trial, to recognize the study
	complete int     // COMPLETE trials
	// constrained counts COMPLETE trials with constraint values (feasible or not).
	constrained int
	count       map[string]int                 // COMPLETE trials that have each param
	dist        map[string]retune.Distribution // each param's distribution in the latest of them
}

// trialID identifies a stored trial: a later request of the same study holds the same
// trial (same params map) at the same index.
type trialID struct {
	number int
	state  retune.TrialState
	end    int64
	params uintptr
}

func idOf(ft *retune.FrozenTrial) trialID {
	var p uintptr
	if ft.Params != nil {
		p = uintptr(reflect.ValueOf(ft.Params).UnsafePointer())
	}
	return trialID{ft.Number, ft.State, ft.End.UnixNano(), p}
}

// summarize returns the summary of trials, extending the cached one when trials continue
// it. The result must not be modified.
func (s *Sampler) summarize(trials []retune.FrozenTrial) *summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cache
	if c != nil && c.n == len(trials) && (c.n == 0 || c.last == idOf(&trials[c.n-1])) {
		return c
	}
	var sm *summary
	if c != nil && c.n > 0 && c.n < len(trials) && c.last == idOf(&trials[c.n-1]) {
		sm = c.clone()
	} else {
		sm = &summary{count: map[string]int{}, dist: map[string]retune.Distribution{}}
	}
	sm.extend(trials)
	if c == nil || sm.n >= c.n {
		s.cache = sm
	}
	return sm
}

func (sm *summary) clone() *summary {
	out := &summary{n: sm.n, last: sm.last, complete: sm.complete, constrained: sm.constrained,
		count: make(map[string]int, len(sm.count)), dist: make(map[string]retune.Distribution, len(sm.dist))}
	for k, v := range sm.count {
		out.count[k] = v
	}
	for k, v := range sm.dist {
		out.dist[k] = v
	}
	return out
}

// extend adds trials beyond the first sm.n.
func (sm *summary) extend(trials []retune.FrozenTrial) {
	for i := sm.n; i < len(trials); i++ {
		ft := &trials[i]
		if ft.State != retune.TrialComplete {
			continue
		}
		sm.complete++
		if len(ft.Constraints()) > 0 {
			sm.constrained++
		}
		for name := range ft.Params {
			sm.count[name]++
			if d, ok := ft.Distributions[name]; ok {
				sm.dist[name] = d
			}
		}
	}
	sm.n = len(trials)
	if sm.n > 0 {
		sm.last = idOf(&trials[sm.n-1])
	}
}

// shape returns the number of params the COMPLETE trials have, how many of them only some
// trials have (conditional), and how many are categorical in their latest distribution.
func (sm *summary) shape() (params, conditional, categorical int) {
	for name, k := range sm.count {
		params++
		if k < sm.complete {
			conditional++
		}
		if _, ok := sm.dist[name].(retune.CategoricalDistribution); ok {
			categorical++
		}
	}
	return params, conditional, categorical
}
