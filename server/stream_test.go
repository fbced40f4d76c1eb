package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
	"github.com/a6b40afc/retune/sampler"
	"github.com/a6b40afc/retune/server"
	"github.com/a6b40afc/retune/storage/postgres"
)

// sseEvent is one event read from a stream.
type sseEvent struct {
	id   int64
	name string
	data map[string]any
}

// stream is an open event stream.
type stream struct {
	t      *testing.T
	events chan sseEvent
	cancel context.CancelFunc
	status int
}

// openStream connects to the study's event stream with token tok and Last-Event-ID last
// ("" for none), and reads its events in the background.
func (e *env) openStream(tok, study, last string) *stream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/studies/"+study+"/events", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[tok])
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	st := &stream{t: e.t, events: make(chan sseEvent, 10000), cancel: cancel, status: resp.StatusCode}
	e.t.Cleanup(cancel)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		return st
	}
	go func() {
		defer resp.Body.Close()
		defer close(st.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					st.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id, _ = strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64)
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data)
			}
		}
	}()
	return st
}

// next returns the next event other than keep-alives, waiting up to 30 s.
func (st *stream) next() sseEvent {
	st.t.Helper()
	select {
	case ev, ok := <-st.events:
		if !ok {
			st.t.Fatal("stream ended")
		}
		return ev
	case <-time.After(30 * time.Second):
		st.t.Fatal("no event within 30s")
	}
	return sseEvent{}
}

// until reads events until one named name for trial n (-1: any) arrives, and returns it.
func (st *stream) until(name string, n int) sseEvent {
	st.t.Helper()
	for {
		ev := st.next()
		if ev.name == name && (n < 0 || ev.data["trial"] == float64(n)) {
			return ev
		}
	}
}

func (e *env) tellValue(study string, a asked, v float64) {
	e.t.Helper()
	r := e.do("run", "POST", fmt.Sprintf("/api/v1/studies/%s/trials/%d/tell", study, a.Number), map[string]any{"epoch": a.Epoch, "values": []any{v}})
	if r.status != 200 {
		e.t.Fatalf("tell: %d %s", r.status, r.body)
	}
}

// TestEventStream: a stream sees the changes made through the API, in order, with dense
// ids; a client that reconnects with Last-Event-ID gets what it missed; a process writing
// the database directly (not through the server) reaches the stream too.
func TestEventStream(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "retune.db")
	e := newEnvOn(t, openSQLite(t, db), func(o *server.Options) { o.StreamPoll = 50 * time.Millisecond })
	e.createStudy("live", 0)
	st := e.openStream("read", "live", "")
	hello := st.next()
	if hello.name != "hello" || hello.data["study"] != "live" {
		t.Fatalf("first event = %+v, want hello", hello)
	}
	a := e.ask("live")
	e.do("run", "POST", fmt.Sprintf("/api/v1/studies/live/trials/%d/report", a.Number), map[string]any{"epoch": a.Epoch, "step": 1, "values": []any{0.5}})
	e.tellValue("live", a, 0.25)
	var got []string
	last := hello.id
	for len(got) < 4 {
		ev := st.next()
		if ev.id != last+1 {
			t.Fatalf("event %s has id %d after %d: ids must be dense", ev.name, ev.id, last)
		}
		last = ev.id
		got = append(got, ev.name)
		if ev.name == "trial.finished" && (ev.data["state"] != "COMPLETE" || fmt.Sprint(ev.data["values"]) != "[0.25]") {
			t.Errorf("finished event data = %v", ev.data)
		}
		if ev.name == "trial.reported" && ev.data["step"] != float64(1) {
			t.Errorf("reported event data = %v", ev.data)
		}
	}
	if strings.Join(got, ",") != "trial.created,trial.updated,trial.reported,trial.finished" { // updated: the params drawn at ask
		t.Errorf("events = %v", got)
	}
	st.cancel()

	// Missed while disconnected: replayed from the storage on reconnect.
	b := e.ask("live")
	e.tellValue("live", b, 0.5)
	again := e.openStream("read", "live", strconv.FormatInt(last, 10))
	if h := again.next(); h.name != "hello" {
		t.Fatalf("first event after reconnecting = %+v", h)
	}
	if ev := again.next(); ev.name != "trial.created" || ev.id != last+1 || ev.data["trial"] != float64(b.Number) {
		t.Errorf("first replayed event = %+v, want trial.created of trial %d with id %d", ev, b.Number, last+1)
	}
	again.until("trial.finished", b.Number)

	// A library process on the same database file.
	store := openSQLite(t, db)
	rec, err := store.Study(context.Background(), "live")
	if err != nil {
		t.Fatal(err)
	}
	smp, _ := sampler.FromSpec(rec.Sampler)
	pr, _ := pruner.FromSpec(rec.Pruner)
	lib, err := retune.NewStudy(context.Background(), retune.Config{Name: "live", Storage: store, Sampler: smp, Pruner: pr})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := lib.Ask(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := lib.Tell(context.Background(), tr, 7); err != nil {
		t.Fatal(err)
	}
	if ev := again.until("trial.finished", tr.Number()); fmt.Sprint(ev.data["values"]) != "[7]" {
		t.Errorf("finished by the library: %+v", ev)
	}
}

