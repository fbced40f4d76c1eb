package storagetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// expire lets trial ft's lease run out and fails it through ExpireLeases. The lease was
// given a millisecond; waiting for the stored expiry to pass by a margin avoids racing the
// database's clock.
func expire(t *testing.T, s retune.Storage, studyID int64, ft retune.FrozenTrial) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && !mustTrial(t, s, studyID, ft.Number).Lease.Expires.Before(time.Now().Add(-50*time.Millisecond)) {
		time.Sleep(20 * time.Millisecond)
	}
	if n, err := s.ExpireLeases(ctxT(t), studyID); err != nil || n < 1 {
		t.Fatalf("ExpireLeases = %d, %v, want trial %d expired", n, err, ft.Number)
	}
	if got := mustTrial(t, s, studyID, ft.Number); !got.ExpiredUnder(ft.Lease.Epoch) {
		t.Fatalf("trial %d after ExpireLeases: %v %q", ft.Number, got.State, got.Reason)
	}
}

func short(r *retune.CreateTrialRequest) { r.LeaseTTL = time.Millisecond }

func lateFinisher(t *testing.T, s retune.Storage) retune.LateFinisher {
	t.Helper()
	lf, ok := s.(retune.LateFinisher)
	if !ok {
		t.Fatalf("%T does not implement retune.LateFinisher", s)
	}
	return lf
}

