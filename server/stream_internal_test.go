package server

import (
	"context"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// TestSlowStreamDropped: a connection that does not drain its queue is dropped (its queue
// closed, so its handler sends the final "dropped" event) once it is StreamBuffer events
// behind, while a connection that keeps up gets every change and the watcher never waits.
func TestSlowStreamDropped(t *testing.T) {
	t.Parallel()
	store := retune.NewMemoryStorage()
	s, err := New(Options{Storage: store, NoAuth: true, StreamBuffer: 4, StreamPoll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	study, err := retune.NewStudy(ctx, retune.Config{Name: "s", Storage: store})
	if err != nil {
		t.Fatal(err)
	}
	id := study.Record().ID
	w, slow, _ := s.attach(id, "s", 0)
	_, fast, _ := s.attach(id, "s", 0)
	got := 0
	for i := range 5 { // 10 changes: created and finished
		tr, err := study.Ask(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := study.Tell(ctx, tr, float64(i)); err != nil {
			t.Fatal(err)
		}
		for w.step(ctx) {
		}
		for len(fast.ch) > 0 {
			<-fast.ch
			got++
		}
	}
	if got != 10 {
		t.Errorf("the fast connection got %d events, want 10", got)
	}
	n := 0
	for range slow.ch { // closed: ranging ends
		n++
	}
	if n != 4 {
		t.Errorf("the slow connection got %d events before it was dropped, want its buffer's 4", n)
	}
	w.mu.Lock()
	_, still := w.conns[slow]
	w.mu.Unlock()
	if still {
		t.Error("the dropped connection is still watched")
	}
	s.detach(w, fast)
	if s.streamClients() != 0 {
		t.Errorf("stream clients = %d after every connection left", s.streamClients())
	}
}
