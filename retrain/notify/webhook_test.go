package notify

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// TestSignVector checks Sign and Verify against published reference signatures.
func TestSignVector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		secret string
		id     string
		ts     int64
		body   string
		want   string
	}{
		{
			// The Standard Webhooks reference vector: TestWebhookSign in
			// github.com/standard-webhooks/standard-webhooks, libraries/go/webhook_test.go
			// (the other reference libraries' tests use the same values).
			name:   "standard webhooks reference",
			secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			id:     "msg_p5jXN8AQM9LWM0D4loKWxJek",
			ts:     1614265330,
			body:   `{"test": 2432232314}`,
			want:   "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Sign([]string{tt.secret}, tt.id, time.Unix(tt.ts, 0), []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Sign = %q, want %q", got, tt.want)
			}
			h := header(tt.id, strconv.FormatInt(tt.ts, 10), tt.want)
			if err := Verify(tt.secret, h, []byte(tt.body), 0, time.Unix(tt.ts, 0)); err != nil {
				t.Errorf("Verify(reference signature) = %v, want nil", err)
			}
		})
	}
}

func header(id, ts, sig string) http.Header {
	h := http.Header{}
	for k, v := range map[string]string{HeaderID: id, HeaderTimestamp: ts, HeaderSignature: sig} {
		if v != "" {
			h.Set(k, v)
		}
	}
	return h
}

