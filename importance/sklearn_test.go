package importance

import (
	"cmp"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/a6b40afc/retune"
)

// sklearnStudy is testdata/sklearn-100.json: the 100 trials of a run of
// examples/sklearn/study.yaml (budget.trials raised to 100), exported with retune export and
// cut down to each trial's params (in the order of Params) and objective value.
type sklearnStudy struct {
	Study     string        `json:"study"`
	Direction string        `json:"direction"`
	Params    []optunaParam `json:"params"`
	Trials    []struct {
		Number int       `json:"number"`
		Params []float64 `json:"params"`
		Value  float64   `json:"value"`
	} `json:"trials"`
}

// sklearnSeed is the forests' seed on both sides: the study's own.
const sklearnSeed = 1

// sklearnThreshold is the importance above which the two rankings must agree.
const sklearnThreshold = 0.05

func loadSklearnStudy(t *testing.T) sklearnStudy {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sklearn-100.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s sklearnStudy
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Trials) != 100 || len(s.Params) != 4 {
		t.Fatalf("testdata/sklearn-100.json: %d trials of %d params, want 100 of 4", len(s.Trials), len(s.Params))
	}
	return s
}

// frozenTrials converts the fixture to COMPLETE search trials.
func (s sklearnStudy) frozenTrials(t *testing.T) []retune.FrozenTrial {
	t.Helper()
	dists := make(map[string]retune.Distribution, len(s.Params))
	for _, p := range s.Params {
		switch p.Type {
		case "int":
			dists[p.Name] = retune.IntDistribution{Low: int64(p.Low), High: int64(p.High), Log: p.Log, Step: int64(p.Step)}
		case "float", "":
			dists[p.Name] = retune.FloatDistribution{Low: p.Low, High: p.High, Log: p.Log, Step: p.Step}
		default:
			t.Fatalf("param %s: unknown type %q", p.Name, p.Type)
		}
	}
	ts := make([]retune.FrozenTrial, len(s.Trials))
	for k, tr := range s.Trials {
		ft := retune.FrozenTrial{Number: tr.Number, Kind: retune.KindSearch, State: retune.TrialComplete, Values: []float64{tr.Value},
			RetryOf: -1, Params: map[string]any{}, Distributions: dists}
		for i, p := range s.Params {
			v := any(tr.Params[i])
			if p.Type == "int" {
				v = int64(math.Round(tr.Params[i]))
			}
			if !dists[p.Name].Contains(v) {
				t.Fatalf("trial %d: %s=%v outside %v", tr.Number, p.Name, v, dists[p.Name])
			}
			ft.Params[p.Name] = v
		}
		ts[k] = ft
	}
	return ts
}

func (s sklearnStudy) fanova(t *testing.T, workers int) Result {
	t.Helper()
	r, err := FANOVA(context.Background(), s.frozenTrials(t), FANOVAOptions{Seed: sklearnSeed, Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rankedParam is a param's normalized importance.
type rankedParam struct {
	Name       string
	Importance float64
}

// ranking returns the params with importance above sklearnThreshold, most important first.
func ranking(imp map[string]float64) []string {
	var ps []rankedParam
	for n, v := range imp {
		if v > sklearnThreshold {
			ps = append(ps, rankedParam{n, v})
		}
	}
	slices.SortFunc(ps, func(a, b rankedParam) int {
		if c := cmp.Compare(b.Importance, a.Importance); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// TestFANOVASklearnStudy checks FANOVA on a real study's trials (testdata/sklearn-100.json):
// all 100 are used, the result is the same whatever the number of workers and from run to
// run, and the importances sum to 1.
func TestFANOVASklearnStudy(t *testing.T) {
	s := loadSklearnStudy(t)
	r := s.fanova(t, 1)
	if r.Used != 100 || len(r.Params) != len(s.Params) {
		t.Fatalf("used %d trials and %d params, want 100 and %d", r.Used, len(r.Params), len(s.Params))
	}
	var sum float64
	for _, p := range r.Params {
		sum += p.Importance
		if p.Importance < 0 || p.Raw < 0 || p.Raw > 1 {
			t.Errorf("%s: importance %v, raw %v: want both in [0, 1]", p.Name, p.Importance, p.Raw)
		}
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("importances sum to %v, want 1", sum)
	}
	for _, w := range []int{1, 4} {
		if again := s.fanova(t, w); !reflect.DeepEqual(again, r) {
			t.Errorf("with %d workers: %+v, first run %+v", w, again.Params, r.Params)
		}
	}
}

// TestFANOVAAgreesOnSklearnStudy compares FANOVA with Optuna 3.1's FanovaImportanceEvaluator
// (its defaults, the same seed) on a real study: the 100 trials of the sklearn example
// (testdata/sklearn-100.json, a TPE study of a HistGradientBoostingClassifier on digits),
// given to Optuna with the study's own distributions (learning_rate log-uniform float, the
// others ints, max_iter with step 5). The params with importance above 0.05 must be the same,
// in the same order. The two do not fit the same space: retune fits learning_rate on the log
// scale and decomposes over the unit space, Optuna on its raw scale, so only the ranking is
// compared; the test logs both sets of importances. At seed 1 only learning_rate is above
// 0.05 on either side (retune 0.926, Optuna 0.942); below it the two order max_depth and
// max_iter differently (retune 0.042 and 0.027, Optuna 0.019 and 0.036; max_leaf_nodes 0.006
// and 0.004), which the test does not check.
//
// Like TestFANOVAAgainstOptuna it runs only when asked for:
// RETUNE_TEST_OPTUNA=1 go test ./importance -run AgreesOnSklearn.
func TestFANOVAAgreesOnSklearnStudy(t *testing.T) {
	if os.Getenv("RETUNE_TEST_OPTUNA") == "" || testing.Short() {
		t.Skip("the comparison with Optuna 3.1 runs Python: run it with RETUNE_TEST_OPTUNA=1")
	}
	if err := exec.Command(python, "-c", "import optuna, sklearn").Run(); err != nil {
		t.Skipf("%s cannot import optuna and sklearn (%v): install Debian's python3-optuna and python3-sklearn to compare with Optuna 3.1", python, err)
	}
	s := loadSklearnStudy(t)
	ds := optunaDataset{Name: s.Study, Seed: sklearnSeed, Params: s.Params}
	for _, tr := range s.Trials {
		ds.X = append(ds.X, tr.Params)
		ds.Y = append(ds.Y, tr.Value)
	}
	o, ok := runOptuna(t, []optunaDataset{ds})[s.Study]
	if !ok {
		t.Fatalf("Optuna gave no result for %s", s.Study)
	}
	ours := make(map[string]float64)
	for _, p := range s.fanova(t, 0).Params {
		ours[p.Name] = p.Importance
	}
	for _, p := range s.Params {
		t.Logf("%-15s retune %.4f  Optuna %.4f", p.Name, ours[p.Name], o.Importances[p.Name])
	}
	r, want := ranking(ours), ranking(o.Importances)
	t.Logf("above %.2f: retune %v, Optuna %v (Optuna's fANOVA: %.1f s)", sklearnThreshold, r, want, o.Seconds)
	if !slices.Equal(r, want) {
		t.Errorf("params with importance above %.2f: retune ranks %v, Optuna %v", sklearnThreshold, r, want)
	}
}
