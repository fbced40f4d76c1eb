package tpe

import (
	"math"
	"slices"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pareto"
)

// hvRef returns the reference point for hypervolume gains among pts (minimized,
// finite): just beyond the worst value of each objective, by a tenth of the objective's range
// (or a relative 1e-12 if the range is 0), so that every point contributes.
func hvRef(pts [][]float64) []float64 {
	m := len(pts[0])
	ref := make([]float64, m)
	for j := range m {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, p := range pts {
			lo, hi = math.Min(lo, p[j]), math.Max(hi, p[j])
		}
		ref[j] = hi + math.Max(0.1*(hi-lo), 1e-12*math.Max(1, math.Abs(hi)))
	}
	return ref
}

// minimize is the directions of a minimized hypervolume of m objectives.
func minimize(m int) []retune.Direction {
	d := make([]retune.Direction, m)
	for i := range d {
		d[i] = retune.Minimize
	}
	return d
}

// boxVolume is the volume between p and ref.
func boxVolume(p, ref []float64) float64 {
	v := 1.0
	for j := range p {
		v *= ref[j] - p[j]
	}
	return v
}

// gain is the hypervolume that p adds to the points sel, all below ref: its box minus the
// hypervolume of sel limited to p's box (each point of sel moved to be no better than p).
// Limited points often dominate one another; only the non-dominated ones are measured.
func gain(dirs []retune.Direction, p []float64, sel [][]float64, ref []float64) float64 {
	m := len(p)
	flat := make([]float64, len(sel)*m)
	lim := make([][]float64, 0, len(sel))
	for a, q := range sel {
		l := flat[a*m : a*m+m : a*m+m]
		for j := range p {
			l[j] = math.Max(p[j], q[j])
		}
		if slices.ContainsFunc(lim, func(o []float64) bool { return weaklyBelow(o, l) }) {
			continue
		}
		lim = slices.DeleteFunc(lim, func(o []float64) bool { return weaklyBelow(l, o) })
		lim = append(lim, l)
	}
	return boxVolume(p, ref) - pareto.Hypervolume(dirs, lim, ref)
}

// weaklyBelow reports whether a is no larger than b in every coordinate.
func weaklyBelow(a, b []float64) bool {
	for j := range a {
		if a[j] > b[j] {
			return false
		}
	}
	return true
}

// thinHSSP keeps r of the points of one front (minimized, finite) by greedy hypervolume
// subset selection (Guerreiro, Fonseca and Paquete 2016): starting from none, it adds the
// point that adds the most hypervolume to those kept, at the reference point hvRef, until r
// are kept; ties go to the earlier position. The gains only shrink as points are added
// (hypervolume is submodular), so a point's last gain bounds its next one and most are not
// recomputed (lazy greedy). It returns the kept positions of keep, in their original order.
func thinHSSP(pts [][]float64, keep []int, r int) []int {
	if r >= len(keep) {
		return keep
	}
	ref := hvRef(pts)
	dirs := minimize(len(ref))
	bound := make([]float64, len(keep))
	fresh := make([]int, len(keep)) // the number kept when bound was computed
	for a, i := range keep {
		bound[a] = boxVolume(pts[i], ref)
	}
	taken := make([]bool, len(keep))
	var sel [][]float64
	for len(sel) < r {
		for {
			best := -1
			for a := range keep {
				if !taken[a] && (best < 0 || bound[a] > bound[best]) {
					best = a
				}
			}
			if fresh[best] == len(sel) {
				taken[best] = true
				sel = append(sel, pts[keep[best]])
				break
			}
			bound[best] = gain(dirs, pts[keep[best]], sel, ref)
			fresh[best] = len(sel)
		}
	}
	out := keep[:0:0]
	for a, i := range keep {
		if taken[a] {
			out = append(out, i)
		}
	}
	return out
}

// contributions returns each point's exclusive hypervolume contribution among pts
// (minimized, finite) at hvRef, divided by the largest, each at least 1e-12 (1 for a single
// point): the weights Optuna's multi-objective TPE gives the trials of l.
func contributions(pts [][]float64) []float64 {
	w := make([]float64, len(pts))
	if len(pts) == 1 {
		w[0] = 1
		return w
	}
	ref := hvRef(pts)
	dirs := minimize(len(ref))
	others := make([][]float64, 0, len(pts)-1)
	hi := 0.0
	for i, p := range pts {
		others = append(others[:0], pts[:i]...)
		others = append(others, pts[i+1:]...)
		w[i] = gain(dirs, p, others, ref) + 1e-12
		hi = math.Max(hi, w[i])
	}
	for i := range w {
		w[i] = math.Min(1, math.Max(0, w[i]/hi))
	}
	return w
}
