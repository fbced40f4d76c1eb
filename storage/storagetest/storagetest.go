// Package storagetest is the conformance suite every retune.Storage passes: memory,
// SQLite and PostgreSQL run the same tests.
package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// Opener opens a handle on one database; every call opens another handle on the same
// database (for memory, the same store). Handles are closed by the opener's cleanup.
type Opener func(t *testing.T) retune.Storage

// Run runs the suite. newDB must return an Opener for a fresh, empty, isolated database
// each time it is called; tests run in parallel.
func Run(t *testing.T, newDB func(t *testing.T) Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"Studies", testStudies},
		{"StudyUpdate", testStudyUpdate},
		{"StudyDefinition", testStudyDefinition},
		{"DenseNumbers", testDenseNumbers},
		{"BudgetExact", testBudgetExact},
		{"InterruptedGiveBudgetBack", testInterruptedBudget},
		{"ClaimWaitingOnce", testClaimWaitingOnce},
		{"EnqueueOnce", testEnqueueOnce},
		{"Fencing", testFencing},
		{"RoundTrip", testRoundTrip},
		{"ReportMany", testReportMany},
		{"InvalidValues", testInvalidValues},
		{"FinishedSince", testFinishedSince},
		{"LeaseExpiry", testLeaseExpiry},
		{"Running", testRunning},
		{"RunningExcept", testRunningExcept},
		{"Delete", testDelete},
		{"Attributes", testAttributes},
		{"Missing", testMissing},
		{"DenseAfterFailures", testDenseAfterFailures},
		{"ChampionCAS", testChampionCAS},
		{"DecisionOnce", testDecisionOnce},
		{"EventsOrdered", testEventsOrdered},
		{"RetrainRoundTrip", testRetrainRoundTrip},
		{"RetrainInvalid", testRetrainInvalid},
		{"RetrainOutlivesStudy", testRetrainOutlivesStudy},
		{"TriggersOnce", testTriggersOnce},
		{"TriggerInvalid", testTriggerInvalid},
		{"DeliveriesFanOut", testDeliveriesFanOut},
		{"ClaimDeliveriesOnce", testClaimDeliveriesOnce},
		{"DeliveryRetryDead", testDeliveryRetryDead},
		{"NotifierDisable", testNotifierDisable},
		{"DeliveryInvalid", testDeliveryInvalid},
		{"FindEvents", testFindEvents},
		{"Tokens", testTokens},
		{"Idempotency", testIdempotency},
		{"Sessions", testSessions},
		{"Constraints", testConstraints},
		{"ConstraintsSummary", testConstraintsSummary},
		{"Changes", testChanges},
		{"ChangesConcurrent", testChangesConcurrent},
		{"Stop", testStop},
		{"Logs", testLogs},
		{"Leadership", testLeadership},
		{"EnqueueSystem", testEnqueueSystem},
		{"ChangesRetrain", testChangesRetrain},
		{"Agents", testAgents},
		{"LateRevive", testLateRevive},
		{"LateRecord", testLateRecord},
		{"LateRefused", testLateRefused},
		{"CreatedAsRead", testCreatedAsRead},
		{"FinishedAsRead", testFinishedAsRead},
		{"PruneChangesPartly", testPruneChangesPartly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newDB(t))
		})
	}
}

func ctxT(t *testing.T) context.Context { return t.Context() }

func newStudy(t *testing.T, s retune.Storage, name string, mod func(*retune.StudyRecord)) retune.StudyRecord {
	t.Helper()
	rec := retune.StudyRecord{Name: name, Directions: []retune.Direction{retune.Minimize}, Seed: 7, Model: name, Sampler: retune.Spec{Name: "random"}}
	if mod != nil {
		mod(&rec)
	}
	got, err := s.CreateStudy(ctxT(t), rec)
	if err != nil {
		t.Fatalf("CreateStudy(%q) error: %v", name, err)
	}
	return got
}

func create(t *testing.T, s retune.Storage, studyID int64, mod func(*retune.CreateTrialRequest)) retune.FrozenTrial {
	t.Helper()
	req := retune.CreateTrialRequest{StudyID: studyID, Holder: "test", LeaseTTL: time.Minute}
	if mod != nil {
		mod(&req)
	}
	ft, err := s.CreateTrial(ctxT(t), req)
	if err != nil {
		t.Fatalf("CreateTrial error: %v", err)
	}
	return ft
}

func ref(studyID int64, ft retune.FrozenTrial) retune.TrialRef {
	return retune.TrialRef{StudyID: studyID, Number: ft.Number, Epoch: ft.Lease.Epoch}
}

func complete(t *testing.T, s retune.Storage, studyID int64, ft retune.FrozenTrial, v float64) retune.FrozenTrial {
	t.Helper()
	got, err := s.Finish(ctxT(t), retune.FinishRequest{Ref: ref(studyID, ft), State: retune.TrialComplete, Values: []float64{v}})
	if err != nil {
		t.Fatalf("Finish(trial %d) error: %v", ft.Number, err)
	}
	return got
}

