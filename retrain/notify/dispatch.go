package notify

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/check"
)

// Notifier makes one attempt to deliver an event. Webhook, Exec, NATS and Log are
// Notifiers.
type Notifier interface {
	Send(ctx context.Context, e retune.Event) Attempt
}

// TimeoutNotifier is a Notifier that bounds each attempt; the dispatcher checks that its
// lease outlasts the bound.
type TimeoutNotifier interface {
	Notifier
	AttemptTimeout() time.Duration
}

// Checker is a Notifier that can check its configuration against its endpoint before any
// delivery, as a NATS checks that a stream stores its subject.
type Checker interface {
	Notifier
	// Check returns an error wrapping retune.ErrInvalid, saying what to change, if the
	// endpoint cannot serve the configuration, and another error if it could not tell
	// (the endpoint cannot be reached). It may prepare the endpoint as the first Send
	// would.
	Check(ctx context.Context) error
}

// AttemptTimeout returns the bound of one attempt.
func (w *Webhook) AttemptTimeout() time.Duration { return orDefault(w.Timeout, DefaultTimeout) }

// AttemptTimeout returns the bound of one attempt, the grace period of a stopped command
// included.
func (x *Exec) AttemptTimeout() time.Duration {
	return orDefault(x.Timeout, DefaultExecTimeout) + x.killGrace()
}

// AttemptTimeout returns the bound of one attempt.
func (n *NATS) AttemptTimeout() time.Duration { return orDefault(n.Timeout, DefaultNATSTimeout) }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// DefaultSchedule is the delay before each retry, after the first attempt failed: the
// schedule of the Standard Webhooks specification. An event is attempted at most
// len(DefaultSchedule)+1 times, over about 27.5 hours, before it becomes a dead letter.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// Dispatcher defaults.
const (
	DefaultLease        = 5 * time.Minute
	DefaultPoll         = time.Second
	DefaultParallel     = 4
	DefaultJitter       = 0.2
	DefaultDisableAfter = 5 * 24 * time.Hour
)

// A Dispatcher delivers the outbox's events to its notifiers, at least once each, until
// its context ends. Several dispatchers, in one process or many, may share a storage:
// each delivery is leased to one at a time.
//
// Each notifier is served by its own loop with at most Parallel attempts in flight, so a
// slow or dead endpoint holds up only its own deliveries. A failed attempt is retried
// after the next delay of Schedule, jittered by ±Jitter and lengthened to an endpoint's
// Retry-After; when the schedule runs out the delivery is a dead letter (kept, shown by
// `retune events list`, and sent again by a redelivery). A notifier that answers 410 Gone,
// or whose attempts have failed for DisableAfter with no success between, is disabled:
// its deliveries wait, kept, until it is enabled again.
//
// If a dispatcher dies while an attempt is in flight, the lease runs out and another
// dispatcher (or the restarted one) makes the attempt again: receivers may see an event
// twice, always with the same ID, and should deduplicate on it.
type Dispatcher struct {
	Store     retune.DeliveryStore
	Notifiers map[string]Notifier // by ID, as events name them
	// Schedule is the delay before each retry; nil means DefaultSchedule.
	Schedule []time.Duration
	// Jitter spreads retries: each delay is multiplied by a factor drawn uniformly from
	// [1-Jitter, 1+Jitter]. 0 means DefaultJitter; negative means none.
	Jitter float64
	// Lease is how long a claimed delivery is reserved for this dispatcher; after a crash
	// it is attempted again once the lease runs out. It must exceed twice every notifier's
	// attempt timeout. 0 means DefaultLease.
	Lease time.Duration
	// Poll is how often the storage is checked for due deliveries when none is in flight
	// and Kick was not called. 0 means DefaultPoll.
	Poll time.Duration
	// Parallel bounds the attempts in flight per notifier. 0 means DefaultParallel.
	Parallel int
	// DisableAfter disables a notifier whose attempts have failed for this long without a
	// success. 0 means DefaultDisableAfter; negative never disables for failures.
	DisableAfter time.Duration
	// Owner names this dispatcher in leases and attempt records; "" means host-pid-random.
	Owner  string
	Logger *slog.Logger // nil discards

	once  sync.Once
	kicks []chan struct{}
	err   error
}

