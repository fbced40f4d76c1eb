package importance

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// The forest follows scikit-learn's RandomForestRegressor, which Optuna's fANOVA uses: each
// tree is grown on a bootstrap sample (n draws with replacement, kept as weights) by
// best-first-found splits that minimize the weighted squared error, a numeric feature cut
// halfway between two neighbouring values that differ by more than featureThreshold, until
// a node is pure, too small or too deep. Categorical features split into two sets of
// choices: sorting the choices present by their mean response and cutting that order finds
// the best such split for squared error (Breiman et al. 1984, §9.4); choices absent from a
// node go with the heavier side.

// featureThreshold is how far apart two values must be to be split between (scikit-learn's
// FEATURE_THRESHOLD).
const featureThreshold = 1e-7

// forestConfig is a validated FANOVAOptions.
type forestConfig struct {
	trees, maxDepth, minSplit, minLeaf, maxFeatures int
}

// dataset is the design matrix: x[f][i] is feature f of sample i, in [0, 1] for numeric
// features and the choice index for categorical ones (cats[f] > 0 choices).
type dataset struct {
	x      [][]float64
	y      []float64
	cats   []int
	sorted [][]int32 // sorted[f]: sample indices by x[f]
}

func newDataset(x [][]float64, y []float64, cats []int) *dataset {
	d := &dataset{x: x, y: y, cats: cats, sorted: make([][]int32, len(x))}
	for f := range x {
		idx := make([]int32, len(y))
		for i := range idx {
			idx[i] = int32(i)
		}
		xf := x[f]
		slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(xf[a], xf[b]) })
		d.sorted[f] = idx
	}
	return d
}

// node is a tree node; a leaf has feature -1.
type node struct {
	feature     int32
	left, right int32
	threshold   float64  // numeric split: x <= threshold goes left
	cats        []uint64 // categorical split: choice c goes left if bit c is set
	value       float64  // weighted mean of the node's samples
}

// builder grows trees; one per goroutine, reused across trees.
type builder struct {
	d     *dataset
	cfg   forestConfig
	rng   *rand.Rand
	w     []float64 // bootstrap weight of each sample
	order [][]int32 // order[f]: the tree's samples by x[f], each node a segment
	left  []bool    // scratch: sample goes left
	buf   []int32   // scratch for partitioning
	feats []int     // scratch: feature visiting order
	catW  []float64 // scratch: per choice weight, weighted sum, count
	catWY []float64
	catN  []int
	catOK []int
	nodes []node
}

func newBuilder(d *dataset, cfg forestConfig) *builder {
	n, nf := len(d.y), len(d.x)
	b := &builder{d: d, cfg: cfg, w: make([]float64, n), order: make([][]int32, nf), left: make([]bool, n), buf: make([]int32, n), feats: make([]int, nf)}
	maxCats := 0
	for f := range d.x {
		b.order[f] = make([]int32, 0, n)
		maxCats = max(maxCats, d.cats[f])
	}
	b.catW, b.catWY, b.catN = make([]float64, maxCats), make([]float64, maxCats), make([]int, maxCats)
	return b
}

// grow fits one tree on a bootstrap sample drawn with rng and returns its nodes, valid until
// the next call.
func (b *builder) grow(rng *rand.Rand) []node {
	drawBootstrap(b.w, rng)
	return b.growWeighted(rng)
}

// drawBootstrap sets w[i] to the number of times sample i comes up in len(w) draws with
// replacement from rng: a tree's bootstrap sample, as weights.
func drawBootstrap(w []float64, rng *rand.Rand) {
	n := len(w)
	clear(w)
	for range n {
		w[rng.IntN(n)]++
	}
}

// growWeighted fits one tree on the samples weighted by b.w (those of weight 0 left out),
// drawing the order in which each node tries the features with rng, and returns its nodes,
// valid until the next call.
func (b *builder) growWeighted(rng *rand.Rand) []node {
	b.rng = rng
	for f := range b.order {
		o := b.order[f][:0]
		for _, i := range b.d.sorted[f] {
			if b.w[i] > 0 {
				o = append(o, i)
			}
		}
		b.order[f] = o
	}
	b.nodes = b.nodes[:0]
	b.split(0, len(b.order[0]), 0)
	return b.nodes
}

