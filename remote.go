package retune

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// A trial asked in one process can be reported on and told in another: Detach hands its
// lease to the caller, who names it later by number and lease epoch (Study.Reopen) and
// renews the lease meanwhile (Study.Heartbeat). This is how a stateless service serves a
// trial over several requests. Every write stays fenced by the epoch in storage, exactly
// as for a trial that never left its process.

// Lease returns the trial's lease as it was claimed (or reopened): holder, epoch, expiry.
func (t *Trial) Lease() Lease { return t.lease }

// Detach writes the params and attributes set so far and stops renewing the trial's
// lease in this process: the caller now keeps it alive with Study.Heartbeat and finishes
// it through Study.Reopen, before the lease expires. The Trial must not be used after.
func (t *Trial) Detach(ctx context.Context) error {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return fmt.Errorf("%w: trial %d is finished", ErrConflict, t.ref.Number)
	}
	t.done = true // only this handle: the trial stays RUNNING in storage
	upd, flush := t.updateLocked()
	t.mu.Unlock()
	t.study.removeOpen(t)
	if flush {
		if err := t.study.store.Update(ctx, upd); err != nil {
			return fmt.Errorf("trial %d: %w", t.ref.Number, err)
		}
	}
	return nil
}

// Reopen returns a handle on the running trial number, asked under the lease epoch, with
// its params, attributes and intermediate values as stored: Report asks the study's
// pruner as for any trial, and Tell and TellState finish it. The study does not renew a
// reopened trial's lease (see Detach). Its suggest methods return the params it has and
// draw new ones with the sampler's Independent sampling (define-by-run over several
// requests); like every write, storing them is fenced by the lease epoch. It returns an
// error wrapping ErrNotFound if the study has no such trial and ErrConflict if the trial
// is not RUNNING under that epoch (finished, or claimed again).
func (s *Study) Reopen(ctx context.Context, number int, epoch int64) (*Trial, error) {
	ft, err := s.store.Trial(ctx, s.rec.ID, number)
	if err != nil {
		return nil, err
	}
	if ft.State != TrialRunning || ft.Lease.Epoch != epoch {
		return nil, fmt.Errorf("%w: trial %d is %v with lease epoch %d, not RUNNING with epoch %d", ErrConflict, number, ft.State, ft.Lease.Epoch, epoch)
	}
	inter := make(map[int64][]float64, len(ft.Intermediate))
	for k, v := range ft.Intermediate {
		inter[k] = v
	}
	t := &Trial{
		study: s, kind: ft.Kind, fixed: ft.Fixed, start: ft.Start, holder: ft.Lease.Holder, lease: ft.Lease,
		ref:    TrialRef{StudyID: s.rec.ID, Number: number, Epoch: epoch},
		params: copyMap(ft.Params), dists: copyMap(ft.Distributions),
		user: copyMap(ft.UserAttrs), sys: copyMap(ft.SystemAttrs), metrics: copyMap(ft.Metrics),
		inter: inter,
	}
	if t.params == nil { // new params are drawn into them
		t.params = map[string]any{}
	}
	if t.dists == nil {
		t.dists = map[string]Distribution{}
	}
	if ft.StopRequested() {
		t.stopped, t.prune = true, true
	}
	return t, nil
}

// Heartbeat renews the lease of running trial number under epoch for the study's lease
// TTL and returns the new expiry; a stale epoch or a finished trial is an error wrapping
// ErrConflict. A trial asked to stop (RequestStop) gets its renewed lease and an error
// wrapping ErrStopRequested.
func (s *Study) Heartbeat(ctx context.Context, number int, epoch int64) (Lease, error) {
	return s.HeartbeatLease(ctx, number, epoch, 0)
}

