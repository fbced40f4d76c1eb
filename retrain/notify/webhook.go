package notify

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
)

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"        // the event ID, the same on every delivery attempt
	HeaderTimestamp = "webhook-timestamp" // the attempt's time in Unix seconds
	HeaderSignature = "webhook-signature" // space-separated "v1,<base64 HMAC-SHA256>" signatures
)

// DefaultTolerance is how far a webhook's timestamp may be from the receiver's clock when
// [Verify] is given a tolerance that is not positive.
const DefaultTolerance = 5 * time.Minute

// secretPrefix marks a Standard Webhooks symmetric secret.
const secretPrefix = "whsec_"

// Key sizes allowed for a secret, in bytes.
const (
	minKeyLen = 24
	maxKeyLen = 64
)

var (
	// ErrSecret is wrapped by the errors of a malformed webhook secret.
	ErrSecret = errors.New("notify: invalid webhook secret")
	// ErrUnverified is wrapped by every error of [Verify] about the request: a missing or
	// malformed header, a timestamp outside the tolerance, or no matching signature.
	ErrUnverified = errors.New("notify: webhook not verified")
)

// NewSecret returns a new random webhook secret: "whsec_" followed by the standard base64
// encoding of 32 random bytes.
func NewSecret() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// decodeSecret returns the key of a "whsec_" secret. Errors never contain the secret.
func decodeSecret(secret string) ([]byte, error) {
	const form = `want "whsec_" followed by the standard base64 encoding of 24 to 64 bytes`
	enc, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("missing %q prefix (%s): %w", secretPrefix, form, ErrSecret)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("key is not standard base64 (%s): %w", form, ErrSecret)
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return nil, fmt.Errorf("key is %d bytes (%s): %w", len(key), form, ErrSecret)
	}
	return key, nil
}

// mac returns HMAC-SHA256(key, id + "." + ts + "." + body).
func mac(key []byte, id, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Sign returns the webhook-signature header value of a Standard Webhooks message: one
// "v1,<base64 HMAC-SHA256>" signature per secret, space-separated, so that a receiver
// holding any one of the secrets can verify it while secrets are rotated. The signed
// content is id + "." + the Unix seconds of ts + "." + body.
//
// Each secret must be "whsec_" followed by the standard base64 encoding of a 24 to 64 byte
// key; an invalid one gives an error wrapping [ErrSecret] that names the secret's position
// (not its value). Sign also fails if there is no secret, or if id is empty or contains a
// '.', which would make the signed content ambiguous.
func Sign(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", fmt.Errorf("sign: no secret: %w", ErrSecret)
	}
	if id == "" || strings.Contains(id, ".") {
		return "", fmt.Errorf("sign: message id %q is empty or contains '.': %w", id, retune.ErrInvalid)
	}
	t := strconv.FormatInt(ts.Unix(), 10)
	sigs := make([]string, len(secrets))
	for i, s := range secrets {
		key, err := decodeSecret(s)
		if err != nil {
			return "", fmt.Errorf("sign: secret %d: %w", i, err)
		}
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac(key, id, t, body))
	}
	return strings.Join(sigs, " "), nil
}

// Verify checks a Standard Webhooks request received at now: header holds the
// webhook-id, webhook-timestamp and webhook-signature headers and body is the raw request
// body, exactly as received.
//
// It returns nil if the timestamp is within tolerance of now, in either direction
// ([DefaultTolerance] if tolerance is not positive), and any v1 signature in the
// webhook-signature list matches the HMAC computed with secret. Signatures of other
// versions are ignored. Signatures are compared in constant time. A problem with the request gives an error
// wrapping [ErrUnverified]; an invalid secret gives one wrapping [ErrSecret].
//
// Verify does not detect replays within the tolerance: receivers that must process a
// message once should remember the webhook-id values they have seen.
func Verify(secret string, header http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	id, ts, list := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	for _, h := range []struct{ name, value string }{
		{HeaderID, id}, {HeaderTimestamp, ts}, {HeaderSignature, list},
	} {
		if h.value == "" {
			return fmt.Errorf("missing %s header: %w", h.name, ErrUnverified)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ts[0] == '+' {
		return fmt.Errorf("%s %q is not an integer of Unix seconds: %w", HeaderTimestamp, clip(ts), ErrUnverified)
	}
	sent := time.Unix(sec, 0)
	if d := now.Sub(sent); d > tolerance || d < -tolerance {
		return fmt.Errorf("%s %s is more than %v from now (%s): %w",
			HeaderTimestamp, ts, tolerance, now.UTC().Format(time.RFC3339), ErrUnverified)
	}
	want := mac(key, id, ts, body)
	var malformed string
	v1 := 0
	for _, entry := range strings.Fields(list) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok {
			malformed = entry
			continue
		}
		if version != "v1" {
			continue
		}
		v1++
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			malformed = entry
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	switch {
	case malformed != "":
		return fmt.Errorf(`malformed %s entry %q (want "v1,<base64 HMAC-SHA256>", space-separated): %w`,
			HeaderSignature, clip(malformed), ErrUnverified)
	case v1 == 0:
		return fmt.Errorf("%s has no v1 signature: %w", HeaderSignature, ErrUnverified)
	default:
		return fmt.Errorf("no %s signature matches: %w", HeaderSignature, ErrUnverified)
	}
}

// clip shortens received text quoted in an error.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