// split grows the subtree of the samples in segment [s, e) and returns its root's index.
func (b *builder) split(s, e, depth int) int32 {
	var sw, swy float64
	seg := b.order[0][s:e]
	for _, i := range seg {
		sw += b.w[i]
		swy += b.w[i] * b.d.y[i]
	}
	mean := swy / sw
	var sse float64
	for _, i := range seg {
		r := b.d.y[i] - mean
		sse += b.w[i] * r * r
	}
	id := int32(len(b.nodes))
	b.nodes = append(b.nodes, node{feature: -1, value: mean})
	n := e - s
	if depth >= b.cfg.maxDepth || n < b.cfg.minSplit || n < 2*b.cfg.minLeaf || sse/sw <= 4*eps*max(1, mean*mean) {
		return id
	}
	best := bestSplit{feature: -1, proxy: swy * swy / sw}
	for k := range b.feats {
		b.feats[k] = k
	}
	visited := 0
	for k := range b.feats {
		if visited >= b.cfg.maxFeatures {
			break
		}
		j := k + b.rng.IntN(len(b.feats)-k)
		b.feats[k], b.feats[j] = b.feats[j], b.feats[k]
		f := b.feats[k]
		var ok bool
		if b.d.cats[f] > 0 {
			ok = b.splitCategorical(f, s, e, sw, swy, &best)
		} else {
			ok = b.splitNumeric(f, s, e, sw, swy, &best)
		}
		if ok {
			visited++
		}
	}
	if best.feature < 0 {
		return id
	}
	nl := b.partition(best, s, e)
	nd := &b.nodes[id]
	nd.feature, nd.threshold, nd.cats = int32(best.feature), best.threshold, best.cats
	l := b.split(s, s+nl, depth+1)
	r := b.split(s+nl, e, depth+1)
	b.nodes[id].left, b.nodes[id].right = l, r
	return id
}

const eps = 0x1p-52

type bestSplit struct {
	feature   int
	proxy     float64 // sum over children of (Σwy)²/Σw: larger is better
	threshold float64
	cats      []uint64
}

// splitNumeric looks for the best cut of numeric feature f; it reports whether f is
// non-constant in the node.
func (b *builder) splitNumeric(f, s, e int, sw, swy float64, best *bestSplit) bool {
	o, x := b.order[f][s:e], b.d.x[f]
	if x[o[len(o)-1]] <= x[o[0]]+featureThreshold {
		return false
	}
	var wl, wyl float64
	for p := 1; p < len(o); p++ {
		i := o[p-1]
		wl += b.w[i]
		wyl += b.w[i] * b.d.y[i]
		if x[o[p]] <= x[i]+featureThreshold || p < b.cfg.minLeaf || len(o)-p < b.cfg.minLeaf {
			continue
		}
		wr, wyr := sw-wl, swy-wyl
		if proxy := wyl*wyl/wl + wyr*wyr/wr; proxy > best.proxy {
			t := x[i]/2 + x[o[p]]/2
			if t >= x[o[p]] || math.IsInf(t, 0) {
				t = x[i]
			}
			*best = bestSplit{feature: f, proxy: proxy, threshold: t}
		}
	}
	return true
}

// splitCategorical looks for the best two-set split of categorical feature f; it reports
// whether f has more than one choice in the node.
func (b *builder) splitCategorical(f, s, e int, sw, swy float64, best *bestSplit) bool {
	nc := b.d.cats[f]
	cw, cwy, cn := b.catW[:nc], b.catWY[:nc], b.catN[:nc]
	clear(cw)
	clear(cwy)
	clear(cn)
	for _, i := range b.order[f][s:e] {
		c := int(b.d.x[f][i])
		cw[c] += b.w[i]
		cwy[c] += b.w[i] * b.d.y[i]
		cn[c]++
	}
	present := b.catOK[:0]
	for c := range nc {
		if cn[c] > 0 {
			present = append(present, c)
		}
	}
	b.catOK = present
	if len(present) < 2 {
		return false
	}
	slices.SortStableFunc(present, func(a, c int) int { return cmp.Compare(cwy[a]/cw[a], cwy[c]/cw[c]) })
	var wl, wyl float64
	nl := 0
	for k := 0; k < len(present)-1; k++ {
		c := present[k]
		wl += cw[c]
		wyl += cwy[c]
		nl += cn[c]
		if nl < b.cfg.minLeaf || (e-s)-nl < b.cfg.minLeaf {
			continue
		}
		wr, wyr := sw-wl, swy-wyl
		if proxy := wyl*wyl/wl + wyr*wyr/wr; proxy > best.proxy {
			set := make([]uint64, (nc+63)/64)
			for _, c := range present[:k+1] {
				set[c/64] |= 1 << (c % 64)
			}
			if wl >= wr { // absent choices go with the heavier side
				for c := range nc {
					if cn[c] == 0 {
						set[c/64] |= 1 << (c % 64)
					}
				}
			}
			*best = bestSplit{feature: f, proxy: proxy, cats: set}
		}
	}
	return true
}

// partition reorders every feature's segment [s, e) stably into the samples that go left,
// then those that go right, and returns the number that go left.
func (b *builder) partition(sp bestSplit, s, e int) int {
	x := b.d.x[sp.feature]
	nl := 0
	for _, i := range b.order[0][s:e] {
		var l bool
		if sp.cats != nil {
			c := int(x[i])
			l = sp.cats[c/64]&(1<<(c%64)) != 0
		} else {
			l = x[i] <= sp.threshold
		}
		b.left[i] = l
		if l {
			nl++
		}
	}
	for f := range b.order {
		o := b.order[f][s:e]
		buf := b.buf[:0]
		k := 0
		for _, i := range o {
			if b.left[i] {
				o[k] = i
				k++
			} else {
				buf = append(buf, i)
			}
		}
		copy(o[k:], buf)
	}
	return nl
}
