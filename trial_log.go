package retune

import (
	"context"
	"fmt"
	"time"
)

// A trial's log — its trainer's output — stays in the files the runner writes, and its
// head and tail are also stored with the trial (TrialLog), so a service and its dashboard
// can show them without access to the machine that ran it.

// MaxLogPart bounds each of TrialLog.Head and TrialLog.Tail.
const MaxLogPart = 64 << 10

// TrialLog is the stored head and tail of a trial's log.
type TrialLog struct {
	Head []byte // the log's first bytes, at most MaxLogPart
	Tail []byte // its last bytes after Head, at most MaxLogPart; empty if Head holds it all
	Size int64  // the whole log's size in bytes; Size - len(Head) - len(Tail) were left out
	Time time.Time
}

// Validate checks the parts' sizes against MaxLogPart and Size.
func (l TrialLog) Validate() error {
	if len(l.Head) > MaxLogPart || len(l.Tail) > MaxLogPart {
		return fmt.Errorf("%w: log head of %d and tail of %d bytes: each may have at most %d", ErrInvalid, len(l.Head), len(l.Tail), MaxLogPart)
	}
	if l.Size < int64(len(l.Head)+len(l.Tail)) {
		return fmt.Errorf("%w: log size %d is less than its head and tail (%d bytes)", ErrInvalid, l.Size, len(l.Head)+len(l.Tail))
	}
	return nil
}

// LogStore keeps the heads and tails of trials' logs. Every Storage in this module
// implements it.
type LogStore interface {
	// PutLog stores (or replaces) the log of the running trial ref, fenced by its lease
	// like every write of a running trial.
	PutLog(ctx context.Context, ref TrialRef, log TrialLog) error
	// TrialLog returns the stored log of the study's trial number: an error wrapping
	// ErrNotFound if there is no such trial or it has no stored log.
	TrialLog(ctx context.Context, studyID int64, number int) (TrialLog, error)
}

// PutLog stores the head and tail of the trial's log with it (see TrialLog); a runner
// calls it when its trainer has exited, before the trial is told.
func (t *Trial) PutLog(ctx context.Context, log TrialLog) error {
	if err := log.Validate(); err != nil {
		return err
	}
	ls, ok := t.study.store.(LogStore)
	if !ok {
		return fmt.Errorf("%w: storage %T keeps no trial logs", ErrInvalid, t.study.store)
	}
	if err := ls.PutLog(ctx, t.ref, log); err != nil {
		return fmt.Errorf("trial %d: store log: %w", t.ref.Number, err)
	}
	return nil
}
