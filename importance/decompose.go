package importance

import (
	"math/bits"
	"slices"
)

// A tree is a piecewise-constant function on the unit box: its leaves' cells are
// axis-aligned boxes (for a categorical feature, a set of choices) that partition the space.
// Under the uniform measure (each numeric feature on [0, 1], each of C choices with mass
// 1/C), the main effect of feature f at a point x_f is the mean of the prediction over all
// other features: the sum, over the leaves whose cell contains x_f, of the leaf's value
// times its cell's volume divided by the cell's extent in f. It is constant between
// neighbouring split points of f (the atoms of f), so one pass over the leaves with a
// difference array gives it exactly; its variance over f, divided by the variance of the
// prediction, is f's share in this tree. Pairs work the same way on the grid of two
// features' atoms, minus both main effects.

// treeShares is one tree's decomposition.
type treeShares struct {
	variance float64   // variance of the prediction over the space
	main     []float64 // per feature: variance of its main effect
	pairs    []float64 // per pair i < j in order: variance of the pair's interaction
}

// leafCell is a leaf's value (less the root's) and cell.
type leafCell struct {
	value, volume float64
}

// decomposer holds one tree's atoms and leaf cells; its buffers are reused from tree to tree.
type decomposer struct {
	nodes  []node
	cats   []int
	catIdx []int       // per feature: its index among the categorical features, or -1
	nc     int         // number of categorical features
	bounds [][]float64 // numeric feature f: 0, its distinct split points, 1
	bidx   []int32     // per node: index of its threshold in bounds of its feature
	leaves []leafCell
	lo, hi []int32    // per leaf and feature: the cell's atoms [lo, hi) (numeric features)
	sets   [][]uint64 // per leaf and categorical feature: the cell's choices
	diff   []float64  // scratch for main effects
	grid   []float64  // scratch for pairs
}

// decompose returns the shares of one tree's nodes over features with cats choices (0 for
// numeric features); with pairs, also the interaction of every pair.
func (d *decomposer) decompose(nodes []node, cats []int, pairs bool) treeShares {
	nf := len(cats)
	d.nodes, d.cats = nodes, cats
	d.catIdx = d.catIdx[:0]
	nc := 0
	for _, c := range cats {
		if c > 0 {
			d.catIdx = append(d.catIdx, nc)
			nc++
		} else {
			d.catIdx = append(d.catIdx, -1)
		}
	}
	d.nc = nc
	if len(d.bounds) < nf {
		d.bounds = make([][]float64, nf)
	}
	for f := range nf {
		d.bounds[f] = append(d.bounds[f][:0], 0, 1)
	}
	for _, n := range nodes {
		if n.feature >= 0 && n.cats == nil {
			d.bounds[n.feature] = append(d.bounds[n.feature], n.threshold)
		}
	}
	for f := range nf {
		if cats[f] == 0 {
			slices.Sort(d.bounds[f])
			d.bounds[f] = slices.Compact(d.bounds[f])
		}
	}
	d.bidx = slices.Grow(d.bidx[:0], len(nodes))[:len(nodes)]
	for k, n := range nodes {
		if n.feature >= 0 && n.cats == nil {
			i, _ := slices.BinarySearch(d.bounds[n.feature], n.threshold)
			d.bidx[k] = int32(i)
		}
	}
	leaves := (len(nodes) + 1) / 2
	d.leaves = slices.Grow(d.leaves[:0], leaves)
	d.lo = slices.Grow(d.lo[:0], leaves*nf)
	d.hi = slices.Grow(d.hi[:0], leaves*nf)
	clear(d.sets)
	d.sets = slices.Grow(d.sets[:0], leaves*nc)
	lo, hi := make([]int32, nf), make([]int32, nf)
	sets := make([][]uint64, nc)
	for f := range nf {
		if cats[f] == 0 {
			hi[f] = int32(len(d.bounds[f]) - 1)
		} else {
			sets[d.catIdx[f]] = fullSet(cats[f])
		}
	}
	d.walk(0, lo, hi, sets)

	var mean float64
	for _, l := range d.leaves {
		mean += l.value * l.volume
	}
	ts := treeShares{main: make([]float64, nf)}
	for _, l := range d.leaves {
		r := l.value - mean
		ts.variance += l.volume * r * r
	}
	for f := range nf {
		for a, m := range d.marginal(f) {
			r := m - mean
			ts.main[f] += d.atomLen(f, a) * r * r
		}
	}
	if pairs {
		for f := range nf {
			for g := f + 1; g < nf; g++ {
				v := d.pairVariance(f, g, mean) - ts.main[f] - ts.main[g]
				ts.pairs = append(ts.pairs, max(v, 0))
			}
		}
	}
	return ts
}

func fullSet(c int) []uint64 {
	s := make([]uint64, (c+63)/64)
	for i := range c {
		s[i/64] |= 1 << (i % 64)
	}
	return s
}

