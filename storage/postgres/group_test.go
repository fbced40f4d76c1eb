package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/jackc/pgx/v5/pgconn"
)

// queued is how many writes of key wait behind the one in flight.
func (g *groups) queued(key groupKey) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if q := g.m[key]; q != nil {
		return len(q.calls)
	}
	return 0
}

// holdFirst makes the next write of s wait, before it is sent, until n writes of key
// queue behind it; then it runs then (if not nil) and lets the write go. lost, if set,
// loses the reply of the first group sent afterwards: once its first write's token has
// committed, the group's connection is closed under it.
func holdFirst(t *testing.T, s *Store, key groupKey, n int, then func(), lost string) {
	t.Helper()
	var calls atomic.Int32
	s.onCall = func(c *pgconn.PgConn, token int64, sent bool) {
		switch i := calls.Add(1); {
		case i == 1:
			for deadline := time.Now().Add(30 * time.Second); s.groups.queued(key) < n; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Errorf("%d writes queued after 30s, want %d", s.groups.queued(key), n)
					return
				}
			}
			if then != nil {
				then()
			}
		case i == 4 && lost != "":
			closeOnceTrue(t, c, lost, fmt.Sprint("write token ", token, " committed"),
				`SELECT count(*) = 1 FROM `+s.pool.Config().ConnConfig.RuntimeParams["search_path"]+`.trials WHERE write_token = $1`, token)
		}
	}
	t.Cleanup(func() { s.onCall = nil })
}

