package importance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
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
	Name        string             `json:"name"`
	Importances map[string]float64 `json:"importances"`
	Seconds     float64            `json:"seconds"`
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

// TestFANOVAAgainstOptuna compares FANOVA with Optuna 3.1's FanovaImportanceEvaluator (its
// defaults, the same seed) on the same data: each known-answer function at 200 uniform trials
// (RETUNE_TEST_OPTUNA_TRIALS changes it; 1,000 takes Optuna about two minutes per data set)
// for the seeds 1…10. Both importances are normalized, so both are compared with the
// normalized first-order indices. The aggregate, per function, is the median over the seeds
// of the largest error over the params; retune's must be no larger than Optuna's. Both
// implement the same estimator and the forests' randomness alone moves one seed's error by a
// few hundredths either way, so the margins are thin (at 200 trials: Ishigami 0.193 against
// 0.199, g-function 0.1430 against 0.1433, linear 0.061 against 0.062): a change to how the
// trees draw their randomness can tip one, which would then call for a look at the per-seed
// errors the test logs, not for a new seed. At 1,000 trials one is tipped: Ishigami 0.0663
// against Optuna's 0.0645, so the test fails there (g-function 0.0552 against 0.0557, linear
// 0.0254 against 0.0258). The gap is the bootstrap draws, not the estimator:
// TestForestMatchesSklearn grows retune's trees and scikit-learn's on the same bootstrap
// weights and finds the same trees (up to ties between features that cut a node's samples
// alike), and retune's decomposition of scikit-learn's trees equal to Optuna's. Grown that way
// on these 10 Ishigami data sets (64 trees each), the forests' median max errors are 0.0646
// (retune's trees) and 0.0652 (scikit-learn's). With the forest seeds moved by 1000, 2000 and
// 3000, Optuna's Ishigami median is 0.0640, 0.0607 and 0.0644 and retune's 0.0578, 0.0650 and
// 0.0636; over 30 such shifts retune's ranges from 0.058 to 0.069 (median 0.064).
//
// It needs python3-optuna and python3-sklearn from Debian for /usr/bin/python3, and takes a
// few minutes (Optuna's fANOVA is pure Python), so it runs only when asked for:
// RETUNE_TEST_OPTUNA=1 go test ./importance -run AgainstOptuna.
func TestFANOVAAgainstOptuna(t *testing.T) {
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
	for _, fn := range testFunctions {
		for _, seed := range knownSeeds {
			x, y := fn.sample(n, seed)
			ds := optunaDataset{Name: fn.name + "/" + strconv.FormatUint(seed, 10), Seed: seed, X: x, Y: y}
			for i := range fn.dim {
				ds.Params = append(ds.Params, optunaParam{Name: paramName(i), Low: fn.low, High: fn.high})
			}
			sets = append(sets, ds)
		}
	}
	opt := runOptuna(t, sets)
	for _, fn := range testFunctions {
		want := normalized(fn.first())
		var ours, theirs []float64
		var seconds float64
		for _, seed := range knownSeeds {
			name := fn.name + "/" + strconv.FormatUint(seed, 10)
			o, ok := opt[name]
			if !ok {
				t.Fatalf("Optuna gave no result for %s", name)
			}
			seconds += o.Seconds
			oi := make([]float64, fn.dim)
			for i := range oi {
				oi[i] = o.Importances[paramName(i)]
			}
			got := importances(t, fanovaKnown(t, fn, n, seed), fn.dim, false)
			ours = append(ours, maxError(got, want))
			theirs = append(theirs, maxError(oi, want))
			t.Logf("%s: retune %.3f (max error %.3f), Optuna %.3f (max error %.3f)", name, got, ours[len(ours)-1], oi, theirs[len(theirs)-1])
		}
		r, o := median(ours), median(theirs)
		t.Logf("%s at %d trials: median max error retune %.4f, Optuna %.4f (Optuna's fANOVA: %.1f s per data set)", fn.name, n, r, o, seconds/float64(len(knownSeeds)))
		if r > o {
			t.Errorf("%s at %d trials: retune's median max error %.4f exceeds Optuna's %.4f", fn.name, n, r, o)
		}
	}
}