func TestSignInvalid(t *testing.T) {
	t.Parallel()
	good := NewSecret()
	key := func(n int) string { return "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, n)) }
	tests := []struct {
		name    string
		secrets []string
		id      string
		want    error
		msg     string // in the error
	}{
		{"no secrets", nil, "m", ErrSecret, "no secret"},
		{"no prefix", []string{strings.TrimPrefix(good, "whsec_")}, "m", ErrSecret, `secret 0: missing "whsec_" prefix`},
		{"not base64", []string{good, "whsec_not*base64"}, "m", ErrSecret, "secret 1: key is not standard base64"},
		{"url base64", []string{"whsec_" + base64.URLEncoding.EncodeToString([]byte(strings.Repeat("\xff", 30)))}, "m", ErrSecret, "not standard base64"},
		{"short key", []string{key(23)}, "m", ErrSecret, "key is 23 bytes"},
		{"long key", []string{key(65)}, "m", ErrSecret, "key is 65 bytes"},
		{"empty id", []string{good}, "", retune.ErrInvalid, "message id"},
		{"dot in id", []string{good}, "a.b", retune.ErrInvalid, "contains '.'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sig, err := Sign(tt.secrets, tt.id, time.Unix(1, 0), []byte("{}"))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Sign = %q, %v; want an error wrapping %v containing %q", sig, err, tt.want, tt.msg)
			}
			if errors.Is(err, ErrSecret) && !strings.Contains(err.Error(), `want "whsec_" followed by`) && tt.secrets != nil {
				t.Errorf("Sign error %q does not give the valid form", err)
			}
			for _, s := range tt.secrets {
				if strings.Contains(err.Error(), strings.TrimPrefix(s, "whsec_")) {
					t.Errorf("Sign error %q contains the secret", err)
				}
			}
		})
	}
	for _, n := range []int{24, 64} {
		if _, err := Sign([]string{key(n)}, "m", time.Unix(1, 0), nil); err != nil {
			t.Errorf("Sign(%d byte key) = %v, want nil", n, err)
		}
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	oldSecret, newSecret, other := NewSecret(), NewSecret(), NewSecret()
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"specversion":"1.0"}`)
	sig, err := Sign([]string{newSecret, oldSecret}, "msg_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(sig)); n != 2 {
		t.Fatalf("Sign with two secrets = %q: %d signatures, want 2", sig, n)
	}
	h := header("msg_1", strconv.FormatInt(now.Unix(), 10), sig)
	for _, s := range []string{oldSecret, newSecret} {
		if err := Verify(s, h, body, 0, now); err != nil {
			t.Errorf("Verify with a signing secret = %v, want nil", err)
		}
	}
	if err := Verify(other, h, body, 0, now); !errors.Is(err, ErrUnverified) {
		t.Errorf("Verify with another secret = %v, want ErrUnverified", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	sent := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(sent.Unix(), 10)
	body := []byte(`{"id":"e1"}`)
	sig, err := Sign([]string{secret}, "msg_1", sent, body)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Sign([]string{NewSecret()}, "msg_1", sent, body)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		header    http.Header
		body      string
		tolerance time.Duration
		now       time.Time
		msg       string // in the error; "" for success
	}{
		{"valid", header("msg_1", ts, sig), string(body), 0, sent, ""},
		{"valid among others", header("msg_1", ts, "v1a,AAAA "+other+"  "+sig), string(body), 0, sent, ""},
		{"at default tolerance", header("msg_1", ts, sig), string(body), 0, sent.Add(5 * time.Minute), ""},
		{"within tolerance, clock behind", header("msg_1", ts, sig), string(body), time.Minute, sent.Add(-time.Minute), ""},
		{"tampered body", header("msg_1", ts, sig), `{"id":"e2"}`, 0, sent, "no webhook-signature signature matches"},
		{"tampered id", header("msg_2", ts, sig), string(body), 0, sent, "no webhook-signature signature matches"},
		{"tampered timestamp", header("msg_1", strconv.FormatInt(sent.Unix()+1, 10), sig), string(body), 0, sent, "no webhook-signature signature matches"},
		{"wrong secret", header("msg_1", ts, other), string(body), 0, sent, "no webhook-signature signature matches"},
		{"old timestamp", header("msg_1", ts, sig), string(body), 0, sent.Add(5*time.Minute + time.Second), "more than 5m0s from now"},
		{"future timestamp", header("msg_1", ts, sig), string(body), 0, sent.Add(-5*time.Minute - time.Second), "more than 5m0s from now"},
		{"outside custom tolerance", header("msg_1", ts, sig), string(body), 10 * time.Second, sent.Add(11 * time.Second), "more than 10s from now"},
		{"missing id", header("", ts, sig), string(body), 0, sent, "missing webhook-id header"},
		{"missing timestamp", header("msg_1", "", sig), string(body), 0, sent, "missing webhook-timestamp header"},
		{"missing signature", header("msg_1", ts, ""), string(body), 0, sent, "missing webhook-signature header"},
		{"timestamp in milliseconds format", header("msg_1", ts+".5", sig), string(body), 0, sent, "is not an integer of Unix seconds"},
		{"timestamp as date", header("msg_1", sent.Format(time.RFC3339), sig), string(body), 0, sent, "is not an integer of Unix seconds"},
		{"timestamp with plus", header("msg_1", "+"+ts, sig), string(body), 0, sent, "is not an integer of Unix seconds"},
		{"signature without version", header("msg_1", ts, strings.TrimPrefix(sig, "v1,")), string(body), 0, sent, "malformed webhook-signature entry"},
		{"signature not base64", header("msg_1", ts, "v1,***"), string(body), 0, sent, `malformed webhook-signature entry "v1,***"`},
		{"no v1 signature", header("msg_1", ts, "v1a,"+strings.TrimPrefix(sig, "v1,")), string(body), 0, sent, "has no v1 signature"},
		{"comma separated list", header("msg_1", ts, sig+","+other), string(body), 0, sent, "malformed webhook-signature entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Verify(secret, tt.header, []byte(tt.body), tt.tolerance, tt.now)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrUnverified) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Verify = %v, want an error wrapping ErrUnverified containing %q", err, tt.msg)
			}
		})
	}
}

func TestVerifyInvalidSecret(t *testing.T) {
	t.Parallel()
	err := Verify("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", header("m", "1", "v1,AAAA"), nil, 0, time.Unix(1, 0))
	if !errors.Is(err, ErrSecret) || errors.Is(err, ErrUnverified) {
		t.Fatalf("Verify(secret without prefix) = %v, want an error wrapping only ErrSecret", err)
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatalf("NewSecret twice = %q, want different secrets", a)
	}
	key, err := decodeSecret(a)
	if err != nil || len(key) != 32 {
		t.Fatalf("decodeSecret(NewSecret()) = %d bytes, %v; want 32, nil", len(key), err)
	}
}
