package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/a6b40afc/retune/retrain/notify"
)

// testNATS returns the test server's URL, a JetStream client, and a fresh subject prefix.
func testNATS(t *testing.T) (url string, js jetstream.JetStream, prefix string) {
	t.Helper()
	url = os.Getenv("RETUNE_TEST_NATS")
	if url == "" {
		t.Skip("RETUNE_TEST_NATS is not set; set it to the URL of a NATS server with JetStream, e.g. nats://127.0.0.1:4222")
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to RETUNE_TEST_NATS: %v", err)
	}
	t.Cleanup(nc.Close)
	if js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return url, js, "retune.test." + strings.ToLower(rand.Text()[:12])
}

// deleteStreamAtEnd deletes the stream, if it exists, when the test ends.
func deleteStreamAtEnd(t *testing.T, js jetstream.JetStream, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream %s: %v", name, err)
		}
	})
}

// natsStudy writes a study file of two trials whose notifier publishes to subject.
func natsStudy(t *testing.T, dir, name, url, subject string) string {
	return writeStudy(t, dir, name+".yaml", name, nil, fmt.Sprintf(`params:
  x: {type: float, low: 0, high: 1}
budget: {trials: 2}
notifiers:
  bus: {type: nats, url: %q, subject: %s, create_stream: true}
`, url, subject))
}

// TestRunNATSStreamPerSubject: two studies whose NATS notifiers create their streams and
// publish to different subjects both deliver their events, each into its own stream.
func TestRunNATSStreamPerSubject(t *testing.T) {
	url, js, prefix := testNATS(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "retune.db")
	for _, name := range []string{"first", "second"} {
		subject := prefix + "." + name
		deleteStreamAtEnd(t, js, notify.DefaultNATSStream(subject))
		r := cli(t, nil, "run", natsStudy(t, dir, name, url, subject), "--db", db, "--quiet")
		if r.code != ExitOK || strings.Contains(r.stderr, "pending") {
			t.Fatalf("run %s: %v\nwant its event delivered before it exits", name, r)
		}
		s, err := js.Stream(t.Context(), notify.DefaultNATSStream(subject))
		if err != nil {
			t.Fatalf("stream for %s: %v", subject, err)
		}
		if n := s.CachedInfo().State.Msgs; n != 1 {
			t.Errorf("stream %s holds %d messages, want study %s's completion", s.CachedInfo().Config.Name, n, name)
		}
	}
}

// TestRunNATSCheck: a run or a dispatcher whose NATS notifier names a stream that does not
// store its subject stops before any trial or delivery, saying what to set.
func TestRunNATSCheck(t *testing.T) {
	url, js, prefix := testNATS(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "retune.db")
	subject := prefix + ".events"
	taken := notify.DefaultNATSStream(subject)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: taken, Subjects: []string{prefix + ".other"}}); err != nil {
		t.Fatal(err)
	}
	deleteStreamAtEnd(t, js, taken)
	study := natsStudy(t, dir, "s", url, subject)
	for _, args := range [][]string{{"run", study}, {"dispatch", "--config", study}} {
		r := cli(t, nil, append(args, "--db", db)...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, `notifier "bus"`) || !strings.Contains(r.stderr, "set stream") ||
			!strings.Contains(r.stderr, taken) {
			t.Errorf("retune %s: %v\nwant exit %d naming the notifier, the stream and what to set", args[0], r, ExitUsage)
		}
		if strings.Contains(r.stderr, "trial") || strings.Contains(r.stderr, "delivering") {
			t.Errorf("retune %s: %v\nwant it to stop before trials or deliveries", args[0], r)
		}
	}
}

// TestRunDrainRetries: at exit, `retune run` keeps delivering within --drain, retries
// that come due included, so a receiver that fails the first attempts still gets every
// event before the run exits.
func TestRunDrainRetries(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "retune.db")
	secret := notify.NewSecret()
	var (
		mu  sync.Mutex
		got = map[string]int{} // attempts per event ID
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.Verify(secret, r.Header, body, time.Minute, time.Now()); err != nil {
			t.Errorf("receiver: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get(notify.HeaderID)
		if got[id]++; got[id] <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	study := writeStudy(t, dir, "s.yaml", "s", nil, fmt.Sprintf(`model: m
params:
  x: {type: float, low: 0, high: 1}
seed: 2
budget: {trials: 3}
retrain: {min_improvement: 0.001}
notifiers:
  hook: {type: webhook, url: %q, secret_env: DRAIN_TEST_SECRET, allow_private: true}
`, srv.URL))
	t.Setenv("DRAIN_TEST_SECRET", secret)
	var stderr bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" },
		retrySchedule: []time.Duration{300 * time.Millisecond, 300 * time.Millisecond, time.Hour}}
	if code := m.Run(t.Context(), []string{"run", study, "--db", db, "--drain", "30s", "--quiet"}); code != ExitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), "pending") {
		t.Errorf("run stderr:\n%s\nwant no pending deliveries", stderr.String())
	}
	var list []struct {
		ID         string
		Deliveries []struct{ State string }
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "events", "list", "--db", db, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("events list: %+v, want the run's retraining-required and study-completed events", list)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range list {
		if len(e.Deliveries) != 1 || e.Deliveries[0].State != "delivered" || got[e.ID] != 3 {
			t.Errorf("event %s: deliveries %+v after %d requests, want delivered on the third", e.ID, e.Deliveries, got[e.ID])
		}
	}
}

// TestErrorPrefix: each error line the CLI prints starts with one "retune: ", also for
// errors that wrap a retune sentinel ("retune: invalid", "retune: not found").
func TestErrorPrefix(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "retune.db")
	conf := filepath.Join(dir, "notifiers.yaml")
	if err := os.WriteFile(conf, []byte("notifiers:\n  hook: {type: webhook, url: \"http://127.0.0.1:1/\", secret_env: PREFIX_TEST_SECRET, timeout: 10s, allow_private: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		secret string // PREFIX_TEST_SECRET
		args   []string
		code   int
		msg    string
	}{
		{"secret not set", "", []string{"dispatch", "--config", conf}, ExitUsage, "PREFIX_TEST_SECRET is not set"},
		{"lease under the timeout", notify.NewSecret(), []string{"dispatch", "--config", conf, "--lease", "15s"}, ExitUsage, "lengthen the lease"},
		{"no such event", "", []string{"events", "show", "nope"}, ExitNotFound, `no event "nope"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PREFIX_TEST_SECRET", tt.secret)
			r := cli(t, nil, append(tt.args, "--db", db)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
				t.Fatalf("%v\nwant exit %d and %q", r, tt.code, tt.msg)
			}
			for line := range strings.Lines(r.stderr) {
				if !strings.HasPrefix(line, "retune: ") || strings.HasPrefix(line, "retune: retune:") {
					t.Errorf("stderr line %q: want one \"retune: \" prefix", line)
				}
			}
		})
	}
}
