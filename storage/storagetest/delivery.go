package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// The delivery tests: deliveries created with their events, exclusive leased claims,
// attempts, retries, dead letters, redelivery and notifier health (retune.DeliveryStore).

func deliveryStore(t *testing.T, s retune.Storage) retune.DeliveryStore {
	t.Helper()
	ds, ok := s.(retune.DeliveryStore)
	if !ok {
		t.Fatalf("%T does not implement retune.DeliveryStore", s)
	}
	return ds
}

func notifyEvent(id string, notify ...string) retune.Event {
	e := event(id)
	e.Notify = notify
	return e
}

func claim(t *testing.T, ds retune.DeliveryStore, owner string, lease time.Duration, limit int, notifiers ...string) []retune.Delivery {
	t.Helper()
	got, err := ds.ClaimDeliveries(ctxT(t), retune.ClaimRequest{Owner: owner, Notifiers: notifiers, Lease: lease, Limit: limit})
	if err != nil {
		t.Fatalf("ClaimDeliveries(%s, %v) error: %v", owner, notifiers, err)
	}
	return got
}

func attempt(owner string, id int64, state retune.DeliveryState, next time.Time) retune.AttemptResult {
	return retune.AttemptResult{Owner: owner, Delivery: id, State: state, NextAt: next,
		Attempt: retune.DeliveryAttempt{Started: time.Now(), Duration: time.Millisecond, Status: 500, Outcome: "retry", Error: "boom"}}
}

// testDeliveriesFanOut: an event stored with notifiers has one pending delivery per
// notifier, due at once, in the same transaction as what it announces.
func testDeliveriesFanOut(t *testing.T, open Opener) {
	s := open(t)
	rs, ds := retrainStore(t, s), deliveryStore(t, s)
	ctx := ctxT(t)
	if _, err := rs.RecordDecision(ctx, decision("run-1", 0, 1), []retune.Event{notifyEvent("e1", "hook", "bus"), event("e2")}); err != nil {
		t.Fatal(err)
	}
	if err := ds.AppendEvents(ctx, []retune.Event{notifyEvent("e3", "hook")}); err != nil {
		t.Fatal(err)
	}
	evs, err := rs.Events(ctx, 0, 0)
	if err != nil || len(evs) != 3 || !slices.Equal(evs[0].Notify, []string{"hook", "bus"}) || evs[1].Notify != nil ||
		!slices.Equal(evs[2].Notify, []string{"hook"}) {
		t.Fatalf("Events = %+v, %v, want e1 for hook and bus, e2 for none, e3 for hook", evs, err)
	}
	all, err := ds.Deliveries(ctx, retune.DeliveryFilter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("Deliveries = %+v, %v, want 3", all, err)
	}
	for _, d := range all {
		if d.State != retune.DeliveryPending || d.Attempts != 0 || d.NextAt.After(time.Now()) || d.Created.IsZero() ||
			d.Event.ID == "e2" || d.Event.Type != retune.TypeChampionPromoted {
			t.Errorf("delivery %+v: want pending, due, of e1 or e3 with its event", d)
		}
	}
	if got, err := ds.Deliveries(ctx, retune.DeliveryFilter{Notifier: "hook"}); err != nil || len(got) != 2 || got[0].Event.ID != "e3" {
		t.Errorf("Deliveries(notifier hook) = %+v, %v, want e3's then e1's", got, err)
	}
	if got, err := ds.Deliveries(ctx, retune.DeliveryFilter{EventID: "e1", Limit: 1}); err != nil || len(got) != 1 || got[0].Event.ID != "e1" {
		t.Errorf("Deliveries(event e1, limit 1) = %+v, %v, want one of e1", got, err)
	}
	// A failed write stores neither the event nor its deliveries.
	if _, err := rs.RecordDecision(ctx, decision("run-1", 0, 1), []retune.Event{notifyEvent("e4", "hook")}); !errors.Is(err, retune.ErrConflict) {
		t.Fatalf("duplicate decision: %v, want ErrConflict", err)
	}
	if got, _ := ds.Deliveries(ctx, retune.DeliveryFilter{}); len(got) != 3 {
		t.Errorf("after a refused write: %d deliveries, want 3", len(got))
	}
}

