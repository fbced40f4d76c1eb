package notify

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

// TestWebhookRefusesPrivate: without AllowPrivate a webhook reaches no loopback address,
// whether the URL names it or a host name resolves to it, and the attempt fails without
// a retry; with AllowPrivate it is delivered.
func TestWebhookRefusesPrivate(t *testing.T) {
	t.Parallel()
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	for _, u := range []string{srv.URL, "http://localhost" + port + "/hook"} {
		a := (&Webhook{URL: u, Secrets: []string{NewSecret()}}).Send(t.Context(), testEvent())
		if a.Outcome != Fail || !errors.Is(a.Err, ErrPrivateAddress) {
			t.Errorf("Send(%s) = %v %v, want Fail with ErrPrivateAddress", u, a.Outcome, a.Err)
		}
	}
	if n := got.Load(); n != 0 {
		t.Errorf("the receiver got %d requests, want none", n)
	}
	a := (&Webhook{URL: srv.URL, Secrets: []string{NewSecret()}, AllowPrivate: true}).Send(t.Context(), testEvent())
	if a.Outcome != Delivered || got.Load() != 1 {
		t.Errorf("Send with AllowPrivate = %v %v, want Delivered", a.Outcome, a.Err)
	}
}

func TestPublic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"93.184.215.14", true}, {"2606:4700::1111", true}, {"8.8.8.8", true},
		{"127.0.0.1", false}, {"::1", false}, {"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"fe80::1", false}, {"fd00::1", false}, {"0.0.0.0", false}, {"::", false},
		{"100.64.0.1", false}, {"::ffff:127.0.0.1", false}, {"::ffff:10.0.0.1", false}, {"224.0.0.1", false},
	} {
		if got := public(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("public(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}