// testLateRevive: a late tell whose re-run still waits revives the trial, takes its place
// in the budget again and cancels the re-run; told again, it changes nothing.
func testLateRevive(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	st := newStudy(t, s, "late-revive", func(r *retune.StudyRecord) { r.Budget = retune.Budget{Trials: 3, Retries: 1} })
	lf := lateFinisher(t, s)
	ft := create(t, s, st.ID, short)
	params := map[string]any{"x": 0.25}
	dists := map[string]retune.Distribution{"x": retune.FloatDistribution{Low: 0, High: 1}}
	if err := s.Update(ctx, retune.TrialUpdate{Ref: ref(st.ID, ft), Params: params, Distributions: dists}); err != nil {
		t.Fatal(err)
	}
	expire(t, s, st.ID, ft)
	_, cursor, err := s.FinishedSince(ctx, st.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	req := retune.FinishRequest{Ref: ref(st.ID, ft), State: retune.TrialComplete, Values: []float64{0.5}, Metrics: map[string]float64{"acc": 0.9}}
	if _, err := s.Finish(ctx, req); !errors.Is(err, retune.ErrConflict) {
		t.Fatalf("Finish after expiry: %v, want ErrConflict (FinishLate is the way in)", err)
	}
	got, err := lf.FinishLate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Number != ft.Number || got.State != retune.TrialComplete || got.Values[0] != 0.5 || !got.Late() || got.Metrics["acc"] != 0.9 || got.Params["x"] != 0.25 {
		t.Fatalf("revived trial = #%d %v %v late=%v metrics %v params %v, want #%d COMPLETE [0.5] late, acc 0.9, x 0.25",
			got.Number, got.State, got.Values, got.Late(), got.Metrics, got.Params, ft.Number)
	}
	if got.Interrupted() {
		t.Error("a revived trial reads as interrupted")
	}
	again, err := lf.FinishLate(ctx, req)
	if err != nil || again.Number != ft.Number || again.State != retune.TrialComplete {
		t.Errorf("the same late tell again = #%d %v, %v; want the revived trial", again.Number, again.State, err)
	}
	trials, err := s.Trials(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != 2 {
		t.Fatalf("%d trials, want the revived one and its cancelled re-run", len(trials))
	}
	retry := trials[1]
	if retry.RetryOf != ft.Number || retry.State != retune.TrialFail || !retry.Interrupted() || retry.Reason != retune.LateCancelReason(ft.Number) {
		t.Errorf("re-run = retry of %d, %v %q interrupted=%v; want a cancelled, interrupted FAIL %q",
			retry.RetryOf, retry.State, retry.Reason, retry.Interrupted(), retune.LateCancelReason(ft.Number))
	}
	if _, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h", LeaseTTL: time.Minute, ClaimOnly: true}); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("the cancelled re-run can still be claimed (claim error = %v)", err)
	}
	// The revived trial counts again: two more trials fill the budget of three.
	create(t, s, st.ID, nil)
	create(t, s, st.ID, nil)
	if _, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h", LeaseTTL: time.Minute}); !errors.Is(err, retune.ErrBudgetExhausted) {
		t.Errorf("a fourth trial in a budget of 3 with the revived one: error = %v, want ErrBudgetExhausted", err)
	}
	// A reader from the start sees the trial once, as it is now; one that read the expiry
	// sees it again.
	all, _, err := s.FinishedSince(ctx, st.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range all {
		if f.Number == ft.Number {
			seen++
			if f.State != retune.TrialComplete {
				t.Errorf("FinishedSince(0) gives trial %d as %v, want COMPLETE", f.Number, f.State)
			}
		}
	}
	if seen != 1 {
		t.Errorf("FinishedSince(0) gives the revived trial %d times, want once", seen)
	}
	news, _, err := s.FinishedSince(ctx, st.ID, cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(news) != 2 || news[0].Number != ft.Number || news[0].State != retune.TrialComplete || news[1].Number != retry.Number {
		t.Errorf("FinishedSince(after the expiry) = %v, want the revived trial, then its cancelled re-run", numbersStates(news))
	}
}

// testLateRecord: once the re-run started, or the budget was spent, a late result is a
// KindLate record outside the budget; told again, it is the same record.
func testLateRecord(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	lf := lateFinisher(t, s)

	t.Run("re-run started", func(t *testing.T) {
		st := newStudy(t, s, "late-started", func(r *retune.StudyRecord) { r.Budget = retune.Budget{Trials: 2, Retries: 1} })
		ft := create(t, s, st.ID, short)
		dists := map[string]retune.Distribution{"x": retune.FloatDistribution{Low: 0, High: 1}}
		if err := s.Update(ctx, retune.TrialUpdate{Ref: ref(st.ID, ft), Params: map[string]any{"x": 0.75}, Distributions: dists}); err != nil {
			t.Fatal(err)
		}
		expire(t, s, st.ID, ft)
		rerun := create(t, s, st.ID, nil)
		if rerun.RetryOf != ft.Number {
			t.Fatalf("claimed trial %d retries %d, want %d", rerun.Number, rerun.RetryOf, ft.Number)
		}
		req := retune.FinishRequest{Ref: ref(st.ID, ft), State: retune.TrialComplete, Values: []float64{0.125}, UserAttrs: map[string]any{"note": "late"}}
		rec, err := lf.FinishLate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		of, ok := rec.LateOf()
		if rec.Kind != retune.KindLate || !ok || of != ft.Number || rec.Number != rerun.Number+1 || rec.State != retune.TrialComplete ||
			rec.Values[0] != 0.125 || rec.Params["x"] != 0.75 || rec.UserAttrs["note"] != "late" {
			t.Fatalf("late record = #%d %v %v late_of %d (%v) values %v params %v user %v; want #%d late COMPLETE of trial %d, [0.125], x 0.75",
				rec.Number, rec.Kind, rec.State, of, ok, rec.Values, rec.Params, rec.UserAttrs, rerun.Number+1, ft.Number)
		}
		if got := mustTrial(t, s, st.ID, ft.Number); !got.ExpiredUnder(ft.Lease.Epoch) {
			t.Errorf("the late trial itself became %v %q, want it left FAIL (lease expired)", got.State, got.Reason)
		}
		if got := mustTrial(t, s, st.ID, rerun.Number); got.State != retune.TrialRunning {
			t.Errorf("the running re-run became %v", got.State)
		}
		again, err := lf.FinishLate(ctx, req)
		if err != nil || again.Number != rec.Number {
			t.Errorf("the same late tell again = #%d, %v; want record #%d", again.Number, err, rec.Number)
		}
		// The record is outside the budget: the re-run and one more fill the budget of 2.
		create(t, s, st.ID, nil)
		if _, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h", LeaseTTL: time.Minute}); !errors.Is(err, retune.ErrBudgetExhausted) {
			t.Errorf("a third trial in a budget of 2: error = %v, want ErrBudgetExhausted", err)
		}
		if _, err := s.Finish(ctx, retune.FinishRequest{Ref: ref(st.ID, rerun), State: retune.TrialComplete, Values: []float64{0.5}}); err != nil {
			t.Errorf("finishing the re-run: %v", err)
		}
	})

	t.Run("budget spent", func(t *testing.T) {
		st := newStudy(t, s, "late-full", func(r *retune.StudyRecord) { r.Budget = retune.Budget{Trials: 1} })
		ft := create(t, s, st.ID, short)
		if err := s.Report(ctx, ref(st.ID, ft), 3, []float64{0.4}); err != nil {
			t.Fatal(err)
		}
		expire(t, s, st.ID, ft)
		other := create(t, s, st.ID, nil) // takes the place the expiry gave back
		rec, err := lf.FinishLate(ctx, retune.FinishRequest{Ref: ref(st.ID, ft), State: retune.TrialPruned})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind != retune.KindLate || rec.State != retune.TrialPruned || len(rec.Values) != 1 || rec.Values[0] != 0.4 {
			t.Errorf("late PRUNED record = %v %v %v, want late PRUNED with the last intermediate values [0.4]", rec.Kind, rec.State, rec.Values)
		}
		if rec.Number != other.Number+1 {
			t.Errorf("record number %d, want %d (dense)", rec.Number, other.Number+1)
		}
	})
}

// testLateRefused: only a trial failed by ExpireLeases under the tell's epoch takes a
// late tell; an interrupted late tell changes nothing; late records are never asked.
func testLateRefused(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	lf := lateFinisher(t, s)
	st := newStudy(t, s, "late-refused", nil)
	running := create(t, s, st.ID, nil)
	done := complete(t, s, st.ID, create(t, s, st.ID, nil), 1)
	for name, r := range map[string]retune.TrialRef{
		"running":     ref(st.ID, running),
		"stale epoch": {StudyID: st.ID, Number: running.Number, Epoch: running.Lease.Epoch + 1},
		"completed":   ref(st.ID, done),
	} {
		if _, err := lf.FinishLate(ctx, retune.FinishRequest{Ref: r, State: retune.TrialComplete, Values: []float64{2}}); !errors.Is(err, retune.ErrConflict) {
			t.Errorf("FinishLate of a %s trial: %v, want ErrConflict", name, err)
		}
	}
	if _, err := lf.FinishLate(ctx, retune.FinishRequest{Ref: retune.TrialRef{StudyID: st.ID, Number: 99, Epoch: 1}, State: retune.TrialFail}); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("FinishLate of a missing trial: %v, want ErrNotFound", err)
	}
	if _, err := lf.FinishLate(ctx, retune.FinishRequest{Ref: ref(st.ID, running), State: retune.TrialComplete}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("FinishLate COMPLETE without values: %v, want ErrInvalid", err)
	}
	if mustTrial(t, s, st.ID, running.Number).State != retune.TrialRunning || mustTrial(t, s, st.ID, done.Number).Values[0] != 1 {
		t.Error("a refused late tell changed a trial")
	}

	gone := create(t, s, st.ID, short)
	expire(t, s, st.ID, gone)
	got, err := lf.FinishLate(ctx, retune.FinishRequest{Ref: ref(st.ID, gone), State: retune.TrialFail, Interrupted: true, Reason: "agent stopped"})
	if err != nil || !got.ExpiredUnder(gone.Lease.Epoch) {
		t.Errorf("an interrupted late tell = %v %q, %v; want the expired trial unchanged", got.State, got.Reason, err)
	}

	if _, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Kind: retune.KindLate, Holder: "h", LeaseTTL: time.Minute}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("CreateTrial of kind late: %v, want ErrInvalid", err)
	}
	if _, err := s.Enqueue(ctx, retune.EnqueueRequest{StudyID: st.ID, Kind: retune.KindLate, Params: []map[string]any{{"x": 1.0}}}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Enqueue of kind late: %v, want ErrInvalid", err)
	}
}

