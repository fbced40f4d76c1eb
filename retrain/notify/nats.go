package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/a6b40afc/retune"
)

// Defaults for [NATS].
const (
	DefaultDuplicateWindow = 7 * 24 * time.Hour
	DefaultNATSTimeout     = 10 * time.Second
)

// ErrNoStream is wrapped by the error of a check or an attempt when no JetStream stream
// stores the subject as the [NATS] is configured. It wraps retune.ErrInvalid.
var ErrNoStream = fmt.Errorf("%w: no JetStream stream for the subject", retune.ErrInvalid)

// DefaultNATSStream returns the name of the stream that [NATS.CreateStream] creates for
// subject when [NATS.Stream] is "": the subject in upper case, with dots and the other
// characters a stream name cannot hold replaced by underscores ("retune.events" becomes
// "RETUNE_EVENTS").
func DefaultNATSStream(subject string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(".*>/\\", r) {
			return '_'
		}
		return unicode.ToUpper(r)
	}, subject)
}

// NATS delivers events by publishing them to a NATS JetStream stream, one publication per
// [NATS.Send], over one connection opened by the first Send. Its fields must not change,
// nor the NATS be copied, after the first Send; Send and Close are safe for concurrent use.
//
// Each message is Structured(e) with the headers Content-Type [ContentType] and
// Nats-Msg-Id e.ID. The stream stores at most one message per ID within its duplicate
// window: a repeat within the window is acknowledged as a duplicate and dropped, so a
// redelivery inside it is not stored twice. A repeat after the window is stored again, so
// consumers should still deduplicate on the CloudEvents id.
type NATS struct {
	URL     string // the server URLs, comma-separated, as for nats.Connect
	Subject string // the subject published to; it must not contain wildcards
	// Stream names the stream that stores Subject, created by CreateStream if it does not
	// exist. If Stream is "", the stream that stores Subject is used whatever its name,
	// and if none does, CreateStream creates DefaultNATSStream(Subject). Without
	// CreateStream, Stream is not used.
	Stream string
	// CreateStream creates the stream on first use (and again if it was deleted), storing
	// Subject with a duplicate window of DuplicateWindow. An existing stream is left as it
	// is: if it does not store Subject, the check and every attempt fail with an error
	// wrapping [ErrNoStream] that says what to change. Without CreateStream, a stream of
	// any name that stores Subject must exist.
	CreateStream bool
	// DuplicateWindow is the created stream's duplicate window. It should cover the time
	// over which an event may be redelivered, retries included. If DuplicateWindow is 0,
	// DefaultDuplicateWindow is used.
	DuplicateWindow time.Duration
	// Timeout bounds an attempt, connecting included. If Timeout is 0, DefaultNATSTimeout
	// is used.
	Timeout time.Duration

	mu      sync.Mutex
	nc      *nats.Conn
	js      jetstream.JetStream
	ensured bool // the stream was created or found
}

// Check connects and checks the stream as the first Send would: a stream must store
// Subject (with CreateStream, Check creates it as Send does). An error wrapping
// [ErrNoStream] (and so retune.ErrInvalid) says which setting to change; another error,
// such as a server that cannot be reached, says only that Check could not tell.
func (n *NATS) Check(ctx context.Context) error {
	if err := validPublishSubject(n.Subject); err != nil {
		return err
	}
	timeout := n.AttemptTimeout()
	ctx, cancel := context.WithTimeoutCause(ctx, timeout,
		fmt.Errorf("timed out after %v: %w", timeout, context.DeadlineExceeded))
	defer cancel()
	js, err := n.client(ctx, timeout)
	if err != nil || n.CreateStream {
		return err
	}
	return n.stored(ctx, js)
}

// stored checks that a stream stores Subject.
func (n *NATS) stored(ctx context.Context, js jetstream.JetStream) error {
	_, err := js.StreamNameBySubject(ctx, n.Subject)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return n.noStream()
	case err != nil:
		return fmt.Errorf("nats look up the stream of %q: %w", n.Subject, err)
	}
	return nil
}

// noStream is the error of a subject that no stream stores.
func (n *NATS) noStream() error {
	if n.CreateStream { // the stream was deleted again since it was created
		return fmt.Errorf("nats subject %q: no stream stores it: %w", n.Subject, ErrNoStream)
	}
	return fmt.Errorf("nats subject %q: no stream stores it: create one, or set create_stream: true: %w", n.Subject, ErrNoStream)
}