func (d *Dispatcher) init() error {
	d.once.Do(func() {
		if d.Store == nil {
			d.err = fmt.Errorf("%w: dispatcher: no storage", retune.ErrInvalid)
			return
		}
		if d.Schedule == nil {
			d.Schedule = DefaultSchedule
		}
		for i, s := range d.Schedule {
			if s <= 0 {
				d.err = fmt.Errorf("%w: dispatcher: schedule delay %d is %v: want > 0", retune.ErrInvalid, i+1, s)
				return
			}
		}
		if d.Jitter == 0 {
			d.Jitter = DefaultJitter
		}
		if d.Jitter >= 1 {
			d.err = fmt.Errorf("%w: dispatcher: jitter %v: want below 1", retune.ErrInvalid, d.Jitter)
			return
		}
		d.Lease = orDefault(d.Lease, DefaultLease)
		d.Poll = orDefault(d.Poll, DefaultPoll)
		if d.Parallel <= 0 {
			d.Parallel = DefaultParallel
		}
		if d.DisableAfter == 0 {
			d.DisableAfter = DefaultDisableAfter
		}
		if d.Owner == "" {
			d.Owner = defaultOwner()
		}
		if d.Logger == nil {
			d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
		for _, id := range d.ids() {
			if err := check.NotifierID(id); err != nil {
				d.err = fmt.Errorf("dispatcher: %w", err)
				return
			}
			if t, ok := d.Notifiers[id].(TimeoutNotifier); ok && 2*t.AttemptTimeout() >= d.Lease {
				d.err = fmt.Errorf("%w: dispatcher: notifier %q: attempt timeout %v is not under half the lease %v: shorten it or lengthen the lease",
					retune.ErrInvalid, id, t.AttemptTimeout(), d.Lease)
				return
			}
		}
		d.kicks = make([]chan struct{}, len(d.Notifiers))
		for i := range d.kicks {
			d.kicks[i] = make(chan struct{}, 1)
		}
	})
	return d.err
}

func defaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = crand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// ids returns the notifier IDs in order.
func (d *Dispatcher) ids() []string {
	ids := make([]string, 0, len(d.Notifiers))
	for id := range d.Notifiers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Kick makes the dispatcher look for due deliveries now, as after writing an event.
// It never blocks.
func (d *Dispatcher) Kick() {
	if d.init() != nil {
		return
	}
	for _, k := range d.kicks {
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

// Check checks the dispatcher's configuration and, against their endpoints, the notifiers
// that are Checkers, all at once; call it before Run or Flush to stop at a configuration
// that would fail every delivery. It returns the errors that wrap retune.ErrInvalid. A
// notifier that cannot tell (its endpoint cannot be reached) is logged as a warning: its
// deliveries are attempted and retried as usual.
func (d *Dispatcher) Check(ctx context.Context) error {
	if err := d.init(); err != nil {
		return err
	}
	ids := d.ids()
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		if c, ok := d.Notifiers[id].(Checker); ok {
			wg.Go(func() { errs[i] = c.Check(ctx) })
		}
	}
	wg.Wait()
	var invalid []error
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, retune.ErrInvalid):
			invalid = append(invalid, fmt.Errorf("notifier %q: %w", ids[i], err))
		default:
			d.Logger.Warn("cannot check the notifier's configuration now; its deliveries will be retried", "notifier", ids[i], "err", err)
		}
	}
	return errors.Join(invalid...)
}

// Run delivers until ctx is done, then lets the attempts in flight finish (each is bounded
// by its notifier's timeout) and be recorded, and returns nil; it returns an error at once if the dispatcher is
// misconfigured. Storage errors are logged and retried.
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := d.init(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i, id := range d.ids() {
		wg.Go(func() { d.serve(ctx, id, d.kicks[i], false) })
	}
	wg.Wait()
	return nil
}