func numbersStates(ts []retune.FrozenTrial) []string {
	out := make([]string, len(ts))
	for i, ft := range ts {
		out[i] = fmt.Sprintf("#%d %v", ft.Number, ft.State)
	}
	return out
}

// testCreatedAsRead: the trial CreateTrial returns, new or claimed, is the trial a read
// returns (a storage may build a new trial's answer without reading it back).
func testCreatedAsRead(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	st := newStudy(t, s, "created", nil)
	if _, err := s.Enqueue(ctx, retune.EnqueueRequest{StudyID: st.ID, Params: []map[string]any{{"x": 0.5}}}); err != nil {
		t.Fatal(err)
	}
	claimed := create(t, s, st.ID, func(r *retune.CreateTrialRequest) { r.System = map[string]any{"who": "a"} })
	fresh := create(t, s, st.ID, func(r *retune.CreateTrialRequest) {
		r.System, r.Fixed = map[string]any{"who": "b", "n": 3}, map[string]any{"y": "z"}
	})
	for _, ft := range []retune.FrozenTrial{claimed, fresh} {
		got := mustTrial(t, s, st.ID, ft.Number)
		if !reflect.DeepEqual(got, ft) {
			t.Errorf("CreateTrial returned\n%+v\nbut trial %d reads\n%+v", ft, ft.Number, got)
		}
	}
}

