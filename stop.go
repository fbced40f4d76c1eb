package retune

import (
	"context"
	"errors"
	"fmt"
)

// Stopping a running trial from outside its process: RequestStop marks the trial (its
// system attribute "stop_requested", so the mark shows in its change log and in any
// read of it); the process that runs it learns of it at its next lease renewal — Heartbeat
// returns ErrStopRequested, having renewed the lease all the same — or, for a trial
// reopened by a service, when it is reopened. The trial then stops as a prune: Report
// returns ErrPruned, ShouldPrune is true and Stopped is closed, so `retune run` sends the
// trainer's process group SIGTERM, then SIGKILL, and the trial ends PRUNED.

// attrStopRequested is the system attribute that marks a trial asked to stop.
const attrStopRequested = "stop_requested"

// ErrStopRequested is returned (wrapped) by TrialStore.Heartbeat when the trial was asked
// to stop (RequestStop); the lease is renewed nonetheless.
var ErrStopRequested = errors.New("retune: stop requested")

// StopStore marks running trials for stopping. Every Storage in this module implements it.
type StopStore interface {
	// RequestStop marks the study's RUNNING trial number for stopping, whoever holds its
	// lease. It returns an error wrapping ErrNotFound for no such trial and ErrConflict for
	// a trial that is not RUNNING.
	RequestStop(ctx context.Context, studyID int64, number int) error
}

// StopRequested reports whether the trial was asked to stop (Study.RequestStop).
func (t FrozenTrial) StopRequested() bool { return t.SystemAttrs[attrStopRequested] == true }

// RequestStop asks whoever runs the study's RUNNING trial number to stop it, as a prune
// (see the comment at the top of stop.go).
func (s *Study) RequestStop(ctx context.Context, number int) error {
	ss, ok := s.store.(StopStore)
	if !ok {
		return fmt.Errorf("%w: storage %T cannot mark trials for stopping", ErrInvalid, s.store)
	}
	if err := ss.RequestStop(ctx, s.rec.ID, number); err != nil {
		return err
	}
	s.openMu.Lock()
	t := s.open[number]
	s.openMu.Unlock()
	if t != nil { // run here: no need to wait for the next renewal
		t.requestStop()
	}
	return nil
}

// Stopped is closed when the trial was asked to stop (Study.RequestStop) and its process
// has learnt of it; a runner stops its work then and tells the trial PRUNED.
func (t *Trial) Stopped() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopc == nil {
		t.stopc = make(chan struct{})
		if t.stopped {
			close(t.stopc)
		}
	}
	return t.stopc
}

// requestStop records that the trial was asked to stop.
func (t *Trial) requestStop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped, t.prune = true, true
	if t.stopc != nil {
		close(t.stopc)
	}
}
