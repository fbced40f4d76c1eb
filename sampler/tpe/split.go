package tpe

import (
	"cmp"
	"math"
	"slices"
)

// Trials are split into the k best ("below", modelled by l) and the rest ("above", modelled
// by g). Pool entries are indexes into the view's trials; index n+j is running trial j (the
// constant liar's), always ranked last.

// splitter ranks the pool entries of one request.
type splitter struct {
	v *view
	n int
}

// best returns the k best entries in index order, appended to buf[:0]: finished trials
// for which member is true (nil: all usable ones), then running entries run. order and
// orderLen are the history's ranking snapshot. pool is needed for several objectives
// only, where it lists the finished members in index order.
func (s splitter) best(k int, order []int32, orderLen int, member func(int32) bool, pool, run []int32, buf []int32) []int32 {
	if s.v.m > 1 {
		return s.below(append(pool, run...), k, buf)
	}
	out := buf[:0]
	if k <= 0 {
		return out
	}
	// The trials after the snapshot, ranked.
	var tail []int32
	for i := orderLen; i < s.n; i++ {
		if s.v.class[i] >= 0 && (member == nil || member(int32(i))) {
			tail = append(tail, int32(i))
		}
	}
	slices.SortFunc(tail, s.cmpRank)
	t := 0
	for _, i := range order {
		if len(out) == k {
			break
		}
		if int(i) >= s.n || (member != nil && !member(i)) {
			continue
		}
		for ; t < len(tail) && len(out) < k && s.cmpRank(tail[t], i) < 0; t++ {
			out = append(out, tail[t])
		}
		if len(out) < k {
			out = append(out, i)
		}
	}
	for ; t < len(tail) && len(out) < k; t++ {
		out = append(out, tail[t])
	}
	out = append(out, run[:min(len(run), k-len(out))]...)
	slices.Sort(out)
	return out
}

// class returns the class of pool entry i.
func (s splitter) class(i int32) int8 {
	if int(i) >= s.n {
		return classRunning
	}
	return s.v.class[i]
}