// Flush delivers what is due and keeps delivering, retries included, while a delivery of
// its notifiers can still be made before ctx's deadline: it returns nil once none is in
// flight and no pending delivery of an enabled notifier of its comes due before the
// deadline (without a deadline, once none is pending), or ctx's error when ctx is done
// first. Retries due after the deadline are left for a later Run or Flush.
func (d *Dispatcher) Flush(ctx context.Context) error {
	if err := d.init(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i, id := range d.ids() {
		wg.Go(func() { d.serve(ctx, id, d.kicks[i], true) })
	}
	wg.Wait()
	return ctx.Err()
}

// depth is how many deliveries of notifier n the dispatcher holds at once, in flight and
// queued: Parallel times up to 4, so that claims come in batches, but no more than lets the
// last of them finish before its lease runs out if every attempt takes the full timeout.
func (d *Dispatcher) depth(n Notifier) int {
	k := 4
	if t, ok := n.(TimeoutNotifier); ok {
		k = min(k, max(1, int(d.Lease/t.AttemptTimeout())-1))
	}
	return k * d.Parallel
}

// serve is one notifier's loop: claim due deliveries in batches, attempt up to Parallel at
// once, each in its own goroutine, and record the results. With once, it returns when
// nothing is queued or in flight and no pending delivery comes due before ctx's deadline
// (see nextDue). On return it hands back the leases of deliveries it claimed but did not
// start.
func (d *Dispatcher) serve(ctx context.Context, id string, kick chan struct{}, once bool) {
	n := d.Notifiers[id]
	log := d.Logger.With("notifier", id)
	depth := d.depth(n)
	done := make(chan bool, d.Parallel) // true: the attempt disabled the notifier
	inflight := 0
	var queue []retune.Delivery // claimed, not started
	release := func() {
		if len(queue) == 0 {
			return
		}
		ids := make([]int64, len(queue))
		for i, dl := range queue {
			ids[i] = dl.ID
		}
		queue = nil
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := d.Store.ReleaseDeliveries(rctx, d.Owner, ids); err != nil {
			log.Warn("release claimed deliveries; they wait for their leases to run out", "err", err)
		}
	}
	// Attempts in flight run to their end when ctx ends, so that stopping a dispatcher
	// does not turn sends that were about to succeed into failures.
	sendCtx := context.WithoutCancel(ctx)
	defer func() {
		release()
		for ; inflight > 0; inflight-- {
			<-done
		}
	}()
	var idle *time.Timer
	for {
		if len(queue) < d.Parallel && ctx.Err() == nil {
			ds, err := d.Store.ClaimDeliveries(ctx, retune.ClaimRequest{Owner: d.Owner, Notifiers: []string{id}, Lease: d.Lease,
				Limit: depth - inflight - len(queue)})
			if err != nil && ctx.Err() == nil {
				log.Error("claim deliveries", "err", err)
			}
			queue = append(queue, ds...)
		}
		for inflight < d.Parallel && len(queue) > 0 {
			dl := queue[0]
			queue = queue[1:]
			inflight++
			go func() { done <- d.attempt(sendCtx, log, n, dl) }()
		}
		wait := d.Poll
		if once && inflight == 0 && len(queue) == 0 {
			next, ok := d.nextDue(ctx, log, id)
			if !ok {
				return
			}
			if until := time.Until(next); until > 0 {
				wait = min(wait, until)
			}
		}
		if idle == nil {
			idle = time.NewTimer(wait)
			defer idle.Stop()
		} else {
			idle.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return
		case disabled := <-done:
			inflight--
			if disabled { // the claim skips a disabled notifier's deliveries; so must the queue
				release()
			}
		case <-kick:
		case <-idle.C:
		}
	}
}

// nextDue returns when the next pending delivery of notifier id is due, and false if
// there is none, the notifier is disabled, or it is due after ctx's deadline. When the
// storage cannot tell, it returns the zero time and true: Flush keeps looking.
func (d *Dispatcher) nextDue(ctx context.Context, log *slog.Logger, id string) (time.Time, bool) {
	ns, err := d.Store.Notifiers(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("read notifier state", "err", err)
		}
		return time.Time{}, true
	}
	for _, n := range ns {
		if n.ID == id && !n.Disabled.IsZero() {
			return time.Time{}, false
		}
	}
	pending, err := d.Store.Deliveries(ctx, retune.DeliveryFilter{State: retune.DeliveryPending, Notifier: id})
	if err != nil {
		if ctx.Err() == nil {
			log.Error("list pending deliveries", "err", err)
		}
		return time.Time{}, true
	}
	if len(pending) == 0 {
		return time.Time{}, false
	}
	next := pending[0].NextAt
	for _, p := range pending[1:] {
		if p.NextAt.Before(next) {
			next = p.NextAt
		}
	}
	if deadline, ok := ctx.Deadline(); ok && next.After(deadline) {
		return next, false
	}
	return next, true
}

