package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/a6b40afc/retune/server"
)

// dropOnce is a transport that loses the first response to each request: the server
// handles it, the client sees an error, as when a connection breaks.
type dropOnce struct {
	base    http.RoundTripper
	dropped map[string]bool
}

func (d *dropOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	key := r.Method + " " + r.URL.String() + " " + r.Header.Get("Idempotency-Key")
	resp, err := d.base.RoundTrip(r)
	if err != nil || d.dropped[key] {
		return resp, err
	}
	d.dropped[key] = true
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil, fmt.Errorf("response to %s lost", key)
}

// TestRetryAfterLostResponse: the responses to an ask, a report, a tell and an enqueue
// are lost and the client retries with the same Idempotency-Key: it gets the first
// answer; no second trial is asked or enqueued, and no retry is a conflict.
func TestRetryAfterLostResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createStudy("retry", 0)
	client := &http.Client{Transport: &dropOnce{base: e.srv.Client().Transport, dropped: map[string]bool{}}}
	send := func(path, key, body string) resp {
		t.Helper()
		for attempt := 0; ; attempt++ {
			req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e.tokens["run"])
			req.Header.Set("Content-Type", "application/json")
			if key != "" {
				req.Header.Set("Idempotency-Key", key)
			}
			r, err := client.Do(req)
			if err != nil {
				if attempt > 0 {
					t.Fatalf("retry of %s failed: %v", path, err)
				}
				continue
			}
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if attempt != 1 || r.Header.Get("Idempotent-Replayed") != "true" && key != "" {
				t.Errorf("%s: answered on attempt %d (replayed %q), want the stored answer on the retry", path, attempt, r.Header.Get("Idempotent-Replayed"))
			}
			return resp{r.StatusCode, r.Header, b}
		}
	}
	r := send("/api/v1/studies/retry/trials", "ask-1", `{}`)
	var q asked
	r.decode(t, &q)
	if r.status != 201 || q.Number != 0 {
		t.Fatalf("ask = %d %s, want trial 0", r.status, r.body)
	}
	base := fmt.Sprintf("/api/v1/studies/retry/trials/%d/", q.Number)
	if r := send(base+"report", "rep-1", fmt.Sprintf(`{"epoch":%d,"step":0,"values":[1]}`, q.Epoch)); r.status != 200 {
		t.Errorf("report = %d %s", r.status, r.body)
	}
	if r := send(base+"tell", "tell-1", fmt.Sprintf(`{"epoch":%d,"values":[0.5]}`, q.Epoch)); r.status != 200 || !contains(string(r.body), "COMPLETE") {
		t.Errorf("tell = %d %s", r.status, r.body)
	}
	if r := send("/api/v1/studies/retry/trials/enqueue", "enq-1", `{"params":{"layers":2}}`); r.status != 201 || string(r.body) != `{"numbers":[1]}` {
		t.Errorf("enqueue = %d %s, want trial 1", r.status, r.body)
	}
	// The same key for another request is refused; a tell retried without a key after a
	// lost answer is recognized as the same tell.
	if r := e.do("run", "POST", "/api/v1/studies/retry/trials/enqueue", map[string]any{"params": map[string]any{"layers": 3}}, "Idempotency-Key", "enq-1"); r.status != 422 || !contains(string(r.body), "Idempotency-Key") {
		t.Errorf("key reused = %d %s, want 422", r.status, r.body)
	}
	q2 := e.ask("retry")
	if r := send(fmt.Sprintf("/api/v1/studies/retry/trials/%d/tell", q2.Number), "", fmt.Sprintf(`{"epoch":%d,"values":[0.7]}`, q2.Epoch)); r.status != 200 {
		t.Errorf("tell without key, retried = %d %s, want 200", r.status, r.body)
	}
	var list struct{ Trials []struct{ State string } }
	e.do("read", "GET", "/api/v1/studies/retry/trials", nil).decode(t, &list)
	if len(list.Trials) != 2 || list.Trials[0].State != "COMPLETE" || list.Trials[1].State != "COMPLETE" {
		t.Errorf("trials = %+v, want 2 COMPLETE: no retry made another", list.Trials)
	}
}

// TestHygiene: body limit, content type, Host check, CORS, problem format, log redaction.
func TestHygiene(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *server.Options) {
		o.MaxBody = 1024
		o.AllowedHosts = []string{"tune.example"}
		o.CORSOrigins = []string{"https://dash.example"}
	})
	e.createStudy("hyg", 0)
	big := bytes.Repeat([]byte(" "), 2048)
	big = append(append([]byte(`{"params":{}`), big...), '}')
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		header []string
		status int
	}{
		{"too large", "POST", "/api/v1/studies/hyg/trials/enqueue", big, nil, 413},
		{"not JSON", "POST", "/api/v1/studies/hyg/trials", map[string]any{}, []string{"Content-Type", "text/plain"}, 415},
		{"form", "POST", "/api/v1/studies/hyg/trials", map[string]any{}, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"other host", "GET", "/api/v1/studies", nil, []string{"Host", "evil.example"}, 421},
		{"allowed host", "GET", "/api/v1/studies", nil, []string{"Host", "tune.example:8080"}, 200},
		{"unknown query", "GET", "/api/v1/studies?token=s3cr3t", nil, nil, 400},
		{"two JSON values", "POST", "/api/v1/studies/hyg/trials/enqueue", []byte(`{"params":{}} {}`), nil, 400},
		{"bad limit", "GET", "/api/v1/studies?limit=0", nil, nil, 400},
		{"no route", "GET", "/api/v1/nothing", nil, nil, 404},
	} {
		r := e.do("admin", tc.method, tc.path, tc.body, tc.header...)
		if r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.status)
		}
		if r.status >= 400 && r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: Content-Type %q, want application/problem+json", tc.name, r.header.Get("Content-Type"))
		}
		if r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: CORS header without an Origin", tc.name)
		}
	}
	r := e.do("read", "GET", "/api/v1/studies", nil, "Origin", "https://dash.example")
	if r.header.Get("Access-Control-Allow-Origin") != "https://dash.example" {
		t.Errorf("allowed origin: no CORS header")
	}
	r = e.do("read", "GET", "/api/v1/studies", nil, "Origin", "https://evil.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin got a CORS header")
	}
	// A cookie is no credential: bearer tokens only.
	r = e.do("", "GET", "/api/v1/studies", nil, "Cookie", "token="+e.tokens["admin"])
	if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("cookie auth: %d, want 401 with WWW-Authenticate", r.status)
	}
	log := e.log.String()
	if !contains(log, "token=REDACTED") || contains(log, "s3cr3t") || !contains(log, "request_id=") {
		t.Errorf("access log redacts no query secret or has no request IDs:\n%s", log)
	}
	for _, s := range e.tokens {
		if contains(log, s) {
			t.Errorf("a token secret is in the log")
		}
	}
}
