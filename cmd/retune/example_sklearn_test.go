package main

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestSklearnExample runs examples/sklearn end to end with Debian's Python and scikit-learn.
func TestSklearnExample(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 8 Python trainers; skipped with -short")
	}
	if out, err := exec.Command("/usr/bin/python3", "-c", "import sklearn").CombinedOutput(); err != nil {
		t.Skipf("/usr/bin/python3 cannot import sklearn (apt-get install python3-sklearn): %v\n%s", err, out)
	}
	t.Parallel()
	file, err := filepath.Abs("../../examples/sklearn/study.yaml")
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "r.db")
	if r := cli(t, nil, "run", file, "--db", db); r.code != ExitOK {
		t.Fatalf("run: %v", r)
	}
	ts := trials(t, db, "digits-hgb")
	if len(ts) != 8 {
		t.Fatalf("%d trials, want 8 (the budget)", len(ts))
	}
	for _, tr := range ts {
		if tr.State != "COMPLETE" {
			t.Errorf("trial %d: %s %q", tr.Number, tr.State, tr.Reason)
			continue
		}
		acc := float64(tr.Values[0])
		if acc < 0.5 || acc > 1 {
			t.Errorf("trial %d: accuracy %v, want it in [0.5, 1] on digits", tr.Number, acc)
		}
		if fs, ok := tr.Metrics["fit_seconds"]; !ok || fs <= 0 {
			t.Errorf("trial %d: fit_seconds %v (present %v), want > 0", tr.Number, fs, ok)
		}
		// A step line every 5 boosting iterations, the last one at max_iter with the final accuracy.
		iters := int(num(t, tr.Params["max_iter"]))
		if len(tr.Intermediate) != iters/5 {
			t.Errorf("trial %d: %d intermediate values, want %d", tr.Number, len(tr.Intermediate), iters/5)
		}
		if last := tr.Intermediate[strconv.Itoa(iters)]; len(last) != 1 || float64(last[0]) != acc {
			t.Errorf("trial %d: accuracy at step %d = %v, want the final %v", tr.Number, iters, last, acc)
		}
	}
}
