package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/a6b40afc/retune"
)

func testEvent() retune.Event {
	return retune.Event{
		ID:     "0b9e7a52-6c1d-4f3e-8a27-5d4c3b2a1f00",
		Type:   retune.TypeRetrainingRequired,
		Source: "/retune/models/digits",
		Time:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Data:   json.RawMessage(`{"model":"digits"}`),
	}
}

// TestSendVerified delivers to a receiver that checks the request as a Go receiver would.
func TestSendVerified(t *testing.T) {
	t.Parallel()
	oldSecret, newSecret := NewSecret(), NewSecret()
	e := testEvent()
	for _, receiverSecret := range []string{oldSecret, newSecret} {
		var got atomic.Value
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err == nil {
				err = Verify(receiverSecret, r.Header, body, 0, time.Now())
			}
			switch {
			case err != nil:
				http.Error(w, err.Error(), http.StatusUnauthorized)
			case r.Method != http.MethodPost:
				http.Error(w, r.Method, http.StatusMethodNotAllowed)
			case r.Header.Get("Content-Type") != ContentType:
				http.Error(w, r.Header.Get("Content-Type"), http.StatusUnsupportedMediaType)
			case r.Header.Get(HeaderID) != e.ID:
				http.Error(w, r.Header.Get(HeaderID), http.StatusBadRequest)
			default:
				got.Store(body)
				_, _ = io.WriteString(w, "ok")
			}
		}))
		t.Cleanup(srv.Close)
		wh := &Webhook{URL: srv.URL, AllowPrivate: true, Secrets: []string{newSecret, oldSecret}}
		a := wh.Send(t.Context(), e)
		if a.Outcome != Delivered || a.Status != http.StatusOK || a.Err != nil || a.Response != "ok" {
			t.Fatalf("Send = %+v, want delivered 200 \"ok\"", a)
		}
		if a.Duration <= 0 {
			t.Errorf("Send Duration = %v, want > 0", a.Duration)
		}
		want, err := Structured(e)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := got.Load().([]byte); string(b) != string(want) {
			t.Errorf("received body %s, want %s", b, want)
		}
	}

	// A receiver with an unrelated secret rejects the request: a 401 fails.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := Verify(NewSecret(), r.Header, body, 0, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	}))
	t.Cleanup(srv.Close)
	a := (&Webhook{URL: srv.URL, AllowPrivate: true, Secrets: []string{newSecret}}).Send(t.Context(), e)
	if a.Outcome != Fail || a.Status != http.StatusUnauthorized || !strings.Contains(a.Response, "no webhook-signature signature matches") {
		t.Errorf("Send to a receiver with another secret = %+v, want fail 401 with the receiver's reason", a)
	}
}

func TestSendOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   Outcome
	}{
		{200, Delivered},
		{201, Delivered},
		{202, Delivered},
		{204, Delivered},
		{299, Delivered},
		{300, Fail},
		{301, Fail},
		{304, Fail},
		{307, Fail},
		{400, Fail},
		{401, Fail},
		{403, Fail},
		{404, Fail},
		{405, Fail},
		{408, Retry},
		{409, Fail},
		{410, Disable},
		{413, Fail},
		{422, Fail},
		{429, Retry},
		{500, Retry},
		{502, Retry},
		{503, Retry},
		{504, Retry},
		{599, Retry},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status >= 300 && tt.status < 400 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
			}))
			t.Cleanup(srv.Close)
			a := (&Webhook{URL: srv.URL, AllowPrivate: true, Secrets: []string{NewSecret()}}).Send(t.Context(), testEvent())
			if a.Outcome != tt.want || a.Status != tt.status {
				t.Errorf("Send to a %d endpoint = %v %d (%v), want %v", tt.status, a.Outcome, a.Status, a.Err, tt.want)
			}
			if (a.Err == nil) != (tt.want == Delivered) {
				t.Errorf("Send to a %d endpoint: Err = %v", tt.status, a.Err)
			}
		})
	}
}

func TestSendRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		header func() string
		min    time.Duration
		max    time.Duration
	}{
		{"seconds", 503, func() string { return "120" }, 120 * time.Second, 120 * time.Second},
		{"zero seconds", 429, func() string { return "0" }, 0, 0},
		{"http date", 429, func() string { return time.Now().Add(time.Hour).UTC().Format(http.TimeFormat) }, time.Nanosecond, time.Hour},
		{"http date passed", 503, func() string { return time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat) }, 0, 0},
		{"negative", 503, func() string { return "-5" }, 0, 0},
		{"overflowing", 503, func() string { return "99999999999999999" }, 0, 0},
		{"garbage", 503, func() string { return "soon" }, 0, 0},
		{"absent", 503, func() string { return "" }, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if v := tt.header(); v != "" {
					w.Header().Set("Retry-After", v)
				}
				w.WriteHeader(tt.status)
			}))
			t.Cleanup(srv.Close)
			a := (&Webhook{URL: srv.URL, AllowPrivate: true, Secrets: []string{NewSecret()}}).Send(t.Context(), testEvent())
			if a.Outcome != Retry || a.RetryAfter < tt.min || a.RetryAfter > tt.max {
				t.Errorf("Send = %v, RetryAfter %v; want retry in [%v, %v]", a.Outcome, a.RetryAfter, tt.min, tt.max)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		v    string
		want time.Duration
	}{
		{"120", 120 * time.Second},
		{"0", 0},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{now.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"-5", 0},
		{"99999999999999999", 0},
		{"soon", 0},
		{"", 0},
	} {
		if got := retryAfter(tt.v, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestSendNoRedirect(t *testing.T) {
	t.Parallel()
	var followed atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		followed.Store(true)
	}))
	t.Cleanup(target.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	a := (&Webhook{URL: srv.URL, AllowPrivate: true, Secrets: []string{NewSecret()}}).Send(t.Context(), testEvent())
	if a.Outcome != Fail || a.Status != http.StatusFound || a.Err == nil {
		t.Errorf("Send to a redirecting endpoint = %+v, want fail 302", a)
	}
	if followed.Load() {
		t.Error("Send followed the redirect")
	}
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client going away
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	const timeout = 50 * time.Millisecond
	sent := make(chan Attempt, 1)
	go func() {
		sent <- (&Webhook{URL: srv.URL, AllowPrivate: true, Secrets: []string{NewSecret()}, Timeout: timeout}).Send(t.Context(), testEvent())
	}()
	var a Attempt
	select {
	case a = <-sent:
	case <-time.After(30 * time.Second):
		t.Fatalf("Send to an endpoint that never answers has not returned after 30 s (timeout %v)", timeout)
	}
	if a.Outcome != Retry || a.Status != 0 || !errors.Is(a.Err, context.DeadlineExceeded) {
		t.Errorf("Send to a slow endpoint = %+v, want retry with a deadline error", a)
	}
	if a.Duration < timeout {
		t.Errorf("Send to a slow endpoint took %v, want at least the timeout %v", a.Duration, timeout)
	}
}

func TestSendCancelled(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a := (&Webhook{URL: srv.URL, AllowPrivate: true, Secrets: []string{NewSecret()}}).Send(ctx, testEvent())
	if a.Outcome != Retry || !errors.Is(a.Err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %+v, want retry with context.Canceled", a)
	}
}

func TestSendConnectionError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close()
	a := (&Webhook{URL: url, AllowPrivate: true, Secrets: []string{NewSecret()}}).Send(t.Context(), testEvent())
	if a.Outcome != Retry || a.Status != 0 || a.Err == nil {
		t.Errorf("Send to a closed server = %+v, want retry with an error", a)
	}
}

func TestSendResponseExcerpt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want string
	}{
		{"short", "accepted", "accepted"},
		{"exactly 1 KiB", strings.Repeat("a", 1024), strings.Repeat("a", 1024)},
		{"long", strings.Repeat("b", 1<<20), strings.Repeat("b", 1024)},
		// "é" is 2 bytes: 1023 bytes of "a" leave room for only its first byte.
		{"cut character", strings.Repeat("a", 1023) + "é and more", strings.Repeat("a", 1023)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			a := (&Webhook{URL: srv.URL, AllowPrivate: true, Secrets: []string{NewSecret()}}).Send(t.Context(), testEvent())
			if a.Response != tt.want {
				t.Errorf("Send Response = %d bytes %.20q…, want %d bytes %.20q…", len(a.Response), a.Response, len(tt.want), tt.want)
			}
			if !utf8.ValidString(a.Response) {
				t.Errorf("Send Response is not valid UTF-8")
			}
		})
	}
}

func TestSendInvalid(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	t.Cleanup(srv.Close)
	noID := testEvent()
	noID.ID = ""
	tests := []struct {
		name    string
		webhook Webhook
		event   retune.Event
		want    error
	}{
		{"no secrets", Webhook{URL: srv.URL, AllowPrivate: true}, testEvent(), ErrSecret},
		{"bad secret", Webhook{URL: srv.URL, AllowPrivate: true, Secrets: []string{"hunter2"}}, testEvent(), ErrSecret},
		{"invalid event", Webhook{URL: srv.URL, AllowPrivate: true, Secrets: []string{NewSecret()}}, noID, retune.ErrInvalid},
		{"relative url", Webhook{URL: "/hooks", Secrets: []string{NewSecret()}}, testEvent(), retune.ErrInvalid},
		{"ftp url", Webhook{URL: "ftp://example.com/", Secrets: []string{NewSecret()}}, testEvent(), retune.ErrInvalid},
		{"unparsable url", Webhook{URL: "http://[::1", AllowPrivate: true, Secrets: []string{NewSecret()}}, testEvent(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := tt.webhook.Send(t.Context(), tt.event)
			if a.Outcome != Fail || a.Err == nil || tt.want != nil && !errors.Is(a.Err, tt.want) {
				t.Errorf("Send = %+v, want fail wrapping %v", a, tt.want)
			}
		})
	}
	t.Cleanup(func() {
		if n := calls.Load(); n != 0 {
			t.Errorf("invalid webhooks made %d requests, want 0", n)
		}
	})
}

func TestOutcomeString(t *testing.T) {
	t.Parallel()
	for o, want := range map[Outcome]string{Delivered: "delivered", Retry: "retry", Disable: "disable", Fail: "fail", 0: "Outcome(0)"} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
}