// testClaimDeliveriesOnce: of concurrent dispatchers each due delivery is claimed by one;
// a claim holds until its lease runs out, and a dispatcher that lost its lease records
// its attempt but not the state.
func testClaimDeliveriesOnce(t *testing.T, open Opener) {
	handles := []retune.DeliveryStore{deliveryStore(t, open(t)), deliveryStore(t, open(t)), deliveryStore(t, open(t))}
	ds := handles[0]
	ctx := ctxT(t)
	const n = 40
	for i := range n {
		if err := ds.AppendEvents(ctx, []retune.Event{notifyEvent(fmt.Sprint("ev-", i), "a", "b")}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu   sync.Mutex
		seen = map[int64]string{}
		wg   sync.WaitGroup
	)
	for w := range 6 {
		wg.Go(func() {
			owner := fmt.Sprint("w", w)
			for {
				got, err := handles[w%3].ClaimDeliveries(ctx, retune.ClaimRequest{Owner: owner, Notifiers: []string{"a"}, Lease: time.Hour, Limit: 3})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					if prev, ok := seen[d.ID]; ok {
						t.Errorf("delivery %d claimed by %s and %s", d.ID, prev, owner)
					}
					if d.Notifier != "a" {
						t.Errorf("claim for notifier a got %+v", d)
					}
					seen[d.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d deliveries to a, want %d", len(seen), n)
	}
	if got := claim(t, ds, "late", time.Hour, 100, "a"); len(got) != 0 {
		t.Errorf("claim while leased = %d deliveries, want none", len(got))
	}
	// Lease expiry: a short lease is claimable again by another dispatcher.
	first := claim(t, ds, "d1", 50*time.Millisecond, 1, "b")
	if len(first) != 1 {
		t.Fatalf("claim b = %d, want 1", len(first))
	}
	time.Sleep(120 * time.Millisecond)
	again := claim(t, handles[1], "d2", time.Hour, 100, "b")
	if !slices.ContainsFunc(again, func(d retune.Delivery) bool { return d.ID == first[0].ID }) || len(again) != n {
		t.Fatalf("claim after lease expiry = %d deliveries, want all %d including %d", len(again), n, first[0].ID)
	}
	_, err := ds.RecordAttempt(ctx, attempt("d1", first[0].ID, retune.DeliveryDelivered, time.Time{}))
	if !errors.Is(err, retune.ErrLeaseLost) || !errors.Is(err, retune.ErrConflict) {
		t.Errorf("RecordAttempt by the lease's former owner: %v, want ErrLeaseLost", err)
	}
	if _, err := handles[1].RecordAttempt(ctx, attempt("d2", first[0].ID, retune.DeliveryDelivered, time.Time{})); err != nil {
		t.Fatalf("RecordAttempt by the lease's owner: %v", err)
	}
	got, err := ds.Deliveries(ctx, retune.DeliveryFilter{State: retune.DeliveryDelivered})
	if err != nil || len(got) != 1 || got[0].ID != first[0].ID || got[0].Attempts != 2 {
		t.Fatalf("delivered = %+v, %v, want delivery %d with 2 attempts", got, err, first[0].ID)
	}
	atts, err := ds.DeliveryAttempts(ctx, first[0].ID)
	if err != nil || len(atts) != 2 || atts[0].N != 1 || atts[0].Owner != "d1" || atts[1].N != 2 || atts[1].Owner != "d2" {
		t.Errorf("attempts = %+v, %v, want d1's then d2's", atts, err)
	}
	if got := claim(t, ds, "d3", time.Hour, 100, "a", "b"); len(got) != 0 {
		t.Errorf("claim of leased and delivered = %d, want none", len(got))
	}
	// Release: only the owner's leases end; the deliveries are claimable at once.
	var aIDs []int64
	for id, owner := range seen {
		if owner == "w0" || owner == "w1" {
			aIDs = append(aIDs, id)
		}
	}
	if err := ds.ReleaseDeliveries(ctx, "w0", aIDs); err != nil {
		t.Fatal(err)
	}
	got = claim(t, handles[2], "d4", time.Hour, 100, "a")
	for _, d := range got {
		if seen[d.ID] != "w0" {
			t.Errorf("after w0 released its leases, claimed %d held by %s", d.ID, seen[d.ID])
		}
	}
	w0 := 0
	for _, owner := range seen {
		if owner == "w0" {
			w0++
		}
	}
	if len(got) != w0 {
		t.Errorf("after w0 released %d leases, claimed %d", w0, len(got))
	}
	if err := ds.ReleaseDeliveries(ctx, "", aIDs); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("ReleaseDeliveries(no owner): %v, want ErrInvalid", err)
	}
}

// testDeliveryRetryDead: a failed attempt schedules the next; a dead letter is claimed
// again only after a redelivery.
func testDeliveryRetryDead(t *testing.T, open Opener) {
	ds := deliveryStore(t, open(t))
	ctx := ctxT(t)
	if err := ds.AppendEvents(ctx, []retune.Event{notifyEvent("r1", "hook"), notifyEvent("r2", "hook")}); err != nil {
		t.Fatal(err)
	}
	got := claim(t, ds, "d", time.Hour, 10, "hook")
	if len(got) != 2 || got[0].Event.ID != "r1" {
		t.Fatalf("claim = %+v, want r1's then r2's", got)
	}
	next := time.Now().Add(300 * time.Millisecond)
	ns, err := ds.RecordAttempt(ctx, attempt("d", got[0].ID, retune.DeliveryPending, next))
	if err != nil || ns.ID != "hook" || ns.FailingSince.IsZero() || !ns.Disabled.IsZero() {
		t.Fatalf("RecordAttempt(retry) = %+v, %v, want hook failing, enabled", ns, err)
	}
	if _, err := ds.RecordAttempt(ctx, attempt("d", got[1].ID, retune.DeliveryDead, time.Time{})); err != nil {
		t.Fatal(err)
	}
	if c := claim(t, ds, "d", time.Hour, 10, "hook"); len(c) != 0 {
		t.Errorf("claim before the retry is due = %+v, want none", c)
	}
	time.Sleep(time.Until(next) + 50*time.Millisecond)
	c := claim(t, ds, "d", time.Hour, 10, "hook")
	if len(c) != 1 || c[0].ID != got[0].ID || c[0].Attempts != 1 || c[0].LastError != "boom" {
		t.Fatalf("claim when due = %+v, want r1's with 1 attempt and its error", c)
	}
	ok := attempt("d", c[0].ID, retune.DeliveryDelivered, time.Time{})
	ok.Attempt.Outcome, ok.Attempt.Error, ok.Attempt.Status, ok.Attempt.Response = "delivered", "", 204, "thanks ✓"
	ns, err = ds.RecordAttempt(ctx, ok)
	if err != nil || !ns.FailingSince.IsZero() || ns.LastSuccess.IsZero() {
		t.Fatalf("RecordAttempt(delivered) = %+v, %v, want the failure streak cleared", ns, err)
	}
	dead, err := ds.Deliveries(ctx, retune.DeliveryFilter{State: retune.DeliveryDead})
	if err != nil || len(dead) != 1 || dead[0].Event.ID != "r2" || dead[0].LastError != "boom" {
		t.Fatalf("dead letters = %+v, %v, want r2's", dead, err)
	}
	ids, err := ds.Redeliver(ctx, "r2", nil)
	if err != nil || !slices.Equal(ids, []int64{dead[0].ID}) {
		t.Fatalf("Redeliver(r2) = %v, %v, want [%d]", ids, err, dead[0].ID)
	}
	ids, err = ds.Redeliver(ctx, "r1", []string{"hook", "audit"})
	if err != nil || len(ids) != 2 || ids[0] != got[0].ID {
		t.Fatalf("Redeliver(r1, hook+audit) = %v, %v, want its delivery and a new one", ids, err)
	}
	c = claim(t, ds, "d", time.Hour, 10, "hook", "audit")
	if len(c) != 3 {
		t.Fatalf("claim after redelivery = %+v, want r2's, r1's and r1's new one", c)
	}
	atts, err := ds.DeliveryAttempts(ctx, got[0].ID)
	if err != nil || len(atts) != 2 || atts[1].Status != 204 || atts[1].Response != "thanks ✓" || atts[1].Outcome != "delivered" ||
		atts[0].Error != "boom" || atts[0].Duration != time.Millisecond || atts[0].Started.IsZero() || atts[0].Started.Location() != time.UTC {
		t.Errorf("attempts = %+v, %v, want the two attempts as recorded", atts, err)
	}
	if _, err := ds.Redeliver(ctx, "nope", nil); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Redeliver(unknown event): %v, want ErrNotFound", err)
	}
	if _, err := ds.DeliveryAttempts(ctx, 99999); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("DeliveryAttempts(unknown): %v, want ErrNotFound", err)
	}
	if _, err := ds.RecordAttempt(ctx, attempt("d", 99999, retune.DeliveryDelivered, time.Time{})); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("RecordAttempt(unknown delivery): %v, want ErrNotFound", err)
	}
}

// testNotifierDisable: a disabled notifier's deliveries wait, kept, until it is enabled.
func testNotifierDisable(t *testing.T, open Opener) {
	ds := deliveryStore(t, open(t))
	ctx := ctxT(t)
	if err := ds.AppendEvents(ctx, []retune.Event{notifyEvent("n1", "gone", "ok"), notifyEvent("n2", "gone")}); err != nil {
		t.Fatal(err)
	}
	c := claim(t, ds, "d", time.Hour, 1, "gone")
	r := attempt("d", c[0].ID, retune.DeliveryPending, time.Now())
	r.Disable = "410 Gone"
	ns, err := ds.RecordAttempt(ctx, r)
	if err != nil || ns.Disabled.IsZero() || ns.Reason != "410 Gone" {
		t.Fatalf("RecordAttempt(disable) = %+v, %v, want gone disabled with its reason", ns, err)
	}
	if got := claim(t, ds, "d", time.Hour, 10, "gone", "ok"); len(got) != 1 || got[0].Notifier != "ok" {
		t.Errorf("claim with gone disabled = %+v, want only ok's delivery", got)
	}
	states, err := ds.Notifiers(ctx)
	if err != nil || len(states) != 2 || states[0].ID != "gone" || states[0].Disabled.IsZero() || states[1].ID != "ok" || !states[1].Disabled.IsZero() {
		t.Fatalf("Notifiers = %+v, %v, want gone disabled, ok enabled", states, err)
	}
	if err := ds.SetNotifierEnabled(ctx, "gone", true, ""); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, ds, "d", time.Hour, 10, "gone"); len(got) != 2 {
		t.Errorf("claim after enabling = %d deliveries, want both of gone's", len(got))
	}
	if err := ds.SetNotifierEnabled(ctx, "other", false, "maintenance"); err != nil {
		t.Fatal(err)
	}
	states, _ = ds.Notifiers(ctx)
	if i := slices.IndexFunc(states, func(n retune.NotifierState) bool { return n.ID == "other" }); i < 0 || states[i].Reason != "maintenance" {
		t.Errorf("Notifiers = %+v, want other disabled for maintenance", states)
	}
}

