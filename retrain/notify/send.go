package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/a6b40afc/retune"
)

// DefaultTimeout bounds a webhook attempt when [Webhook.Timeout] is 0.
const DefaultTimeout = 15 * time.Second

// responseLimit is the most bytes of a response body kept in [Attempt.Response].
const responseLimit = 1 << 10

// Outcome classifies a delivery attempt.
type Outcome int

const (
	// Delivered: the endpoint answered 2xx.
	Delivered Outcome = iota + 1
	// Retry: the attempt may succeed later. The endpoint answered 408, 429 or 5xx, or the
	// request failed (timeout, connection error, cancelled context).
	Retry
	// Disable: the endpoint answered 410 Gone, asking not to be sent more.
	Disable
	// Fail: the attempt will not succeed as it is. The endpoint answered 3xx or another
	// 4xx (redirects are not followed), or the event, secrets or URL are invalid.
	Fail
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case Disable:
		return "disable"
	case Fail:
		return "fail"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Attempt is the result of one delivery attempt.
type Attempt struct {
	Status   int           // the response's status code, 0 if there was no response
	Duration time.Duration // from sending the request to reading the response excerpt
	// Response is the start of the response body: at most 1 KiB, cut at a UTF-8 character
	// boundary when the body is longer.
	Response string
	Outcome  Outcome
	// RetryAfter is the delay the endpoint asked for in a Retry-After header (seconds or
	// HTTP-date) with a Retry outcome; 0 if it gave none, or a date in the past.
	RetryAfter time.Duration
	Err        error // why the event was not delivered; nil when Delivered
}

// Webhook sends events by HTTP POST to one endpoint, signed with Standard Webhooks
// signatures. Its fields must not change while Send runs; Send is safe for concurrent use
// if Client is.
type Webhook struct {
	URL string // an http or https URL
	// Secrets sign each request, one signature each (see [Sign]); at least one is required.
	// During rotation list the new secret and the old one.
	Secrets []string
	// Timeout bounds an attempt, including reading the response excerpt. If Timeout is 0,
	// DefaultTimeout is used.
	Timeout time.Duration
	// Client sends the requests. If Client is nil, a client that does not follow redirects
	// is used, so that a 3xx response is a Fail, and that connects only to public
	// addresses unless AllowPrivate. A Client given here is used as it is: it should not
	// follow redirects either, and it decides which addresses it reaches.
	Client *http.Client
	// AllowPrivate lets the default client connect to loopback, private, link-local and
	// other non-public addresses. Without it such an address is refused (an attempt that
	// Fails with ErrPrivateAddress), checked on every connection after the name is
	// resolved, so that DNS cannot point the webhook inward. Default false.
	AllowPrivate bool
}

// ErrPrivateAddress is the error of a webhook attempt refused because its address is not
// public (see Webhook.AllowPrivate).
var ErrPrivateAddress = errors.New("notify: webhook address is not public")

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// defaultClient is http.DefaultTransport without following redirects, for webhooks that
// may reach private addresses.
var defaultClient = &http.Client{CheckRedirect: noRedirect}

// publicClient is defaultClient connecting to public addresses only. It uses no proxy: a
// proxy would connect on its behalf, past the check.
var publicClient = &http.Client{
	CheckRedirect: noRedirect,
	Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: refusePrivate}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	},
}

// nonPublic are address ranges that the netip predicates do not name: shared address
// space (RFC 6598), "this network" and the IPv4 benchmark and reserved ranges.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("240.0.0.0/4"),
}

// public reports whether ip is a public unicast address: not loopback, private (RFC 1918,
// fc00::/7), link-local, unspecified, multicast or one of the other reserved ranges.
func public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// refusePrivate is the dialer's check of the resolved address it is about to connect to.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !public(ip) {
		return fmt.Errorf("%w: %s (allow it with allow_private)", ErrPrivateAddress, host)
	}
	return nil
}

// Send makes one attempt to deliver e: a POST of Structured(e) with Content-Type
// [ContentType] and the webhook-id (e.ID), webhook-timestamp (now) and webhook-signature
// headers. It reports the result, never retries, and returns when the attempt ends, ctx is
// done, or the Timeout passes.
func (w *Webhook) Send(ctx context.Context, e retune.Event) Attempt {
	body, err := Structured(e)
	if err != nil {
		return Attempt{Outcome: Fail, Err: err}
	}
	u, err := url.Parse(w.URL)
	if err != nil {
		return Attempt{Outcome: Fail, Err: fmt.Errorf("webhook url: %w", err)}
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return Attempt{Outcome: Fail, Err: fmt.Errorf("webhook url %q: want an absolute http or https URL: %w",
			u.Redacted(), retune.ErrInvalid)}
	}
	now := time.Now()
	sig, err := Sign(w.Secrets, e.ID, now, body)
	if err != nil {
		return Attempt{Outcome: Fail, Err: err}
	}
	timeout := w.AttemptTimeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Attempt{Outcome: Fail, Err: fmt.Errorf("webhook request: %w", err)}
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set(HeaderID, e.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)

	client := w.Client
	if client == nil {
		client = publicClient
		if w.AllowPrivate {
			client = defaultClient
		}
	}
	start := time.Now()
	resp, err := client.Do(req)
	if errors.Is(err, ErrPrivateAddress) {
		return Attempt{Duration: time.Since(start), Outcome: Fail, Err: err}
	}
	if err != nil {
		return Attempt{Duration: time.Since(start), Outcome: Retry, Err: err}
	}
	excerpt := readExcerpt(resp.Body)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	_ = resp.Body.Close()
	a := Attempt{Status: resp.StatusCode, Duration: time.Since(start), Response: excerpt}

	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		a.Outcome = Delivered
		return a
	case code == http.StatusGone:
		a.Outcome = Disable
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 && code < 600:
		a.Outcome = Retry
		a.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	default:
		a.Outcome = Fail
	}
	a.Err = fmt.Errorf("webhook responded %s", resp.Status)
	return a
}

// readExcerpt returns the first responseLimit bytes of r, without a trailing partial
// UTF-8 character when r is longer. An error reading r ends the excerpt.
func readExcerpt(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, responseLimit+1))
	if len(b) <= responseLimit {
		return string(b)
	}
	b = b[:responseLimit]
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				b = b[:i]
			}
			break
		}
	}
	return string(b)
}

// retryAfter parses a Retry-After value, delay-seconds or an HTTP-date, as a delay from
// now. It returns 0 for an empty or invalid value or a date that has passed.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > math.MaxInt64/int64(time.Second) {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return max(t.Sub(now), 0)
}
