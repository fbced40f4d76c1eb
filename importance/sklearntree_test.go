package importance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// sklearnTree is a tree as testdata/sklearn_trees.py prints it.
type sklearnTree struct {
	Feature   []int     `json:"feature"`
	Threshold []float64 `json:"threshold"`
	Left      []int     `json:"left"`
	Right     []int     `json:"right"`
	Value     []float64 `json:"value"`
	Fractions []float64 `json:"fractions"`
}

// nodes returns the tree as retune's nodes.
func (s sklearnTree) nodes() []node {
	nodes := make([]node, len(s.Feature))
	for i := range nodes {
		nodes[i] = node{feature: -1, value: s.Value[i]}
		if s.Feature[i] >= 0 {
			nodes[i] = node{feature: int32(s.Feature[i]), threshold: s.Threshold[i], left: int32(s.Left[i]), right: int32(s.Right[i]), value: s.Value[i]}
		}
	}
	return nodes
}

// growSklearnTrees runs testdata/sklearn_trees.py on the samples x[f][i], y (features on
// [0, 1]) with one tree per weight vector.
func growSklearnTrees(t *testing.T, x [][]float64, y []float64, weights [][]float64) []sklearnTree {
	t.Helper()
	rows := make([][]float64, len(y))
	for i := range rows {
		for f := range x {
			rows[i] = append(rows[i], x[f][i])
		}
	}
	low, high := make([]float64, len(x)), make([]float64, len(x))
	for f := range high {
		high[f] = 1
	}
	b, err := json.Marshal(map[string]any{"x": rows, "y": y, "low": low, "high": high, "weights": weights})
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "trees.json")
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), python, filepath.Join("testdata", "sklearn_trees.py"), in)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sklearn_trees.py: %v\n%s", err, stderr.Bytes())
	}
	var trees []sklearnTree
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var tr sklearnTree
		if err := json.Unmarshal(sc.Bytes(), &tr); err != nil {
			t.Fatalf("sklearn_trees.py printed %.100q…: %v", sc.Text(), err)
		}
		trees = append(trees, tr)
	}
	if len(trees) != len(weights) {
		t.Fatalf("sklearn_trees.py gave %d trees for %d weight vectors", len(trees), len(weights))
	}
	return trees
}

// treeMatch counts how two trees grown on the same samples compare.
type treeMatch struct {
	splits      int // pairs of split nodes compared
	otherFeat   int // of them, cut on different features into the same two sets of samples
	otherSplits int // pairs split into different sets whose scores tie to rounding (not descended)
}

// matchTrees walks retune's node a and scikit-learn's node s, which hold the samples idx,
// and their subtrees in step: the two must agree on being a leaf, on their mean, and split
// the samples into the same two sets (a tie between features that do so may go either way,
// and so may a tie to rounding between different sets, where the walk stops).
func matchTrees(t *testing.T, d *dataset, w []float64, ours []node, sk sklearnTree, a, s int, idx []int32, m *treeMatch) {
	na := ours[a]
	if v := sk.Value[s]; math.Abs(na.value-v) > 1e-9*max(1, math.Abs(v)) {
		t.Errorf("node of %d samples: mean %v, scikit-learn's %v", len(idx), na.value, v)
		return
	}
	if (na.feature < 0) != (sk.Feature[s] < 0) {
		t.Errorf("node of %d samples: retune's feature %d, scikit-learn's %d (-1: a leaf)", len(idx), na.feature, sk.Feature[s])
		return
	}
	if na.feature < 0 {
		return
	}
	m.splits++
	part := func(f int, th float64) (l, r []int32, score float64) {
		var wl, wyl, wr, wyr float64
		for _, i := range idx {
			if d.x[f][i] <= th {
				l = append(l, i)
				wl += w[i]
				wyl += w[i] * d.y[i]
			} else {
				r = append(r, i)
				wr += w[i]
				wyr += w[i] * d.y[i]
			}
		}
		return l, r, wyl*wyl/wl + wyr*wyr/wr
	}
	l, r, so := part(int(na.feature), na.threshold)
	skl, skr, ss := part(sk.Feature[s], sk.Threshold[s])
	same, mirrored := slices.Equal(l, skl), slices.Equal(l, skr)
	switch {
	case !same && !mirrored:
		if math.Abs(so-ss) > 1e-12*math.Abs(ss) {
			t.Errorf("node of %d samples: retune splits x%d at %v (score %v), scikit-learn x%d at %v (score %v)", len(idx), na.feature, na.threshold, so, sk.Feature[s], sk.Threshold[s], ss)
		}
		m.otherSplits++
		return
	case int(na.feature) == sk.Feature[s] && na.threshold != sk.Threshold[s]:
		t.Errorf("node of %d samples: retune cuts x%d at %v, scikit-learn at %v", len(idx), na.feature, na.threshold, sk.Threshold[s])
		return
	case int(na.feature) != sk.Feature[s]:
		m.otherFeat++
	}
	skLeft, skRight := sk.Left[s], sk.Right[s]
	if !same {
		skLeft, skRight = skRight, skLeft
	}
	matchTrees(t, d, w, ours, sk, int(na.left), skLeft, l, m)
	matchTrees(t, d, w, ours, sk, int(na.right), skRight, r, m)
}

