package storagetest

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
)

// testConstraints: a study's constraints and its trials' constraint values survive the
// storage (NaN for a metric not reported included), Best skips infeasible trials in a
// handle that reads them back, and a handle opened without constraints keeps the stored
// ones.
func testConstraints(t *testing.T, open Opener) {
	ctx := ctxT(t)
	store := open(t)
	cfg := retune.Config{Name: "constrained", Storage: store, Seed: 3,
		Constraints: []retune.Constraint{retune.AtMost("memory_mb", 1000), retune.AtLeast("acc", 0.5)}}
	s, err := retune.NewStudy(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tell := func(value float64, metrics map[string]float64, own ...float64) {
		t.Helper()
		tr, err := s.Ask(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range metrics {
			tr.SetMetric(k, v)
		}
		if own != nil {
			tr.SetConstraints(own...)
		}
		if err := s.Tell(ctx, tr, value); err != nil {
			t.Fatal(err)
		}
	}
	tell(1, map[string]float64{"memory_mb": 1500, "acc": 0.9})        // 0: too much memory
	tell(2, map[string]float64{"acc": 0.9})                           // 1: memory unknown
	tell(5, map[string]float64{"memory_mb": 900, "acc": 0.7})         // 2: feasible
	tell(3, map[string]float64{"memory_mb": 900, "acc": 0.7}, 0.5)    // 3: its own rule broken
	tell(4, map[string]float64{"memory_mb": 1000, "acc": 0.5}, -1, 0) // 4: feasible, on the bounds

	other, err := retune.NewStudy(ctx, retune.Config{Name: "constrained", Storage: open(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := other.Constraints(); len(got) != 2 || got[0].String() != "memory_mb <= 1000" || got[1].String() != "0.5 <= acc" {
		t.Fatalf("reopened study's constraints = %v, want the stored two", got)
	}
	best, err := other.Best(ctx)
	if err != nil || best.Number != 4 {
		t.Fatalf("Best = trial %d, %v; want trial 4 (the best feasible)", best.Number, err)
	}
	ts, err := other.Trials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	minAcc := 0.5 // typed: expected values computed in float64, as the study computes them
	wantFeasible := []bool{false, false, true, false, true}
	for i, ft := range ts {
		if ft.Feasible() != wantFeasible[i] {
			t.Errorf("trial %d: Feasible = %v, want %v (constraints %v)", i, ft.Feasible(), wantFeasible[i], ft.Constraints())
		}
	}
	if got := ts[0].Constraints(); !slices.Equal(got, []float64{1500 - 1000, minAcc - 0.9}) {
		t.Errorf("trial 0 constraints = %v, want [500 -0.4]", got)
	}
	if got := ts[1].Constraints(); len(got) != 2 || !math.IsNaN(got[0]) || ts[1].Violation() != math.Inf(1) {
		t.Errorf("trial 1 (no memory metric) constraints = %v, violation %v; want [NaN …], +Inf", got, ts[1].Violation())
	}
	if got := ts[3].Constraints(); !slices.Equal(got, []float64{0.5, 900 - 1000, minAcc - 0.7}) || ts[3].Violation() != 0.5 {
		t.Errorf("trial 3 constraints = %v, violation %v; want its own value first: [0.5 -100 -0.2], 0.5", got, ts[3].Violation())
	}
	if got := retune.BestOf(other.Directions(), ts); len(got) != 1 || got[0].Number != 4 {
		t.Errorf("BestOf = %v, want trial 4", got)
	}

	cfg.Constraints = []retune.Constraint{retune.AtMost("memory_mb", 2000)}
	if _, err := retune.NewStudy(ctx, cfg); !errors.Is(err, retune.ErrConflict) || !strings.Contains(err.Error(), "constraints") {
		t.Fatalf("resume with other constraints: %v, want a conflict naming the constraints", err)
	}
	cfg.Replace = true
	changed, err := retune.NewStudy(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := changed.Constraints(); len(got) != 1 || got[0].String() != "memory_mb <= 2000" {
		t.Fatalf("replaced constraints = %v", got)
	}
	changes, _ := changed.Record().SystemAttrs["changes"].([]any)
	if len(changes) != 1 || !strings.Contains(strings.ToLower(changeWhat(changes[0])), "constraints") {
		t.Fatalf("changes = %v, want the constraints change recorded", changes)
	}
}

func changeWhat(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["what"].(string)
	return s
}

// testConstraintsSummary: the studies listing's best value is the best feasible one.
func testConstraintsSummary(t *testing.T, open Opener) {
	ctx := ctxT(t)
	store := open(t)
	s, err := retune.NewStudy(ctx, retune.Config{Name: "summary", Storage: store, Seed: 3,
		Constraints: []retune.Constraint{retune.AtMost("memory_mb", 1000)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		value, mem float64
		own        []float64
	}{{1, 2000, nil}, {2, math.NaN(), nil}, {5, 10, nil}, {4, 10, []float64{math.Inf(-1)}}, {0.5, 10, []float64{math.Inf(1)}}} {
		tr, err := s.Ask(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !math.IsNaN(c.mem) {
			tr.SetMetric("memory_mb", c.mem)
		}
		if c.own != nil {
			tr.SetConstraints(c.own...)
		}
		if err := s.Tell(ctx, tr, c.value); err != nil {
			t.Fatal(err)
		}
	}
	sums, err := store.Studies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(sums, func(s retune.StudySummary) bool { return s.Name == "summary" })
	if i < 0 {
		t.Fatalf("Studies() = %v, want study summary", sums)
	}
	if sums[i].Best == nil || *sums[i].Best != 4 {
		t.Fatalf("Studies() best = %v, want 4 (trials 0, 1 and 4 are better but infeasible; trial 3's -Inf constraint is satisfied)", sums[i].Best)
	}
}
