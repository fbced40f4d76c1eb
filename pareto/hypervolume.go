package pareto

import (
	"cmp"
	"math"
	"slices"

	"github.com/a6b40afc/retune"
)

// Hypervolume returns the volume of the objective space that points dominate and that is
// bounded by ref: the measure of the union of the boxes between each point and ref. The
// reference point lies on the worse side of the region measured, in every objective: above
// the points in a minimized objective, below them in a maximized one.
//
// Only points strictly better than ref in every objective contribute; others (and NaN
// values) add nothing, and so do dominated and duplicate points beyond their dominators.
// No contributing point gives 0; an infinite value in a contributing point, or an infinite
// ref with a contributing point, gives +Inf. ref and every point must have len(dirs)
// values.
//
// One objective takes O(n) time and two O(n log n). More use the WFG algorithm (While,
// Bradstreet and Barone 2012, "A fast way of calculating exact hypervolumes"), which is
// exponential in the number of objectives in the worst case but quick for a few hundred
// points in three or four.
func Hypervolume(dirs []retune.Direction, points [][]float64, ref []float64) float64 {
	m := len(dirs)
	if len(ref) != m {
		panic("pareto: reference point has a different number of values than directions")
	}
	// Work in minimization form: negate maximized objectives.
	r := make([]float64, m)
	for k, d := range dirs {
		r[k] = ref[k]
		if d == retune.Maximize {
			r[k] = -ref[k]
		}
	}
	var pts [][]float64
	for _, p := range points {
		if len(p) != m {
			panic("pareto: point has a different number of values than directions")
		}
		q := make([]float64, m)
		inside := true
		for k, d := range dirs {
			q[k] = p[k]
			if d == retune.Maximize {
				q[k] = -p[k]
			}
			if !(q[k] < r[k]) {
				inside = false
				break
			}
		}
		if inside {
			pts = append(pts, q)
		}
	}
	if len(pts) == 0 || m == 0 {
		return 0
	}
	for k := range r {
		if math.IsInf(r[k], 1) {
			return math.Inf(1)
		}
	}
	for _, q := range pts {
		for _, v := range q {
			if math.IsInf(v, -1) {
				return math.Inf(1)
			}
		}
	}
	return hv(pts, r)
}

// hv is the hypervolume of finite pts, each strictly below r in every coordinate, in
// minimization form. It may reorder pts.
func hv(pts [][]float64, r []float64) float64 {
	switch m := len(r); {
	case len(pts) == 0:
		return 0
	case m == 1:
		best := pts[0][0]
		for _, p := range pts[1:] {
			best = min(best, p[0])
		}
		return r[0] - best
	case m == 2:
		return hv2(pts, r)
	default:
		return wfg(pts, r)
	}
}

// hv2 sweeps the points in increasing first coordinate (ties by the second): each point
// that lowers the best second coordinate seen so far adds the strip between the two.
func hv2(pts [][]float64, r []float64) float64 {
	slices.SortFunc(pts, func(a, b []float64) int {
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return cmp.Compare(a[1], b[1])
	})
	vol, best := 0.0, r[1]
	for _, p := range pts {
		if p[1] < best {
			vol += (r[0] - p[0]) * (best - p[1])
			best = p[1]
		}
	}
	return vol
}

// wfg sorts the points worst first in the last coordinate and sums their exclusive
// contributions relative to the points after them. Those are no worse in the last
// coordinate, so inside a point's box they cut only in the other coordinates: the
// exclusive contribution is the box's depth in the last coordinate times the exclusive
// contribution of the point's projection, which is its box minus the hypervolume of the
// limit set (each later point moved to be no better than it), one dimension down.
func wfg(pts [][]float64, r []float64) float64 {
	m := len(r)
	last := m - 1
	slices.SortFunc(pts, func(a, b []float64) int { return cmp.Compare(b[last], a[last]) })
	rr := r[:last]
	vol := 0.0
	limit := make([][]float64, 0, len(pts))
	buf := make([]float64, len(pts)*last)
	for k, p := range pts {
		depth := r[last] - p[last]
		box := 1.0
		for i := range last {
			box *= r[i] - p[i]
		}
		limit = limit[:0]
		for j, q := range pts[k+1:] {
			l := buf[j*last : (j+1)*last : (j+1)*last]
			for i := range last {
				l[i] = max(p[i], q[i])
			}
			limit = append(limit, l)
		}
		if last > 2 {
			limit = nonDominated(limit)
		}
		// The limit set lives in buf, which the next point reuses: hv works on copies.
		sub := make([][]float64, len(limit))
		copy(sub, limit)
		vol += depth * (box - hv(sub, rr))
	}
	return vol
}

// nonDominated keeps the points (minimization form) that no other point weakly dominates,
// one of each set of equal points. It reorders pts and returns a prefix of it.
func nonDominated(pts [][]float64) [][]float64 {
	// Sorted lexicographically, a point can only be weakly dominated by one before it.
	slices.SortFunc(pts, func(a, b []float64) int { return slices.Compare(a, b) })
	out := pts[:0]
	for _, p := range pts {
		dominated := false
		for _, q := range out {
			if weaklyDominates(q, p) {
				dominated = true
				break
			}
		}
		if !dominated {
			out = append(out, p)
		}
	}
	return out
}

// weaklyDominates reports whether a is no worse than b in every coordinate (minimization).
func weaklyDominates(a, b []float64) bool {
	for i := range a {
		if a[i] > b[i] {
			return false
		}
	}
	return true
}

// NonDominated returns the indexes of the points no other point dominates (front 0 of
// Fronts), in increasing order.
func NonDominated(dirs []retune.Direction, points [][]float64) []int {
	var out []int
	for i, l := range Levels(dirs, points) {
		if l == 0 {
			out = append(out, i)
		}
	}
	return out
}
