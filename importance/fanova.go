package importance

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/a6b40afc/retune"
)

// Defaults of FANOVAOptions: Optuna's FanovaImportanceEvaluator, whose forest is
// scikit-learn's RandomForestRegressor with these settings and every feature considered at
// each split.
const (
	DefaultTrees           = 64
	DefaultMaxDepth        = 64
	DefaultMinSamplesSplit = 2
	DefaultMinSamplesLeaf  = 1
)

// FANOVAOptions configures FANOVA. The zero value analyses the first objective over every
// param with Optuna's forest, seed 0.
type FANOVAOptions struct {
	// Objective is the index of the objective to analyse.
	Objective int
	// Params names the params to analyse; nil means every param that a used trial has.
	Params []string
	// Trees is the number of trees in the forest; 0 means DefaultTrees.
	Trees int
	// MaxDepth limits the depth of each tree; 0 means DefaultMaxDepth.
	MaxDepth int
	// MinSamplesSplit is the fewest distinct trials a node needs to be split; 0 means
	// DefaultMinSamplesSplit.
	MinSamplesSplit int
	// MinSamplesLeaf is the fewest distinct trials each child of a split needs; 0 means
	// DefaultMinSamplesLeaf.
	MinSamplesLeaf int
	// MaxFeatures is how many params (at random) each split considers; 0 means all.
	MaxFeatures int
	// Interactions also computes the second-order share of every pair of params that are
	// fitted together (Result.Interactions). It costs, per pair and tree, the product of the
	// two params' numbers of distinct split points.
	Interactions bool
	// Seed makes the forest reproducible: the same trials, options and seed give the same
	// result, whatever Workers is.
	Seed uint64
	// Workers is how many trees are grown at once; 0 means runtime.GOMAXPROCS(0).
	Workers int
}

func (o FANOVAOptions) config() (forestConfig, error) {
	def := func(v, d int) int {
		if v == 0 {
			return d
		}
		return v
	}
	c := forestConfig{
		trees: def(o.Trees, DefaultTrees), maxDepth: def(o.MaxDepth, DefaultMaxDepth),
		minSplit: def(o.MinSamplesSplit, DefaultMinSamplesSplit), minLeaf: def(o.MinSamplesLeaf, DefaultMinSamplesLeaf),
		maxFeatures: o.MaxFeatures,
	}
	if c.trees < 1 || c.maxDepth < 1 || c.minSplit < 2 || c.minLeaf < 1 || c.maxFeatures < 0 || o.Workers < 0 {
		return c, fmt.Errorf("%w: fANOVA options %+v: want Trees, MaxDepth, MinSamplesLeaf >= 1, MinSamplesSplit >= 2, MaxFeatures and Workers >= 0 (0 for the defaults)", retune.ErrInvalid, o)
	}
	return c, nil
}

// FANOVA computes each param's main-effect share of the objective's variance with a random
// forest (see the package doc), as Optuna's FanovaImportanceEvaluator does, and reports it
// normalized to sum to 1 (Param.Importance) and raw (Param.Raw, the mean over trees of the
// fraction of variance, an estimate of the first-order Sobol index).
//
// Numeric params are fitted in unit space, log-scaled params on the log scale (Optuna fits
// them on their raw scale), and each tree's prediction is decomposed over that space with
// the uniform measure: the space a random sampler draws from. A categorical param is one
// feature whose splits send a set of choices each way, every choice with an equal share of
// the space (Optuna one-hot encodes categoricals, giving each 0/1 column a unit interval).
//
// Conditional params: a param is analysed by a forest grown on the trials that have it, over
// the params that all of those trials have. Params that the same trials have share a forest:
// one forest for the params every trial has (the only one when no param is conditional), one
// more for each other set of trials. A conditional param's Raw is thus a share of the variance
// among the trials that have it, and interactions are only computed between params that share
// a forest. A param whose value lies outside the distribution it has in the latest trial that
// has it counts as absent from that trial. Params whose distribution has one value, and params
// fewer than two trials have, get Raw 0.
//
// FANOVA returns an error wrapping ErrTooFewTrials with fewer than two usable trials,
// retune.ErrInvalid for invalid options, and ctx's error if ctx is done first.
func FANOVA(ctx context.Context, trials []retune.FrozenTrial, opts FANOVAOptions) (Result, error) {
	cfg, err := opts.config()
	if err != nil {
		return Result{}, err
	}
	sel, err := selectTrials("fanova", trials, opts.Objective)
	if err != nil {
		return sel.res, err
	}
	names, err := sel.paramNames(opts.Params)
	if err != nil {
		return sel.res, err
	}
	cols := sel.columns(names)
	res := sel.res
	res.Params = make([]Param, len(cols))
	var varying []int
	for j := range cols {
		res.Params[j] = Param{Name: cols[j].name, Trials: cols[j].n}
		if !cols[j].single() {
			varying = append(varying, j)
		}
	}
	workers := opts.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for g, grp := range groups(cols, varying) {
		if len(grp.rows) < 2 {
			continue
		}
		fr, err := fitGroup(ctx, cols, sel.y, grp, cfg, forestSeed{opts.Seed, uint64(g)}, workers, opts.Interactions)
		if err != nil {
			return Result{}, err
		}
		for k, j := range grp.features {
			if slices.Contains(grp.targets, j) {
				res.Params[j].Raw = fr.main[k]
			}
		}
		for _, p := range fr.pairs {
			a, b := grp.features[p.i], grp.features[p.j]
			if slices.Contains(grp.targets, a) && slices.Contains(grp.targets, b) {
				res.Interactions = append(res.Interactions, Interaction{Params: [2]string{cols[a].name, cols[b].name}, Raw: p.raw})
			}
		}
	}
	res.finish()
	return res, nil
}

