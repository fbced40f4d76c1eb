package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// A run with a retrain section decides at its end; promotion, manual champions, a
// confirmed decision against a champion and a lost compare-and-set, through the CLI.
func TestRetrainFlow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	retrainYAML := `model: m
params:
  x: {type: float, low: 0, high: 1}
seed: 4
budget: {trials: 6}
retrain:
  min_improvement: 0.001
  confirm: {repeats: 3}
`
	a := writeStudy(t, dir, "a.yaml", "a", nil, retrainYAML)
	r := cli(t, nil, "run", a, "--db", db)
	if r.code != ExitOK || !strings.Contains(r.stdout, "decision 1 for model m") || !strings.Contains(r.stdout, "RETRAINING REQUIRED") {
		t.Fatalf("first run: %v", r)
	}
	if r := cli(t, nil, "champion", "promote", "m", "--decision", "1", "--db", db); r.code != ExitOK || !strings.Contains(r.stdout, "version 1") {
		t.Fatalf("promote: %v", r)
	}
	if r := cli(t, nil, "champion", "promote", "m", "--decision", "1", "--db", db); r.code != ExitConflict || !strings.Contains(r.stderr, "another promotion came first") {
		t.Errorf("second promotion of decision 1: %v, want exit %d", r, ExitConflict)
	}
	// A worse champion set by hand with its params alone (x = 0.9; confirmation repeats
	// measure it): the next study beats it, confirmed.
	if r := cli(t, nil, "champion", "set", "m", "--param", "x=0.9", "--db", db); r.code != ExitOK || !strings.Contains(r.stdout, "version 2 (manual)") {
		t.Fatalf("champion set: %v", r)
	}
	b := writeStudy(t, dir, "b.yaml", "b", nil, retrainYAML)
	r = cli(t, nil, "run", b, "--db", db)
	if r.code != ExitOK || !strings.Contains(r.stdout, "against champion version 2: RETRAINING REQUIRED") || !strings.Contains(r.stdout, "confirmed: the 95% lower bound") {
		t.Fatalf("second run: %v", r)
	}
	confirms := 0
	for _, tr := range trials(t, db, "b") {
		if tr.Kind == "confirm" {
			confirms++
			if tr.State != "COMPLETE" {
				t.Errorf("confirmation trial %d is %s: %s", tr.Number, tr.State, tr.Reason)
			}
		}
	}
	if confirms != 6 {
		t.Errorf("%d confirmation trials, want 3 repeats of the candidate and of the champion", confirms)
	}
	var ds []map[string]any
	if err := json.Unmarshal([]byte(mustCLI(t, "decisions", "list", "m", "--json", "--db", db)), &ds); err != nil || len(ds) != 2 {
		t.Fatalf("decisions list: %v, %v", ds, err)
	}
	ev := ds[0]["evidence"].(map[string]any)
	if ds[0]["improved"] != true || ev["method"] != "paired" || ev["analysis"] != "both" || ev["repeats"] != float64(3) {
		t.Errorf("newest decision = %v", ds[0])
	}
	if r := cli(t, nil, "champion", "promote", "m", "--decision", "2", "--value", "0.02", "--notify", "hook,audit", "--notify", "bus", "--db", db); r.code != ExitOK || !strings.Contains(r.stdout, "version 3") {
		t.Fatalf("promote decision 2: %v", r)
	}
	var evs []struct {
		Type   string
		Notify []string
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "events", "list", "--limit", "1", "--json", "--db", db)), &evs); err != nil ||
		len(evs) != 1 || evs[0].Type != "dev.retune.champion.promoted.v1" || strings.Join(evs[0].Notify, " ") != "hook audit bus" {
		t.Errorf("the promotion's event = %+v, %v, want it for hook, audit and bus (--notify, comma-separated and repeated)", evs, err)
	}
	hist := mustCLI(t, "champion", "history", "m", "--db", db)
	if strings.Count(hist, "\n") != 4 || !strings.Contains(hist, "manual") || !strings.Contains(hist, "trial") {
		t.Errorf("history:\n%s", hist)
	}
	var champ map[string]any
	if err := json.Unmarshal([]byte(mustCLI(t, "champion", "show", "m", "--json", "--db", db)), &champ); err != nil || champ["version"] != float64(3) || champ["values"].([]any)[0] != 0.02 {
		t.Errorf("champion show: %v, %v", champ, err)
	}
	for _, bad := range [][]string{
		{"champion", "show", "nobody"},
		{"decisions", "show", "99"},
	} {
		if r := cli(t, nil, append(bad, "--db", db)...); r.code != ExitNotFound {
			t.Errorf("%v: %v, want exit %d", bad, r, ExitNotFound)
		}
	}
	for _, bad := range [][]string{
		{"champion", "promote", "m"},
		{"champion", "set", "m"},
		{"champion", "crown", "m"},
		{"decisions", "show", "x1"},
	} {
		if r := cli(t, nil, append(bad, "--db", db)...); r.code != ExitUsage {
			t.Errorf("%v: %v, want exit %d", bad, r, ExitUsage)
		}
	}
}