// cmpRank orders two pool entries of a single-objective study: feasible COMPLETE by value,
// then infeasible COMPLETE by constraint violation (less is better) and then by value, then
// PRUNED by step reached (more is better) and then by last value, then PRUNED without
// values, then running; ties by index, so earlier trials win.
func (s splitter) cmpRank(a, b int32) int {
	ca, cb := s.class(a), s.class(b)
	switch {
	case ca < cb:
		return -1
	case ca > cb:
		return 1
	}
	if ca == classInfeasible {
		if c := cmp.Compare(s.v.viol[a], s.v.viol[b]); c != 0 {
			return c
		}
	}
	if ca == classPruned {
		switch sa, sb := s.v.step[a], s.v.step[b]; {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
	}
	if ca <= classPruned {
		switch va, vb := s.v.vals[a], s.v.vals[b]; {
		case va < vb:
			return -1
		case va > vb:
			return 1
		}
	}
	return cmp.Compare(a, b)
}

// cmpRest orders pool entries after the feasible COMPLETE ones of a multi-objective study:
// by class, infeasible by violation, PRUNED by step reached, then by index.
func (s splitter) cmpRest(a, b int32) int {
	ca, cb := s.class(a), s.class(b)
	if ca != cb {
		return cmp.Compare(ca, cb)
	}
	if ca == classInfeasible && s.v.viol[a] != s.v.viol[b] {
		return cmp.Compare(s.v.viol[a], s.v.viol[b])
	}
	if ca == classPruned && s.v.step[a] != s.v.step[b] {
		return cmp.Compare(s.v.step[b], s.v.step[a])
	}
	return cmp.Compare(a, b)
}

// below returns the k best pool entries, in index order, appended to buf[:0].
func (s splitter) below(pool []int32, k int, buf []int32) []int32 {
	switch {
	case k >= len(pool):
		return append(buf[:0], pool...)
	case k <= 0:
		return buf[:0]
	case s.v.m > 1:
		return s.belowMulti(pool, k, buf)
	}
	top := buf[:0]
	if k <= 64 {
		for _, i := range pool {
			if len(top) == k {
				if s.cmpRank(i, top[k-1]) >= 0 {
					continue
				}
				top = top[:k-1]
			}
			j := len(top)
			top = append(top, i)
			for ; j > 0 && s.cmpRank(i, top[j-1]) < 0; j-- {
				top[j] = top[j-1]
			}
			top[j] = i
		}
	} else {
		top = append(top, pool...)
		slices.SortFunc(top, s.cmpRank)
		top = top[:k]
	}
	slices.Sort(top)
	return top
}

// belowMulti splits a multi-objective pool: feasible COMPLETE trials by non-domination rank, whole
// fronts first; the front that does not fit is cut by hypervolume contribution (two
// objectives) or crowding distance (more), then PRUNED and running trials as cmpRest orders
// them.
func (s splitter) belowMulti(pool []int32, k int, buf []int32) []int32 {
	var rest, remaining []int32
	for _, i := range pool {
		if s.class(i) == classComplete {
			remaining = append(remaining, i)
		} else {
			rest = append(rest, i)
		}
	}
	out := buf[:0]
	for len(out) < k && len(remaining) > 0 {
		var front []int32
		front, remaining = s.front(remaining)
		if len(out)+len(front) <= k {
			out = append(out, front...)
			continue
		}
		out = append(out, s.thin(front, k-len(out))...)
	}
	if len(out) < k {
		slices.SortFunc(rest, s.cmpRest)
		out = append(out, rest[:min(len(rest), k-len(out))]...)
	}
	slices.Sort(out)
	return out
}

// values returns the minimized values of finished trial i.
func (s splitter) values(i int32) []float64 {
	m := s.v.m
	return s.v.vals[int(i)*m : int(i)*m+m]
}

// dominates reports whether a is no worse than b in every objective and better in one.
func dominates(a, b []float64) bool {
	better := false
	for j := range a {
		if a[j] > b[j] {
			return false
		}
		if a[j] < b[j] {
			better = true
		}
	}
	return better
}

// front splits pts (in index order) into its non-dominated front and the rest, both in
// index order.
func (s splitter) front(pts []int32) (front, rest []int32) {
	for _, i := range pts {
		vi := s.values(i)
		dominated := false
		for _, j := range front {
			if dominates(s.values(j), vi) {
				dominated = true
				break
			}
		}
		if dominated {
			rest = append(rest, i)
			continue
		}
		kept := front[:0]
		for _, j := range front {
			if dominates(vi, s.values(j)) {
				rest = append(rest, j)
			} else {
				kept = append(kept, j)
			}
		}
		front = append(kept, i)
	}
	slices.Sort(front)
	slices.Sort(rest)
	return front, rest
}

// thin picks r points of a front.
func (s splitter) thin(front []int32, r int) []int32 {
	m := s.v.m
	pts := make([][]float64, len(front))
	for a, i := range front {
		pts[a] = slices.Clone(s.values(i))
	}
	finitize(pts, m)
	keep := make([]int, len(front))
	for a := range keep {
		keep[a] = a
	}
	if m == 2 {
		keep = thinHypervolume(pts, keep, r)
	} else {
		keep = thinHSSP(pts, keep, r)
	}
	out := make([]int32, len(keep))
	for a, k := range keep {
		out[a] = front[k]
	}
	return out
}

// lFactors returns, with two objectives, a factor for the weight of each entry of below
// (one per entry): (1 + c)/2, where c is a feasible COMPLETE trial's exclusive hypervolume
// contribution among l's (contributions), and 1/2 for the PRUNED, infeasible and running
// trials that fill l when too few are. So a trial that adds much to l's front counts up to
// twice as much as one that adds nothing. With one or three and more objectives it returns
// nil (see the package doc for why).
func (s splitter) lFactors(below []int32) []float64 {
	if s.v.m != 2 {
		return nil
	}
	f := make([]float64, len(below))
	var pts [][]float64
	var at []int
	for a, i := range below {
		f[a] = 0.5
		if s.class(i) == classComplete {
			pts = append(pts, slices.Clone(s.values(i)))
			at = append(at, a)
		}
	}
	if len(pts) == 0 {
		return f
	}
	finitize(pts, s.v.m)
	for b, c := range contributions(pts) {
		f[at[b]] = (1 + c) / 2
	}
	return f
}

// finitize replaces infinite values by finite ones beyond the finite values of the same
// objective, keeping the order.
func finitize(pts [][]float64, m int) {
	for j := range m {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, p := range pts {
			if !math.IsInf(p[j], 0) {
				lo, hi = math.Min(lo, p[j]), math.Max(hi, p[j])
			}
		}
		if lo > hi {
			lo, hi = 0, 0
		}
		span := hi - lo + 1
		for _, p := range pts {
			switch {
			case math.IsInf(p[j], -1):
				p[j] = lo - span
			case math.IsInf(p[j], 1):
				p[j] = hi + span
			}
		}
	}
}

// thinHypervolume drops, one at a time, the point of a two-objective front that adds the
// least hypervolume (reference point hvRef, just beyond the worst values) until r are left; ties
// drop the later trial. It returns the kept positions in their original order.
func thinHypervolume(pts [][]float64, keep []int, r int) []int {
	slices.SortStableFunc(keep, func(a, b int) int {
		if c := cmp.Compare(pts[a][0], pts[b][0]); c != 0 {
			return c
		}
		return cmp.Compare(pts[a][1], pts[b][1])
	})
	ref := hvRef(pts)
	for len(keep) > r {
		worst, least := -1, math.Inf(1)
		for a, i := range keep {
			right, up := ref[0], ref[1]
			if a+1 < len(keep) {
				right = pts[keep[a+1]][0]
			}
			if a > 0 {
				up = pts[keep[a-1]][1]
			}
			c := (right - pts[i][0]) * (up - pts[i][1])
			if worst < 0 || c < least || (c == least && i > keep[worst]) {
				worst, least = a, c
			}
		}
		keep = slices.Delete(keep, worst, worst+1)
	}
	slices.Sort(keep)
	return keep
}
