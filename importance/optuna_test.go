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
	"strconv"
	"testing"

	"github.com/a6b40afc/retune"
)

// python is the interpreter with Debian's python3-optuna (3.1) and python3-sklearn.
const python = "/usr/bin/python3"

// optunaDataset is a data set as testdata/optuna_fanova.py reads it.
type optunaDataset struct {
	Name   string        `json:"name"`
	Seed   uint64        `json:"seed"`
	Params []optunaParam `json:"params"`
	X      [][]float64   `json:"x"`
	Y      []float64     `json:"y"`
	// Weights, if set, holds per tree of the forest each trial's weight: Optuna's side then
	// also grows its forest's tree k on Weights[k] (optunaResult.Paired).
	Weights [][]float64 `json:"weights,omitempty"`
}

// optunaParam is a float on [Low, High] unless Type is "int"; Log and Step as in Optuna's
// distributions (Step 0: continuous float, int step 1).
type optunaParam struct {
	Name string  `json:"name"`
	Type string  `json:"type,omitempty"`
	Low  float64 `json:"low"`
	High float64 `json:"high"`
	Log  bool    `json:"log,omitempty"`
	Step float64 `json:"step,omitempty"`
}

type optunaResult struct {
	Name string `json:"name"`
	// Importances and Seconds are FanovaImportanceEvaluator's, with its own bootstrap.
	Importances map[string]float64 `json:"importances"`
	Seconds     float64            `json:"seconds"`
	// Paired and PairedSeconds are the evaluator's with its trees grown on the data set's
	// Weights (absent without them).
	Paired        map[string]float64 `json:"paired"`
	PairedSeconds float64            `json:"paired_seconds"`
}

// runOptuna runs testdata/optuna_fanova.py on the data sets and returns its results by name.
func runOptuna(t *testing.T, sets []optunaDataset) map[string]optunaResult {
	t.Helper()
	in := filepath.Join(t.TempDir(), "datasets.json")
	b, err := json.Marshal(map[string]any{"datasets": sets})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), python, filepath.Join("testdata", "optuna_fanova.py"), in)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("optuna_fanova.py: %v\n%s", err, stderr.Bytes())
	}
	res := make(map[string]optunaResult)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r optunaResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("optuna_fanova.py printed %q: %v", sc.Text(), err)
		}
		res[r.Name] = r
	}
	return res
}

// maxError is the largest |got_i − want_i|.
func maxError(got, want []float64) float64 {
	var e float64
	for i := range want {
		e = math.Max(e, math.Abs(got[i]-want[i]))
	}
	return e
}

// fanovaBootstrap returns the bootstrap counts of the forest FANOVA grows with its defaults
// and seed on n trials that all have every param (one forest): weights[k][i] is how many times
// tree k's bootstrap sample draws trial i, in the order of the trials.
func fanovaBootstrap(n int, seed uint64) [][]float64 {
	weights := make([][]float64, DefaultTrees)
	for k := range weights {
		weights[k] = make([]float64, n)
		drawBootstrap(weights[k], forestSeed{seed: seed}.treeRand(k))
	}
	return weights
}

// checkBootstrap checks that weights are the bootstrap counts of the forest FANOVA grew for r
// from trials (all of which have every param) with its defaults and seed: a forest grown with
// tree k on weights[k] must give r's Raw.
func checkBootstrap(t *testing.T, trials []retune.FrozenTrial, seed uint64, weights [][]float64, r Result) {
	t.Helper()
	names, raw := growOnWeights(t, trials, seed, weights, 0)
	for _, p := range r.Params {
		j := slices.Index(names, p.Name)
		if got := raw[j]; math.Abs(got-p.Raw) > 1e-12 {
			t.Fatalf("%s: a forest grown on the exported bootstrap counts gives Raw %v, FANOVA %v", p.Name, got, p.Raw)
		}
	}
}

// growOnWeights grows FANOVA's forest (its defaults) on trials (all of which have every
// param) with tree k fitted on weights[k], which must be the bootstrap counts FANOVA draws
// with seed, and returns the param names and each one's Raw importance. Stream 0 draws the
// order in which the nodes try the features from FANOVA's own random source, as FANOVA does;
// any other stream from a source of its own, so that only ties between features go another way.
func growOnWeights(t *testing.T, trials []retune.FrozenTrial, seed uint64, weights [][]float64, stream uint64) ([]string, []float64) {
	t.Helper()
	sel, err := selectTrials("fanova", trials, 0)
	if err != nil {
		t.Fatal(err)
	}
	names, err := sel.paramNames(nil)
	if err != nil {
		t.Fatal(err)
	}
	cols := sel.columns(names)
	x, cats := make([][]float64, len(cols)), make([]int, len(cols))
	for j := range cols {
		x[j], cats[j] = cols[j].unit, cols[j].cats
	}
	cfg, err := FANOVAOptions{}.config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.maxFeatures = len(cols)
	b := newBuilder(newDataset(x, sel.y, cats), cfg)
	var dec decomposer
	raw := make([]float64, len(cols))
	used := 0
	for k, w := range weights {
		rng := forestSeed{seed: seed}.treeRand(k)
		drawBootstrap(b.w, rng)
		if !slices.Equal(b.w, w) {
			t.Fatalf("tree %d: bootstrap counts differ from the exported ones", k)
		}
		if stream != 0 {
			rng = rand.New(rand.NewPCG(seed^stream<<48, uint64(k)))
		}
		ts := dec.decompose(b.growWeighted(rng), cats, false)
		if !(ts.variance > 0) {
			continue
		}
		used++
		for j := range raw {
			raw[j] += ts.main[j] / ts.variance
		}
	}
	for j := range raw {
		raw[j] /= float64(used)
	}
	return names, raw
}