// testFinishedAsRead: the trial Finish returns is the trial a read returns (a storage may
// build it from what the write holds), with params, attributes, metrics and steps.
func testFinishedAsRead(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	st := newStudy(t, s, "finished", nil)
	if _, err := s.Enqueue(ctx, retune.EnqueueRequest{StudyID: st.ID, Params: []map[string]any{{"x": 0.5}}}); err != nil {
		t.Fatal(err)
	}
	a := create(t, s, st.ID, func(r *retune.CreateTrialRequest) { r.System = map[string]any{"who": "a"} })
	if err := s.Update(ctx, retune.TrialUpdate{Ref: ref(st.ID, a), Params: map[string]any{"x": 0.5},
		Distributions: map[string]retune.Distribution{"x": retune.FloatDistribution{Low: 0, High: 1}}, UserAttrs: map[string]any{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Report(ctx, ref(st.ID, a), 2, []float64{0.75}); err != nil {
		t.Fatal(err)
	}
	b := create(t, s, st.ID, nil)
	for _, c := range []struct {
		ft  retune.FrozenTrial
		req retune.FinishRequest
	}{
		{a, retune.FinishRequest{Ref: ref(st.ID, a), State: retune.TrialComplete, Values: []float64{0.25}, Metrics: map[string]float64{"acc": 0.9},
			Params: map[string]any{"n": int64(3)}, Distributions: map[string]retune.Distribution{"n": retune.IntDistribution{Low: 1, High: 5, Step: 1}},
			UserAttrs: map[string]any{"k": nil, "z": 1.5}, SystemAttrs: map[string]any{"s": true}}},
		{b, retune.FinishRequest{Ref: ref(st.ID, b), State: retune.TrialFail, Reason: "boom", Interrupted: true}},
	} {
		got, err := s.Finish(ctx, c.req)
		if err != nil {
			t.Fatal(err)
		}
		read := mustTrial(t, s, st.ID, c.ft.Number)
		if !reflect.DeepEqual(got, read) {
			t.Errorf("Finish returned\n%+v\nbut trial %d reads\n%+v", got, c.ft.Number, read)
		}
	}
}
