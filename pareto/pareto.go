// Package pareto ranks objective vectors: Pareto dominance, non-dominated sorting into
// fronts and crowding distance, with the ordering NSGA-II uses for selection, and the
// hypervolume of a set of points.
//
// A point is a vector with one value per objective, compared under the objectives'
// directions. NaN is worse than every number, ±Inf included, in its objective, and two NaNs
// are equal, so every input has a well-defined ranking. Functions never modify their
// arguments and are safe for concurrent use.
package pareto

import (
	"cmp"
	"math"
	"slices"

	"github.com/a6b40afc/retune"
)

// Compare compares a and b in direction d: -1 if a is better, +1 if a is worse, 0 if they
// are equally good. NaN is worse than any number; two NaNs are equal.
func Compare(d retune.Direction, a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case d == retune.Maximize:
		return cmp.Compare(b, a)
	default:
		return cmp.Compare(a, b)
	}
}

// Dominates reports whether a Pareto-dominates b under dirs: a is no worse than b in every
// objective and better in at least one. a and b must have len(dirs) values.
func Dominates(dirs []retune.Direction, a, b []float64) bool {
	better := false
	for i, d := range dirs {
		switch Compare(d, a[i], b[i]) {
		case 1:
			return false
		case -1:
			better = true
		}
	}
	return better
}

// Levels returns the non-dominated front of each point: 0 for points no other point
// dominates, 1 for points only front 0 dominates, and so on. Equal points share a front.
// Every point must have len(dirs) values. Two objectives take O(n log n) time, more take
// O(m n²).
func Levels(dirs []retune.Direction, points [][]float64) []int {
	for _, p := range points {
		if len(p) != len(dirs) {
			panic("pareto: point has a different number of values than directions")
		}
	}
	switch {
	case len(points) == 0:
		return nil
	case len(dirs) == 1:
		return levels1(dirs[0], points)
	case len(dirs) == 2:
		return levels2(dirs, points)
	default:
		return levelsN(dirs, points)
	}
}

// Fronts returns the indexes of the points in each non-dominated front, best front first,
// each front in increasing index order.
func Fronts(dirs []retune.Direction, points [][]float64) [][]int {
	return groupLevels(Levels(dirs, points))
}

// levels1 ranks a single objective: equal values share a level, each distinct value one
// level further.
func levels1(d retune.Direction, points [][]float64) []int {
	idx := sortedIndexes(len(points), func(i, j int) int { return Compare(d, points[i][0], points[j][0]) })
	lv := make([]int, len(points))
	for k := 1; k < len(idx); k++ {
		lv[idx[k]] = lv[idx[k-1]]
		if Compare(d, points[idx[k]][0], points[idx[k-1]][0]) != 0 {
			lv[idx[k]]++
		}
	}
	return lv
}

