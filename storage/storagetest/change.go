package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// testChanges: every change to a study's trials is in its change log, in order, with
// dense sequence numbers; reading pages works; other studies' changes stay apart; pruning
// removes old changes and Changes shows the gap.
func testChanges(t *testing.T, open Opener) {
	ctx := ctxT(t)
	s := open(t)
	rec := newStudy(t, s, "changes", nil)
	other := newStudy(t, s, "other", nil)
	if _, err := s.Enqueue(ctx, retune.EnqueueRequest{StudyID: rec.ID, Params: []map[string]any{{"x": 1.0}}}); err != nil {
		t.Fatal(err)
	}
	a := create(t, s, rec.ID, nil) // claims the enqueued trial 0
	b := create(t, s, rec.ID, nil) // a new trial 1
	create(t, s, other.ID, nil)
	if err := s.Update(ctx, retune.TrialUpdate{Ref: ref(rec.ID, a), UserAttrs: map[string]any{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	steps := []retune.StepValues{{Step: 1, Values: []float64{0.5}}, {Step: 2, Values: []float64{0.4}}}
	if br, ok := s.(retune.BatchReporter); ok {
		if err := br.ReportMany(ctx, ref(rec.ID, a), steps); err != nil {
			t.Fatal(err)
		}
	} else {
		for _, sv := range steps {
			if err := s.Report(ctx, ref(rec.ID, a), sv.Step, sv.Values); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.Heartbeat(ctx, ref(rec.ID, b), time.Minute); err != nil { // not a change
		t.Fatal(err)
	}
	complete(t, s, rec.ID, a, 0.3)
	if _, err := s.Finish(ctx, retune.FinishRequest{Ref: ref(rec.ID, b), State: retune.TrialFail, Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	d := decision("run-changes", 0, a.Number)
	d.Study = rec.Name
	stored, err := retrainStore(t, s).RecordDecision(ctx, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"trial.created 0", "trial.started 0", "trial.created 1", "trial.updated 0", "trial.reported 0 step 1", "trial.reported 0 step 2", "trial.finished 0", "trial.finished 1", "decision 0"}
	got, head, err := s.(retune.ChangeStore).Changes(ctx, rec.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if head != int64(len(want)) {
		t.Errorf("head = %d, want %d", head, len(want))
	}
	if d := describeChanges(got); d != strings.Join(want, ", ") {
		t.Fatalf("changes = %s\nwant      %s", d, strings.Join(want, ", "))
	}
	if last := got[len(got)-1]; last.Ref != stored.ID {
		t.Errorf("decision change refers to %d, want decision %d", last.Ref, stored.ID)
	}
	wantState := []retune.TrialState{retune.TrialWaiting, retune.TrialRunning, retune.TrialRunning, retune.TrialRunning, retune.TrialRunning, retune.TrialRunning, retune.TrialComplete, retune.TrialFail}
	for i, st := range wantState {
		if got[i].State != st {
			t.Errorf("change %d (%s): state %v, want %v", i, got[i].Kind, got[i].State, st)
		}
	}
	// A finish names its finish sequence number: FinishedSince(ref-1) starts with the trial.
	for _, c := range got {
		if c.Kind != retune.ChangeTrialFinished {
			continue
		}
		fts, _, err := s.FinishedSince(ctx, rec.ID, c.Ref-1)
		if err != nil || len(fts) == 0 || fts[0].Number != c.Trial {
			t.Errorf("FinishedSince(ref-1) of the finish of trial %d (ref %d) = %v, %v", c.Trial, c.Ref, fts, err)
		}
	}
	for i, c := range got {
		if c.Seq != int64(i+1) || c.Time.IsZero() || time.Since(c.Time) > time.Hour {
			t.Errorf("change %d: seq %d, time %v", i, c.Seq, c.Time)
		}
	}
	page, _, err := s.(retune.ChangeStore).Changes(ctx, rec.ID, 3, 2)
	if err != nil || len(page) != 2 || page[0].Seq != 4 || page[1].Seq != 5 {
		t.Errorf("Changes(after 3, limit 2) = %v, %v; want seqs 4 and 5", page, err)
	}
	oc, ohead, err := s.(retune.ChangeStore).Changes(ctx, other.ID, 0, 100)
	if err != nil || len(oc) != 1 || ohead != 1 {
		t.Errorf("other study's changes = %v (head %d), %v; want its one trial", oc, ohead, err)
	}
	if _, _, err := s.(retune.ChangeStore).Changes(ctx, rec.ID, -1, 10); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Changes(after -1) = %v, want ErrInvalid", err)
	}
	if _, _, err := s.(retune.ChangeStore).Changes(ctx, 1<<40, 0, 10); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Changes(unknown study) = %v, want ErrNotFound", err)
	}
	n, err := s.(retune.ChangeStore).PruneChanges(ctx, time.Now().Add(time.Minute))
	if err != nil || n != int64(len(want)+1) {
		t.Fatalf("PruneChanges = %d, %v; want %d", n, err, len(want)+1)
	}
	c := create(t, s, rec.ID, nil)
	got, head, err = s.(retune.ChangeStore).Changes(ctx, rec.ID, 0, 100)
	if err != nil || len(got) != 1 || got[0].Seq != int64(len(want)+1) || head != got[0].Seq || got[0].Trial != c.Number {
		t.Errorf("after pruning: %v (head %d), %v; want only the new change, seq %d: the gap shows", got, head, err, len(want)+1)
	}
}

// testChangesConcurrent: changes written by concurrent writers get dense, distinct
// sequence numbers, and a reader following the head never misses one.
func testChangesConcurrent(t *testing.T, open Opener) {
	ctx := ctxT(t)
	s := open(t)
	rec := newStudy(t, s, "concurrent", nil)
	const workers, per = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func(st retune.Storage) {
			defer wg.Done()
			for range per {
				ft, err := st.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: rec.ID, Holder: fmt.Sprint(w), LeaseTTL: time.Minute})
				if err == nil {
					err = st.Report(ctx, ref(rec.ID, ft), 1, []float64{1})
				}
				if err == nil {
					_, err = st.Finish(ctx, retune.FinishRequest{Ref: ref(rec.ID, ft), State: retune.TrialComplete, Values: []float64{1}})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(open(t))
	}
	seen := map[int64]bool{}
	var after int64
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		got, _, err := s.(retune.ChangeStore).Changes(context.Background(), rec.ID, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range got {
			if c.Seq != after+1 || seen[c.Seq] {
				t.Fatalf("read seq %d after %d: a change was skipped or repeated", c.Seq, after)
			}
			seen[c.Seq], after = true, c.Seq
		}
		if finished && len(got) == 7 {
			finished = false // more to read
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if after != workers*per*3 {
		t.Errorf("read %d changes, want %d", after, workers*per*3)
	}
}

func describeChanges(cs []retune.Change) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s %d", c.Kind, c.Trial)
		if c.Kind == retune.ChangeTrialReported {
			parts[i] += fmt.Sprintf(" step %d", c.Step)
		}
	}
	return strings.Join(parts, ", ")
}

// testStop: a running trial marked for stopping learns of it at its next heartbeat (its
// lease renewed all the same) and the mark is in its attributes and change log; only a
// RUNNING trial can be marked.
func testStop(t *testing.T, open Opener) {
	ctx := ctxT(t)
	s := open(t)
	ss, ok := s.(retune.StopStore)
	if !ok {
		t.Fatalf("%T is no StopStore", s)
	}
	rec := newStudy(t, s, "stop", nil)
	a := create(t, s, rec.ID, nil)
	if _, err := s.Heartbeat(ctx, ref(rec.ID, a), time.Minute); err != nil {
		t.Fatalf("heartbeat before the stop: %v", err)
	}
	for range 2 { // twice: the second changes nothing
		if err := ss.RequestStop(ctx, rec.ID, a.Number); err != nil {
			t.Fatal(err)
		}
	}
	exp, err := s.Heartbeat(ctx, ref(rec.ID, a), time.Minute)
	if !errors.Is(err, retune.ErrStopRequested) || time.Until(exp) < 30*time.Second {
		t.Fatalf("heartbeat after the stop = %v, %v; want ErrStopRequested and a renewed lease", exp, err)
	}
	got := mustTrial(t, s, rec.ID, a.Number)
	if !got.StopRequested() || got.State != retune.TrialRunning {
		t.Errorf("stopped trial = %v %v", got.State, got.SystemAttrs)
	}
	cs, _, err := s.(retune.ChangeStore).Changes(ctx, rec.ID, 0, 10)
	if err != nil || describeChanges(cs) != "trial.created 0, trial.updated 0" {
		t.Errorf("changes = %s, %v; want the stop as one trial.updated", describeChanges(cs), err)
	}
	complete(t, s, rec.ID, a, 1)
	if err := ss.RequestStop(ctx, rec.ID, a.Number); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("stopping a finished trial = %v, want ErrConflict", err)
	}
	if err := ss.RequestStop(ctx, rec.ID, 99); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("stopping no trial = %v, want ErrNotFound", err)
	}
	if err := ss.RequestStop(ctx, 1<<40, 0); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("stopping in no study = %v, want ErrNotFound", err)
	}
}

// testLogs: a running trial's log head and tail are stored (fenced by its lease), replaced
// by a later put, kept after it finishes, and bounded.
func testLogs(t *testing.T, open Opener) {
	ctx := ctxT(t)
	s := open(t)
	ls, ok := s.(retune.LogStore)
	if !ok {
		t.Fatalf("%T is no LogStore", s)
	}
	rec := newStudy(t, s, "logs", nil)
	a := create(t, s, rec.ID, nil)
	if _, err := ls.TrialLog(ctx, rec.ID, a.Number); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("log before any put = %v, want ErrNotFound", err)
	}
	if err := ls.PutLog(ctx, ref(rec.ID, a), retune.TrialLog{Head: []byte("first\n"), Size: 6}); err != nil {
		t.Fatal(err)
	}
	bin := []byte{0, 0xff, '\n'}
	if err := ls.PutLog(ctx, ref(rec.ID, a), retune.TrialLog{Head: []byte("start\n"), Tail: bin, Size: 1000}); err != nil {
		t.Fatal(err)
	}
	stale := ref(rec.ID, a)
	stale.Epoch++
	if err := ls.PutLog(ctx, stale, retune.TrialLog{Head: []byte("x"), Size: 1}); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("put under a stale epoch = %v, want ErrConflict", err)
	}
	big := make([]byte, retune.MaxLogPart+1)
	if err := ls.PutLog(ctx, ref(rec.ID, a), retune.TrialLog{Head: big, Size: int64(len(big))}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("oversized head = %v, want ErrInvalid", err)
	}
	complete(t, s, rec.ID, a, 1)
	got, err := ls.TrialLog(ctx, rec.ID, a.Number)
	if err != nil || string(got.Head) != "start\n" || string(got.Tail) != string(bin) || got.Size != 1000 || got.Time.IsZero() {
		t.Errorf("log = %q %q %d %v, %v; want the second put", got.Head, got.Tail, got.Size, got.Time, err)
	}
	if err := ls.PutLog(ctx, ref(rec.ID, a), retune.TrialLog{Head: []byte("late"), Size: 4}); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("put after the finish = %v, want ErrConflict", err)
	}
	if _, err := ls.TrialLog(ctx, rec.ID, 42); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("log of no trial = %v, want ErrNotFound", err)
	}
}

