package retune

import (
	"context"
	"fmt"
	"time"

	"github.com/a6b40afc/retune/internal/check"
)

// Deliveries: the at-least-once delivery of outbox events to notifiers.
//
// An event names the notifiers it is for (Event.Notify) by ID. Storing the event stores
// one delivery per named notifier in the same transaction, so an event and its deliveries
// exist together or not at all. A dispatcher claims due deliveries under a lease, makes
// one attempt each, and records the attempt and the delivery's next state. If it dies
// between claiming and recording, the lease runs out and the delivery is claimed again:
// the event may be sent twice, always with the same ID, and is never lost. Notifier IDs
// name local configuration of the dispatcher; the database never holds a URL or command.

// DeliveryState is the state of one delivery.
type DeliveryState string

// Delivery states.
const (
	// DeliveryPending: not delivered yet; attempted when NextAt has passed.
	DeliveryPending DeliveryState = "pending"
	// DeliveryDelivered: an attempt succeeded.
	DeliveryDelivered DeliveryState = "delivered"
	// DeliveryDead: the retry schedule ran out (a dead letter); only a redelivery
	// attempts it again.
	DeliveryDead DeliveryState = "dead"
)

// Valid reports whether s is one of the delivery states.
func (s DeliveryState) Valid() bool {
	return s == DeliveryPending || s == DeliveryDelivered || s == DeliveryDead
}

// Delivery is one event's delivery to one notifier.
type Delivery struct {
	ID       int64
	Event    StoredEvent
	Notifier string
	State    DeliveryState
	Attempts int       // attempts recorded so far
	NextAt   time.Time // when a pending delivery is due
	// LastError is the error of the last failed attempt, "" if none.
	LastError string
	Created   time.Time
	Updated   time.Time
}

// DeliveryAttempt is the record of one attempt to deliver.
type DeliveryAttempt struct {
	N        int // 1, 2, … per delivery
	Started  time.Time
	Duration time.Duration
	Status   int    // the endpoint's status code, 0 if none (exec: exit status)
	Outcome  string // delivered, retry, disable or fail
	Response string // start of the response, at most MaxResponseExcerpt bytes
	Error    string // "" when delivered
	Owner    string // the dispatcher that made it
}

// MaxResponseExcerpt bounds DeliveryAttempt.Response and .Error, in bytes.
const MaxResponseExcerpt = 4 << 10

// ClaimRequest asks for due deliveries.
type ClaimRequest struct {
	// Owner identifies the claiming dispatcher; the claim is its lease.
	Owner string
	// Notifiers are the notifier IDs the dispatcher can send to; only their deliveries are
	// claimed, and not those of disabled notifiers.
	Notifiers []string
	// Lease is how long the claim holds: past it, another dispatcher may claim the
	// delivery again (at-least-once after a crash).
	Lease time.Duration
	// Limit caps the number claimed, > 0.
	Limit int
}

// AttemptResult records an attempt on a claimed delivery and what comes next.
type AttemptResult struct {
	Owner    string
	Delivery int64
	Attempt  DeliveryAttempt // N is set by the storage
	// State is the delivery's next state: DeliveryDelivered, DeliveryPending (retry at
	// NextAt) or DeliveryDead.
	State  DeliveryState
	NextAt time.Time
	// Disable disables the delivery's notifier with this reason (410 Gone, failing for
	// too long); "" leaves it enabled.
	Disable string
}

// NotifierState is what the storage knows of one notifier's health.
type NotifierState struct {
	ID string
	// FailingSince is the time of the first failed attempt since the last success; zero
	// when the last attempt succeeded (or none was made).
	FailingSince time.Time
	LastSuccess  time.Time // to within a second

	Disabled time.Time // zero while enabled
	Reason   string    // why it was disabled
}

// DeliveryFilter selects deliveries to list; zero fields select all.
type DeliveryFilter struct {
	State    DeliveryState
	Notifier string
	EventID  string
	Limit    int // newest first; 0 = no limit
}