// levels2 sorts points lexicographically (best first) and puts each into the first front
// none of whose members dominates it. A front's last member has the best second value in
// it, so one comparison per front decides, and whether a front dominates a point is
// monotone in the front index, so a binary search finds it.
func levels2(dirs []retune.Direction, points [][]float64) []int {
	c0 := func(i, j int) int { return Compare(dirs[0], points[i][0], points[j][0]) }
	c1 := func(i, j int) int { return Compare(dirs[1], points[i][1], points[j][1]) }
	idx := sortedIndexes(len(points), func(i, j int) int {
		if c := c0(i, j); c != 0 {
			return c
		}
		return c1(i, j)
	})
	// dom reports whether q, sorted before p, dominates p: q is no worse in the first
	// value, so it dominates unless p is better in the second, or equal to q.
	dom := func(q, p int) bool {
		c := c1(q, p)
		return c < 0 || (c == 0 && c0(q, p) < 0)
	}
	lv := make([]int, len(points))
	var last []int // last member of each front
	for _, p := range idx {
		lo, hi := 0, len(last)
		for lo < hi {
			mid := (lo + hi) / 2
			if dom(last[mid], p) {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		f := lo
		if f == len(last) {
			last = append(last, p)
		} else {
			last[f] = p
		}
		lv[p] = f
	}
	return lv
}

// levelsN is the fast non-dominated sort of Deb et al. (2002): count how many points
// dominate each point, then peel off fronts.
func levelsN(dirs []retune.Direction, points [][]float64) []int {
	n := len(points)
	count := make([]int, n)
	dominated := make([][]int, n)
	for i := range n {
		for j := i + 1; j < n; j++ {
			switch {
			case Dominates(dirs, points[i], points[j]):
				dominated[i] = append(dominated[i], j)
				count[j]++
			case Dominates(dirs, points[j], points[i]):
				dominated[j] = append(dominated[j], i)
				count[i]++
			}
		}
	}
	lv := make([]int, n)
	var cur []int
	for i, c := range count {
		if c == 0 {
			cur = append(cur, i)
		}
	}
	for l := 0; len(cur) > 0; l++ {
		var next []int
		for _, i := range cur {
			lv[i] = l
			for _, j := range dominated[i] {
				if count[j]--; count[j] == 0 {
					next = append(next, j)
				}
			}
		}
		cur = next
	}
	return lv
}

// Crowding returns the crowding distance of each point of front (indexes into points),
// aligned with front. For each objective in which the front's values are not all equal,
// the points with the front's best or worst value get +Inf, and every other point adds the
// gap between the nearest distinct values below and above its own, divided by the range
// of the front's finite values in that objective (a gap that involves ±Inf or NaN adds
// +Inf). Equal values are treated alike, so the result does not depend on the order of
// front, and equal points get equal distances. A front whose points are all equal gets
// +Inf throughout. Larger is less crowded.
func Crowding(dirs []retune.Direction, points [][]float64, front []int) []float64 {
	dist := make([]float64, len(front))
	varied := false
	for m, d := range dirs {
		order := sortedIndexes(len(front), func(i, j int) int { return Compare(d, points[front[i]][m], points[front[j]][m]) })
		val := func(k int) float64 { return points[front[order[k]]][m] }
		// Groups of equal values, as ranges [starts[g], starts[g+1]) of order.
		var starts []int
		for k := range order {
			if k == 0 || Compare(d, val(k), val(k-1)) != 0 {
				starts = append(starts, k)
			}
		}
		if len(starts) < 2 {
			continue // flat objective
		}
		varied = true
		starts = append(starts, len(order))
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, i := range front {
			if v := points[i][m]; finite(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		span := hi - lo
		last := len(starts) - 2
		for g := range last + 1 {
			add := math.Inf(1)
			if g > 0 && g < last {
				a, b := val(starts[g-1]), val(starts[g+1])
				if finite(a) && finite(b) {
					add = math.Abs(b-a) / span
				}
			}
			for k := starts[g]; k < starts[g+1]; k++ {
				dist[order[k]] += add
			}
		}
	}
	if !varied {
		for k := range dist {
			dist[k] = math.Inf(1)
		}
	}
	return dist
}

// Order returns every point's index, best first: by front, then by decreasing crowding
// distance within a front, then by index. The first k entries are the k points NSGA-II
// selects.
func Order(dirs []retune.Direction, points [][]float64) []int {
	lv, crowd := LevelsCrowding(dirs, points)
	return sortedIndexes(len(points), func(i, j int) int {
		if c := cmp.Compare(lv[i], lv[j]); c != 0 {
			return c
		}
		return cmp.Compare(crowd[j], crowd[i])
	})
}

// LevelsCrowding returns each point's front (as Levels) and its crowding distance within
// that front (as Crowding).
func LevelsCrowding(dirs []retune.Direction, points [][]float64) (levels []int, crowding []float64) {
	levels = Levels(dirs, points)
	crowding = make([]float64, len(points))
	for _, f := range groupLevels(levels) {
		for k, c := range Crowding(dirs, points, f) {
			crowding[f[k]] = c
		}
	}
	return levels, crowding
}

func groupLevels(levels []int) [][]int {
	var fronts [][]int
	for i, l := range levels {
		for len(fronts) <= l {
			fronts = append(fronts, nil)
		}
		fronts[l] = append(fronts[l], i)
	}
	return fronts
}

func finite(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) }

// sortedIndexes returns 0..n-1 stably sorted by c.
func sortedIndexes(n int, c func(i, j int) int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, c)
	return idx
}
