package notify_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain/notify"
	"github.com/a6b40afc/retune/storage/postgres"
	"github.com/a6b40afc/retune/storage/sqlite"
)

// backends returns an opener of a fresh database per backend: SQLite always, PostgreSQL
// when RETUNE_TEST_POSTGRES is set. Each call of an opener opens another handle on the
// same database.
func backends(t testing.TB) map[string]func(t testing.TB) retune.DeliveryStore {
	out := map[string]func(t testing.TB) retune.DeliveryStore{}
	path := filepath.Join(t.TempDir(), "retune.db")
	out["sqlite"] = func(t testing.TB) retune.DeliveryStore {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	dsn := os.Getenv("RETUNE_TEST_POSTGRES")
	if dsn == "" {
		t.Log("RETUNE_TEST_POSTGRES not set: PostgreSQL skipped")
		return out
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "retune_notify_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			_, _ = conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
			conn.Close(ctx)
		}
	})
	out["postgres"] = func(t testing.TB) retune.DeliveryStore {
		s, err := postgres.OpenOptions(t.Context(), dsn, postgres.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return out
}

// receiver is a webhook endpoint on loopback that verifies signatures and counts events
// by ID; status decides each answer.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	got    map[string]int
	status func(id string, n int) (int, http.Header)
	srv    *httptest.Server
}