// group is a set of params analysed by one forest.
type group struct {
	targets  []int // the params whose importance the forest gives
	features []int // the params it is fitted on: those all of rows have
	rows     []int // the trials: those that have every target
}

// groups partitions the varying params by the set of trials that have them.
func groups(cols []column, varying []int) []group {
	byKey := make(map[string]int)
	var out []group
	for _, j := range varying {
		key := make([]byte, 0, len(cols[j].unit)/8+1)
		var rows []int
		for i, u := range cols[j].unit {
			if i%8 == 0 {
				key = append(key, 0)
			}
			if !math.IsNaN(u) {
				rows = append(rows, i)
				key[len(key)-1] |= 1 << (i % 8)
			}
		}
		if g, ok := byKey[string(key)]; ok {
			out[g].targets = append(out[g].targets, j)
			continue
		}
		byKey[string(key)] = len(out)
		out = append(out, group{targets: []int{j}, rows: rows})
	}
	for g := range out {
		for _, j := range varying {
			all := true
			for _, i := range out[g].rows {
				if math.IsNaN(cols[j].unit[i]) {
					all = false
					break
				}
			}
			if all {
				out[g].features = append(out[g].features, j)
			}
		}
	}
	return out
}

type forestSeed struct{ seed, group uint64 }

// treeRand returns tree t's random source: a function of the seed, the group and t only.
func (s forestSeed) treeRand(t int) *rand.Rand {
	return rand.New(rand.NewPCG(s.seed, s.group<<32|uint64(t)))
}

type pairShare struct {
	i, j int // indices into the group's features
	raw  float64
}

type forestResult struct {
	main  []float64 // per feature: mean over trees of V_f / V
	pairs []pairShare
}

// fitGroup grows the group's forest on workers goroutines and averages the trees' shares.
func fitGroup(ctx context.Context, cols []column, y []float64, grp group, cfg forestConfig, seed forestSeed, workers int, pairs bool) (forestResult, error) {
	nf := len(grp.features)
	x := make([][]float64, nf)
	cats := make([]int, nf)
	for k, j := range grp.features {
		x[k] = make([]float64, len(grp.rows))
		for r, i := range grp.rows {
			x[k][r] = cols[j].unit[i]
		}
		cats[k] = cols[j].cats
	}
	yy := make([]float64, len(grp.rows))
	for r, i := range grp.rows {
		yy[r] = y[i]
	}
	d := newDataset(x, yy, cats)
	if cfg.maxFeatures == 0 || cfg.maxFeatures > nf {
		cfg.maxFeatures = nf
	}
	stats := make([]treeShares, cfg.trees)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, cfg.trees) {
		wg.Go(func() {
			b := newBuilder(d, cfg)
			var dec decomposer
			for {
				t := int(next.Add(1)) - 1
				if t >= cfg.trees || ctx.Err() != nil {
					return
				}
				stats[t] = dec.decompose(b.grow(seed.treeRand(t)), cats, pairs)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return forestResult{}, err
	}
	fr := forestResult{main: make([]float64, nf)}
	if pairs {
		for i := range nf {
			for j := i + 1; j < nf; j++ {
				fr.pairs = append(fr.pairs, pairShare{i: i, j: j})
			}
		}
	}
	used := 0
	for _, s := range stats {
		if !(s.variance > 0) {
			continue
		}
		used++
		for k := range fr.main {
			fr.main[k] += s.main[k] / s.variance
		}
		for k := range fr.pairs {
			fr.pairs[k].raw += s.pairs[k] / s.variance
		}
	}
	if used > 0 {
		for k := range fr.main {
			fr.main[k] /= float64(used)
		}
		for k := range fr.pairs {
			fr.pairs[k].raw /= float64(used)
		}
	}
	return fr, nil
}
