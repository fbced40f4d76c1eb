package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/export"
	"github.com/a6b40afc/retune/sampler/random"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func study(t *testing.T) (retune.StudyRecord, []retune.FrozenTrial) {
	t.Helper()
	ctx := context.Background()
	s, err := retune.NewStudy(ctx, retune.Config{Name: "exp", Sampler: random.New(), Seed: 4, Metrics: []string{"loss"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
		x := tr.Float("x", -1, 1)
		tr.Categorical("kind", "a", "b, with comma")
		tr.SetUserAttr("note", map[string]any{"n": tr.Number()})
		switch tr.Number() {
		case 1:
			return math.Inf(1), nil
		case 2:
			return 0, errWrap("diverged \"badly\"")
		}
		return x * x, nil
	}, retune.OptimizeOptions{Trials: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, map[string]any{"x": 0.5, "kind": "a"}); err != nil {
		t.Fatal(err)
	}
	ts, err := s.Trials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s.Record(), ts
}

type errWrap string

func (e errWrap) Error() string { return string(e) }

var (
	times        = regexp.MustCompile(`\d{4}-\d\d-\d\dT[0-9:.]+Z`)
	jsonDuration = regexp.MustCompile(`"duration_s": [0-9.e+-]+`)
	csvDuration  = regexp.MustCompile(`(?m),\d+\.\d{3}$`)
)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = times.ReplaceAll(got, []byte("TIME"))
	got = jsonDuration.ReplaceAll(got, []byte(`"duration_s": SECONDS`))
	got = csvDuration.ReplaceAll(got, []byte(",SECONDS"))
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestCSV(t *testing.T) {
	rec, ts := study(t)
	var b bytes.Buffer
	if err := export.CSV(&b, rec, ts); err != nil {
		t.Fatal(err)
	}
	golden(t, "trials.csv.golden", b.Bytes())
}

func TestJSON(t *testing.T) {
	rec, ts := study(t)
	var b bytes.Buffer
	if err := export.JSON(&b, rec, ts); err != nil {
		t.Fatal(err)
	}
	golden(t, "trials.json.golden", b.Bytes())
	var doc export.Document
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("export is not valid JSON: %v", err)
	}
	if len(doc.Trials) != 5 || !math.IsInf(float64(doc.Trials[1].Values[0]), 1) || doc.Trials[4].State != "WAITING" || fmt.Sprint(doc.Trials[4].Params["x"]) != "0.5" {
		t.Errorf("decoded export = %+v, want 5 trials, +Inf for trial 1, trial 4 WAITING with x=0.5", doc)
	}
}

// TestStepsInOrder: intermediate values come out in step order, not in the string order
// JSON object keys would sort in; durations are end minus start.
func TestStepsInOrder(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := retune.FrozenTrial{State: retune.TrialComplete, Start: start, End: start.Add(1500 * time.Millisecond),
		Intermediate: map[int64][]float64{10: {0.1}, 2: {0.5}, 1: {0.9}, 100: {0.01}}}
	b, err := json.Marshal(export.ToJSON(tr))
	if err != nil {
		t.Fatal(err)
	}
	if want := `"intermediate":{"1":[0.9],"2":[0.5],"10":[0.1],"100":[0.01]}`; !strings.Contains(string(b), want) {
		t.Errorf("ToJSON = %s, want %s", b, want)
	}
	if !strings.Contains(string(b), `"duration_s":1.5`) {
		t.Errorf("ToJSON = %s, want duration_s 1.5", b)
	}
	var back export.Trial
	if err := json.Unmarshal(b, &back); err != nil || len(back.Intermediate["10"]) != 1 {
		t.Errorf("read back: %+v, %v", back.Intermediate, err)
	}
}

// TestConstraints: a constrained study's export says which COMPLETE trials are feasible,
// by how much the others violate, and what the study's constraints are.
func TestConstraints(t *testing.T) {
	ctx := context.Background()
	s, err := retune.NewStudy(ctx, retune.Config{Name: "c", Sampler: random.New(), Seed: 4,
		Constraints: []retune.Constraint{retune.AtMost("memory_mb", 100)}})
	if err != nil {
		t.Fatal(err)
	}
	for i, mem := range []float64{50, 150, math.NaN()} {
		tr, _ := s.Ask(ctx)
		if !math.IsNaN(mem) {
			tr.SetMetric("memory_mb", mem)
		}
		if err := s.Tell(ctx, tr, float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	tr, _ := s.Ask(ctx)
	if err := s.TellState(ctx, tr, retune.TrialFail, errWrap("crashed")); err != nil {
		t.Fatal(err)
	}
	ts, err := s.Trials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var c, j bytes.Buffer
	if err := export.CSV(&c, s.Record(), ts); err != nil {
		t.Fatal(err)
	}
	if err := export.JSON(&j, s.Record(), ts); err != nil {
		t.Fatal(err)
	}
	golden(t, "constrained.csv.golden", c.Bytes())
	golden(t, "constrained.json.golden", j.Bytes())
}
