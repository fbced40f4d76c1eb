package storagetest

import (
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/a6b40afc/retune"
)

// testReportMany: a batch of steps is recorded as one report after another would be —
// a step given twice keeps its last values, earlier reports of its steps are replaced —
// and a stale epoch or an invalid step records none of it.
func testReportMany(t *testing.T, open Opener) {
	s := open(t)
	br, ok := s.(retune.BatchReporter)
	if !ok {
		t.Skip("the storage records one step per write (no retune.BatchReporter)")
	}
	ctx := ctxT(t)
	st := newStudy(t, s, "batch", nil)
	ft := create(t, s, st.ID, nil)
	r := ref(st.ID, ft)
	if err := s.Report(ctx, r, 2, []float64{9}); err != nil {
		t.Fatal(err)
	}
	steps := []retune.StepValues{{Step: 1, Values: []float64{0.5}}, {Step: 2, Values: []float64{math.NaN()}},
		{Step: 3, Values: []float64{math.Inf(1)}}, {Step: 2, Values: []float64{0.25}}, {Step: 1 << 40, Values: []float64{-1}}}
	if err := br.ReportMany(ctx, r, steps); err != nil {
		t.Fatalf("ReportMany error: %v", err)
	}
	want := map[int64][]float64{1: {0.5}, 2: {0.25}, 3: {math.Inf(1)}, 1 << 40: {-1}}
	if err := br.ReportMany(ctx, r, nil); err != nil {
		t.Errorf("ReportMany(no steps) error: %v", err)
	}
	stale := r
	stale.Epoch++
	if err := br.ReportMany(ctx, stale, []retune.StepValues{{Step: 7, Values: []float64{1}}}); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("ReportMany with a stale epoch: error = %v, want ErrConflict", err)
	}
	bad := []retune.StepValues{{Step: 8, Values: []float64{1}}, {Step: -1, Values: []float64{1}}}
	if err := br.ReportMany(ctx, r, bad); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("ReportMany with step -1: error = %v, want ErrInvalid", err)
	}
	if got := mustTrial(t, open(t), st.ID, ft.Number).Intermediate; !reflect.DeepEqual(got, want) {
		t.Errorf("Intermediate = %v, want %v", got, want)
	}

	many := make([]retune.StepValues, 5000)
	for i := range many {
		many[i] = retune.StepValues{Step: int64(100 + i), Values: []float64{float64(i)}}
		want[int64(100+i)] = []float64{float64(i)}
	}
	if err := br.ReportMany(ctx, r, many); err != nil {
		t.Fatalf("ReportMany(%d steps) error: %v", len(many), err)
	}
	done := complete(t, s, st.ID, ft, 1)
	if !reflect.DeepEqual(done.Intermediate, want) {
		t.Errorf("finished trial has %d steps, want the %d reported", len(done.Intermediate), len(want))
	}
	if err := br.ReportMany(ctx, r, steps); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("ReportMany after finish: error = %v, want ErrConflict", err)
	}
}
