package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a6b40afc/retune/retrain/notify"
)

// TestEventsFlow: a run delivers its events to the study file's notifiers before it
// exits; a promotion's event goes to the decision's notifiers; events list, show and
// redeliver and notifiers show and change what the outbox holds.
func TestEventsFlow(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "e.db")
	secret := notify.NewSecret()
	t.Setenv("EVENTS_TEST_SECRET", secret)
	var (
		mu  sync.Mutex
		got []string // event types received
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.Verify(secret, r.Header, body, time.Minute, time.Now()); err != nil {
			t.Errorf("receiver: %v", err)
		}
		var ce struct{ Type string }
		_ = json.Unmarshal(body, &ce)
		mu.Lock()
		got = append(got, ce.Type)
		mu.Unlock()
	}))
	defer srv.Close()
	study := writeStudy(t, dir, "s.yaml", "s", nil, fmt.Sprintf(`model: m
params:
  x: {type: float, low: 0, high: 1}
seed: 2
budget: {trials: 4}
retrain: {min_improvement: 0.001}
notifiers:
  hook:  {type: webhook, url: %q, secret_env: EVENTS_TEST_SECRET, allow_private: true}
  audit: {type: log, path: events.jsonl}
`, srv.URL))
	if r := cli(t, nil, "run", study, "--db", db); r.code != ExitOK {
		t.Fatal(r)
	}
	mu.Lock()
	if strings.Join(got, " ") != "dev.retune.retraining.required.v1 dev.retune.study.completed.v1" &&
		strings.Join(got, " ") != "dev.retune.study.completed.v1 dev.retune.retraining.required.v1" {
		t.Errorf("receiver got %v, want the retraining-required and study-completed events before the run exited", got)
	}
	mu.Unlock()
	if b, err := os.ReadFile(filepath.Join(dir, "events.jsonl")); err != nil || strings.Count(string(b), "\n") != 2 {
		t.Errorf("log notifier wrote %q, %v, want 2 lines", b, err)
	}
	var list []struct {
		Seq        int64
		ID, Type   string
		Notify     []string
		Deliveries []struct{ Notifier, State string }
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "events", "list", "--db", db, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || len(list[0].Deliveries) != 2 || list[0].Deliveries[0].State != "delivered" || strings.Join(list[1].Notify, ",") != "audit,hook" {
		t.Fatalf("events list = %+v, want 2 events delivered to audit and hook", list)
	}
	// The promotion's event names the decision's notifiers; no dispatcher runs now.
	mustCLI(t, "champion", "promote", "m", "--decision", "1", "--db", db)
	out := mustCLI(t, "events", "list", "--db", db, "--state", "pending")
	if !strings.Contains(out, "champion.promoted.v1") || !strings.Contains(out, "audit:pending") || !strings.Contains(out, "hook:pending") {
		t.Errorf("events list --state pending:\n%s\nwant the promotion's event pending for audit and hook", out)
	}
	// Pages, newest first: the promotion, then the two events of the run.
	page := mustCLI(t, "events", "list", "--db", db, "--limit", "1")
	i := strings.Index(page, "older: retune events list --before ")
	if !strings.Contains(page, "champion.promoted.v1") || i < 0 {
		t.Fatalf("events list --limit 1:\n%s\nwant the promotion and how to see older events", page)
	}
	before := strings.TrimSpace(page[i+len("older: retune events list --before "):])
	page = mustCLI(t, "events", "list", "--db", db, "--limit", "5", "--before", before)
	if strings.Contains(page, "champion.promoted.v1") || strings.Count(page, "\n") != 3 || strings.Contains(page, "older:") {
		t.Errorf("events list --before %s:\n%s\nwant the run's two events under a header, and no more pages", before, page)
	}
	show := mustCLI(t, "events", "show", list[1].ID, "--db", db)
	if bySeq := mustCLI(t, "events", "show", strconv.FormatInt(list[1].Seq, 10), "--db", db); bySeq != show {
		t.Errorf("events show %d (its SEQ):\n%s\nwant the same as by its ID:\n%s", list[1].Seq, bySeq, show)
	}
	if !strings.Contains(show, `"specversion": "1.0"`) || !strings.Contains(show, "to hook: delivered after 1 attempt(s)") || !strings.Contains(show, "204") && !strings.Contains(show, "200") {
		t.Errorf("events show:\n%s", show)
	}
	if r := cli(t, nil, "events", "redeliver", list[1].ID, "--notifier", "hook", "--db", db); r.code != ExitOK || !strings.Contains(r.stdout, "1 deliveries pending again") {
		t.Errorf("redeliver: %v", r)
	}
	if r := cli(t, nil, "events", "redeliver", list[1].ID, "--notifier", "hook,audit", "--db", db); r.code != ExitOK || !strings.Contains(r.stdout, "2 deliveries pending again") {
		t.Errorf("redeliver --notifier hook,audit: %v", r)
	}
	mustCLI(t, "notifiers", "disable", "hook", "--reason", "endpoint moved", "--db", db)
	if out := mustCLI(t, "notifiers", "--db", db); !strings.Contains(out, "DISABLED") || !strings.Contains(out, "endpoint moved") {
		t.Errorf("notifiers:\n%s\nwant hook disabled with its reason", out)
	}
	mustCLI(t, "notifiers", "enable", "hook", "--db", db)
	if s := strings.TrimSpace(mustCLI(t, "notifiers", "secret")); !strings.HasPrefix(s, "whsec_") {
		t.Errorf("notifiers secret = %q", s)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"events", "show", "nope"}, ExitNotFound, `no event "nope"`},
		{[]string{"events", "show", "999"}, ExitNotFound, "no event with sequence number 999"},
		{[]string{"events", "redeliver", "nope"}, ExitNotFound, `event "nope"`},
		{[]string{"events", "list", "--state", "lost"}, ExitUsage, "want pending, delivered or dead"},
		{[]string{"events", "list", "--before", "-1"}, ExitUsage, "--before must be >= 0"},
		{[]string{"events", "purge"}, ExitUsage, "want list, show or redeliver"},
		{[]string{"notifiers", "enable", "bad id"}, ExitUsage, "notifier ID"},
		{[]string{"dispatch"}, ExitUsage, "want --config"},
		{[]string{"dispatch", "--config", filepath.Join(dir, "missing.yaml")}, ExitUsage, "missing.yaml"},
	} {
		r := cli(t, nil, append(c.args, "--db", db)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("retune %s: %v\nwant exit %d and %q", strings.Join(c.args, " "), r, c.code, c.msg)
		}
	}
	// A dispatcher that does not define hook says that hook's deliveries wait for another.
	only := filepath.Join(dir, "audit.yaml")
	if err := os.WriteFile(only, []byte("notifiers:\n  audit: {type: log, path: audit.jsonl}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var stderr lockedBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" }}
	exited := make(chan int, 1)
	go func() { exited <- m.Run(ctx, []string{"dispatch", "--config", only, "--db", db, "--poll", "50ms"}) }()
	warning := `pending deliveries are for notifier "hook"`
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stderr.String(), warning); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("dispatch stderr after 30 s:\n%s\nwant a warning about hook's pending deliveries", stderr.String())
			break
		}
	}
	cancel()
	if code := <-exited; code != ExitOK {
		t.Errorf("dispatch until its context ends: exit %d\n%s", code, stderr.String())
	}
	t.Setenv("EVENTS_TEST_SECRET", "")
	if r := cli(t, nil, "dispatch", "--config", study, "--db", db); r.code != ExitUsage || !strings.Contains(r.stderr, "EVENTS_TEST_SECRET is not set") {
		t.Errorf("dispatch without the secret: %v", r)
	}
}
