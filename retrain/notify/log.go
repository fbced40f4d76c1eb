package notify

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/a6b40afc/retune"
)

// Log is a notifier that writes each event as one line of structured CloudEvents JSON.
// A write error is a Retry.
type Log struct {
	W  io.Writer
	mu sync.Mutex
}

// Send writes Structured(e) and a newline to W.
func (l *Log) Send(_ context.Context, e retune.Event) Attempt {
	body, err := Structured(e)
	if err != nil {
		return Attempt{Outcome: Fail, Err: err}
	}
	start := time.Now()
	l.mu.Lock()
	_, err = l.W.Write(append(body, '\n'))
	l.mu.Unlock()
	if err != nil {
		return Attempt{Duration: time.Since(start), Outcome: Retry, Err: err}
	}
	return Attempt{Duration: time.Since(start), Outcome: Delivered}
}