// TestForestMatchesSklearn grows retune's trees and scikit-learn's (the trees of Optuna 3.1's
// forest) on the same weighted samples and checks that they are the same trees and that
// retune decomposes scikit-learn's trees as Optuna does. The samples are Ishigami's and the
// g-function's at 1,000 trials on a grid of 1/4096 in the unit box, so that scikit-learn's
// float32 copy of the features is exact and features take repeated values; each tree's
// weights are the bootstrap counts FANOVA would draw. Node by node the trees must agree on
// being a leaf, on the weighted mean and on how the node's samples are split; only where
// cutting on different features gives the same two sets of samples (mostly in nodes of two
// to five samples) may the two pick different features: both keep the first of equal scores
// in the random order in which they try the features, and the scores of one split computed
// along different features can differ in the last bit. For each tree, retune's variance
// shares of scikit-learn's tree must equal Optuna's _FanovaTree's to 1e-9.
//
// Like TestFANOVAAgainstOptuna it runs only when asked for:
// RETUNE_TEST_OPTUNA=1 go test ./importance -run ForestMatchesSklearn.
func TestForestMatchesSklearn(t *testing.T) {
	if os.Getenv("RETUNE_TEST_OPTUNA") == "" || testing.Short() {
		t.Skip("the comparison with scikit-learn runs Python: run it with RETUNE_TEST_OPTUNA=1")
	}
	if err := exec.Command(python, "-c", "import optuna, sklearn").Run(); err != nil {
		t.Skipf("%s cannot import optuna and sklearn (%v): install Debian's python3-optuna and python3-sklearn to compare with them", python, err)
	}
	const n, trees = 1000, 16
	for _, fn := range []testFunction{ishigami, gFunction} {
		t.Run(fn.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, fn.id))
			x := make([][]float64, fn.dim)
			y := make([]float64, n)
			row := make([]float64, fn.dim)
			for i := range n {
				for f := range row {
					u := float64(r.IntN(4097)) / 4096
					x[f] = append(x[f], u)
					row[f] = fn.low + u*(fn.high-fn.low)
				}
				y[i] = fn.f(row)
			}
			cats := make([]int, fn.dim)
			d := newDataset(x, y, cats)
			b := newBuilder(d, forestConfig{trees: trees, maxDepth: DefaultMaxDepth, minSplit: DefaultMinSamplesSplit, minLeaf: DefaultMinSamplesLeaf, maxFeatures: fn.dim})
			seed := forestSeed{seed: 1}
			weights := make([][]float64, trees)
			for k := range weights {
				weights[k] = make([]float64, n)
				drawBootstrap(weights[k], seed.treeRand(k))
			}
			sk := growSklearnTrees(t, x, y, weights)
			var m treeMatch
			var dec decomposer
			oursMean, skMean := make([]float64, fn.dim), make([]float64, fn.dim)
			for k := range sk {
				rng := seed.treeRand(k)
				drawBootstrap(b.w, rng)
				ours := b.growWeighted(rng)
				var idx []int32
				for i, v := range weights[k] {
					if v > 0 {
						idx = append(idx, int32(i))
					}
				}
				matchTrees(t, d, weights[k], ours, sk[k], 0, 0, idx, &m)

				ts := dec.decompose(sk[k].nodes(), cats, false)
				for f := range fn.dim {
					got := ts.main[f] / ts.variance
					if want := sk[k].Fractions[f]; math.Abs(got-want) > 1e-9 {
						t.Errorf("tree %d: share of x%d of scikit-learn's tree %v, Optuna's %v", k, f+1, got, want)
					}
					skMean[f] += got / trees
				}
				ts = dec.decompose(ours, cats, false)
				for f := range fn.dim {
					oursMean[f] += ts.main[f] / ts.variance / trees
				}
			}
			t.Logf("%d trees: %d splits, %d of them on another feature than scikit-learn's with the same sets of samples, %d into other sets whose scores tie",
				trees, m.splits, m.otherFeat, m.otherSplits)
			t.Logf("mean variance share per param over the trees: retune's trees %.4f, scikit-learn's %.4f", oursMean, skMean)
		})
	}
}
