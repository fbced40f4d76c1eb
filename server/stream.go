package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/a6b40afc/retune"
)

// The event stream: GET /api/v1/studies/{study}/events serves a study's change log
// (retune.ChangeStore) as Server-Sent Events. Each replica watches each study that has
// clients once — a watcher reads new changes when the storage says there may be some
// (retune.ChangeListener: LISTEN/NOTIFY on PostgreSQL), when this replica changed the
// study itself, and every poll interval otherwise (SQLite, or a missed wake-up) — and fans
// them out to the study's connections. A connection's buffer is bounded: a reader too slow
// to keep up gets a final "dropped" event and must resync; it never holds up the watcher
// or the server. The event id is the change's sequence number, so a client reconnecting
// with Last-Event-ID resumes where it left off (from the storage, while the changes are
// retained; otherwise it gets a "resync" event first).

// Stream defaults.
const (
	DefaultStreamPoll      = 250 * time.Millisecond
	DefaultStreamBuffer    = 1024
	DefaultChangeRetention = 7 * 24 * time.Hour
	streamKeepAlive        = 15 * time.Second
	streamWriteTimeout     = 30 * time.Second
	streamPage             = 500
)

// streamEvent is one SSE event, encoded once for every connection.
type streamEvent struct {
	id   int64  // the change's seq; 0 for none
	name string // the SSE event name
	data []byte // JSON
}

// changeJSON is the data of a change event.
type changeJSON struct {
	Seq      int64     `json:"seq"`
	Kind     string    `json:"kind"`
	Time     time.Time `json:"time"`
	Trial    *int      `json:"trial,omitempty"`
	Step     *int64    `json:"step,omitempty"`
	Decision int64     `json:"decision,omitempty"`
	Champion int64     `json:"champion_version,omitempty"` // promotion
	Delivery int64     `json:"delivery,omitempty"`         // delivery: GET /api/v1/events/… shows it
	// State is the trial's state after the change (not for a decision); Values its values
	// when finished.
	State  string  `json:"state,omitempty"`
	Values []Float `json:"values,omitempty"`
}

// streamConn is one connection's queue.
type streamConn struct {
	ch chan streamEvent // closed by the watcher when the connection is dropped
}

// watcher follows one study's change log for this replica's connections to it.
type watcher struct {
	s       *Server
	studyID int64
	name    string
	kick    chan struct{}
	stop    chan struct{}

	mu    sync.Mutex
	conns map[*streamConn]struct{}
	last  int64 // the last seq fanned out
}

// streams holds the watchers by study id.
type streams struct {
	mu     sync.Mutex
	w      map[int64]*watcher
	byName map[string]int64 // ids of the watched studies
}

// attach registers a connection with the study's watcher, starting it if needed, and
// returns the watcher and the last seq it fanned out: every change after that reaches the
// connection's queue.
func (s *Server) attach(studyID int64, name string, head int64) (*watcher, *streamConn, int64) {
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	w := s.streams.w[studyID]
	if w == nil {
		s.streams.byName[name] = studyID
		w = &watcher{s: s, studyID: studyID, name: name, kick: make(chan struct{}, 1), stop: make(chan struct{}), conns: map[*streamConn]struct{}{}, last: head}
		s.streams.w[studyID] = w
		go w.run()
	}
	c := &streamConn{ch: make(chan streamEvent, s.opts.StreamBuffer)}
	w.mu.Lock()
	w.conns[c] = struct{}{}
	last := w.last
	w.mu.Unlock()
	return w, c, last
}

// detach removes a connection; the last one stops the watcher.
func (s *Server) detach(w *watcher, c *streamConn) {
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	w.mu.Lock()
	delete(w.conns, c)
	empty := len(w.conns) == 0
	w.mu.Unlock()
	if empty && s.streams.w[w.studyID] == w {
		delete(s.streams.w, w.studyID)
		delete(s.streams.byName, w.name)
		close(w.stop)
	}
}

