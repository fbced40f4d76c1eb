package notify

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/a6b40afc/retune"
)

// testNATS returns the test server's URL, a JetStream client for checks, and a fresh
// stream and subject name; a stream of that name is deleted when the test ends.
//
// Tests that create or delete streams do not run in parallel: a server deleting its last
// stream while another is created can fail the creation ("error creating store").
func testNATS(t *testing.T) (url string, js jetstream.JetStream, stream, subject string) {
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
	js, err = jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.ToUpper(rand.Text()[:12])
	stream = "RETUNE_TEST_" + id
	subject = "retune.test." + id + ".events"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream %s: %v", stream, err)
		}
	})
	return url, js, stream, subject
}

func TestNATSPublish(t *testing.T) {
	url, js, stream, subject := testNATS(t)
	n := &NATS{URL: url, Subject: subject, Stream: stream, CreateStream: true}
	t.Cleanup(n.Close)
	e := testEvent()
	a := n.Send(t.Context(), e)
	if a.Outcome != Delivered || a.Err != nil {
		t.Fatalf("Send = %+v, want delivered", a)
	}
	var ack jetstream.PubAck
	if err := json.Unmarshal([]byte(a.Response), &ack); err != nil || ack.Stream != stream || ack.Sequence != 1 || ack.Duplicate {
		t.Errorf("Response = %s (%v), want the ack of message 1 in %s", a.Response, err, stream)
	}

	s, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if len(cfg.Subjects) != 1 || cfg.Subjects[0] != subject || cfg.Duplicates != DefaultDuplicateWindow {
		t.Errorf("stream config subjects %v, duplicates %v; want [%s], %v", cfg.Subjects, cfg.Duplicates, subject, DefaultDuplicateWindow)
	}
	cons, err := s.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Structured(e)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg.Data()) != string(want) {
		t.Errorf("body = %s, want %s", msg.Data(), want)
	}
	if got := msg.Headers().Get(jetstream.MsgIDHeader); got != e.ID {
		t.Errorf("%s = %q, want %q", jetstream.MsgIDHeader, got, e.ID)
	}
	if got := msg.Headers().Get("Content-Type"); got != ContentType {
		t.Errorf("Content-Type = %q, want %q", got, ContentType)
	}
	if msg.Subject() != subject {
		t.Errorf("subject = %q, want %q", msg.Subject(), subject)
	}
}

func TestNATSDuplicate(t *testing.T) {
	url, js, stream, subject := testNATS(t)
	n := &NATS{URL: url, Subject: subject, Stream: stream, CreateStream: true, DuplicateWindow: time.Hour}
	t.Cleanup(n.Close)
	e := testEvent()
	for i, wantDup := range []bool{false, true} {
		a := n.Send(t.Context(), e)
		var ack jetstream.PubAck
		if a.Outcome != Delivered || json.Unmarshal([]byte(a.Response), &ack) != nil || ack.Duplicate != wantDup || ack.Sequence != 1 {
			t.Fatalf("Send #%d = %+v, want delivered as message 1 with duplicate %v", i+1, a, wantDup)
		}
	}
	s, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info := s.CachedInfo()
	if info.State.Msgs != 1 || info.Config.Duplicates != time.Hour {
		t.Errorf("stream has %d messages, duplicate window %v; want 1, 1h", info.State.Msgs, info.Config.Duplicates)
	}
}

// TestNATSExistingStream checks that an existing stream is used and left as it is.
func TestNATSExistingStream(t *testing.T) {
	url, js, stream, subject := testNATS(t)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{
		Name: stream, Subjects: []string{subject, subject + ".more"}, Duplicates: time.Minute,
	}); err != nil {
		t.Fatal(err)
	}
	n := &NATS{URL: url, Subject: subject, Stream: stream, CreateStream: true}
	t.Cleanup(n.Close)
	if a := n.Send(t.Context(), testEvent()); a.Outcome != Delivered {
		t.Fatalf("Send = %+v, want delivered", a)
	}
	s, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	if cfg := s.CachedInfo().Config; len(cfg.Subjects) != 2 || cfg.Duplicates != time.Minute {
		t.Errorf("stream config subjects %v, duplicates %v; want it unchanged", cfg.Subjects, cfg.Duplicates)
	}
}

