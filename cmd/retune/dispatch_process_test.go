//go:build linux || darwin

package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain/notify"
	"github.com/a6b40afc/retune/storage/sqlite"
)

// TestDispatchSurvivesKill9 kills `retune dispatch` with SIGKILL at random points — while a
// request is in flight (sent, not yet recorded), just after an answer (recorded or not),
// and at random times (claiming, between attempts) — and restarts it each time. Every
// event must reach the receiver at least once, always under its own ID, and every
// delivery must end delivered.
func TestDispatchSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "retune.db")
	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	const events = 80
	var evs []retune.Event
	for i := range events {
		evs = append(evs, retune.Event{ID: fmt.Sprintf("ev-%03d", i), Type: retune.TypeStudyCompleted, Source: "/retune/studies/s",
			Notify: []string{"hook"}, Data: []byte(fmt.Sprintf(`{"i":%d}`, i))})
	}
	if err := st.AppendEvents(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	secret := notify.NewSecret()

	var (
		mu        sync.Mutex
		cur       *proc
		got       = map[string]int{}
		requests  int
		killsSent int // kills while a request was unanswered
		rng       = rand.New(rand.NewPCG(1, 2))
	)
	kill := func() bool { // SIGKILL the current dispatcher; false if none is running
		if cur == nil || cur.cmd.Process == nil {
			return false
		}
		err := cur.cmd.Process.Signal(syscall.SIGKILL)
		cur = nil
		return err == nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.Verify(secret, r.Header, body, time.Minute, time.Now()); err != nil {
			t.Errorf("receiver: %v", err)
		}
		id := r.Header.Get(notify.HeaderID)
		mu.Lock()
		got[id]++
		requests++
		roll := rng.IntN(10)
		switch {
		case roll == 0: // crash after the send, before the attempt is recorded
			if kill() {
				killsSent++
			}
			mu.Unlock()
			w.WriteHeader(http.StatusOK)
			return
		case roll == 1: // crash just after answering: recorded or not
			pause := time.Duration(rng.IntN(3)) * time.Millisecond
			mu.Unlock()
			w.WriteHeader(http.StatusOK)
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			time.Sleep(pause)
			mu.Lock()
			kill()
			mu.Unlock()
			return
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	conf := filepath.Join(dir, "notifiers.yaml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("notifiers:\n  hook: {type: webhook, url: %q, secret_env: HOOK_SECRET, timeout: 300ms, allow_private: true}\n", srv.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOOK_SECRET", secret)

	delivered := func() int {
		ds, err := st.Deliveries(t.Context(), retune.DeliveryFilter{State: retune.DeliveryDelivered})
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	deadline := time.Now().Add(90 * time.Second)
	restarts := 0
	for delivered() < events {
		if time.Now().After(deadline) {
			t.Fatalf("after %d restarts, %d of %d events delivered", restarts, delivered(), events)
		}
		p := startRetune(t, dir, "dispatch", "--db", db, "--config", conf, "--lease", "1s", "--poll", "20ms")
		mu.Lock()
		cur = p
		after := time.Duration(rng.IntN(40)) * time.Millisecond
		mu.Unlock()
		restarts++
		// Sometimes kill at a random time, whatever the dispatcher is doing.
		if restarts%3 == 0 {
			time.AfterFunc(after, func() {
				mu.Lock()
				if cur == p {
					kill()
				}
				mu.Unlock()
			})
		}
		for {
			mu.Lock()
			alive := cur == p
			mu.Unlock()
			if !alive || delivered() == events {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		if cur == p { // everything delivered: stop it politely
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			cur = nil
		}
		mu.Unlock()
		p.wait(t)
	}
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for _, e := range evs {
		switch n := got[e.ID]; {
		case n == 0:
			t.Errorf("event %s never reached the receiver", e.ID)
		case n > 1:
			dups += n - 1
		}
	}
	if len(got) != events {
		t.Errorf("receiver saw %d distinct IDs, want %d (each event under its own ID)", len(got), events)
	}
	if killsSent == 0 || dups == 0 {
		t.Errorf("%d kills with a request in flight and %d repeats: the test did not exercise a crash between send and record", killsSent, dups)
	}
	t.Logf("%d events, %d requests, %d restarts, %d kills mid-request, %d repeated deliveries", events, requests, restarts, killsSent, dups)
}