func newReceiver(t *testing.T, status func(id string, n int) (int, http.Header)) *receiver {
	r := &receiver{t: t, secret: notify.NewSecret(), got: map[string]int{}, status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if err := notify.Verify(r.secret, req.Header, body, time.Minute, time.Now()); err != nil {
			t.Errorf("receiver: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id := req.Header.Get(notify.HeaderID)
		r.mu.Lock()
		r.got[id]++
		n := r.got[id]
		r.mu.Unlock()
		code, h := http.StatusNoContent, http.Header(nil)
		if r.status != nil {
			code, h = r.status(id, n)
		}
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) webhook() *notify.Webhook {
	return &notify.Webhook{URL: r.srv.URL, AllowPrivate: true, Secrets: []string{r.secret}, Timeout: 5 * time.Second}
}

func (r *receiver) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[id]
}

func appendEvents(t *testing.T, ds retune.DeliveryStore, n int, notifiers ...string) []string {
	t.Helper()
	ids := make([]string, n)
	evs := make([]retune.Event, n)
	for i := range n {
		ids[i] = fmt.Sprintf("%s-%d", t.Name(), i)
		evs[i] = retune.Event{ID: ids[i], Type: retune.TypeStudyCompleted, Source: "/retune/studies/s", Notify: notifiers,
			Data: []byte(`{"i":` + strconv.Itoa(i) + `}`)}
	}
	if err := ds.AppendEvents(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	return ids
}

// waitFor polls cond until it holds or 30 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func states(t *testing.T, ds retune.DeliveryStore, notifier string) map[retune.DeliveryState]int {
	t.Helper()
	all, err := ds.Deliveries(t.Context(), retune.DeliveryFilter{Notifier: notifier})
	if err != nil {
		t.Fatal(err)
	}
	out := map[retune.DeliveryState]int{}
	for _, d := range all {
		out[d.State]++
	}
	return out
}

// TestDispatchDelivers: several dispatchers sharing a database deliver every event once,
// signed, with its ID, and record each attempt.
func TestDispatchDelivers(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			rcv := newReceiver(t, nil)
			ds := open(t)
			ids := appendEvents(t, ds, 60, "hook")
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			for i := range 3 {
				d := &notify.Dispatcher{Store: open(t), Notifiers: map[string]notify.Notifier{"hook": rcv.webhook()},
					Poll: 20 * time.Millisecond, Owner: fmt.Sprint("d", i)}
				wg.Go(func() {
					if err := d.Run(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			waitFor(t, "every event delivered", func() bool { return states(t, ds, "hook")[retune.DeliveryDelivered] == len(ids) })
			cancel()
			wg.Wait()
			for _, id := range ids {
				if n := rcv.count(id); n != 1 {
					t.Errorf("event %s received %d times, want once (no crash, so no repeat)", id, n)
				}
			}
			all, _ := ds.Deliveries(t.Context(), retune.DeliveryFilter{Limit: 1})
			atts, err := ds.DeliveryAttempts(t.Context(), all[0].ID)
			if err != nil || len(atts) != 1 || atts[0].Status != http.StatusNoContent || atts[0].Outcome != "delivered" || atts[0].Duration <= 0 {
				t.Errorf("attempts = %+v, %v, want one delivered with status 204", atts, err)
			}
		})
	}
}

// TestDispatchRetries: failed attempts are retried on the schedule with the same ID,
// Retry-After is honoured, and an exhausted schedule leaves a dead letter that a
// redelivery sends again.
func TestDispatchRetries(t *testing.T) {
	ds := backends(t)["sqlite"](t)
	var failAll atomic.Bool
	failAll.Store(true)
	rcv := newReceiver(t, func(id string, n int) (int, http.Header) {
		switch {
		case id == t.Name()+"-0" && n <= 2:
			return http.StatusServiceUnavailable, nil
		case id == t.Name()+"-1" && n == 1:
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}
		case id == t.Name()+"-2" && failAll.Load():
			return http.StatusInternalServerError, nil
		}
		return http.StatusOK, nil
	})
	ids := appendEvents(t, ds, 3, "hook")
	d := &notify.Dispatcher{Store: ds, Notifiers: map[string]notify.Notifier{"hook": rcv.webhook()},
		Schedule: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 2 * time.Second}, Jitter: -1, Poll: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go d.Run(ctx)
	waitFor(t, "event 0 delivered", func() bool { return rcv.count(ids[0]) == 3 })
	waitFor(t, "event 1 delivered", func() bool { return rcv.count(ids[1]) == 2 })
	// The receiver counts a request when it arrives; the dispatcher records the attempt
	// once it has the answer: wait for the record.
	var atts []retune.DeliveryAttempt
	waitFor(t, "event 1's second attempt recorded", func() bool {
		dl, err := ds.Deliveries(t.Context(), retune.DeliveryFilter{EventID: ids[1]})
		if err != nil || len(dl) != 1 {
			t.Fatalf("deliveries of event 1: %v, %v", dl, err)
		}
		if atts, err = ds.DeliveryAttempts(t.Context(), dl[0].ID); err != nil {
			t.Fatal(err)
		}
		return len(atts) >= 2
	})
	if len(atts) != 2 {
		t.Errorf("attempts of event 1: %+v; want 2", atts)
	} else if gap := atts[1].Started.Sub(atts[0].Started); gap < time.Second {
		t.Errorf("event 1 retried %v after the first attempt, despite its Retry-After of 1 s", gap)
	}
	waitFor(t, "event 2 dead", func() bool { return states(t, ds, "hook")[retune.DeliveryDead] == 1 })
	if n := rcv.count(ids[2]); n != 4 {
		t.Errorf("dead letter attempted %d times, want 4 (1 + 3 retries)", n)
	}
	dead, _ := ds.Deliveries(t.Context(), retune.DeliveryFilter{State: retune.DeliveryDead})
	if len(dead) != 1 || dead[0].Event.ID != ids[2] || dead[0].Attempts != 4 || dead[0].LastError == "" {
		t.Fatalf("dead letters = %+v, want event 2's with 4 attempts and its error", dead)
	}
	failAll.Store(false)
	if _, err := ds.Redeliver(t.Context(), ids[2], nil); err != nil {
		t.Fatal(err)
	}
	d.Kick()
	waitFor(t, "redelivered", func() bool { return states(t, ds, "hook")[retune.DeliveryDelivered] == 3 })
	if n := rcv.count(ids[2]); n != 5 {
		t.Errorf("redelivered event received %d times in all, want 5", n)
	}
}

// TestDispatchSlowEndpoint: a notifier whose endpoint hangs does not delay another's
// deliveries.
func TestDispatchSlowEndpoint(t *testing.T) {
	ds := backends(t)["sqlite"](t)
	release := make(chan struct{})
	slow := newReceiver(t, func(string, int) (int, http.Header) {
		<-release
		return http.StatusOK, nil
	})
	fast := newReceiver(t, nil)
	ids := appendEvents(t, ds, 50, "slow", "fast")
	d := &notify.Dispatcher{Store: ds, Notifiers: map[string]notify.Notifier{"slow": slow.webhook(), "fast": fast.webhook()},
		Poll: 10 * time.Millisecond, Lease: time.Minute}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	waitFor(t, "fast notifier's deliveries, while the slow one hangs", func() bool {
		return states(t, ds, "fast")[retune.DeliveryDelivered] == len(ids)
	})
	if got := states(t, ds, "slow")[retune.DeliveryDelivered]; got != 0 {
		t.Errorf("slow notifier delivered %d while its endpoint hangs", got)
	}
	close(release)
	waitFor(t, "slow notifier's deliveries", func() bool { return states(t, ds, "slow")[retune.DeliveryDelivered] == len(ids) })
	cancel()
	<-done
}

// TestDispatchDisables: 410 Gone disables the notifier at once, failing for longer than
// DisableAfter disables it too; their deliveries wait, kept, and go out once enabled.
func TestDispatchDisables(t *testing.T) {
	ds := backends(t)["sqlite"](t)
	var healthy atomic.Bool
	gone := newReceiver(t, func(string, int) (int, http.Header) {
		if healthy.Load() {
			return http.StatusOK, nil
		}
		return http.StatusGone, nil
	})
	failing := newReceiver(t, func(string, int) (int, http.Header) {
		if healthy.Load() {
			return http.StatusOK, nil
		}
		return http.StatusBadGateway, nil
	})
	ids := appendEvents(t, ds, 5, "gone", "failing")
	d := &notify.Dispatcher{Store: ds, Notifiers: map[string]notify.Notifier{"gone": gone.webhook(), "failing": failing.webhook()},
		Schedule: []time.Duration{30 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond,
			30 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond},
		Jitter: -1, Poll: 10 * time.Millisecond, DisableAfter: 100 * time.Millisecond, Parallel: 1}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go d.Run(ctx)
	disabled := func(id string) bool {
		ns, _ := ds.Notifiers(t.Context())
		for _, n := range ns {
			if n.ID == id {
				return !n.Disabled.IsZero()
			}
		}
		return false
	}
	waitFor(t, "gone disabled", func() bool { return disabled("gone") })
	waitFor(t, "failing disabled", func() bool { return disabled("failing") })
	time.Sleep(100 * time.Millisecond)
	total := 0
	for _, id := range ids {
		total += gone.count(id)
	}
	if total != 1 {
		t.Errorf("410 endpoint got %d requests, want 1: the first 410 disables it", total)
	}
	for _, n := range []string{"gone", "failing"} {
		if st := states(t, ds, n); st[retune.DeliveryPending] != len(ids) {
			t.Errorf("%s's deliveries %v, want all %d pending (kept)", n, st, len(ids))
		}
	}
	healthy.Store(true)
	for _, n := range []string{"gone", "failing"} {
		if err := ds.SetNotifierEnabled(t.Context(), n, true, ""); err != nil {
			t.Fatal(err)
		}
	}
	d.Kick()
	waitFor(t, "delivered after enabling", func() bool {
		return states(t, ds, "gone")[retune.DeliveryDelivered] == len(ids) && states(t, ds, "failing")[retune.DeliveryDelivered] == len(ids)
	})
}

// TestDispatchFlush: Flush delivers what is due and the retries that come due before its
// deadline, and returns once what is left pending is due after it or waits for a disabled
// notifier.
func TestDispatchFlush(t *testing.T) {
	ds := backends(t)["sqlite"](t)
	ok := newReceiver(t, nil)
	flaky := newReceiver(t, func(_ string, n int) (int, http.Header) {
		if n <= 2 {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	bad := newReceiver(t, func(string, int) (int, http.Header) { return http.StatusInternalServerError, nil })
	gone := newReceiver(t, func(string, int) (int, http.Header) { return http.StatusGone, nil })
	appendEvents(t, ds, 10, "ok", "flaky", "bad", "gone")
	d := &notify.Dispatcher{Store: ds, Notifiers: map[string]notify.Notifier{
		"ok": ok.webhook(), "flaky": flaky.webhook(), "bad": bad.webhook(), "gone": gone.webhook()},
		Schedule: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, time.Hour}, Jitter: -1}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	if err := d.Flush(ctx); err != nil {
		t.Fatalf("Flush = %v, want nil: nothing is left that could be delivered before its deadline", err)
	}
	for _, tt := range []struct {
		notifier string
		state    retune.DeliveryState
		attempts int
		upTo     bool // attempts is a bound: the first 410 disables the notifier
	}{
		{"ok", retune.DeliveryDelivered, 1, false},
		{"flaky", retune.DeliveryDelivered, 3, false},
		{"bad", retune.DeliveryPending, 3, false}, // the next retry is after the deadline
		{"gone", retune.DeliveryPending, 1, true},
	} {
		all, err := ds.Deliveries(t.Context(), retune.DeliveryFilter{Notifier: tt.notifier})
		if err != nil || len(all) != 10 {
			t.Fatalf("deliveries to %s: %d, %v; want 10", tt.notifier, len(all), err)
		}
		for _, dl := range all {
			if dl.State != tt.state || dl.Attempts != tt.attempts && !(tt.upTo && dl.Attempts < tt.attempts) {
				t.Errorf("after Flush: %s's delivery %d is %s after %d attempts, want %s after %d (at most: %v)",
					tt.notifier, dl.ID, dl.State, dl.Attempts, tt.state, tt.attempts, tt.upTo)
			}
			if tt.notifier == "bad" && !dl.NextAt.After(deadline) {
				t.Errorf("after Flush: bad's delivery %d is due %v, before Flush's deadline %v", dl.ID, dl.NextAt, deadline)
			}
		}
	}
}

func TestDispatcherConfig(t *testing.T) {
	ds := backends(t)["sqlite"](t)
	for name, d := range map[string]*notify.Dispatcher{
		"lease under timeout": {Store: ds, Lease: 10 * time.Second, Notifiers: map[string]notify.Notifier{"h": &notify.Webhook{URL: "http://x", AllowPrivate: true, Timeout: 15 * time.Second}}},
		"bad id":              {Store: ds, Notifiers: map[string]notify.Notifier{"a b": &notify.Log{W: io.Discard}}},
		"zero delay":          {Store: ds, Schedule: []time.Duration{time.Second, 0}},
		"no store":            {},
	} {
		if err := d.Run(t.Context()); err == nil {
			t.Errorf("%s: Run succeeded, want a configuration error", name)
		}
	}
}