// walk records the leaves under node k, whose cell is lo, hi, sets (restored on return).
func (d *decomposer) walk(k int32, lo, hi []int32, sets [][]uint64) {
	n := &d.nodes[k]
	if n.feature < 0 {
		vol := 1.0
		for f := range d.cats {
			if c := d.catIdx[f]; c >= 0 {
				vol *= setExtent(sets[c], d.cats[f])
			} else {
				vol *= d.bounds[f][hi[f]] - d.bounds[f][lo[f]]
			}
		}
		d.leaves = append(d.leaves, leafCell{value: n.value - d.nodes[0].value, volume: vol})
		d.lo = append(d.lo, lo...)
		d.hi = append(d.hi, hi...)
		d.sets = append(d.sets, sets...)
		return
	}
	f := n.feature
	if n.cats == nil {
		old := hi[f]
		hi[f] = d.bidx[k]
		d.walk(n.left, lo, hi, sets)
		hi[f] = old
		old = lo[f]
		lo[f] = d.bidx[k]
		d.walk(n.right, lo, hi, sets)
		lo[f] = old
		return
	}
	c := d.catIdx[f]
	old := sets[c]
	l, r := make([]uint64, len(old)), make([]uint64, len(old))
	for i := range old {
		l[i] = old[i] & n.cats[i]
		r[i] = old[i] &^ n.cats[i]
	}
	sets[c] = l
	d.walk(n.left, lo, hi, sets)
	sets[c] = r
	d.walk(n.right, lo, hi, sets)
	sets[c] = old
}

// setExtent is the measure of a set of choices out of n.
func setExtent(set []uint64, n int) float64 {
	k := 0
	for _, w := range set {
		k += bits.OnesCount64(w)
	}
	return float64(k) / float64(n)
}

// extent is the measure of leaf l's cell along feature f.
func (d *decomposer) extent(l, f int) float64 {
	if c := d.catIdx[f]; c >= 0 {
		return setExtent(d.sets[l*d.nc+c], d.cats[f])
	}
	nf := len(d.cats)
	return d.bounds[f][d.hi[l*nf+f]] - d.bounds[f][d.lo[l*nf+f]]
}

func (d *decomposer) atoms(f int) int {
	if d.cats[f] > 0 {
		return d.cats[f]
	}
	return len(d.bounds[f]) - 1
}

func (d *decomposer) atomLen(f, a int) float64 {
	if d.cats[f] > 0 {
		return 1 / float64(d.cats[f])
	}
	return d.bounds[f][a+1] - d.bounds[f][a]
}

// runs calls fn with each run [a, b) of consecutive atoms of leaf l's cell along f.
func (d *decomposer) runs(l, f int, fn func(a, b int)) {
	nf := len(d.cats)
	if d.cats[f] == 0 {
		fn(int(d.lo[l*nf+f]), int(d.hi[l*nf+f]))
		return
	}
	set := d.sets[l*d.nc+d.catIdx[f]]
	for c := 0; c < d.cats[f]; c++ {
		if set[c/64]&(1<<(c%64)) == 0 {
			continue
		}
		e := c + 1
		for e < d.cats[f] && set[e/64]&(1<<(e%64)) != 0 {
			e++
		}
		fn(c, e)
		c = e
	}
}

// marginal returns the main effect of feature f on each of its atoms.
func (d *decomposer) marginal(f int) []float64 {
	diff := d.diff[:0]
	diff = slices.Grow(diff, d.atoms(f)+1)[:d.atoms(f)+1]
	clear(diff)
	d.diff = diff
	for l, leaf := range d.leaves {
		c := leaf.value * leaf.volume / d.extent(l, f)
		d.runs(l, f, func(a, b int) {
			diff[a] += c
			diff[b] -= c
		})
	}
	var s float64
	for a := range diff[:len(diff)-1] {
		s += diff[a]
		diff[a] = s
	}
	return diff[:len(diff)-1]
}

// pairVariance returns the variance of the joint effect of features f and g.
func (d *decomposer) pairVariance(f, g int, mean float64) float64 {
	af, ag := d.atoms(f), d.atoms(g)
	w := ag + 1
	diff := slices.Grow(d.grid[:0], (af+1)*w)[:(af+1)*w]
	clear(diff)
	d.grid = diff
	for l, leaf := range d.leaves {
		c := leaf.value * leaf.volume / (d.extent(l, f) * d.extent(l, g))
		d.runs(l, f, func(a1, a2 int) {
			d.runs(l, g, func(b1, b2 int) {
				diff[a1*w+b1] += c
				diff[a1*w+b2] -= c
				diff[a2*w+b1] -= c
				diff[a2*w+b2] += c
			})
		})
	}
	for a := range af {
		for b := 1; b < ag; b++ {
			diff[a*w+b] += diff[a*w+b-1]
		}
	}
	for a := 1; a < af; a++ {
		for b := range ag {
			diff[a*w+b] += diff[(a-1)*w+b]
		}
	}
	var v float64
	for a := range af {
		la := d.atomLen(f, a)
		for b := range ag {
			r := diff[a*w+b] - mean
			v += la * d.atomLen(g, b) * r * r
		}
	}
	return v
}