// kickStudy wakes the study's watcher, if any: a change was just made through this replica.
func (s *Server) kickStudy(studyID int64) {
	s.streams.mu.Lock()
	w := s.streams.w[studyID]
	s.streams.mu.Unlock()
	if w != nil {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// kickName wakes the watcher of the study named name, if any.
func (s *Server) kickName(name string) {
	s.streams.mu.Lock()
	id, ok := s.streams.byName[name]
	s.streams.mu.Unlock()
	if ok {
		s.kickStudy(id)
	}
}

// streamClients is the number of open event streams.
func (s *Server) streamClients() int {
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	n := 0
	for _, w := range s.streams.w {
		w.mu.Lock()
		n += len(w.conns)
		w.mu.Unlock()
	}
	return n
}

// listenChanges passes the storage's wake-ups to the watchers until ctx ends, reconnecting
// after a failure.
func (s *Server) listenChanges(ctx context.Context, l retune.ChangeListener) {
	for ctx.Err() == nil {
		err := l.ListenChanges(ctx, s.kickStudy)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("change notifications lost; polling until they are back", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// pruneChanges deletes changes older than the retention every hour (and at once) until
// ctx ends.
func (s *Server) pruneChanges(ctx context.Context, cs retune.ChangeStore) {
	for {
		n, err := cs.PruneChanges(ctx, time.Now().Add(-s.opts.ChangeRetention))
		if err != nil && ctx.Err() == nil {
			s.log.Warn("pruning the change log failed", "err", err)
		} else if n > 0 {
			s.log.Info("change log pruned", "changes", n, "retention", s.opts.ChangeRetention)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Hour):
		}
	}
}

// run reads the study's new changes on every wake-up and poll and fans them out.
func (w *watcher) run() {
	tick := time.NewTicker(w.s.opts.StreamPoll)
	defer tick.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-w.stop
		cancel()
	}()
	for {
		select {
		case <-w.stop:
			return
		case <-w.kick:
		case <-tick.C:
		}
		for w.step(ctx) {
		}
	}
}

// step reads one page of new changes and fans it out; it reports whether there may be
// more.
func (w *watcher) step(ctx context.Context) bool {
	w.mu.Lock()
	after := w.last
	w.mu.Unlock()
	cs, head, err := w.s.changes.Changes(ctx, w.studyID, after, streamPage)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, retune.ErrNotFound) {
			w.s.log.Warn("reading the change log failed", "study_id", w.studyID, "err", err)
		}
		return false
	}
	var evs []streamEvent
	switch {
	case len(cs) > 0 && cs[0].Seq != after+1, len(cs) == 0 && head > after:
		// Pruned before this replica read them: every connection resyncs from here.
		evs = append(evs, resyncEvent(head, after))
		cs = nil
		after = head
	}
	evs = append(evs, w.s.changeEvents(ctx, w.studyID, cs)...)
	if len(cs) > 0 {
		after = cs[len(cs)-1].Seq
	}
	if len(evs) == 0 {
		return false
	}
	w.mu.Lock()
	w.last = after
	for c := range w.conns {
		for _, ev := range evs {
			select {
			case c.ch <- ev:
			default: // too slow: drop it
				delete(w.conns, c)
				close(c.ch)
			}
			if _, ok := w.conns[c]; !ok {
				break
			}
		}
	}
	w.mu.Unlock()
	return len(cs) == streamPage
}

// droppedEvent ends the stream of a connection that fell too far behind, after the
// change after.
func droppedEvent(after int64) streamEvent {
	data, _ := json.Marshal(map[string]any{"after": after, "reason": "this connection fell too far behind the study's changes: read the study again and reconnect"})
	return streamEvent{name: "dropped", data: data}
}

// resyncEvent tells a client that changes after after are gone from the log: it must read
// the study afresh; the stream goes on from head.
func resyncEvent(head, after int64) streamEvent {
	data, _ := json.Marshal(map[string]any{"head": head, "after": after, "reason": "changes were pruned from the log (older than its retention): read the study again"})
	return streamEvent{id: head, name: "resync", data: data}
}

// changeEvents encodes a page of changes, oldest first: trial changes with the trial's
// state after them, finishes with the trial's values too, read in one FinishedSince from
// the page's first finish on.
func (s *Server) changeEvents(ctx context.Context, studyID int64, cs []retune.Change) []streamEvent {
	values := map[int][]float64{}
	from := int64(-1)
	for _, c := range cs {
		if c.Kind == retune.ChangeTrialFinished && c.Ref > 0 && (from < 0 || c.Ref-1 < from) {
			from = c.Ref - 1
		}
	}
	if from >= 0 {
		if fts, _, err := s.store.FinishedSince(ctx, studyID, from); err == nil {
			for _, ft := range fts {
				values[ft.Number] = ft.Values
			}
		}
	}
	out := make([]streamEvent, len(cs))
	for i, c := range cs {
		j := changeJSON{Seq: c.Seq, Kind: c.Kind, Time: c.Time}
		if c.Trial >= 0 {
			n := c.Trial
			j.Trial = &n
		}
		switch c.Kind {
		case retune.ChangeDecision:
			j.Decision = c.Ref
		case retune.ChangePromotion:
			j.Champion = c.Ref
		case retune.ChangeDelivery:
			j.Delivery = c.Ref
		case retune.ChangeTrialReported:
			st := c.Step
			j.Step = &st
			j.State = c.State.String()
		case retune.ChangeTrialFinished:
			j.State, j.Values = c.State.String(), toFloats(values[c.Trial])
		default:
			j.State = c.State.String()
		}
		data, _ := json.Marshal(j)
		out[i] = streamEvent{id: c.Seq, name: c.Kind, data: data}
	}
	return out
}

// events serves the study's change stream (see the comment at the top of this file).
func (s *Server) events(c *call) (int, any, error) {
	q, err := query(c.r, "after")
	if err != nil {
		return 0, nil, err
	}
	ctx := c.r.Context()
	rec, err := s.store.Study(ctx, c.r.PathValue("study"))
	if err != nil {
		return 0, nil, err
	}
	from := int64(-1) // -1: only new changes
	last := c.r.Header.Get("Last-Event-ID")
	if v, ok := q["after"]; ok && last == "" {
		last = v
	}
	if last != "" {
		if from, err = strconv.ParseInt(last, 10, 64); err != nil || from < 0 {
			return 0, nil, &fieldError{Field: "Last-Event-ID", Msg: strconv.Quote(last), Valid: "the id of an event of this stream (a change's sequence number, >= 0)", Status: 400}
		}
	}
	_, head, err := s.changes.Changes(ctx, rec.ID, 0, 1)
	if err != nil {
		return 0, nil, err
	}
	if from > head {
		return 0, nil, &fieldError{Field: "Last-Event-ID", Msg: fmt.Sprintf("%d is ahead of the study's last change, %d", from, head), Valid: "the id of an event of this stream", Status: 400}
	}
	w, conn, hubLast := s.attach(rec.ID, rec.Name, head)
	defer s.detach(w, conn)

	rc := http.NewResponseController(c.w)
	// The stream outlives the server's timeouts: the request has been read, so its read
	// deadline is cleared, and every write below extends the write deadline.
	_ = rc.SetReadDeadline(time.Time{})
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.w.WriteHeader(http.StatusOK)
	write := func(evs ...streamEvent) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		for _, ev := range evs {
			if ev.id > 0 {
				fmt.Fprintf(c.w, "id: %d\n", ev.id)
			}
			if _, err := fmt.Fprintf(c.w, "event: %s\ndata: %s\n\n", ev.name, ev.data); err != nil {
				return false
			}
		}
		return rc.Flush() == nil
	}
	hello, _ := json.Marshal(map[string]any{"study": rec.Name, "head": max(hubLast, from)})
	sent := hubLast
	if from < 0 || from >= hubLast {
		sent = max(hubLast, from)
		if !write(streamEvent{id: sent, name: "hello", data: hello}) {
			return 0, nil, nil
		}
	} else {
		// Replay from the storage up to where the watcher was when this connection joined.
		if !write(streamEvent{name: "hello", data: hello}) {
			return 0, nil, nil
		}
		sent = from
		for sent < hubLast {
			cs, _, err := s.changes.Changes(ctx, rec.ID, sent, streamPage)
			if err != nil {
				return 0, nil, nil // the stream has begun: the client reconnects
			}
			if len(cs) == 0 || cs[0].Seq != sent+1 {
				if !write(resyncEvent(hubLast, sent)) {
					return 0, nil, nil
				}
				sent = hubLast
				break
			}
			if i := slices.IndexFunc(cs, func(ch retune.Change) bool { return ch.Seq > hubLast }); i >= 0 {
				cs = cs[:i] // not empty: cs[0] is sent+1 <= hubLast
			}
			evs := s.changeEvents(ctx, rec.ID, cs)
			sent = cs[len(cs)-1].Seq
			if !write(evs...) {
				return 0, nil, nil
			}
		}
	}
	keep := time.NewTicker(streamKeepAlive)
	defer keep.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0, nil, nil
		case <-s.done:
			return 0, nil, nil
		case <-keep.C:
			_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
			if _, err := fmt.Fprint(c.w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return 0, nil, nil
			}
		case ev, ok := <-conn.ch:
			if !ok {
				write(droppedEvent(sent))
				return 0, nil, nil
			}
			if ev.id <= sent && ev.name != "resync" {
				continue // replayed from the storage already
			}
			batch := []streamEvent{ev}
			for len(batch) < 64 {
				select {
				case more, ok := <-conn.ch:
					if !ok {
						write(batch...)
						write(droppedEvent(batch[len(batch)-1].id))
						return 0, nil, nil
					}
					batch = append(batch, more)
					continue
				default:
				}
				break
			}
			if !write(batch...) {
				return 0, nil, nil
			}
			sent = batch[len(batch)-1].id
		}
	}
}
