package retune

import (
	"context"
	"fmt"
	"time"
)

// The change log: every change to a study's trials, and every decision, promotion from one
// of its trials and delivery of an event about it, gets the study's next change sequence
// number (1, 2, 3 …), written in the transaction that makes the change, in commit order: a
// reader that has seen seq n of a study has seen every smaller one. It is what everything
// live reads — the server's event stream, incremental sync of clients, the dashboard — and
// is pruned after a retention (PruneChanges).

// Change kinds.
const (
	ChangeTrialCreated  = "trial.created"  // enqueued (WAITING) or asked as a new trial (RUNNING)
	ChangeTrialStarted  = "trial.started"  // a WAITING trial claimed: RUNNING
	ChangeTrialUpdated  = "trial.updated"  // params or attributes of a running trial written
	ChangeTrialReported = "trial.reported" // an intermediate value at Step (one change per step)
	ChangeTrialFinished = "trial.finished" // COMPLETE, PRUNED or FAIL (a lease expiry included)
	ChangeDecision      = "decision"       // a retraining decision about the study (Ref: its id)
	ChangePromotion     = "promotion"      // a trial of the study promoted to champion (Ref: the version)
	ChangeDelivery      = "delivery"       // a delivery of an event about the study created, delivered or dead (Ref: its id)
)

// Change is one entry of a study's change log.
type Change struct {
	Seq   int64
	Time  time.Time
	Kind  string
	Trial int // the trial's number (a decision's candidate); -1 if none
	// State is the trial's state after a trial's change (not set for a decision).
	State TrialState
	Step  int64 // ChangeTrialReported: the step
	// Ref is, for ChangeDecision, the decision's id; for ChangeTrialFinished, the trial's
	// finish sequence number (TrialStore.FinishedSince(ref-1) starts with it).
	Ref int64
}

// ChangeStore reads and prunes the change log. Every Storage in this module implements it.
type ChangeStore interface {
	// Changes returns up to limit changes of the study after seq after, oldest first, and
	// the study's latest seq (head). Changes older than the retention may be gone: when
	// the first change returned is not after+1 (or none is returned while head > after),
	// the caller has missed some and must read the study's state afresh.
	Changes(ctx context.Context, studyID int64, after int64, limit int) (changes []Change, head int64, err error)
	// PruneChanges deletes the changes made before before and returns how many. A storage
	// may take a study's changes as timed in sequence order (SQLite cuts each study's log
	// at its last change before the time): should the clock step back, a few changes around
	// the step may go a little early or stay a little long.
	PruneChanges(ctx context.Context, before time.Time) (int64, error)
}

// CheckChangesQuery validates the arguments of ChangeStore.Changes, as every storage does.
func CheckChangesQuery(after int64, limit int) error {
	if after < 0 {
		return fmt.Errorf("%w: changes after %d: want >= 0", ErrInvalid, after)
	}
	if limit < 1 {
		return fmt.Errorf("%w: changes limit %d: want >= 1", ErrInvalid, limit)
	}
	return nil
}

// ChangeListener is a storage that tells when a study's change log may have grown
// (PostgreSQL's LISTEN/NOTIFY). A wake-up is only a hint: the log is the truth. Storages
// without it are polled.
type ChangeListener interface {
	// ListenChanges calls fn with the id of a study whose change log may have grown, until
	// ctx ends (it then returns ctx's error) or the connection fails (it returns that
	// error; call it again).
	ListenChanges(ctx context.Context, fn func(studyID int64)) error
}