// testDeliveryInvalid: bad input is refused with ErrInvalid and writes nothing.
func testDeliveryInvalid(t *testing.T, open Opener) {
	s := open(t)
	rs, ds := retrainStore(t, s), deliveryStore(t, s)
	ctx := ctxT(t)
	for _, ids := range [][]string{{""}, {"a", "a"}, {"bad name"}, {strings.Repeat("x", 300)}} {
		if err := ds.AppendEvents(ctx, []retune.Event{notifyEvent("bad", ids...)}); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("AppendEvents(notify %q): %v, want ErrInvalid", ids, err)
		}
		if _, err := rs.RecordDecision(ctx, decision("bad", 0, 1), []retune.Event{notifyEvent("bad", ids...)}); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("RecordDecision(notify %q): %v, want ErrInvalid", ids, err)
		}
	}
	if evs, _ := rs.Events(ctx, 0, 0); len(evs) != 0 {
		t.Errorf("after refused writes: %d events, want none", len(evs))
	}
	for _, req := range []retune.ClaimRequest{
		{Notifiers: []string{"a"}, Lease: time.Second, Limit: 1},
		{Owner: "d", Notifiers: []string{"a"}, Limit: 1},
		{Owner: "d", Notifiers: []string{"a"}, Lease: time.Second},
		{Owner: "d", Notifiers: []string{"no good"}, Lease: time.Second, Limit: 1},
	} {
		if _, err := ds.ClaimDeliveries(ctx, req); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("ClaimDeliveries(%+v): %v, want ErrInvalid", req, err)
		}
	}
	for _, r := range []retune.AttemptResult{
		attempt("", 1, retune.DeliveryDelivered, time.Time{}),
		attempt("d", 1, "lost", time.Time{}),
		attempt("d", 1, retune.DeliveryPending, time.Time{}),
	} {
		if _, err := ds.RecordAttempt(ctx, r); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("RecordAttempt(%+v): %v, want ErrInvalid", r, err)
		}
	}
	if _, err := ds.Deliveries(ctx, retune.DeliveryFilter{State: "done"}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Deliveries(state done): %v, want ErrInvalid", err)
	}
	if _, err := ds.Redeliver(ctx, "", nil); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Redeliver(empty ID): %v, want ErrInvalid", err)
	}
	if err := ds.SetNotifierEnabled(ctx, "", true, ""); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("SetNotifierEnabled(empty ID): %v, want ErrInvalid", err)
	}
}

