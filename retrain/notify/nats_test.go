package notify

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	deleteAtEnd(t, js, stream)
	return url, js, stream, subject
}

// deleteAtEnd deletes the stream, if it exists, when the test ends.
func deleteAtEnd(t *testing.T, js jetstream.JetStream, stream string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream %s: %v", stream, err)
		}
	})
}

// streamOf returns the name of the stream that stores subject, "" if none.
func streamOf(t *testing.T, js jetstream.JetStream, subject string) string {
	t.Helper()
	name, err := js.StreamNameBySubject(t.Context(), subject)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// TestNATSDefaultStreamPerSubject: notifiers that create their stream without naming it
// get one stream per subject, so studies publishing to different subjects all deliver.
func TestNATSDefaultStreamPerSubject(t *testing.T) {
	url, js, _, subject := testNATS(t)
	subjects := []string{subject, subject + ".other"}
	for _, s := range subjects {
		deleteAtEnd(t, js, DefaultNATSStream(s))
	}
	for _, s := range subjects {
		n := &NATS{URL: url, Subject: s, CreateStream: true}
		t.Cleanup(n.Close)
		if err := n.Check(t.Context()); err != nil {
			t.Fatalf("Check for subject %s: %v", s, err)
		}
		if a := n.Send(t.Context(), testEvent()); a.Outcome != Delivered {
			t.Fatalf("Send to subject %s = %+v, want delivered", s, a)
		}
		if got, want := streamOf(t, js, s), DefaultNATSStream(s); got != want {
			t.Errorf("subject %s is stored by stream %q, want %q", s, got, want)
		}
	}
}

func TestDefaultNATSStream(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ subject, want string }{
		{"retune.events", "RETUNE_EVENTS"},
		{"ml.retrain-v2.events", "ML_RETRAIN-V2_EVENTS"},
		{"a/b.c\\d.e*f.g>h", "A_B_C_D_E_F_G_H"},
	} {
		if got := DefaultNATSStream(tt.subject); got != tt.want {
			t.Errorf("DefaultNATSStream(%q) = %q, want %q", tt.subject, got, tt.want)
		}
	}
}

// TestNATSCheck checks configurations against the server before any delivery: those that
// would fail every attempt are reported, saying what to set, and Send fails the same way.
func TestNATSCheck(t *testing.T) {
	url, js, stream, subject := testNATS(t)
	def := DefaultNATSStream(subject)
	deleteAtEnd(t, js, def)
	create := func(t *testing.T, name string, subjects ...string) {
		t.Helper()
		if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: name, Subjects: subjects}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
	}
	for _, tt := range []struct {
		name   string
		setup  func(t *testing.T)
		stream string
		create bool     // CreateStream
		want   []string // in the error; none: no error
	}{
		{name: "stream of another name stores the subject", setup: func(t *testing.T) { create(t, stream, subject) },
			create: true},
		{name: "default stream exists without the subject", setup: func(t *testing.T) { create(t, def, subject+".other") },
			create: true, want: []string{def, subject + ".other", "set stream", "add the subject"}},
		{name: "named stream exists without the subject", setup: func(t *testing.T) { create(t, stream, subject+".other") },
			stream: stream, create: true, want: []string{stream, subject + ".other", "set stream", "add the subject"}},
		{name: "another stream than the named one stores the subject", setup: func(t *testing.T) { create(t, stream, subject) },
			stream: stream + "_NEW", create: true, want: []string{stream + "_NEW", `set stream to "` + stream + `"`}},
		{name: "no stream, none created", want: []string{subject, "set create_stream: true"}},
		{name: "no stream, none created, stream named", stream: stream, want: []string{subject, "set create_stream: true"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			n := &NATS{URL: url, Subject: subject, Stream: tt.stream, CreateStream: tt.create}
			t.Cleanup(n.Close)
			err := n.Check(t.Context())
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if a := n.Send(t.Context(), testEvent()); a.Outcome != Delivered {
					t.Errorf("Send = %+v, want delivered", a)
				}
				if got := streamOf(t, js, subject); got != stream {
					t.Errorf("subject stored by %q, want the existing stream %q", got, stream)
				}
				return
			}
			if !errors.Is(err, ErrNoStream) || !errors.Is(err, retune.ErrInvalid) {
				t.Fatalf("Check = %v, want an error wrapping ErrNoStream and retune.ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check = %v, want it to contain %q", err, w)
				}
			}
			if a := n.Send(t.Context(), testEvent()); a.Outcome != Fail || !errors.Is(a.Err, ErrNoStream) {
				t.Errorf("Send = %+v, want fail wrapping ErrNoStream", a)
			}
		})
	}
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

// TestDispatcherCheck: a dispatcher's check reports the notifiers whose configuration
// fails, and only warns about those it cannot reach.
func TestDispatcherCheck(t *testing.T) {
	url, js, _, subject := testNATS(t)
	taken := DefaultNATSStream(subject)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: taken, Subjects: []string{subject + ".other"}}); err != nil {
		t.Fatal(err)
	}
	deleteAtEnd(t, js, taken)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String() // nothing listens there
	_ = l.Close()
	bad := &NATS{URL: url, Subject: subject, CreateStream: true}
	down := &NATS{URL: "nats://" + closed, Subject: subject, CreateStream: true, Timeout: time.Second}
	t.Cleanup(bad.Close)
	t.Cleanup(down.Close)
	var log strings.Builder
	d := &Dispatcher{Store: retune.NewMemoryStorage().(retune.DeliveryStore),
		Notifiers: map[string]Notifier{"bad": bad, "down": down, "log": &Log{W: io.Discard}},
		Logger:    slog.New(slog.NewTextHandler(&log, nil))}
	err = d.Check(t.Context())
	if !errors.Is(err, retune.ErrInvalid) || !strings.Contains(err.Error(), `notifier "bad"`) || strings.Contains(err.Error(), "down") {
		t.Errorf("Check = %v, want an invalid-configuration error for notifier bad only", err)
	}
	if !strings.Contains(log.String(), "notifier=down") {
		t.Errorf("log:\n%s\nwant a warning that notifier down cannot be checked", log.String())
	}
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
			sent := make(chan Attempt, 1)
			go func() { sent <- n.Send(t.Context(), testEvent()) }()
			var a Attempt
			select {
			case a = <-sent:
			case <-time.After(30 * time.Second):
				t.Fatal("Send has not returned after 30 s (timeout 500ms)")
			}
			if a.Outcome != Retry || a.Err == nil {
				t.Fatalf("Send = %+v, want retry", a)
			}
			if err := n.Check(t.Context()); err == nil || errors.Is(err, retune.ErrInvalid) {
				t.Errorf("Check = %v, want an error that does not blame the configuration", err)
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