// DeliveryStore keeps deliveries, their attempts and notifier health. Every Storage in
// this module implements it.
type DeliveryStore interface {
	// AppendEvents stores events (and their deliveries) on their own, for events that
	// announce nothing else written with them, such as a study's completion.
	AppendEvents(ctx context.Context, events []Event) error
	// ClaimDeliveries leases up to req.Limit pending deliveries that are due and not
	// leased, of enabled notifiers in req.Notifiers, the longest-due first. Of concurrent
	// claimers, each delivery goes to one.
	ClaimDeliveries(ctx context.Context, req ClaimRequest) ([]Delivery, error)
	// ReleaseDeliveries ends owner's leases on the given pending deliveries without an
	// attempt (a stopping dispatcher hands back what it claimed but did not start), so they
	// can be claimed again at once. Deliveries owner no longer holds are left alone.
	ReleaseDeliveries(ctx context.Context, owner string, ids []int64) error
	// RecordAttempt stores an attempt and the delivery's next state, and updates the
	// notifier's health. The attempt is stored even when the lease was lost (the attempt
	// happened); the state is then left alone and the error wraps ErrLeaseLost. It returns
	// the notifier's state after the update.
	RecordAttempt(ctx context.Context, r AttemptResult) (NotifierState, error)
	// Deliveries lists deliveries, newest first.
	Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// DeliveryAttempts lists one delivery's attempts, oldest first.
	DeliveryAttempts(ctx context.Context, delivery int64) ([]DeliveryAttempt, error)
	// Redeliver makes the event's deliveries to the given notifiers (all of its deliveries
	// if none is given) pending and due now, whatever their state, creating deliveries to
	// given notifiers that it has none for. It returns the deliveries' IDs, or an error
	// wrapping ErrNotFound if there is no such event.
	Redeliver(ctx context.Context, eventID string, notifiers []string) ([]int64, error)
	// Notifiers lists the state of every notifier that has deliveries or a state.
	Notifiers(ctx context.Context) ([]NotifierState, error)
	// SetNotifierEnabled enables a notifier (clearing its failure streak), or disables it
	// with a reason.
	SetNotifierEnabled(ctx context.Context, id string, enabled bool, reason string) error
}

// ErrLeaseLost: a dispatcher recorded an attempt on a delivery whose lease it no longer
// held; another dispatcher may have claimed it.
var ErrLeaseLost = fmt.Errorf("%w: delivery lease lost", ErrConflict)

// Validate checks req as every storage does before claiming.
func (req ClaimRequest) Validate() error {
	if err := check.Text("claim: owner", req.Owner, check.MaxText, true); err != nil {
		return err
	}
	if req.Lease <= 0 || req.Limit <= 0 {
		return fmt.Errorf("%w: claim: lease %v, limit %d: want both > 0", ErrInvalid, req.Lease, req.Limit)
	}
	for _, id := range req.Notifiers {
		if err := check.NotifierID(id); err != nil {
			return fmt.Errorf("claim: %w", err)
		}
	}
	return nil
}

// Validate checks r as every storage does before recording it. Texts longer than
// MaxResponseExcerpt are no error: storages keep them cut (see Cut).
func (r AttemptResult) Validate() error {
	if err := check.Text("attempt: owner", r.Owner, check.MaxText, true); err != nil {
		return err
	}
	switch r.State {
	case DeliveryDelivered, DeliveryDead:
	case DeliveryPending:
		if r.NextAt.IsZero() {
			return fmt.Errorf("%w: attempt on delivery %d: pending without a next time", ErrInvalid, r.Delivery)
		}
	default:
		return fmt.Errorf("%w: attempt on delivery %d: state %q: want %q, %q or %q", ErrInvalid, r.Delivery, r.State,
			DeliveryPending, DeliveryDelivered, DeliveryDead)
	}
	return nil
}

// Cut returns r with Attempt.Response, Attempt.Error and Disable cut to
// MaxResponseExcerpt bytes (never inside a UTF-8 character), as storages keep them.
func (r AttemptResult) Cut() AttemptResult {
	r.Attempt.Response = check.CutUTF8(r.Attempt.Response, MaxResponseExcerpt)
	r.Attempt.Error = check.CutUTF8(r.Attempt.Error, MaxResponseExcerpt)
	r.Disable = check.CutUTF8(r.Disable, MaxResponseExcerpt)
	return r
}

// Validate checks f as every storage does before listing deliveries.
func (f DeliveryFilter) Validate() error {
	if f.State != "" && !f.State.Valid() {
		return fmt.Errorf("%w: delivery state %q: want %q, %q or %q", ErrInvalid, f.State, DeliveryPending, DeliveryDelivered, DeliveryDead)
	}
	if f.Limit < 0 {
		return fmt.Errorf("%w: limit %d: want >= 0 (0 = no limit)", ErrInvalid, f.Limit)
	}
	return nil
}