// attempt sends one claimed delivery and records the attempt. It reports whether the
// notifier is now disabled.
func (d *Dispatcher) attempt(ctx context.Context, log *slog.Logger, n Notifier, dl retune.Delivery) (disabled bool) {
	start := time.Now()
	a := n.Send(ctx, dl.Event.Event)
	if a.Outcome == 0 {
		a.Outcome = Fail
		if a.Err == nil {
			a.Err = errors.New("notifier reported no outcome")
		}
	}
	rec := retune.AttemptResult{Owner: d.Owner, Delivery: dl.ID, Attempt: retune.DeliveryAttempt{
		Started: start, Duration: a.Duration, Status: a.Status, Outcome: a.Outcome.String(), Response: a.Response,
	}}
	if a.Duration == 0 {
		rec.Attempt.Duration = time.Since(start)
	}
	if a.Err != nil {
		rec.Attempt.Error = a.Err.Error()
	}
	number := dl.Attempts + 1
	switch {
	case a.Outcome == Delivered:
		rec.State = retune.DeliveryDelivered
	case number > len(d.Schedule):
		rec.State = retune.DeliveryDead
	default:
		rec.State, rec.NextAt = retune.DeliveryPending, time.Now().Add(d.delay(number, a.RetryAfter))
	}
	if a.Outcome == Disable {
		rec.Disable = fmt.Sprintf("endpoint asked to stop (%s) on event %s", statusText(a), dl.Event.ID)
		if rec.State == retune.DeliveryDead { // it was not the event's fault
			rec.State, rec.NextAt = retune.DeliveryPending, time.Now().Add(d.Schedule[len(d.Schedule)-1])
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ns, err := d.Store.RecordAttempt(rctx, rec)
	attrs := []any{"event", dl.Event.ID, "type", dl.Event.Type, "delivery", dl.ID, "attempt", number, "outcome", a.Outcome.String()}
	switch {
	case errors.Is(err, retune.ErrLeaseLost):
		log.Warn("attempt recorded after the lease ran out; another dispatcher may repeat it", attrs...)
	case err != nil:
		log.Error("record attempt; the delivery will be attempted again when its lease runs out", append(attrs, "err", err)...)
		return false
	case rec.State == retune.DeliveryDelivered:
		log.Debug("delivered", attrs...)
	case rec.State == retune.DeliveryDead:
		log.Error("dead letter: retry schedule exhausted; `retune events redeliver` sends it again", append(attrs, "err", a.Err)...)
	default:
		log.Warn("attempt failed; will retry", append(attrs, "err", a.Err, "next", rec.NextAt.UTC().Format(time.RFC3339))...)
	}
	if rec.Disable != "" {
		log.Error("notifier disabled; its deliveries wait until `retune notifiers enable`", append(attrs, "reason", rec.Disable)...)
	}
	if rec.State != retune.DeliveryDelivered && d.DisableAfter > 0 && ns.Disabled.IsZero() && !ns.FailingSince.IsZero() &&
		time.Since(ns.FailingSince) >= d.DisableAfter {
		reason := fmt.Sprintf("every attempt failed since %s", ns.FailingSince.Format(time.RFC3339))
		if err := d.Store.SetNotifierEnabled(rctx, ns.ID, false, reason); err != nil {
			log.Error("disable notifier", "err", err)
			return false
		}
		log.Error("notifier disabled; its deliveries wait until `retune notifiers enable`", "reason", reason)
		return true
	}
	return !ns.Disabled.IsZero()
}

// delay is the wait before attempt number+1 after attempt number failed: the schedule's
// delay, jittered, and at least what the endpoint asked for (up to the schedule's longest
// delay).
func (d *Dispatcher) delay(number int, retryAfter time.Duration) time.Duration {
	base := d.Schedule[number-1]
	if d.Jitter > 0 {
		base = time.Duration(float64(base) * (1 - d.Jitter + 2*d.Jitter*rand.Float64()))
	}
	longest := d.Schedule[0]
	for _, s := range d.Schedule {
		longest = max(longest, s)
	}
	return max(base, min(retryAfter, longest))
}

func statusText(a Attempt) string {
	if a.Status != 0 {
		return fmt.Sprintf("status %d", a.Status)
	}
	return a.Outcome.String()
}
