package main

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/storage"
)

// importanceStudy creates, in a SQLite file, a study "imp" with two objectives run by random
// search over 200 trials: loss (minimized) depends on x and, four times less in variance, on
// lr's log scale; speed (maximized) only on the categorical batch. depth exists only with
// batch "128"; every tenth trial fails.
func importanceStudy(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	db := filepath.Join(t.TempDir(), "imp.db")
	store, err := storage.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	study, err := retune.NewStudy(ctx, retune.Config{Name: "imp", Storage: store, Seed: 3,
		Directions: []retune.Direction{retune.Minimize, retune.Maximize}, Metrics: []string{"loss", "speed"}})
	if err != nil {
		t.Fatal(err)
	}
	speed := map[string]float64{"32": 1, "64": 2, "128": 8}
	_, err = study.OptimizeMulti(ctx, func(ctx context.Context, tr *retune.Trial) ([]float64, error) {
		x := tr.Float("x", 0, 1)
		lr := tr.Float("lr", 1e-5, 1, retune.Log)
		batch := tr.Categorical("batch", "32", "64", "128")
		if batch == "128" {
			tr.Int("depth", 1, 4)
		}
		if tr.Number()%10 == 9 {
			return nil, errors.New("diverged")
		}
		return []float64{2*x + math.Log10(lr)/5, speed[batch]}, nil
	}, retune.OptimizeOptions{Trials: 200})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestImportance(t *testing.T) {
	t.Parallel()
	db := importanceStudy(t)

	out := mustCLI(t, "importance", "imp", "--db", db, "--objective", "loss")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || lines[0] != "study imp: fANOVA importance for loss (180 trials used, 20 skipped)" ||
		!strings.HasPrefix(lines[1], "x ") || !strings.HasPrefix(lines[2], "lr ") || !strings.Contains(lines[1], strings.Repeat("#", 30)) {
		t.Errorf("importance --objective loss:\n%s", out)
	}
	if !strings.Contains(out, "(in ") {
		t.Errorf("importance does not mark the conditional param depth:\n%s", out)
	}

	var res importanceJSON
	decode := func(args ...string) importanceJSON {
		t.Helper()
		var r importanceJSON
		if err := json.Unmarshal([]byte(mustCLI(t, append([]string{"importance", "imp", "--db", db, "--json"}, args...)...)), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	res = decode("--objective", "0")
	if res.Study != "imp" || res.ObjectiveName != "loss" || res.Method != "fanova" || res.Objective != 0 || res.Seed != 3 ||
		res.Used != 180 || res.Skipped != 20 || res.NotComplete != 20 || len(res.Params) != 4 {
		t.Fatalf("importance --json = %+v", res)
	}
	if p := res.Params[0]; p.Name != "x" || math.Abs(p.Importance-0.8) > 0.1 || p.Trials != 180 {
		t.Errorf("first param %+v, want x with importance 0.8 ± 0.1 over 180 trials", p)
	}

	// The second objective, by name, with PED-ANOVA: only batch matters for speed.
	res = decode("--objective", "speed", "--method", "ped-anova")
	if res.Method != "ped-anova" || res.Objective != 1 || res.Params[0].Name != "batch" || res.Params[0].Importance < 0.5 {
		t.Errorf("ped-anova for speed: %+v, want batch first", res)
	}

	res = decode("--objective", "loss", "--interactions", "--seed", "9")
	if res.Seed != 9 || len(res.Interactions) == 0 {
		t.Errorf("--interactions --seed 9: %+v, want seed 9 and interactions", res)
	}
	if out := mustCLI(t, "importance", "imp", "--db", db, "--objective", "loss", "--interactions"); !strings.Contains(out, "interactions (share of variance beyond the main effects):") {
		t.Errorf("--interactions prints no interactions:\n%s", out)
	}
}

func TestImportanceErrors(t *testing.T) {
	t.Parallel()
	db := importanceStudy(t)
	empty := filepath.Join(t.TempDir(), "empty.db")
	store, err := storage.Open(t.Context(), empty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := retune.NewStudy(t.Context(), retune.Config{Name: "none", Storage: store}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"several objectives", []string{"importance", "imp", "--db", db}, ExitUsage, "has 2 objectives (loss, speed): choose one with --objective"},
		{"unknown objective", []string{"importance", "imp", "--db", db, "--objective", "acc"}, ExitUsage, `no objective "acc"`},
		{"index out of range", []string{"importance", "imp", "--db", db, "--objective", "2"}, ExitUsage, `no objective "2"`},
		{"unknown method", []string{"importance", "imp", "--db", db, "--method", "shap"}, ExitUsage, "want fanova or ped-anova"},
		{"bad quantile", []string{"importance", "imp", "--db", db, "--objective", "loss", "--method", "ped-anova", "--quantile", "2"}, ExitUsage, "0 < target < region <= 1"},
		{"no study", []string{"importance", "nope", "--db", db}, ExitNotFound, `no study "nope"`},
		{"no trials", []string{"importance", "none", "--db", empty}, ExitNotFound, "importance needs at least 2"},
		{"no argument", []string{"importance", "--db", db}, ExitUsage, "want 1 argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
				t.Errorf("retune %s = %v, want exit %d and %q", strings.Join(tt.args, " "), r, tt.code, tt.msg)
			}
		})
	}
}