// TestNATSRecreate checks that with CreateStream a stream deleted after the first Send is
// created again.
func TestNATSRecreate(t *testing.T) {
	url, js, stream, subject := testNATS(t)
	n := &NATS{URL: url, Subject: subject, Stream: stream, CreateStream: true}
	t.Cleanup(n.Close)
	e := testEvent()
	if a := n.Send(t.Context(), e); a.Outcome != Delivered {
		t.Fatalf("Send = %+v, want delivered", a)
	}
	if err := js.DeleteStream(t.Context(), stream); err != nil {
		t.Fatal(err)
	}
	if a := n.Send(t.Context(), e); a.Outcome != Delivered || !strings.Contains(a.Response, `"seq":1`) {
		t.Fatalf("Send after deleting the stream = %+v, want delivered as message 1", a)
	}
}

func TestNATSNoStream(t *testing.T) {
	url, js, stream, subject := testNATS(t)
	t.Run("without CreateStream", func(t *testing.T) {
		n := &NATS{URL: url, Subject: subject, Stream: stream}
		t.Cleanup(n.Close)
		a := n.Send(t.Context(), testEvent())
		if a.Outcome != Fail || !errors.Is(a.Err, ErrNoStream) || !strings.Contains(a.Err.Error(), subject) {
			t.Fatalf("Send = %+v, want fail with ErrNoStream naming %s", a, subject)
		}
	})
	t.Run("stream without the subject", func(t *testing.T) {
		other := stream + "_OTHER"
		if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: other, Subjects: []string{subject + ".other"}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = js.DeleteStream(context.Background(), other) })
		n := &NATS{URL: url, Subject: subject, Stream: other, CreateStream: true}
		t.Cleanup(n.Close)
		a := n.Send(t.Context(), testEvent())
		if a.Outcome != Fail || !errors.Is(a.Err, ErrNoStream) || !strings.Contains(a.Err.Error(), other) {
			t.Fatalf("Send = %+v, want fail with ErrNoStream naming %s", a, other)
		}
	})
}

func TestNATSUnreachable(t *testing.T) {
	t.Parallel()
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()
	// A server that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			go func() {
				_, _ = io.Copy(io.Discard, c) // until the client hangs up
				_ = c.Close()
			}()
		}
	}()
	for _, tt := range []struct{ name, addr string }{{"closed port", closed}, {"silent server", silent.Addr().String()}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := &NATS{URL: "nats://" + tt.addr, Subject: "retune.events", CreateStream: true, Timeout: 500 * time.Millisecond}
			t.Cleanup(n.Close)
			start := time.Now()
			a := n.Send(t.Context(), testEvent())
			if a.Outcome != Retry || a.Err == nil {
				t.Fatalf("Send = %+v, want retry", a)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("Send took %v, want about the 500ms timeout at most", took)
			}
		})
	}
}

func TestNATSInvalid(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		subject string
		event   func(*retune.Event)
	}{
		{name: "empty subject"},
		{name: "wildcard", subject: "retune.*"},
		{name: "full wildcard", subject: "retune.>"},
		{name: "empty token", subject: "retune..events"},
		{name: "space", subject: "retune events"},
		{name: "invalid event", subject: "retune.events", event: func(e *retune.Event) { e.Source = "" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := testEvent()
			if tt.event != nil {
				tt.event(&e)
			}
			// No server is contacted: the URL is never dialled.
			n := &NATS{URL: "nats://127.0.0.1:1", Subject: tt.subject}
			if a := n.Send(t.Context(), e); a.Outcome != Fail || !errors.Is(a.Err, retune.ErrInvalid) {
				t.Fatalf("Send = %+v, want fail wrapping ErrInvalid", a)
			}
		})
	}
}

// TestNATSConcurrent sends from several goroutines over one connection, closing and
// reconnecting midway.
func TestNATSConcurrent(t *testing.T) {
	url, js, stream, subject := testNATS(t)
	n := &NATS{URL: url, Subject: subject, Stream: stream, CreateStream: true}
	t.Cleanup(n.Close)
	const senders, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				e := testEvent()
				e.ID = fmt.Sprintf("event-%d-%d", g, i)
				// A Send racing Close may fail to publish; a later attempt succeeds.
				a := n.Send(t.Context(), e)
				if a.Outcome == Retry {
					a = n.Send(t.Context(), e)
				}
				if a.Outcome != Delivered {
					errs <- fmt.Errorf("Send(%s) = %+v, want delivered", e.ID, a)
				}
			}
		})
	}
	n.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().State.Msgs; got != senders*each {
		t.Errorf("stream has %d messages, want %d", got, senders*each)
	}
}