// TestFANOVAAgainstOptuna compares FANOVA with Optuna 3.1's FanovaImportanceEvaluator on the
// same data: each known-answer function at 200 uniform trials (RETUNE_TEST_OPTUNA_TRIALS
// changes it; at 1,000 Optuna takes 27 to 45 s per data set and forest, about 35 minutes in
// all) for the seeds 1…10 (data and FANOVA's forest; Optuna's seed too). Both importances are
// normalized, so both are compared with the normalized first-order indices, by the largest
// error over the params.
//
// The bootstrap is paired. FANOVA and the evaluator are the same estimator:
// TestForestMatchesSklearn grows retune's trees and scikit-learn's on the same bootstrap
// weights and finds the same trees (up to ties between features that cut a node's samples
// alike), and retune's decomposition of scikit-learn's trees equal to Optuna's _FanovaTree's.
// Each with its own bootstrap, the two differ by which samples the 64 trees draw, and that
// alone moves one seed's error by a few hundredths either way, so which side wins is a coin
// flip per function: the medians over the 10 seeds were at 200 trials Ishigami 0.193
// (retune) against 0.199 (Optuna), g-function 0.1430 against 0.1433, linear 0.061 against
// 0.062, and at 1,000 trials Ishigami 0.0663 against 0.0645, g-function 0.0552 against
// 0.0557, linear 0.0254 against 0.0258; with the forest seeds moved by 1000, 2000 and 3000,
// Optuna's Ishigami median at 1,000 trials is 0.0640, 0.0607 and 0.0644 and retune's 0.0578,
// 0.0650 and 0.0636, and over 30 such shifts retune's ranges from 0.058 to 0.069. On one
// set of bootstrap weights for both (other draws than FANOVA's own at these seeds), the 10
// Ishigami forests gave 0.0646 (retune's trees) against 0.0652 (scikit-learn's).
//
// So Optuna's side is the evaluator's own code (search space transform, _FanovaTree
// decomposition, normalization) on its own forest, a RandomForestRegressor with the
// evaluator's settings (64 trees, max_depth 64, min_samples_split 2, min_samples_leaf 1,
// max_features 1.0, random_state the seed), except that each tree k is fitted with
// bootstrap=False and sample_weight set to the bootstrap counts of FANOVA's tree k, which is
// what the forest's own bootstrap does with the counts it draws (testdata/optuna_fanova.py
// checks that on each data set: given the counts of the evaluator's own bootstrap, it grows
// the evaluator's trees). checkBootstrap checks that the counts sent are those FANOVA grew
// its trees on. The evaluator with its own bootstrap still runs on every data set, and the
// test logs its medians for information without checking them.
//
// The aggregate, per function, is the median over the seeds of the largest error. Pairing
// leaves one source of randomness on each side: where features tie (cut a node's samples into
// the same two sets, as any feature does that separates the two samples of a node of two),
// each side picks the first in its own random order of the features (in
// TestForestMatchesSklearn, 30% of the Ishigami splits and 46% of the g-function's go to
// another feature than scikit-learn's). That moves the medians by less than the bootstrap does
// but by more than the two sides differ: a strict "no larger" failed one function or another
// at 200 and 1,000 trials by 0.00001 to 0.0006, inside what tie-breaking alone does. So the
// test measures that spread on retune's side: it grows the forests again on the same
// bootstrap counts with 20 feature-order streams (FANOVA's own and 19 others), and retune's
// median must be no larger than Optuna's plus the range of those 20 medians. A real
// difference between the estimators (a wrong split criterion or decomposition) moves every
// stream's median, and shows up as a gap beyond that range. Should a change tip a function,
// look at the per-seed errors the test logs, not for a new seed.
//
// It needs python3-optuna and python3-sklearn from Debian for /usr/bin/python3, and takes
// minutes (Optuna's fANOVA is pure Python), so it runs only when asked for:
// RETUNE_TEST_OPTUNA=1 go test ./importance -run AgainstOptuna.
func TestFANOVAAgainstOptuna(t *testing.T) {
	const tieStreams = 20 // feature-order streams that measure the tie-breaking spread
	if os.Getenv("RETUNE_TEST_OPTUNA") == "" || testing.Short() {
		t.Skip("the comparison with Optuna 3.1 takes minutes: run it with RETUNE_TEST_OPTUNA=1")
	}
	if err := exec.Command(python, "-c", "import optuna, sklearn").Run(); err != nil {
		t.Skipf("%s cannot import optuna and sklearn (%v): install Debian's python3-optuna and python3-sklearn to compare with Optuna 3.1", python, err)
	}
	n := 200
	if v := os.Getenv("RETUNE_TEST_OPTUNA_TRIALS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2 {
			t.Fatalf("RETUNE_TEST_OPTUNA_TRIALS=%q: want a number of trials >= 2", v)
		}
	}
	var sets []optunaDataset
	ours := make(map[string][]float64) // FANOVA's importances by data set
	// streamErr[fn][s][i]: the max error of the forest grown on seed i's bootstrap counts with
	// feature-order stream s (0 is FANOVA's own).
	streamErr := make(map[string][][]float64)
	for _, fn := range testFunctions {
		for _, seed := range knownSeeds {
			x, y := fn.sample(n, seed)
			trials := frozen(x, y, fn.low, fn.high)
			r, err := FANOVA(t.Context(), trials, FANOVAOptions{Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			weights := fanovaBootstrap(n, seed)
			checkBootstrap(t, trials, seed, weights, r)
			ds := optunaDataset{Name: fn.name + "/" + strconv.FormatUint(seed, 10), Seed: seed, X: x, Y: y, Weights: weights}
			for i := range fn.dim {
				ds.Params = append(ds.Params, optunaParam{Name: paramName(i), Low: fn.low, High: fn.high})
			}
			sets = append(sets, ds)
			ours[ds.Name] = importances(t, r, fn.dim, false)
			if streamErr[fn.name] == nil {
				streamErr[fn.name] = make([][]float64, tieStreams)
			}
			want := normalized(fn.first())
			for st := range uint64(tieStreams) {
				names, raw := growOnWeights(t, trials, seed, weights, st)
				imp := make([]float64, fn.dim)
				for j, name := range names {
					i, _ := strconv.Atoi(name[1:])
					imp[i-1] = raw[j]
				}
				streamErr[fn.name][st] = append(streamErr[fn.name][st], maxError(normalized(imp), want))
			}
		}
	}
	opt := runOptuna(t, sets)
	vec := func(m map[string]float64, dim int) []float64 {
		v := make([]float64, dim)
		for i := range v {
			v[i] = m[paramName(i)]
		}
		return v
	}
	for _, fn := range testFunctions {
		want := normalized(fn.first())
		var errOurs, errPaired, errOwn []float64
		var paired, own float64 // Optuna's seconds
		for _, seed := range knownSeeds {
			name := fn.name + "/" + strconv.FormatUint(seed, 10)
			o, ok := opt[name]
			if !ok || o.Paired == nil {
				t.Fatalf("Optuna gave no result for %s", name)
			}
			paired += o.PairedSeconds
			own += o.Seconds
			got, pi, oi := ours[name], vec(o.Paired, fn.dim), vec(o.Importances, fn.dim)
			errOurs = append(errOurs, maxError(got, want))
			errPaired = append(errPaired, maxError(pi, want))
			errOwn = append(errOwn, maxError(oi, want))
			t.Logf("%s: retune %.3f (max error %.3f), Optuna on retune's bootstrap %.3f (max error %.3f), Optuna's own bootstrap %.3f (max error %.3f)",
				name, got, errOurs[len(errOurs)-1], pi, errPaired[len(errPaired)-1], oi, errOwn[len(errOwn)-1])
		}
		r, p, o := median(errOurs), median(errPaired), median(errOwn)
		if s0 := median(streamErr[fn.name][0]); math.Abs(s0-r) > 1e-12 {
			t.Fatalf("%s: stream 0 gives median max error %v, FANOVA %v", fn.name, s0, r)
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, e := range streamErr[fn.name] {
			m := median(e)
			lo, hi = min(lo, m), max(hi, m)
		}
		spread := hi - lo
		k := float64(len(knownSeeds))
		t.Logf("%s at %d trials: median max error retune %.5f, Optuna on retune's bootstrap %.5f (%.1f s per data set); tie-breaking alone moves retune's over %.5f to %.5f",
			fn.name, n, r, p, paired/k, lo, hi)
		t.Logf("%s at %d trials: median max error of Optuna's evaluator with its own bootstrap %.5f (%.1f s per data set; not checked)", fn.name, n, o, own/k)
		if r > p+spread {
			t.Errorf("%s at %d trials: retune's median max error %.5f exceeds that of Optuna on the same bootstrap samples, %.5f, by more than tie-breaking alone moves it (%.5f)", fn.name, n, r, p, spread)
		}
	}
}
