package retune

import (
	"context"
	"fmt"
)

// Late tells. A trial's result can arrive after its lease expired: its holder lost the
// network or the server was down longer than the lease, while the trainer went on and
// finished. Storage had already failed the trial ("lease expired", an interruption that
// gave its place in the budget back) and, while Budget.Retries allowed, enqueued a
// WAITING re-run. Dropping the result would waste the work; counting it twice would
// break the budget. The rule, applied by LateFinisher.FinishLate in one transaction:
//
//   - Revive: if the trial's re-run has not started (it is still WAITING, or there is
//     none) and, for a search trial, the budget has a free place, the trial takes the
//     told outcome as if it had arrived in time (system attribute "late": true), takes
//     its place in the budget again, and its WAITING re-run is cancelled (FAIL,
//     interrupted, with a reason naming the trial).
//   - Record: otherwise (the re-run started, or the budget was spent meanwhile) the
//     result is stored as a new trial of kind KindLate, linked by the system attribute
//     "late_of": kept for analysis and shown in listings, but no sampler, pruner, budget,
//     best trial or decision counts it.
//
// Either way nothing is counted twice and the result is kept. A late tell is
// idempotent: told again, it returns the revived trial or the existing record. A late
// interrupted FAIL changes nothing (the trial is already an interruption).

// System attributes of late tells.
const (
	attrLate   = "late"    // on a revived trial: its result arrived after its lease expired
	attrLateOf = "late_of" // on a KindLate record: the number of the trial it belongs to
)

// ReasonLateCancelled is the start of the fail reason of a WAITING re-run cancelled
// because the trial it re-ran was revived by a late tell.
const ReasonLateCancelled = "cancelled: the trial it re-runs was revived by a late result"

// LateFinisher is a TrialStore that accepts late tells (see the comment in late.go).
// Study uses it when a finish is refused because the trial's lease expired.
type LateFinisher interface {
	// FinishLate applies the late-tell rule to req, whose Ref names a trial that was
	// failed by ExpireLeases under req.Ref.Epoch, and returns the revived trial or the
	// KindLate record. A trial in any other state or under another epoch is an error
	// wrapping ErrConflict, as for Finish. For a PRUNED tell without values, the trial's
	// last intermediate values are stored.
	FinishLate(ctx context.Context, req FinishRequest) (FrozenTrial, error)
}

// Late reports whether the trial was revived by a late tell.
func (t FrozenTrial) Late() bool { return t.SystemAttrs[attrLate] == true }

// LateOf returns the number of the trial a KindLate record belongs to; ok is false for
// any other trial.
func (t FrozenTrial) LateOf() (number int, ok bool) {
	if t.Kind != KindLate {
		return 0, false
	}
	switch v := t.SystemAttrs[attrLateOf].(type) {
	case float64:
		return int(v), true
	case int64:
		return int(v), true
	case int:
		return v, true
	}
	return 0, false
}

// ExpiredUnder reports whether t was failed by ExpireLeases under lease epoch: the trial
// a late tell under that epoch may revive.
func (t FrozenTrial) ExpiredUnder(epoch int64) bool {
	return t.State == TrialFail && t.Reason == ReasonLeaseExpired && t.Lease.Epoch == epoch
}

// LateVerdict is what every storage's FinishLate decides first about req, given stored,
// the trial req.Ref names, of the named study: keep (answer with stored as it is: the
// same late tell again, or an interrupted one, which changes nothing), an error wrapping
// ErrConflict (the trial did not expire under req.Ref.Epoch), or neither, to go on to the
// record and the re-run.
func (req FinishRequest) LateVerdict(study string, stored FrozenTrial) (keep bool, err error) {
	switch {
	case stored.Late() && stored.Lease.Epoch == req.Ref.Epoch:
		return true, nil // told again
	case !stored.ExpiredUnder(req.Ref.Epoch):
		if err := req.Ref.Fence(study, stored.State, stored.Lease.Epoch); err != nil {
			return false, err
		}
		return false, fmt.Errorf("%w: trial %d of study %q is RUNNING: finish it; a late tell is for a trial whose lease expired", ErrConflict, req.Ref.Number, study)
	case req.Interrupted:
		return true, nil
	}
	return false, nil
}

// CheckAskKind refuses a kind that cannot be asked or enqueued: only search and
// confirmation trials are (KindLate records are made by FinishLate alone). Every storage
// checks it.
func CheckAskKind(k TrialKind) error {
	if k != KindSearch && k != KindConfirm {
		return fmt.Errorf("%w: trial kind %v: want search or confirm", ErrInvalid, k)
	}
	return nil
}

// LateCancelReason is the fail reason of the WAITING re-run of trial number when a late
// tell revives it.
func LateCancelReason(number int) string {
	return fmt.Sprintf("%s (trial %d)", ReasonLateCancelled, number)
}