func testStudies(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	if _, err := s.Study(ctx, "nope"); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Study(missing) error = %v, want ErrNotFound", err)
	}
	b := newStudy(t, s, "b", func(r *retune.StudyRecord) {
		r.Directions = []retune.Direction{retune.Maximize, retune.Minimize}
		r.Metrics = []string{"acc", "latency"}
		r.Budget = retune.Budget{Trials: 10, Retries: 2}
		r.Pruner = retune.Spec{Name: "median", Options: map[string]any{"warmup": float64(3)}}
		r.Seed = math.MaxUint64
		r.Model = "m"
	})
	a := newStudy(t, s, "a", nil)
	if b.ID == 0 || a.ID == b.ID {
		t.Errorf("study IDs %d and %d: want distinct non-zero", a.ID, b.ID)
	}
	if b.Created.IsZero() || b.Created.Location() != time.UTC {
		t.Errorf("Created = %v, want a UTC time", b.Created)
	}
	if _, err := s.CreateStudy(ctx, retune.StudyRecord{Name: "a", Directions: []retune.Direction{retune.Minimize}}); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("CreateStudy(duplicate) error = %v, want ErrConflict", err)
	}
	got, err := s.Study(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Directions, b.Directions) || !reflect.DeepEqual(got.Metrics, b.Metrics) ||
		got.Budget != b.Budget || got.Seed != b.Seed || got.Model != "m" || got.ID != b.ID ||
		!reflect.DeepEqual(got.Pruner, b.Pruner) || got.Sampler.Name != "random" || !got.Created.Equal(b.Created) {
		t.Errorf("Study(b) = %+v, want %+v", got, b)
	}
	ft := create(t, s, a.ID, nil)
	complete(t, s, a.ID, ft, 3)
	ft = create(t, s, a.ID, nil)
	complete(t, s, a.ID, ft, 1)
	create(t, s, a.ID, nil)
	sums, err := s.Studies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 2 || sums[0].Name != "a" || sums[1].Name != "b" {
		t.Fatalf("Studies() = %+v, want a and b in order", sums)
	}
	if sa := sums[0]; sa.Complete != 2 || sa.Running != 1 || sa.Best == nil || *sa.Best != 1 {
		t.Errorf("Studies()[a] = complete %d running %d best %v, want 2, 1, 1", sa.Complete, sa.Running, sa.Best)
	}
	if sums[1].Best != nil {
		t.Errorf("Studies()[b].Best = %v, want nil (multi-objective)", *sums[1].Best)
	}
}