// testLeadership: one holder of a role at a time; renewals keep it; another takes it only
// once the term has run out or it was released; concurrent candidates elect exactly one.
func testLeadership(t *testing.T, open Opener) {
	ctx := ctxT(t)
	s := open(t)
	ls, ok := s.(retune.LeaderStore)
	if !ok {
		t.Fatalf("%T is no LeaderStore", s)
	}
	acquire := func(holder string, ttl time.Duration) bool {
		t.Helper()
		ok, err := ls.AcquireLeadership(ctx, "retrain", holder, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !acquire("a", time.Hour) {
		t.Fatal("a could not take a free role")
	}
	if !acquire("a", time.Hour) {
		t.Fatal("a could not renew its role")
	}
	if acquire("b", time.Hour) {
		t.Fatal("b took a role a holds")
	}
	if ok, _ := ls.AcquireLeadership(ctx, "other", "b", time.Hour); !ok {
		t.Error("b could not take another role")
	}
	if err := ls.ReleaseLeadership(ctx, "retrain", "b"); err != nil { // not b's: nothing
		t.Fatal(err)
	}
	if acquire("b", time.Hour) {
		t.Fatal("b took the role after releasing what it did not hold")
	}
	if err := ls.ReleaseLeadership(ctx, "retrain", "a"); err != nil {
		t.Fatal(err)
	}
	if !acquire("b", 50*time.Millisecond) {
		t.Fatal("b could not take the released role")
	}
	deadline := time.Now().Add(30 * time.Second)
	for !acquire("a", time.Hour) { // b's short term runs out
		if time.Now().After(deadline) {
			t.Fatal("a never took the role after b's term ran out")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := ls.AcquireLeadership(ctx, "", "a", time.Hour); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("empty role = %v, want ErrInvalid", err)
	}
	var wg sync.WaitGroup
	var won atomic.Int32
	for i := range 8 {
		wg.Go(func() {
			h := open(t).(retune.LeaderStore)
			if ok, err := h.AcquireLeadership(ctx, "race", fmt.Sprint("c", i), time.Hour); err != nil {
				t.Error(err)
			} else if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Errorf("%d of 8 concurrent candidates won, want 1", won.Load())
	}
}

// testEnqueueSystem: enqueued trials keep the system attributes given for each, and the
// trial that claims one has them (with its own added); a count mismatch is refused.
func testEnqueueSystem(t *testing.T, open Opener) {
	ctx := ctxT(t)
	s := open(t)
	rec := newStudy(t, s, "enqsys", nil)
	nums, err := s.Enqueue(ctx, retune.EnqueueRequest{StudyID: rec.ID, Kind: retune.KindConfirm,
		Params: []map[string]any{{"x": 1.0}, {"x": 2.0}}, System: []map[string]any{{"repeat": 0, "confirm": "candidate"}, nil}})
	if err != nil || len(nums) != 2 {
		t.Fatalf("Enqueue = %v, %v", nums, err)
	}
	ft := create(t, s, rec.ID, func(r *retune.CreateTrialRequest) {
		r.Kind, r.ClaimOnly, r.System = retune.KindConfirm, true, map[string]any{"claimed": true}
	})
	if ft.Number != nums[0] || ft.SystemAttrs["confirm"] != "candidate" || ft.SystemAttrs["repeat"] != float64(0) || ft.SystemAttrs["claimed"] != true {
		t.Errorf("claimed trial %d has system attributes %v", ft.Number, ft.SystemAttrs)
	}
	if got := mustTrial(t, s, rec.ID, nums[1]); len(got.SystemAttrs) != 0 {
		t.Errorf("trial enqueued without attributes has %v", got.SystemAttrs)
	}
	_, err = s.Enqueue(ctx, retune.EnqueueRequest{StudyID: rec.ID, Params: []map[string]any{{"x": 1.0}}, System: []map[string]any{{}, {}}})
	if !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("2 attribute sets for 1 trial = %v, want ErrInvalid", err)
	}
}

// testChangesRetrain: a decision, a promotion from one of the study's trials and the
// deliveries of events about the study (created, then delivered) are changes of the study.
func testChangesRetrain(t *testing.T, open Opener) {
	ctx := ctxT(t)
	s := open(t)
	rs := retrainStore(t, s)
	ds := s.(retune.DeliveryStore)
	rec := newStudy(t, s, "promo", nil)
	a := create(t, s, rec.ID, nil)
	complete(t, s, rec.ID, a, 1)
	ev := func(id string) retune.Event {
		return retune.Event{ID: id, Type: retune.TypeRetrainingRequired, Source: "retune/test", Data: []byte(`{"study":"promo"}`), Notify: []string{"hook"}}
	}
	d := decision("run-promo", 0, a.Number)
	d.Study = rec.Name
	stored, err := rs.RecordDecision(ctx, d, []retune.Event{ev("promo-1")})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rs.PromoteChampion(ctx, retune.Champion{Model: "m", Source: "trial", Study: rec.Name, Trial: a.Number, Decision: stored.ID,
		Params: map[string]any{"x": 1.0}, Values: []float64{1}}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := ds.ClaimDeliveries(ctx, retune.ClaimRequest{Owner: "o", Notifiers: []string{"hook"}, Lease: time.Minute, Limit: 10})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	if _, err := ds.RecordAttempt(ctx, attempt("o", claimed[0].ID, retune.DeliveryDelivered, time.Time{})); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.(retune.ChangeStore).Changes(ctx, rec.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if d := describeChanges(got); d != "trial.created 0, trial.finished 0, decision 0, delivery -1, promotion 0, delivery -1" {
		t.Fatalf("changes = %s", d)
	}
	if got[2].Ref != stored.ID || got[3].Ref != claimed[0].ID || got[4].Ref != c.Version || got[5].Ref != claimed[0].ID {
		t.Errorf("refs: decision %d, delivery %d, promotion %d, delivery %d; want %d, %d, %d, %d",
			got[2].Ref, got[3].Ref, got[4].Ref, got[5].Ref, stored.ID, claimed[0].ID, c.Version, claimed[0].ID)
	}
}

// testAgents: an agent's reports update its row (its first contact kept); agents seen
// before since are left out; bad reports are refused.
func testAgents(t *testing.T, open Opener) {
	ctx := ctxT(t)
	s := open(t)
	as, ok := s.(retune.AgentStore)
	if !ok {
		t.Fatalf("%T is no AgentStore", s)
	}
	start := time.Now().Add(-time.Second)
	if err := as.RecordAgent(ctx, retune.AgentInfo{ID: "gpu1/42/ab", Host: "gpu1", PID: 42, Study: "s", Slots: 4, Running: 1}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := as.RecordAgent(ctx, retune.AgentInfo{ID: "gpu1/42/ab", Host: "gpu1", PID: 42, Study: "s", Slots: 4, Running: 3}); err != nil {
		t.Fatal(err)
	}
	if err := as.RecordAgent(ctx, retune.AgentInfo{ID: "gpu2/7/cd", Host: "gpu2", Addr: "10.0.0.7", PID: 7, Study: "s", Slots: 1}); err != nil {
		t.Fatal(err)
	}
	got, err := as.Agents(ctx, start)
	if err != nil || len(got) != 2 {
		t.Fatalf("Agents = %+v, %v", got, err)
	}
	a := got[0]
	if a.ID == "gpu1/42/ab" {
		a = got[1]
	}
	b := got[0]
	if b.ID != "gpu1/42/ab" {
		b = got[1]
	}
	if b.Running != 3 || b.Slots != 4 || !b.First.Before(b.Last) || a.Host != "gpu2" || a.Addr != "10.0.0.7" || b.Addr != "" {
		t.Errorf("agents = %+v", got)
	}
	if later, err := as.Agents(ctx, time.Now().Add(time.Hour)); err != nil || len(later) != 0 {
		t.Errorf("Agents(since the future) = %v, %v", later, err)
	}
	if err := as.RecordAgent(ctx, retune.AgentInfo{ID: "", Slots: 1}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("an agent without id = %v, want ErrInvalid", err)
	}
}

// testPruneChangesPartly: pruning removes exactly the changes older than the cutoff, in
// every study, and keeps the newer ones.
func testPruneChangesPartly(t *testing.T, open Opener) {
	ctx := ctxT(t)
	s := open(t)
	cs := s.(retune.ChangeStore)
	a := newStudy(t, s, "prune-a", nil)
	b := newStudy(t, s, "prune-b", nil)
	for range 3 {
		complete(t, s, a.ID, create(t, s, a.ID, nil), 1) // 2 changes each
	}
	create(t, s, b.ID, nil)
	time.Sleep(50 * time.Millisecond) // change times have millisecond resolution on SQLite
	cutoff := time.Now()
	time.Sleep(50 * time.Millisecond)
	complete(t, s, a.ID, create(t, s, a.ID, nil), 2)
	create(t, s, b.ID, nil)
	n, err := cs.PruneChanges(ctx, cutoff)
	if err != nil || n != 7 {
		t.Fatalf("PruneChanges(cutoff) = %d, %v; want the 6 + 1 older changes", n, err)
	}
	for _, c := range []struct {
		id    int64
		seqs  []int64
		study string
	}{{a.ID, []int64{7, 8}, "a"}, {b.ID, []int64{2}, "b"}} {
		got, _, err := cs.Changes(ctx, c.id, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, ch := range got {
			seqs = append(seqs, ch.Seq)
		}
		if !slices.Equal(seqs, c.seqs) {
			t.Errorf("study %s keeps changes %v, want %v", c.study, seqs, c.seqs)
		}
	}
	if n, err := cs.PruneChanges(ctx, cutoff); err != nil || n != 0 {
		t.Errorf("pruning again = %d, %v; want nothing", n, err)
	}
}