// testFindEvents: FindEvents pages newest first and filters by ID and by the state and
// notifier of an event's deliveries; bad queries are refused with ErrInvalid.
func testFindEvents(t *testing.T, open Opener) {
	s := open(t)
	ds, es := deliveryStore(t, s), s.(retune.EventStore)
	ctx := ctxT(t)
	// f1 for a and b, f2 for none, f3 for a, f4 for b; then f1's delivery to a goes dead
	// and f4's to b is delivered.
	if err := ds.AppendEvents(ctx, []retune.Event{notifyEvent("f1", "a", "b"), event("f2"), notifyEvent("f3", "a"), notifyEvent("f4", "b")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range claim(t, ds, "d", time.Hour, 10, "a", "b") {
		state := retune.DeliveryPending
		switch {
		case c.Event.ID == "f1" && c.Notifier == "a":
			state = retune.DeliveryDead
		case c.Event.ID == "f4":
			state = retune.DeliveryDelivered
		}
		if _, err := ds.RecordAttempt(ctx, attempt("d", c.ID, state, time.Now().Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(q retune.EventQuery) []string {
		t.Helper()
		evs, err := es.FindEvents(ctx, q)
		if err != nil {
			t.Fatalf("FindEvents(%+v) error: %v", q, err)
		}
		out := []string{}
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	all, err := es.FindEvents(ctx, retune.EventQuery{})
	if err != nil || len(all) != 4 || all[0].ID != "f4" || all[0].Seq <= all[1].Seq || !slices.Equal(all[3].Notify, []string{"a", "b"}) {
		t.Fatalf("FindEvents() = %+v, %v, want f4, f3, f2, f1 newest first, with their notifiers", all, err)
	}
	for _, tc := range []struct {
		q    retune.EventQuery
		want []string
	}{
		{retune.EventQuery{Limit: 2}, []string{"f4", "f3"}},
		{retune.EventQuery{Before: all[1].Seq, Limit: 2}, []string{"f2", "f1"}}, // the next page
		{retune.EventQuery{Before: all[3].Seq}, []string{}},
		{retune.EventQuery{ID: "f2"}, []string{"f2"}},
		{retune.EventQuery{ID: "f2", Before: all[2].Seq}, []string{}},
		{retune.EventQuery{ID: "nope"}, []string{}},
		{retune.EventQuery{Notifier: "a"}, []string{"f3", "f1"}},
		{retune.EventQuery{State: retune.DeliveryPending}, []string{"f3", "f1"}}, // f1's to b
		{retune.EventQuery{State: retune.DeliveryDead}, []string{"f1"}},
		{retune.EventQuery{State: retune.DeliveryPending, Notifier: "a"}, []string{"f3"}}, // one delivery matches both
		{retune.EventQuery{State: retune.DeliveryDelivered, Notifier: "b", Limit: 5}, []string{"f4"}},
		{retune.EventQuery{Notifier: "c"}, []string{}},
	} {
		if got := ids(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("FindEvents(%+v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	for _, q := range []retune.EventQuery{{Before: -1}, {Limit: -1}, {State: "lost"}, {Notifier: "no good"}} {
		if _, err := es.FindEvents(ctx, q); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("FindEvents(%+v) = %v, want ErrInvalid", q, err)
		}
	}
}