// Send makes one attempt to deliver e: it connects if not connected, creates the stream
// with CreateStream, publishes e and waits for the stream's acknowledgement. An
// acknowledged message is Delivered, a duplicate of a stored one too. A failure to connect
// or publish, or a timeout, is Retry. An invalid event or subject, a message the stream
// refuses as invalid, or a subject no stream stores (an error wrapping [ErrNoStream]) is
// Fail. The attempt's Response is the acknowledgement's JSON (stream, seq, duplicate).
func (n *NATS) Send(ctx context.Context, e retune.Event) Attempt {
	body, err := Structured(e)
	if err != nil {
		return Attempt{Outcome: Fail, Err: err}
	}
	if err := validPublishSubject(n.Subject); err != nil {
		return Attempt{Outcome: Fail, Err: err}
	}
	timeout := n.AttemptTimeout()
	ctx, cancel := context.WithTimeoutCause(ctx, timeout,
		fmt.Errorf("timed out after %v: %w", timeout, context.DeadlineExceeded))
	defer cancel()

	start := time.Now()
	js, err := n.client(ctx, timeout)
	if err != nil {
		return n.failed(ctx, start, err)
	}
	msg := &nats.Msg{Subject: n.Subject, Data: body, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, e.ID)
	msg.Header.Set("Content-Type", ContentType)
	for retried := false; ; {
		// No retries inside PublishMsg: a missing stream is told apart below.
		ack, err := js.PublishMsg(ctx, msg, jetstream.WithRetryAttempts(0))
		if err == nil {
			resp, _ := json.Marshal(ack)
			return Attempt{Duration: time.Since(start), Response: string(resp), Outcome: Delivered}
		}
		if !errors.Is(err, jetstream.ErrNoStreamResponse) {
			return n.failed(ctx, start, fmt.Errorf("nats publish to %q: %w", n.Subject, err))
		}
		if _, lerr := js.StreamNameBySubject(ctx, n.Subject); !errors.Is(lerr, jetstream.ErrStreamNotFound) {
			// A stream stores the subject but did not answer (e.g. electing a leader).
			return n.failed(ctx, start, fmt.Errorf("nats publish to %q: %w", n.Subject, err))
		}
		if !n.CreateStream || retried {
			return Attempt{Duration: time.Since(start), Outcome: Fail, Err: n.noStream()}
		}
		// The stream was deleted since it was ensured, or no longer stores the subject.
		n.mu.Lock()
		n.ensured = false
		n.mu.Unlock()
		if js, err = n.client(ctx, timeout); err != nil {
			return n.failed(ctx, start, err)
		}
		retried = true
	}
}

// Close closes the connection, if any. A later Send connects again.
func (n *NATS) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.nc != nil {
		n.nc.Close()
	}
	n.nc, n.js, n.ensured = nil, nil, false
}

// client returns the JetStream client, connecting and ensuring the stream as needed.
func (n *NATS) client(ctx context.Context, timeout time.Duration) (jetstream.JetStream, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.nc == nil || n.nc.IsClosed() {
		if dl, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(dl))
		}
		nc, err := nats.Connect(n.URL, nats.Name("retune"), nats.Timeout(timeout))
		if err != nil {
			return nil, fmt.Errorf("nats connect: %w", err)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("nats jetstream: %w", err)
		}
		n.nc, n.js, n.ensured = nc, js, false
	}
	if n.CreateStream && !n.ensured {
		if err := n.ensureStream(ctx); err != nil {
			return nil, err
		}
		n.ensured = true
	}
	return n.js, nil
}

// ensureStream makes sure that the stream stores Subject: it uses the stream that stores
// it, or creates one, and fails with an error wrapping ErrNoStream when the configuration
// cannot be served (a stream of the name exists without the subject, or the subject is
// stored by a stream other than Stream).
func (n *NATS) ensureStream(ctx context.Context) error {
	bound, err := n.js.StreamNameBySubject(ctx, n.Subject)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
	case err != nil:
		return fmt.Errorf("nats look up the stream of %q: %w", n.Subject, err)
	case n.Stream == "" || bound == n.Stream:
		return nil
	default:
		return fmt.Errorf("nats subject %q: stream %q stores it, not the configured stream %q: set stream to %q, or leave it out: %w",
			n.Subject, bound, n.Stream, bound, ErrNoStream)
	}
	name := n.Stream
	if name == "" {
		name = DefaultNATSStream(n.Subject)
	}
	s, err := n.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = n.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:       name,
			Subjects:   []string{n.Subject},
			Duplicates: orDefault(n.DuplicateWindow, DefaultDuplicateWindow),
		})
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("nats create stream %q: %w", name, err)
		}
		s, err = n.js.Stream(ctx, name) // created meanwhile, by another dispatcher
	}
	if err != nil {
		return fmt.Errorf("nats stream %q: %w", name, err)
	}
	// No stream stored the subject when looked up: one created meanwhile must store it.
	for _, subj := range s.CachedInfo().Config.Subjects {
		if subj == n.Subject {
			return nil
		}
	}
	what := fmt.Sprintf("stream %q", name)
	if n.Stream == "" {
		what = fmt.Sprintf("stream %q (the default name for it)", name)
	}
	return fmt.Errorf("nats subject %q: %s exists and stores %v, not this subject: set stream to another name, for create_stream to create, or add the subject to %q: %w",
		n.Subject, what, s.CachedInfo().Config.Subjects, name, ErrNoStream)
}

// failed classifies err: a request the server refused as invalid (an API error with a 4xx
// code other than 408 and 429), an over-sized message or an invalid name is Fail;
// anything else, a timeout included, is Retry.
func (n *NATS) failed(ctx context.Context, start time.Time, err error) Attempt {
	a := Attempt{Duration: time.Since(start), Outcome: Retry, Err: err}
	if ctx.Err() != nil {
		return a
	}
	var apiErr *jetstream.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Code >= 400 && apiErr.Code < 500 &&
		apiErr.Code != 408 && apiErr.Code != 429,
		errors.Is(err, retune.ErrInvalid),
		errors.Is(err, nats.ErrMaxPayload),
		errors.Is(err, jetstream.ErrInvalidStreamName),
		errors.Is(err, jetstream.ErrInvalidSubject):
		a.Outcome = Fail
	}
	return a
}

// validPublishSubject checks that s is a subject messages can be published to.
func validPublishSubject(s string) error {
	if s == "" {
		return fmt.Errorf("nats: empty subject: %w", retune.ErrInvalid)
	}
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
			return fmt.Errorf("nats: subject %q: want dot-separated tokens without wildcards or spaces: %w",
				s, retune.ErrInvalid)
		}
	}
	return nil
}