// HeartbeatLease is Heartbeat renewing the lease for ttl (0: the study's LeaseTTL), for
// a trial asked with AskLease.
func (s *Study) HeartbeatLease(ctx context.Context, number int, epoch int64, ttl time.Duration) (Lease, error) {
	if ttl < 0 {
		return Lease{}, fmt.Errorf("%w: lease TTL %v: want > 0 (or 0 for the study's %v)", ErrInvalid, ttl, s.leaseTTL)
	}
	if ttl == 0 {
		ttl = s.leaseTTL
	}
	ref := TrialRef{StudyID: s.rec.ID, Number: number, Epoch: epoch}
	exp, err := s.store.Heartbeat(ctx, ref, ttl)
	if errors.Is(err, ErrStopRequested) {
		return Lease{Epoch: epoch, Expires: exp}, err
	}
	if err != nil {
		return Lease{}, fmt.Errorf("trial %d: heartbeat: %w", number, err)
	}
	return Lease{Epoch: epoch, Expires: exp}, nil
}

// reopenedRequest is the sampler's view of the study for a new param of reopened trial
// number: the finished and running trials (none for a sampler that reads no history).
func (s *Study) reopenedRequest(ctx context.Context, number int) (*SampleRequest, error) {
	if s.historyFree {
		return &SampleRequest{Directions: s.rec.Directions, Trial: FrozenTrial{Number: number, State: TrialRunning, RetryOf: -1}, Seed: s.rec.Seed}, nil
	}
	return s.sampleRequest(ctx, number)
}

// TellRemote finishes running trial number, asked under lease epoch, without reading it
// first: COMPLETE with values (one per objective; a NaN makes it FAIL, as Tell does),
// PRUNED with the trial's last intermediate values (none: a late tell takes the stored
// ones, an ordinary one stores none), or FAIL with reason, its metrics
// recorded. It returns the stored trial. A service that tells a trial it asked in an
// earlier request uses it: one storage write, fenced by the epoch like every write
// (ErrConflict for a finished trial or a stale epoch). A trial whose lease expired under
// that epoch takes the tell as a late one (late.go): the returned trial is then the
// revived trial or a KindLate record. To prune a running trial, Reopen and TellState
// also work, reading the last values from storage.
func (s *Study) TellRemote(ctx context.Context, number int, epoch int64, state TrialState, values []float64, metrics map[string]float64, reason error) (FrozenTrial, error) {
	return s.TellOutcome(ctx, number, epoch, Outcome{State: state, Values: values, Metrics: metrics, Reason: reason})
}

// Outcome is what TellOutcome records on a remote trial.
type Outcome struct {
	State     TrialState // COMPLETE, PRUNED or FAIL
	Values    []float64
	Metrics   map[string]float64
	UserAttrs map[string]any // set on the trial with its outcome (a client's set_user_attr)
	Reason    error          // of a FAIL; nil: "failed"
}

// TellOutcome is TellRemote with user attributes.
func (s *Study) TellOutcome(ctx context.Context, number int, epoch int64, o Outcome) (FrozenTrial, error) {
	for k, v := range o.UserAttrs {
		if err := ValidateAttr(k, v); err != nil {
			return FrozenTrial{}, err
		}
	}
	t := &Trial{study: s, ref: TrialRef{StudyID: s.rec.ID, Number: number, Epoch: epoch}, metrics: copyMap(o.Metrics), user: copyMap(o.UserAttrs)}
	values := o.Values
	switch o.State {
	case TrialComplete:
		if len(values) != len(s.rec.Directions) {
			return FrozenTrial{}, fmt.Errorf("%w: %d values told for %d objectives", ErrInvalid, len(values), len(s.rec.Directions))
		}
		for _, v := range values {
			if math.IsNaN(v) {
				return s.settle(ctx, t, TrialFail, nil, errNaN)
			}
		}
		return s.settle(ctx, t, TrialComplete, values, nil)
	case TrialPruned:
		if len(values) != 0 && len(values) != len(s.rec.Directions) {
			return FrozenTrial{}, fmt.Errorf("%w: PRUNED with %d values for %d objectives: give the last intermediate values, or none", ErrInvalid, len(values), len(s.rec.Directions))
		}
		return s.settle(ctx, t, TrialPruned, values, nil)
	case TrialFail:
		reason := o.Reason
		if reason == nil {
			reason = errors.New("failed")
		}
		return s.settle(ctx, t, TrialFail, nil, reason)
	}
	return FrozenTrial{}, fmt.Errorf("%w: TellRemote with %v: want COMPLETE, PRUNED or FAIL", ErrInvalid, o.State)
}