// TestEventStreamErrors: a stream needs a read token, a known study and a sane
// Last-Event-ID.
func TestEventStreamErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createStudy("s", 0)
	for _, tc := range []struct {
		tok, study, last string
		status           int
	}{
		{"", "s", "", 401},
		{"read-a", "s", "", 403},
		{"read", "nope", "", 404},
		{"read", "s", "x", 400},
		{"read", "s", "-3", 400},
		{"read", "s", "99", 400},
	} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/studies/"+tc.study+"/events", nil)
		if tc.tok != "" {
			req.Header.Set("Authorization", "Bearer "+e.tokens[tc.tok])
		}
		if tc.last != "" {
			req.Header.Set("Last-Event-ID", tc.last)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%+v: status %d, want %d", tc, resp.StatusCode, tc.status)
		}
	}
}

// TestEventStreamReplicasPostgres: two replicas on one PostgreSQL database; a stream on
// the first sees the changes made through the second, woken by LISTEN/NOTIFY (the first
// polls only hourly, so nothing else could bring them within the deadline).
func TestEventStreamReplicasPostgres(t *testing.T) {
	t.Parallel()
	dsn := os.Getenv("RETUNE_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("RETUNE_TEST_POSTGRES is not set")
	}
	schema := fmt.Sprintf("retune_stream_%d_%d", os.Getpid(), time.Now().UnixNano())
	open := func() retune.Storage {
		s, err := postgres.OpenOptions(t.Context(), dsn, postgres.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Cleanup(func() { dropSchema(t, dsn, schema) })
	a := newEnvOn(t, open(), func(o *server.Options) { o.StreamPoll = time.Hour })
	a.server.Background(t.Context())
	b := newEnvOn(t, open(), nil)
	b.createStudy("shared", 0)
	st := a.openStream("read", "shared", "")
	if h := st.next(); h.name != "hello" {
		t.Fatalf("first event = %+v", h)
	}
	for i := range 3 {
		q := b.ask("shared")
		b.tellValue("shared", q, float64(i))
		if ev := st.until("trial.finished", q.Number); fmt.Sprint(ev.data["values"]) != fmt.Sprintf("[%d]", i) {
			t.Errorf("trial %d finished on replica b: %+v", q.Number, ev)
		}
	}
}

// TestMetrics: /metrics on the API listener needs a read token of every study; it counts
// requests by route and code, times them, and reports trials by state per study and the
// open streams. MetricsHandler serves the same without a token (for --metrics-addr).
func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createStudy("m", 0)
	a := e.ask("m")
	e.tellValue("m", a, 1)
	e.ask("m")
	st := e.openStream("read", "m", "")
	st.next()
	for tok, want := range map[string]int{"": 401, "read-a": 403, "read": 200} {
		r := e.do(tok, "GET", "/metrics", nil)
		if r.status != want {
			t.Errorf("GET /metrics as %q: %d, want %d", tok, r.status, want)
		}
	}
	body := string(e.do("admin", "GET", "/metrics", nil).body)
	for _, want := range []string{
		`retune_http_requests_total{code="201",route="POST /api/v1/studies/{study}/trials"} 2`,
		`retune_http_requests_total{code="200",route="POST /api/v1/studies/{study}/trials/{number}/tell"} 1`,
		`retune_http_request_duration_seconds_count{route="POST /api/v1/studies/{study}/trials/{number}/tell"} 1`,
		`retune_trials{state="COMPLETE",study="m"} 1`,
		`retune_trials{state="RUNNING",study="m"} 1`,
		`retune_stream_clients 1`,
		`retune_deliveries{state="dead"} 0`,
		`retune_metrics_storage_errors 0`,
		`retune_leader 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, `retune_http_request_duration_seconds_count{route="GET /api/v1/studies/{study}/events"}`) {
		t.Error("the event stream is timed: its duration is the connection's life")
	}
	open := httptest.NewServer(e.server.MetricsHandler())
	defer open.Close()
	resp, err := http.Get(open.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("MetricsHandler without a token: %d", resp.StatusCode)
	}
}

// TestEventStreamOutlivesTimeouts: a stream stays open past the HTTP server's read and
// write timeouts (here half a second), and still delivers.
func TestEventStreamOutlivesTimeouts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *server.Options) { o.StreamPoll = 50 * time.Millisecond })
	hs := e.server.HTTPServer()
	hs.ReadTimeout, hs.WriteTimeout = 500*time.Millisecond, 500*time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	e.createStudy("long", 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ln.Addr().String()+"/api/v1/studies/long/events", nil)
	req.Host = strings.TrimPrefix(e.srv.URL, "http://") // an allowed Host
	req.Header.Set("Authorization", "Bearer "+e.tokens["read"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	time.Sleep(1500 * time.Millisecond) // three times the timeouts
	q := e.ask("long")
	e.tellValue("long", q, 1)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended")
			}
			if l == "event: trial.finished" {
				return
			}
		case <-deadline:
			t.Fatal("no trial.finished within 30s")
		}
	}
}
