package tpe

import (
	"cmp"
	"slices"

	"github.com/a6b40afc/retune"
)

// groupState partitions the params of the COMPLETE and PRUNED trials seen so far into
// groups: two params share a group when every trial that has one has the other. It also
// keeps each param's distribution in the latest of those trials.
type groupState struct {
	n       int // trials processed
	of      map[string]int
	members [][]string
	dists   map[string]retune.Distribution
}

func newGroupState() *groupState {
	return &groupState{of: make(map[string]int), dists: make(map[string]retune.Distribution)}
}

// add refines the partition with the param names of one trial.
func (g *groupState) add(ft *retune.FrozenTrial) {
	if len(ft.Params) == 0 {
		return
	}
	count := make(map[int]int)
	var fresh []string
	for name := range ft.Params {
		if d, ok := ft.Distributions[name]; ok {
			g.dists[name] = d
		} else if _, ok := g.dists[name]; !ok {
			continue // no distribution ever seen: nothing to model
		}
		if id, ok := g.of[name]; ok {
			count[id]++
		} else {
			fresh = append(fresh, name)
		}
	}
	for id, c := range count {
		if c == len(g.members[id]) {
			continue
		}
		var in, out []string
		for _, name := range g.members[id] {
			if _, ok := ft.Params[name]; ok {
				in = append(in, name)
			} else {
				out = append(out, name)
			}
		}
		g.members[id] = out
		for _, name := range in {
			g.of[name] = len(g.members)
		}
		g.members = append(g.members, in)
	}
	if len(fresh) > 0 {
		for _, name := range fresh {
			g.of[name] = len(g.members)
		}
		g.members = append(g.members, fresh)
	}
}

// extend processes the trials of v beyond those seen.
func (g *groupState) extend(v *view) {
	for i := g.n; i < len(v.trials); i++ {
		if v.class[i] >= 0 && v.class[i] != classRunning {
			g.add(&v.trials[i])
		}
	}
	g.n = len(v.trials)
}

// space returns the union of all groups with the latest distributions.
func (g *groupState) space() map[string]retune.Distribution {
	out := make(map[string]retune.Distribution, len(g.of))
	for name := range g.of {
		out[name] = g.dists[name]
	}
	return out
}

// groups returns the groups restricted to the names of space, each sorted, ordered by
// their first name; names of space in no group come alone.
func (g *groupState) groups(space map[string]retune.Distribution) [][]string {
	var out [][]string
	for _, m := range g.members {
		var in []string
		for _, name := range m {
			if _, ok := space[name]; ok {
				in = append(in, name)
			}
		}
		if len(in) > 0 {
			slices.Sort(in)
			out = append(out, in)
		}
	}
	for name := range space {
		if _, ok := g.of[name]; !ok {
			out = append(out, []string{name})
		}
	}
	slices.SortFunc(out, func(a, b []string) int { return cmp.Compare(a[0], b[0]) })
	return out
}

// groupsAt returns the group state of the first n trials of h. The cached state advances
// with requests; an older request gets a state of its own.
func (h *history) groupsAt(v *view) *groupState {
	if h.groups != nil && h.groups.n > len(v.trials) {
		g := newGroupState()
		g.extend(v)
		return g
	}
	if h.groups == nil {
		h.groups = newGroupState()
	}
	h.groups.extend(v)
	return h.groups
}