func testStudyUpdate(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	st := newStudy(t, s, "u", nil)
	sp := retune.Spec{Name: "tpe", Options: map[string]any{"n": float64(3)}}
	err := s.UpdateStudy(ctx, st.ID, retune.StudyUpdate{
		Sampler: &sp, Budget: &retune.Budget{Trials: 5},
		UserAttrs:   map[string]any{"owner": "ann", "tags": []any{"a", "b"}},
		SystemAttrs: map[string]any{"k": float64(1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateStudy(ctx, st.ID, retune.StudyUpdate{UserAttrs: map[string]any{"owner": nil, "x": true}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Study(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	wantUser := map[string]any{"tags": []any{"a", "b"}, "x": true}
	if !reflect.DeepEqual(got.Sampler, sp) || got.Budget.Trials != 5 || !reflect.DeepEqual(got.UserAttrs, wantUser) || got.SystemAttrs["k"] != float64(1) {
		t.Errorf("after UpdateStudy: %+v, want sampler %v, budget 5, user attrs %v, system k=1", got, sp, wantUser)
	}
	if err := s.UpdateStudy(ctx, 1<<40, retune.StudyUpdate{Budget: &retune.Budget{}}); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("UpdateStudy(missing) error = %v, want ErrNotFound", err)
	}
}

// testDenseNumbers: concurrent creators on several handles get numbers 0..n-1, each once.
func testDenseNumbers(t *testing.T, open Opener) {
	handles := []retune.Storage{open(t), open(t), open(t)}
	st := newStudy(t, handles[0], "dense", nil)
	const workers, each = 6, 15
	nums := make(chan int, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		s := handles[w%len(handles)]
		wg.Go(func() {
			for range each {
				ft, err := s.CreateTrial(t.Context(), retune.CreateTrialRequest{StudyID: st.ID, Holder: fmt.Sprint(w), LeaseTTL: time.Minute})
				if err != nil {
					t.Errorf("CreateTrial error: %v", err)
					return
				}
				nums <- ft.Number
			}
		})
	}
	wg.Wait()
	close(nums)
	var got []int
	for n := range nums {
		got = append(got, n)
	}
	sort.Ints(got)
	for i, n := range got {
		if n != i {
			t.Fatalf("trial numbers %v: want 0..%d each once", got, workers*each-1)
		}
	}
	if len(got) != workers*each {
		t.Errorf("%d trials, want %d", len(got), workers*each)
	}
}

// testBudgetExact: concurrent creators on several handles start exactly Budget.Trials
// search trials; confirm trials do not count.
func testBudgetExact(t *testing.T, open Opener) {
	handles := []retune.Storage{open(t), open(t), open(t)}
	st := newStudy(t, handles[0], "budget", func(r *retune.StudyRecord) { r.Budget.Trials = 40 })
	var mu sync.Mutex
	started := 0
	var wg sync.WaitGroup
	for w := range 8 {
		s := handles[w%len(handles)]
		wg.Go(func() {
			for {
				_, err := s.CreateTrial(t.Context(), retune.CreateTrialRequest{StudyID: st.ID, Holder: "w", LeaseTTL: time.Minute})
				if errors.Is(err, retune.ErrBudgetExhausted) {
					return
				}
				if err != nil {
					t.Errorf("CreateTrial error: %v", err)
					return
				}
				mu.Lock()
				started++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if started != 40 {
		t.Errorf("started %d search trials with a budget of 40", started)
	}
	ft := create(t, handles[0], st.ID, func(r *retune.CreateTrialRequest) { r.Kind = retune.KindConfirm; r.Fixed = map[string]any{"x": 1.5} })
	if ft.Kind != retune.KindConfirm || ft.Fixed["x"] == nil {
		t.Errorf("confirm trial = %+v, want kind confirm with fixed x", ft)
	}
}

// testStudyDefinition: a study's definition is stored byte for byte (key order included),
// replaced by an update that carries one and kept by one that does not; what is not a
// JSON object, or too large, is refused.
func testStudyDefinition(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	def := json.RawMessage(`{"version":1,"name":"def","params":{"z":{"type":"float","low":0,"high":1},"a":{"type":"int","low":1,"high":3}}}`)
	st := newStudy(t, s, "def", func(r *retune.StudyRecord) { r.Definition = def })
	if string(st.Definition) != string(def) {
		t.Errorf("CreateStudy returned definition %s, want %s", st.Definition, def)
	}
	read := func() json.RawMessage {
		t.Helper()
		rec, err := s.Study(ctx, "def")
		if err != nil {
			t.Fatal(err)
		}
		return rec.Definition
	}
	if got := read(); string(got) != string(def) {
		t.Errorf("stored definition %s, want %s", got, def)
	}
	if err := s.UpdateStudy(ctx, st.ID, retune.StudyUpdate{UserAttrs: map[string]any{"k": 1}}); err != nil {
		t.Fatal(err)
	}
	if got := read(); string(got) != string(def) {
		t.Errorf("definition after an update without one: %s, want %s", got, def)
	}
	def2 := json.RawMessage(`{"version":1,"name":"def","seed":3}`)
	if err := s.UpdateStudy(ctx, st.ID, retune.StudyUpdate{Definition: def2}); err != nil {
		t.Fatal(err)
	}
	if got := read(); string(got) != string(def2) {
		t.Errorf("definition after an update: %s, want %s", got, def2)
	}
	if plain := newStudy(t, s, "plain", nil); plain.Definition != nil {
		t.Errorf("study created without a definition has %s", plain.Definition)
	}
	for name, bad := range map[string]json.RawMessage{
		"not an object": json.RawMessage(`[1, 2]`),
		"not JSON":      json.RawMessage(`{"a":`),
		"too large":     json.RawMessage(`{"a":"` + strings.Repeat("x", retune.MaxDefinitionLen) + `"}`),
	} {
		if _, err := s.CreateStudy(ctx, retune.StudyRecord{Name: "bad-" + strings.ReplaceAll(name, " ", "-"), Directions: []retune.Direction{retune.Minimize}, Definition: bad}); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("CreateStudy with a definition %s: error = %v, want ErrInvalid", name, err)
		}
		if err := s.UpdateStudy(ctx, st.ID, retune.StudyUpdate{Definition: bad}); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("UpdateStudy with a definition %s: error = %v, want ErrInvalid", name, err)
		}
	}
	if got := read(); string(got) != string(def2) {
		t.Errorf("definition after refused updates: %s, want %s", got, def2)
	}
}

// testInterruptedBudget: an interrupted search trial (Finish with Interrupted, or an
// expired lease) gives its place in Budget.Trials back; other ends, other kinds and
// rejected finishes do not.
func testInterruptedBudget(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	st := newStudy(t, s, "interrupted", func(r *retune.StudyRecord) { r.Budget.Trials = 3 })
	exhausted := func(when string) {
		t.Helper()
		if _, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h", LeaseTTL: time.Minute}); !errors.Is(err, retune.ErrBudgetExhausted) {
			t.Fatalf("%s: CreateTrial error = %v, want ErrBudgetExhausted", when, err)
		}
	}
	a, b, c := create(t, s, st.ID, nil), create(t, s, st.ID, nil), create(t, s, st.ID, nil)
	exhausted("3 of 3 started")
	if _, err := s.Finish(ctx, retune.FinishRequest{Ref: ref(st.ID, a), State: retune.TrialComplete, Values: []float64{1}, Interrupted: true}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Finish COMPLETE and interrupted: error = %v, want ErrInvalid", err)
	}
	complete(t, s, st.ID, a, 1)
	if _, err := s.Finish(ctx, retune.FinishRequest{Ref: ref(st.ID, b), State: retune.TrialFail, Reason: "trainer exited with status 1"}); err != nil {
		t.Fatal(err)
	}
	exhausted("a complete and a failed trial")
	stale := ref(st.ID, c)
	stale.Epoch++
	if _, err := s.Finish(ctx, retune.FinishRequest{Ref: stale, State: retune.TrialFail, Reason: "interrupted: x", Interrupted: true}); !errors.Is(err, retune.ErrConflict) {
		t.Fatalf("interrupted Finish under a stale epoch: error = %v, want ErrConflict", err)
	}
	exhausted("a rejected interrupted finish")
	if _, err := s.Finish(ctx, retune.FinishRequest{Ref: ref(st.ID, c), State: retune.TrialFail, Reason: "interrupted: stopped",
		Interrupted: true}); err != nil {
		t.Fatal(err)
	}
	if got := mustTrial(t, s, st.ID, c.Number); !got.Interrupted() {
		t.Errorf("trial finished as interrupted: Interrupted() = false (%v %q %v)", got.State, got.Reason, got.SystemAttrs)
	}
	if got := mustTrial(t, s, st.ID, b.Number); got.Interrupted() {
		t.Errorf("trial failed by its trainer: Interrupted() = true")
	}
	// A confirm trial interrupted gives nothing back: it never counted.
	conf := create(t, s, st.ID, func(r *retune.CreateTrialRequest) { r.Kind = retune.KindConfirm })
	if _, err := s.Finish(ctx, retune.FinishRequest{Ref: ref(st.ID, conf), State: retune.TrialFail, Reason: "interrupted: x", Interrupted: true}); err != nil {
		t.Fatal(err)
	}
	d := create(t, s, st.ID, func(r *retune.CreateTrialRequest) { r.LeaseTTL = 50 * time.Millisecond })
	exhausted("the interrupted trial's place taken")
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := s.ExpireLeases(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a 50 ms lease did not expire within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := mustTrial(t, s, st.ID, d.Number); !got.Interrupted() {
		t.Errorf("trial whose lease expired: Interrupted() = false")
	}
	create(t, s, st.ID, nil)
	exhausted("the expired trial's place taken")
}

// testClaimWaitingOnce: enqueued trials are claimed exactly once, lowest number first per
// claimer, then ClaimOnly reports ErrNotFound.
func testClaimWaitingOnce(t *testing.T, open Opener) {
	handles := []retune.Storage{open(t), open(t)}
	st := newStudy(t, handles[0], "claim", nil)
	var params []map[string]any
	for i := range 30 {
		params = append(params, map[string]any{"i": i})
	}
	nums, err := handles[0].Enqueue(ctxT(t), retune.EnqueueRequest{StudyID: st.ID, Params: params})
	if err != nil || len(nums) != 30 || nums[0] != 0 || nums[29] != 29 {
		t.Fatalf("Enqueue = %v, %v, want numbers 0..29", nums, err)
	}
	claimed := make(chan retune.FrozenTrial, 40)
	var wg sync.WaitGroup
	for w := range 6 {
		s := handles[w%2]
		wg.Go(func() {
			for {
				ft, err := s.CreateTrial(t.Context(), retune.CreateTrialRequest{StudyID: st.ID, Holder: "w", LeaseTTL: time.Minute, ClaimOnly: true})
				if errors.Is(err, retune.ErrNotFound) {
					return
				}
				if err != nil {
					t.Errorf("CreateTrial error: %v", err)
					return
				}
				claimed <- ft
			}
		})
	}
	wg.Wait()
	close(claimed)
	seen := map[int]bool{}
	for ft := range claimed {
		if seen[ft.Number] {
			t.Errorf("trial %d claimed twice", ft.Number)
		}
		seen[ft.Number] = true
		if ft.State != retune.TrialRunning || ft.Lease.Epoch < 1 || ft.Start.IsZero() {
			t.Errorf("claimed trial = %+v, want RUNNING with a lease and a start", ft)
		}
		i, ok := ft.Fixed["i"]
		if !ok || fmt.Sprint(i) != fmt.Sprint(ft.Number) {
			t.Errorf("trial %d has fixed params %v, want i=%d", ft.Number, ft.Fixed, ft.Number)
		}
	}
	if len(seen) != 30 {
		t.Errorf("claimed %d trials, want 30", len(seen))
	}
	ft := create(t, handles[0], st.ID, nil) // no waiting left: a new one
	if ft.Number != 30 || ft.Fixed != nil {
		t.Errorf("new trial = number %d fixed %v, want 30 and none", ft.Number, ft.Fixed)
	}
}

func testEnqueueOnce(t *testing.T, open Opener) {
	handles := []retune.Storage{open(t), open(t)}
	st := newStudy(t, handles[0], "once", nil)
	params := []map[string]any{{"x": 1}, {"x": 2}, {"x": 3}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for w := range 6 {
		wg.Go(func() {
			nums, err := handles[w%2].Enqueue(t.Context(), retune.EnqueueRequest{StudyID: st.ID, Params: params, OnceKey: "grid:1"})
			if err != nil {
				t.Errorf("Enqueue error: %v", err)
			}
			mu.Lock()
			total += len(nums)
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 3 {
		t.Errorf("enqueued %d trials under one key from 6 callers, want 3", total)
	}
	nums, err := handles[0].Enqueue(ctxT(t), retune.EnqueueRequest{StudyID: st.ID, Params: params, OnceKey: "grid:2"})
	if err != nil || len(nums) != 3 {
		t.Errorf("Enqueue(new key) = %v, %v, want 3 numbers", nums, err)
	}
	trials, err := handles[0].Trials(ctxT(t), st.ID)
	if err != nil || len(trials) != 6 {
		t.Errorf("Trials() = %d trials, %v, want 6", len(trials), err)
	}
	for _, ft := range trials {
		if ft.State != retune.TrialWaiting || !ft.Start.IsZero() {
			t.Errorf("trial %d = %v start %v, want WAITING with no start", ft.Number, ft.State, ft.Start)
		}
	}
}

func testFencing(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	st := newStudy(t, s, "fence", nil)
	ft := create(t, s, st.ID, nil)
	stale := ref(st.ID, ft)
	stale.Epoch++
	for name, err := range map[string]error{
		"Report":    s.Report(ctx, stale, 1, []float64{1}),
		"Update":    s.Update(ctx, retune.TrialUpdate{Ref: stale, UserAttrs: map[string]any{"a": 1}}),
		"Heartbeat": second(s.Heartbeat(ctx, stale, time.Minute)),
		"Finish":    second(s.Finish(ctx, retune.FinishRequest{Ref: stale, State: retune.TrialComplete, Values: []float64{1}})),
	} {
		if !errors.Is(err, retune.ErrConflict) {
			t.Errorf("%s with a stale epoch: error = %v, want ErrConflict", name, err)
		}
	}
	done := complete(t, s, st.ID, ft, 2)
	if done.State != retune.TrialComplete || done.End.IsZero() || done.End.Location() != time.UTC || done.Value() != 2 {
		t.Errorf("finished trial = %+v, want COMPLETE with value 2 and a UTC end", done)
	}
	_, err := s.Finish(ctx, retune.FinishRequest{Ref: ref(st.ID, ft), State: retune.TrialFail, Reason: "again"})
	if !errors.Is(err, retune.ErrConflict) {
		t.Errorf("second Finish error = %v, want ErrConflict", err)
	}
	if err := s.Report(ctx, ref(st.ID, ft), 3, []float64{1}); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("Report after finish error = %v, want ErrConflict", err)
	}
	got, err := s.Trial(ctx, st.ID, ft.Number)
	if err != nil || got.State != retune.TrialComplete || got.Value() != 2 || got.Reason != "" || len(got.Intermediate) != 0 {
		t.Errorf("trial after rejected writes = %+v, %v, want unchanged COMPLETE 2", got, err)
	}
	if _, err := s.Trial(ctx, st.ID, 99); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Trial(99) error = %v, want ErrNotFound", err)
	}
}

func second[T any](_ T, err error) error { return err }

// testRoundTrip: params, distributions, values, metrics, intermediate values and
// attributes come back exactly.
func testRoundTrip(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	st := newStudy(t, s, "rt", func(r *retune.StudyRecord) {
		r.Directions = []retune.Direction{retune.Minimize, retune.Maximize}
	})
	params := map[string]any{
		"f":    0.1 + 0.2,
		"tiny": 5e-324,
		"lg":   1e-3,
		"st":   0.75,
		"i":    int64(1<<62 + 1),
		"il":   int64(100),
		"c":    "b",
		"n":    float64(2),
		"flag": true,
	}
	dists := map[string]retune.Distribution{
		"f":    retune.FloatDistribution{Low: -1, High: 1},
		"tiny": retune.FloatDistribution{Low: 0, High: 1},
		"lg":   retune.FloatDistribution{Low: 1e-5, High: 1, Log: true},
		"st":   retune.FloatDistribution{Low: 0, High: 1, Step: 0.25},
		"i":    retune.IntDistribution{Low: 0, High: 1 << 62 * 1.5},
		"il":   retune.IntDistribution{Low: 1, High: 1000, Log: true},
		"c":    retune.CategoricalDistribution{Choices: []any{"a", "b"}},
		"n":    retune.CategoricalDistribution{Choices: []any{float64(1), float64(2), float64(4)}},
		"flag": retune.CategoricalDistribution{Choices: []any{false, true}},
	}
	ft := create(t, s, st.ID, nil)
	r := ref(st.ID, ft)
	inter := map[int64][]float64{0: {math.Inf(1), math.NaN()}, 5: {0.5, -0.25}, 1 << 40: {math.Inf(-1), 1e300}}
	for step, v := range inter {
		if err := s.Report(ctx, r, step, v); err != nil {
			t.Fatalf("Report(%d) error: %v", step, err)
		}
	}
	if err := s.Report(ctx, r, 5, []float64{0.5, -0.125}); err != nil { // replaces step 5
		t.Fatal(err)
	}
	inter[5] = []float64{0.5, -0.125}
	user := map[string]any{"note": "héllo\x00 \"quoted\"", "list": []any{float64(1), "two", nil}, "nested": map[string]any{"a": true}}
	got, err := s.Finish(ctx, retune.FinishRequest{
		Ref: r, State: retune.TrialComplete, Values: []float64{math.Inf(-1), math.Inf(1)},
		Metrics: map[string]float64{"latency_ms": 12.5, "inf": math.Inf(1), "nan": math.NaN()},
		Params:  params, Distributions: dists, UserAttrs: user,
		SystemAttrs: map[string]any{"sampler": "tpe"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []retune.FrozenTrial{got, mustTrial(t, s, st.ID, ft.Number), mustTrial(t, open(t), st.ID, ft.Number)} {
		checkTrial(t, g, params, dists, inter, user)
	}
	fs, _, err := s.FinishedSince(ctx, st.ID, 0)
	if err != nil || len(fs) != 1 {
		t.Fatalf("FinishedSince = %d trials, %v", len(fs), err)
	}
	checkTrial(t, fs[0], params, dists, inter, user)
	all, err := open(t).Trials(ctx, st.ID) // another handle reads the same
	if err != nil || len(all) != 1 {
		t.Fatalf("Trials = %d, %v", len(all), err)
	}
	checkTrial(t, all[0], params, dists, inter, user)
}

func mustTrial(t *testing.T, s retune.Storage, studyID int64, n int) retune.FrozenTrial {
	t.Helper()
	ft, err := s.Trial(ctxT(t), studyID, n)
	if err != nil {
		t.Fatalf("Trial(%d) error: %v", n, err)
	}
	return ft
}

func checkTrial(t *testing.T, g retune.FrozenTrial, params map[string]any, dists map[string]retune.Distribution, inter map[int64][]float64, user map[string]any) {
	t.Helper()
	if !reflect.DeepEqual(g.Params, params) {
		t.Errorf("Params = %#v, want %#v", g.Params, params)
	}
	for k, d := range dists {
		if g.Distributions[k] == nil || !g.Distributions[k].Equal(d) {
			t.Errorf("Distributions[%s] = %v, want %v", k, g.Distributions[k], d)
		}
	}
	if len(g.Values) != 2 || !math.IsInf(g.Values[0], -1) || !math.IsInf(g.Values[1], 1) {
		t.Errorf("Values = %v, want [-Inf +Inf]", g.Values)
	}
	if g.Metrics["latency_ms"] != 12.5 || !math.IsInf(g.Metrics["inf"], 1) || !math.IsNaN(g.Metrics["nan"]) {
		t.Errorf("Metrics = %v, want latency_ms 12.5, inf +Inf, nan NaN", g.Metrics)
	}
	if len(g.Intermediate) != len(inter) {
		t.Errorf("Intermediate = %v, want %v", g.Intermediate, inter)
	}
	for step, want := range inter {
		got := g.Intermediate[step]
		if len(got) != len(want) {
			t.Errorf("Intermediate[%d] = %v, want %v", step, got, want)
			continue
		}
		for i := range want {
			if !(got[i] == want[i] || math.IsNaN(got[i]) && math.IsNaN(want[i])) {
				t.Errorf("Intermediate[%d] = %v, want %v", step, got, want)
			}
		}
	}
	if !reflect.DeepEqual(g.UserAttrs, user) || g.SystemAttrs["sampler"] != "tpe" {
		t.Errorf("attrs = %#v / %#v, want %#v and sampler=tpe", g.UserAttrs, g.SystemAttrs, user)
	}
}

func testInvalidValues(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	st := newStudy(t, s, "nan", nil)
	ft := create(t, s, st.ID, nil)
	r := ref(st.ID, ft)
	for _, tc := range []struct {
		name string
		req  retune.FinishRequest
	}{
		{"NaN value", retune.FinishRequest{Ref: r, State: retune.TrialComplete, Values: []float64{math.NaN()}}},
		{"no values", retune.FinishRequest{Ref: r, State: retune.TrialComplete}},
		{"running state", retune.FinishRequest{Ref: r, State: retune.TrialRunning, Values: []float64{1}}},
		{"param outside", retune.FinishRequest{Ref: r, State: retune.TrialComplete, Values: []float64{1},
			Params: map[string]any{"x": 5.0}, Distributions: map[string]retune.Distribution{"x": retune.FloatDistribution{Low: 0, High: 1}}}},
		{"param without distribution", retune.FinishRequest{Ref: r, State: retune.TrialComplete, Values: []float64{1}, Params: map[string]any{"x": 0.5}}},
		{"huge attribute", retune.FinishRequest{Ref: r, State: retune.TrialComplete, Values: []float64{1}, UserAttrs: map[string]any{"a": strings.Repeat("x", retune.MaxAttrValueLen+1)}}},
		{"bad attribute key", retune.FinishRequest{Ref: r, State: retune.TrialComplete, Values: []float64{1}, UserAttrs: map[string]any{"": 1}}},
		{"unencodable attribute", retune.FinishRequest{Ref: r, State: retune.TrialComplete, Values: []float64{1}, UserAttrs: map[string]any{"f": func() {}}}},
	} {
		if _, err := s.Finish(ctx, tc.req); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("Finish(%s) error = %v, want ErrInvalid", tc.name, err)
		}
	}
	if got := mustTrial(t, s, st.ID, ft.Number); got.State != retune.TrialRunning {
		t.Errorf("after rejected finishes the trial is %v, want RUNNING", got.State)
	}
	if _, err := s.CreateStudy(ctx, retune.StudyRecord{Name: "", Directions: []retune.Direction{retune.Minimize}}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("CreateStudy(empty name) error = %v, want ErrInvalid", err)
	}
	if _, err := s.CreateStudy(ctx, retune.StudyRecord{Name: strings.Repeat("n", retune.MaxNameLen+1), Directions: []retune.Direction{retune.Minimize}}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("CreateStudy(long name) error = %v, want ErrInvalid", err)
	}
	if err := s.Report(ctx, r, -1, []float64{1}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Report(step -1) error = %v, want ErrInvalid", err)
	}
	if _, err := s.Finish(ctx, retune.FinishRequest{Ref: r, State: retune.TrialFail, Reason: "objective returned NaN"}); err != nil {
		t.Errorf("Finish(FAIL) error: %v", err)
	}
}

// testFinishedSince: every finished trial is returned once, in finish order, across
// concurrent finishers; an empty read keeps the cursor.
func testFinishedSince(t *testing.T, open Opener) {
	handles := []retune.Storage{open(t), open(t)}
	st := newStudy(t, handles[0], "inc", nil)
	var cursor int64
	seen := map[int]int{}
	read := func() []retune.FrozenTrial {
		fs, next, err := handles[1].FinishedSince(ctxT(t), st.ID, cursor)
		if err != nil {
			t.Fatalf("FinishedSince(%d) error: %v", cursor, err)
		}
		if len(fs) == 0 && next != cursor {
			t.Errorf("empty FinishedSince moved the cursor %d → %d", cursor, next)
		}
		cursor = next
		for _, ft := range fs {
			seen[ft.Number]++
			if !ft.State.Finished() {
				t.Errorf("FinishedSince returned trial %d in state %v", ft.Number, ft.State)
			}
		}
		return fs
	}
	read()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() { // a reader racing the writers
		for {
			select {
			case <-stop:
				return
			default:
				read()
			}
		}
	})
	var writers sync.WaitGroup
	for w := range 4 {
		s := handles[w%2]
		writers.Go(func() {
			for i := range 25 {
				ft, err := s.CreateTrial(t.Context(), retune.CreateTrialRequest{StudyID: st.ID, Holder: "w", LeaseTTL: time.Minute})
				if err != nil {
					t.Errorf("CreateTrial: %v", err)
					return
				}
				state := retune.TrialComplete
				if i%5 == 0 {
					state = retune.TrialFail
				}
				if _, err := s.Finish(t.Context(), retune.FinishRequest{Ref: ref(st.ID, ft), State: state, Values: []float64{float64(i)}}); err != nil {
					t.Errorf("Finish: %v", err)
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	read()
	if len(seen) != 100 {
		t.Errorf("saw %d distinct finished trials, want 100", len(seen))
	}
	for n, c := range seen {
		if c != 1 {
			t.Errorf("trial %d returned %d times, want once", n, c)
		}
	}
	if fs := read(); len(fs) != 0 {
		t.Errorf("FinishedSince(end) = %d trials, want none", len(fs))
	}
}

func testLeaseExpiry(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	st := newStudy(t, s, "lease", func(r *retune.StudyRecord) { r.Budget.Retries = 1 })
	short := func(r *retune.CreateTrialRequest) { r.LeaseTTL = 300 * time.Millisecond }
	ft := create(t, s, st.ID, nil) // a minute: nothing expires before the check below
	params := map[string]any{"x": 0.25}
	dists := map[string]retune.Distribution{"x": retune.FloatDistribution{Low: 0, High: 1}}
	if err := s.Update(ctx, retune.TrialUpdate{Ref: ref(st.ID, ft), Params: params, Distributions: dists}); err != nil {
		t.Fatal(err)
	}
	alive := create(t, s, st.ID, nil)
	if n, err := s.ExpireLeases(ctx, st.ID); err != nil || n != 0 {
		t.Errorf("ExpireLeases before expiry = %d, %v, want 0", n, err)
	}
	if _, err := s.Heartbeat(ctx, ref(st.ID, ft), 300*time.Millisecond); err != nil { // now a short lease
		t.Fatal(err)
	}
	// Keep one trial alive (a long renewal: no timing to race on a busy machine) while the
	// other's short lease runs out.
	if _, err := s.Heartbeat(ctx, ref(st.ID, alive), time.Hour); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && !mustTrial(t, s, st.ID, ft.Number).Lease.Expires.Before(time.Now().Add(-100*time.Millisecond)) {
		time.Sleep(50 * time.Millisecond)
	}
	n, err := s.ExpireLeases(ctx, st.ID)
	if err != nil || n != 1 {
		t.Fatalf("ExpireLeases = %d, %v, want 1", n, err)
	}
	got := mustTrial(t, s, st.ID, ft.Number)
	if got.State != retune.TrialFail || got.Reason != retune.ReasonLeaseExpired {
		t.Errorf("expired trial = %v %q, want FAIL %q", got.State, got.Reason, retune.ReasonLeaseExpired)
	}
	if st := mustTrial(t, s, st.ID, alive.Number).State; st != retune.TrialRunning {
		t.Errorf("renewed trial is %v, want RUNNING", st)
	}
	if _, err := s.Finish(ctx, retune.FinishRequest{Ref: ref(st.ID, ft), State: retune.TrialComplete, Values: []float64{1}}); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("Finish by the expired holder: error = %v, want ErrConflict", err)
	}
	retry := create(t, s, st.ID, short)
	if retry.RetryOf != ft.Number || fmt.Sprint(retry.Fixed["x"]) != "0.25" {
		t.Fatalf("claimed retry = retry of %d, fixed %v, want retry of %d with x=0.25", retry.RetryOf, retry.Fixed, ft.Number)
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := s.Heartbeat(ctx, ref(st.ID, alive), time.Minute); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ExpireLeases(ctx, st.ID); err != nil || n != 1 {
		t.Fatalf("second ExpireLeases = %d, %v, want 1", n, err)
	}
	if _, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h", LeaseTTL: time.Minute, ClaimOnly: true}); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("a retry of a retry was enqueued with Retries 1 (claim error = %v)", err)
	}
}

func testRunning(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	st := newStudy(t, s, "run", nil)
	a := create(t, s, st.ID, nil)
	b := create(t, s, st.ID, nil)
	complete(t, s, st.ID, a, 1)
	if err := s.Update(ctx, retune.TrialUpdate{Ref: ref(st.ID, b), Params: map[string]any{"c": "x"},
		Distributions: map[string]retune.Distribution{"c": retune.CategoricalDistribution{Choices: []any{"x", "y"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Report(ctx, ref(st.ID, b), 2, []float64{0.5}); err != nil {
		t.Fatal(err)
	}
	run, err := open(t).Running(ctx, st.ID)
	if err != nil || len(run) != 1 {
		t.Fatalf("Running = %v, %v, want trial %d", run, err, b.Number)
	}
	if g := run[0]; g.Number != b.Number || g.Params["c"] != "x" || len(g.Intermediate[2]) != 1 || g.Intermediate[2][0] != 0.5 || g.Lease.Holder != "test" {
		t.Errorf("Running()[0] = %+v, want params c=x, step 2 = 0.5, holder test", g)
	}
}

// testRunningExcept: RunningExcept is Running without the trials named.
func testRunningExcept(t *testing.T, open Opener) {
	s := open(t)
	rx, ok := s.(retune.RunningExcepter)
	if !ok {
		t.Skip("the storage reads running trials only all together (no retune.RunningExcepter)")
	}
	ctx := ctxT(t)
	st := newStudy(t, s, "except", nil)
	a, b, c := create(t, s, st.ID, nil), create(t, s, st.ID, nil), create(t, s, st.ID, nil)
	if err := s.Report(ctx, ref(st.ID, b), 1, []float64{0.5}); err != nil {
		t.Fatal(err)
	}
	complete(t, s, st.ID, c, 1)
	for _, tc := range []struct {
		except, want []int
	}{
		{nil, []int{a.Number, b.Number}},
		{[]int{a.Number}, []int{b.Number}},
		{[]int{c.Number, 99}, []int{a.Number, b.Number}},
		{[]int{b.Number, a.Number}, nil},
	} {
		run, err := rx.RunningExcept(ctx, st.ID, tc.except)
		if err != nil {
			t.Fatalf("RunningExcept(%v) error: %v", tc.except, err)
		}
		var got []int
		for _, ft := range run {
			got = append(got, ft.Number)
			if ft.Number == b.Number && (len(ft.Intermediate) != 1 || ft.Intermediate[1][0] != 0.5) {
				t.Errorf("RunningExcept(%v): trial %d has steps %v, want step 1 = 0.5", tc.except, ft.Number, ft.Intermediate)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("RunningExcept(%v) = trials %v, want %v", tc.except, got, tc.want)
		}
	}
	if _, err := rx.RunningExcept(ctx, st.ID+1000, nil); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("RunningExcept(missing study) error = %v, want ErrNotFound", err)
	}
}

func testDelete(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	st := newStudy(t, s, "del", nil)
	keep := newStudy(t, s, "keep", nil)
	complete(t, s, st.ID, create(t, s, st.ID, nil), 1)
	complete(t, s, keep.ID, create(t, s, keep.ID, nil), 1)
	if err := s.DeleteStudy(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Study(ctx, "del"); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Study after delete: error = %v, want ErrNotFound", err)
	}
	if ts, err := s.Trials(ctx, keep.ID); err != nil || len(ts) != 1 {
		t.Errorf("the other study's trials = %d, %v, want 1", len(ts), err)
	}
	again := newStudy(t, s, "del", nil) // the name is free again, with no trials
	if ts, err := s.Trials(ctx, again.ID); err != nil || len(ts) != 0 {
		t.Errorf("recreated study has %d trials, %v, want 0", len(ts), err)
	}
}

func testAttributes(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	st := newStudy(t, s, "attrs", nil)
	ft := create(t, s, st.ID, func(r *retune.CreateTrialRequest) { r.System = map[string]any{"host": "h1", "pgid": float64(42)} })
	if ft.SystemAttrs["host"] != "h1" {
		t.Errorf("CreateTrial system attrs = %v, want host h1", ft.SystemAttrs)
	}
	if err := s.Update(ctx, retune.TrialUpdate{Ref: ref(st.ID, ft), UserAttrs: map[string]any{"a": float64(1)}, SystemAttrs: map[string]any{"pgid": nil}}); err != nil {
		t.Fatal(err)
	}
	got := mustTrial(t, s, st.ID, ft.Number)
	if got.UserAttrs["a"] != float64(1) || got.SystemAttrs["host"] != "h1" || got.SystemAttrs["pgid"] != nil {
		t.Errorf("attrs = %v / %v, want a=1, host=h1, no pgid", got.UserAttrs, got.SystemAttrs)
	}
	if err := s.UpdateStudy(ctx, st.ID, retune.StudyUpdate{UserAttrs: map[string]any{"big": strings.Repeat("x", retune.MaxAttrValueLen)}}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("UpdateStudy(oversized attr) error = %v, want ErrInvalid", err)
	}
}

// testMissing: reads and writes on a study that does not exist say so.
func testMissing(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	const missing = int64(1) << 40
	errs := map[string]error{
		"Running":       second(s.Running(ctx, missing)),
		"Trials":        second(s.Trials(ctx, missing)),
		"Trial":         second(s.Trial(ctx, missing, 0)),
		"ExpireLeases":  second(s.ExpireLeases(ctx, missing)),
		"CreateTrial":   second(s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: missing, Holder: "h", LeaseTTL: time.Minute})),
		"Enqueue":       second(s.Enqueue(ctx, retune.EnqueueRequest{StudyID: missing, Params: []map[string]any{{"x": 1}}})),
		"DeleteStudy":   s.DeleteStudy(ctx, missing),
		"FinishedSince": func() error { _, _, err := s.FinishedSince(ctx, missing, 0); return err }(),
	}
	for name, err := range errs {
		if !errors.Is(err, retune.ErrNotFound) {
			t.Errorf("%s on a missing study: error = %v, want ErrNotFound", name, err)
		}
	}
	st := newStudy(t, s, "cursor", nil)
	if _, _, err := s.FinishedSince(ctx, st.ID, 5); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("FinishedSince(cursor beyond the end) error = %v, want ErrInvalid", err)
	}
}

// testDenseAfterFailures: failed creations (nothing to claim, budget spent) leave no gap
// in trial numbers, and ±Inf values rank in the study summary.
func testDenseAfterFailures(t *testing.T, open Opener) {
	s := open(t)
	ctx := ctxT(t)
	st := newStudy(t, s, "gaps", func(r *retune.StudyRecord) { r.Budget.Trials = 3 })
	var nums []int
	for i := range 3 {
		if _, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h", LeaseTTL: time.Minute, ClaimOnly: true}); !errors.Is(err, retune.ErrNotFound) {
			t.Errorf("claim with nothing waiting: %v, want ErrNotFound", err)
		}
		ft := create(t, s, st.ID, nil)
		nums = append(nums, ft.Number)
		v := []float64{math.Inf(1), -2, math.Inf(-1)}[i]
		complete(t, s, st.ID, ft, v)
	}
	if _, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h", LeaseTTL: time.Minute}); !errors.Is(err, retune.ErrBudgetExhausted) {
		t.Errorf("create over budget: %v, want ErrBudgetExhausted", err)
	}
	confirm := create(t, s, st.ID, func(r *retune.CreateTrialRequest) { r.Kind = retune.KindConfirm })
	nums = append(nums, confirm.Number)
	if fmt.Sprint(nums) != "[0 1 2 3]" {
		t.Errorf("trial numbers %v after failed creations, want [0 1 2 3]", nums)
	}
	sums, err := s.Studies(ctx)
	if err != nil || len(sums) != 1 || sums[0].Best == nil || !math.IsInf(*sums[0].Best, -1) {
		t.Errorf("Studies() = %+v, %v, want best -Inf", sums, err)
	}
}