// concurrently runs f(0..n-1) on n goroutines and waits for them: f(0) first, the others
// once its write to key is in flight.
func concurrently(s *Store, key groupKey, n int, f func(i int)) {
	var wg sync.WaitGroup
	wg.Go(func() { f(0) })
	for !s.busy(key) && s.groups.sent.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < n; i++ {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// createAll creates n trials at once in study.
func createAll(t *testing.T, s *Store, study int64, n int) ([]retune.FrozenTrial, []error) {
	t.Helper()
	fts, errs := make([]retune.FrozenTrial, n), make([]error, n)
	concurrently(s, groupKey{study: study}, n, func(i int) {
		fts[i], errs[i] = s.CreateTrial(t.Context(), retune.CreateTrialRequest{StudyID: study, Holder: "h", LeaseTTL: time.Minute})
	})
	return fts, errs
}

// finishAll finishes fts at once, each with its number as its value.
func finishAll(t *testing.T, s *Store, study int64, fts []retune.FrozenTrial) ([]retune.FrozenTrial, []error) {
	t.Helper()
	got, errs := make([]retune.FrozenTrial, len(fts)), make([]error, len(fts))
	concurrently(s, groupKey{study: study, finish: true}, len(fts), func(i int) {
		ft := fts[i]
		got[i], errs[i] = s.Finish(t.Context(), retune.FinishRequest{Ref: retune.TrialRef{StudyID: study, Number: ft.Number, Epoch: ft.Lease.Epoch},
			State: retune.TrialComplete, Values: []float64{float64(ft.Number)}, UserAttrs: map[string]any{"n": ft.Number}})
	})
	return got, errs
}

// numbers are fts' numbers, sorted.
func numbers(fts []retune.FrozenTrial) []int {
	var out []int
	for _, ft := range fts {
		out = append(out, ft.Number)
	}
	slices.Sort(out)
	return out
}

// wantStored checks that study holds exactly the trials 0..n-1, in state.
func wantStored(t *testing.T, s *Store, study int64, n int, state retune.TrialState) {
	t.Helper()
	all, err := s.Trials(t.Context(), study)
	if err != nil {
		t.Fatal(err)
	}
	if got := numbers(all); !slices.Equal(got, seq(n)) {
		t.Fatalf("stored trials %v, want %v", got, seq(n))
	}
	for _, ft := range all {
		if ft.State != state {
			t.Errorf("trial %d is %v, want %v", ft.Number, ft.State, state)
		}
		if state == retune.TrialComplete && (len(ft.Values) != 1 || ft.Values[0] != float64(ft.Number) || ft.UserAttrs["n"] != float64(ft.Number)) {
			t.Errorf("trial %d stored values %v attrs %v, want [%d] {n:%d}", ft.Number, ft.Values, ft.UserAttrs, ft.Number, ft.Number)
		}
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestGroupCommit: creates and finishes that arrive while one is in flight go together in
// one round trip, and each gets its own trial and outcome.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	s := openStore(t, dsn, schema)
	study := newStudyIn(t, s, "group", retune.Budget{}).ID

	holdFirst(t, s, groupKey{study: study}, 7, nil, "")
	fts, errs := createAll(t, s, study, 8)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := numbers(fts); !slices.Equal(got, seq(8)) {
		t.Fatalf("created %v, want 0..7 each once", got)
	}
	if got := s.groups.sent.Load(); got != 7 {
		t.Fatalf("%d creates went in a group, want 7", got)
	}

	holdFirst(t, s, groupKey{study: study, finish: true}, 7, nil, "")
	got, errs := finishAll(t, s, study, fts)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, ft := range got {
		if ft.Number != fts[i].Number || ft.State != retune.TrialComplete || ft.Values[0] != float64(ft.Number) {
			t.Errorf("Finish of trial %d = trial %d %v %v", fts[i].Number, ft.Number, ft.State, ft.Values)
		}
	}
	if got := s.groups.sent.Load(); got != 14 {
		t.Fatalf("%d writes went in a group, want 14", got)
	}
	wantStored(t, s, study, 8, retune.TrialComplete)
	// The finish counter gave each finish its own place.
	done, _, err := s.FinishedSince(t.Context(), study, 0)
	if err != nil || len(done) != 8 {
		t.Fatalf("FinishedSince = %d trials, %v; want 8", len(done), err)
	}
}

// TestGroupFailsAlone: when one write of a group fails (the budget is spent, a fence
// fails), the group rolls back and each write runs again alone with its own outcome.
func TestGroupFailsAlone(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	s := openStore(t, dsn, schema)
	study := newStudyIn(t, s, "alone", retune.Budget{Trials: 5}).ID

	holdFirst(t, s, groupKey{study: study}, 7, nil, "")
	fts, errs := createAll(t, s, study, 8)
	var made []retune.FrozenTrial
	spent := 0
	for i, err := range errs {
		switch {
		case err == nil:
			made = append(made, fts[i])
		case errors.Is(err, retune.ErrBudgetExhausted):
			spent++
		default:
			t.Errorf("CreateTrial: %v", err)
		}
	}
	if got := numbers(made); !slices.Equal(got, seq(5)) || spent != 3 {
		t.Fatalf("created %v and %d budget errors, want 0..4 and 3", got, spent)
	}

	// One finish of the group names a lease that another holder has taken over since.
	stale := made[2]
	execSQL(t, dsn, `UPDATE `+schema+`.trials SET lease_epoch = lease_epoch + 1 WHERE number = $1`, stale.Number)
	holdFirst(t, s, groupKey{study: study, finish: true}, 4, nil, "")
	_, errs = finishAll(t, s, study, made)
	for i, err := range errs {
		if (i == 2) != (err != nil) {
			t.Errorf("Finish of trial %d: %v", made[i].Number, err)
		}
	}
	if !errors.Is(errs[2], retune.ErrConflict) {
		t.Errorf("Finish under an old lease: %v, want a conflict", errs[2])
	}
	if got := s.groups.sent.Load(); got != 0 {
		t.Errorf("%d writes reported from a failed group, want 0", got)
	}
	all, err := s.Trials(t.Context(), study)
	if err != nil {
		t.Fatal(err)
	}
	for _, ft := range all {
		if want := map[bool]retune.TrialState{true: retune.TrialRunning, false: retune.TrialComplete}[ft.Number == stale.Number]; ft.State != want {
			t.Errorf("trial %d is %v, want %v", ft.Number, ft.State, want)
		}
	}
}

// TestGroupLostReply: a group whose transaction commits but whose reply is lost is sent
// again; every write reports its trial, and nothing is written twice.
func TestGroupLostReply(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	s := openStore(t, dsn, schema)
	study := newStudyIn(t, s, "lost", retune.Budget{}).ID

	holdFirst(t, s, groupKey{study: study}, 5, nil, dsn)
	fts, errs := createAll(t, s, study, 6)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := numbers(fts); !slices.Equal(got, seq(6)) {
		t.Fatalf("created %v, want 0..5 each once", got)
	}
	wantStored(t, s, study, 6, retune.TrialRunning)

	holdFirst(t, s, groupKey{study: study, finish: true}, 5, nil, dsn)
	_, errs = finishAll(t, s, study, fts)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	wantStored(t, s, study, 6, retune.TrialComplete)
	if done, _, err := s.FinishedSince(t.Context(), study, 0); err != nil || len(done) != 6 {
		t.Fatalf("FinishedSince = %d trials, %v; want 6", len(done), err)
	}
}

// TestGroupWaiterGivesUp: a write whose context ends while it waits is never sent.
func TestGroupWaiterGivesUp(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	s := openStore(t, dsn, schema)
	study := newStudyIn(t, s, "gives-up", retune.Budget{}).ID
	key := groupKey{study: study}

	ctx, cancel := context.WithCancel(t.Context())
	holdFirst(t, s, key, 2, func() {
		cancel()
		for deadline := time.Now().Add(30 * time.Second); s.groups.queued(key) != 1; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("the cancelled write still queued after 30s")
				return
			}
		}
	}, "")
	var first, kept, gaveUp error
	var wg sync.WaitGroup
	create := func(ctx context.Context, err *error) {
		_, *err = s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: study, Holder: "h", LeaseTTL: time.Minute})
	}
	wg.Go(func() { create(t.Context(), &first) })
	for s.groups.queued(key) == 0 && !s.busy(key) {
		time.Sleep(time.Millisecond)
	}
	wg.Go(func() { create(ctx, &gaveUp) })
	for s.groups.queued(key) < 1 {
		time.Sleep(time.Millisecond)
	}
	wg.Go(func() { create(t.Context(), &kept) })
	wg.Wait()
	if first != nil || kept != nil || !errors.Is(gaveUp, context.Canceled) {
		t.Fatalf("creates = %v, %v, %v; want nil, nil and the cancelled one's context error", first, kept, gaveUp)
	}
	wantStored(t, s, study, 2, retune.TrialRunning)
}

// busy reports whether a write of key is in flight.
func (s *Store) busy(key groupKey) bool {
	s.groups.mu.Lock()
	defer s.groups.mu.Unlock()
	q := s.groups.m[key]
	return q != nil && q.busy
}
