package nsga2

import (
	"math"
	"math/rand/v2"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pareto"
)

// referencePoints returns the Das and Dennis (1998) points of the unit simplex in m
// dimensions with h divisions: every vector of multiples of 1/h that sum to 1,
// C(h+m-1, m-1) of them.
func referencePoints(m, h int) [][]float64 {
	var out [][]float64
	cur := make([]int, m)
	var rec func(k, left int)
	rec = func(k, left int) {
		if k == m-1 {
			cur[k] = left
			p := make([]float64, m)
			for i, c := range cur {
				p[i] = float64(c) / float64(h)
			}
			out = append(out, p)
			return
		}
		for c := left; c >= 0; c-- {
			cur[k] = c
			rec(k+1, left-c)
		}
	}
	rec(0, h)
	return out
}

// defaultDivisions returns the largest h >= 1 whose C(h+m-1, m-1) reference points number
// at most size.
func defaultDivisions(m, size int) int {
	h := 1
	for binomial(h+1+m-1, m-1) <= float64(size) {
		h++
	}
	return h
}

func binomial(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// nicheSelect is NSGA-III's environmental selection (Deb and Jain 2014): whole fronts are
// kept while they fit; members of the front that does not fit are added one at a time to
// the reference point with the fewest members kept so far (ties broken by r), the member
// nearest its reference line when the point has none yet, a random one otherwise. The
// objectives are normalized by the ideal point and the intercepts of the hyperplane
// through the extreme points (or, when that hyperplane is degenerate, the worst values).
// It returns the indexes of the size points kept.
func nicheSelect(dirs []retune.Direction, points [][]float64, size int, refs [][]float64, r *rand.Rand) []int {
	var keep, last []int
	for _, f := range pareto.Fronts(dirs, points) {
		if len(keep)+len(f) <= size {
			keep = append(keep, f...)
			if len(keep) == size {
				return keep
			}
			continue
		}
		last = f
		break
	}
	if last == nil {
		return keep
	}
	members := append(append([]int(nil), keep...), last...)
	norm := normalize(dirs, points, members)
	ref := make([]int, len(members))
	dist := make([]float64, len(members))
	for k, f := range norm {
		ref[k], dist[k] = nearestLine(f, refs)
	}
	count := make([]int, len(refs))
	for k := range keep {
		count[ref[k]]++
	}
	cands := make([][]int, len(refs)) // positions in members of the last front, per reference point
	for k := len(keep); k < len(members); k++ {
		cands[ref[k]] = append(cands[ref[k]], k)
	}
	var open []int
	for j := range refs {
		if len(cands[j]) > 0 {
			open = append(open, j)
		}
	}
	for len(keep) < size {
		lo := math.MaxInt
		for _, j := range open {
			lo = min(lo, count[j])
		}
		var least []int
		for _, j := range open {
			if count[j] == lo {
				least = append(least, j)
			}
		}
		oi := r.IntN(len(least))
		j := least[oi]
		c := cands[j]
		pick := 0
		if count[j] == 0 {
			for q := range c {
				if dist[c[q]] < dist[c[pick]] {
					pick = q
				}
			}
		} else {
			pick = r.IntN(len(c))
		}
		keep = append(keep, members[c[pick]])
		cands[j] = append(c[:pick], c[pick+1:]...)
		count[j]++
		if len(cands[j]) == 0 {
			for q, o := range open {
				if o == j {
					open = append(open[:q], open[q+1:]...)
					break
				}
			}
		}
	}
	return keep
}

// normalize returns the members' objective vectors in minimization form, translated by
// the ideal point and divided by the intercepts. Infinite values count as the most extreme
// finite value of their objective among the members.
func normalize(dirs []retune.Direction, points [][]float64, members []int) [][]float64 {
	m := len(dirs)
	f := make([][]float64, len(members))
	for k, i := range members {
		f[k] = make([]float64, m)
		for j, d := range dirs {
			v := points[i][j]
			if d == retune.Maximize {
				v = -v
			}
			f[k][j] = v
		}
	}
	for j := range m {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range f {
			if !math.IsInf(v[j], 0) && !math.IsNaN(v[j]) {
				lo, hi = min(lo, v[j]), max(hi, v[j])
			}
		}
		if math.IsInf(lo, 1) {
			lo, hi = 0, 0
		}
		for _, v := range f {
			switch {
			case math.IsInf(v[j], -1):
				v[j] = lo
			case math.IsInf(v[j], 1), math.IsNaN(v[j]):
				v[j] = hi
			}
		}
		for _, v := range f {
			v[j] -= lo
		}
	}
	// Extreme point of each axis: the member minimizing the achievement scalarizing
	// function max_i f_i/w_i with weight 1 on the axis and 1e-6 on the others.
	extreme := make([][]float64, m)
	for j := range m {
		best := math.Inf(1)
		for _, v := range f {
			asf := 0.0
			for i, x := range v {
				w := 1e-6
				if i == j {
					w = 1
				}
				asf = max(asf, x/w)
			}
			if asf < best {
				best, extreme[j] = asf, v
			}
		}
	}
	icpt, ok := intercepts(extreme)
	if !ok {
		icpt = make([]float64, m)
		for _, v := range f {
			for j, x := range v {
				icpt[j] = max(icpt[j], x)
			}
		}
	}
	for j := range icpt {
		if !(icpt[j] > 1e-10) {
			icpt[j] = 1
		}
	}
	for _, v := range f {
		for j := range v {
			v[j] /= icpt[j]
		}
	}
	return f
}

// intercepts returns the axis intercepts of the hyperplane through the m points, which
// must be positive and finite.
func intercepts(pts [][]float64) ([]float64, bool) {
	m := len(pts)
	// Solve pts · a = 1 by Gaussian elimination with partial pivoting; intercept j is 1/a_j.
	a := make([][]float64, m)
	for i := range pts {
		a[i] = append(append([]float64(nil), pts[i]...), 1)
	}
	for c := range m {
		p := c
		for i := c + 1; i < m; i++ {
			if math.Abs(a[i][c]) > math.Abs(a[p][c]) {
				p = i
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return nil, false
		}
		a[c], a[p] = a[p], a[c]
		for i := range m {
			if i == c {
				continue
			}
			f := a[i][c] / a[c][c]
			for k := c; k <= m; k++ {
				a[i][k] -= f * a[c][k]
			}
		}
	}
	out := make([]float64, m)
	for j := range m {
		x := a[j][m] / a[j][j]
		out[j] = 1 / x
		if !(out[j] > 1e-10) || math.IsInf(out[j], 0) {
			return nil, false
		}
	}
	return out, true
}

// nearestLine returns the reference point whose line through the origin is nearest to f,
// and the perpendicular distance.
func nearestLine(f []float64, refs [][]float64) (int, float64) {
	ff := 0.0
	for _, x := range f {
		ff += x * x
	}
	best, bestD := 0, math.Inf(1)
	for j, w := range refs {
		fw, ww := 0.0, 0.0
		for i, x := range w {
			fw += f[i] * x
			ww += x * x
		}
		d := ff - fw*fw/ww
		if d < bestD {
			best, bestD = j, d
		}
	}
	return best, math.Sqrt(max(bestD, 0))
}
