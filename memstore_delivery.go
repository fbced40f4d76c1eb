package retune

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/a6b40afc/retune/internal/check"
)

// memDeliveries is the memory storage's DeliveryStore state, guarded by memRetrain.mu.
type memDeliveries struct {
	rows      []memDelivery // ID i at index i-1
	byKey     map[deliveryKey]int64
	notifiers map[string]*NotifierState
}

type deliveryKey struct {
	seq      int64
	notifier string
}

type memDelivery struct {
	d          Delivery // without Event
	seq        int64
	leaseOwner string
	leaseUntil time.Time
	attempts   []DeliveryAttempt
}

func (m *memDeliveries) add(seq int64, notifier string, now time.Time) int64 {
	if m.byKey == nil {
		m.byKey = map[deliveryKey]int64{}
	}
	id := int64(len(m.rows)) + 1
	m.rows = append(m.rows, memDelivery{seq: seq, d: Delivery{ID: id, Notifier: notifier, State: DeliveryPending,
		NextAt: now, Created: now, Updated: now}})
	m.byKey[deliveryKey{seq, notifier}] = id
	return id
}

func (m *memDeliveries) notifier(id string) *NotifierState {
	if m.notifiers == nil {
		m.notifiers = map[string]*NotifierState{}
	}
	n := m.notifiers[id]
	if n == nil {
		n = &NotifierState{ID: id}
		m.notifiers[id] = n
	}
	return n
}

func (e StoredEvent) clone() StoredEvent {
	e.Data = slices.Clone(e.Data)
	e.Notify = slices.Clone(e.Notify)
	return e
}

// delivery returns row r as a Delivery with its event.
func (r *memRetrain) withEvent(row *memDelivery) Delivery {
	d := row.d
	d.Event = r.events[row.seq-1].clone()
	return d
}

var _ DeliveryStore = (*memStore)(nil)

// AppendEvents implements DeliveryStore.
func (m *memStore) AppendEvents(_ context.Context, events []Event) error {
	if err := Events(events).Validate(); err != nil {
		return err
	}
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkEventIDs(events); err != nil {
		return err
	}
	before := len(r.delivery.rows)
	r.addEvents(events, time.Now().UTC())
	m.deliveryChanges(before)
	return nil
}

// ClaimDeliveries implements DeliveryStore.
func (m *memStore) ClaimDeliveries(_ context.Context, req ClaimRequest) ([]Delivery, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now().UTC()
	var due []*memDelivery
	for i := range r.delivery.rows {
		row := &r.delivery.rows[i]
		if row.d.State != DeliveryPending || row.d.NextAt.After(now) || row.leaseUntil.After(now) ||
			!slices.Contains(req.Notifiers, row.d.Notifier) {
			continue
		}
		if n := r.delivery.notifiers[row.d.Notifier]; n != nil && !n.Disabled.IsZero() {
			continue
		}
		due = append(due, row)
	}
	slices.SortStableFunc(due, func(a, b *memDelivery) int { return a.d.NextAt.Compare(b.d.NextAt) })
	if len(due) > req.Limit {
		due = due[:req.Limit]
	}
	out := make([]Delivery, len(due))
	for i, row := range due {
		row.leaseOwner, row.leaseUntil = req.Owner, now.Add(req.Lease)
		out[i] = r.withEvent(row)
	}
	return out, nil
}

// ReleaseDeliveries implements DeliveryStore.
func (m *memStore) ReleaseDeliveries(_ context.Context, owner string, ids []int64) error {
	if err := check.Text("release: owner", owner, check.MaxText, true); err != nil {
		return err
	}
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if id < 1 || id > int64(len(r.delivery.rows)) {
			continue
		}
		row := &r.delivery.rows[id-1]
		if row.leaseOwner == owner && row.d.State == DeliveryPending {
			row.leaseOwner, row.leaseUntil = "", time.Time{}
		}
	}
	return nil
}

// RecordAttempt implements DeliveryStore.
func (m *memStore) RecordAttempt(_ context.Context, res AttemptResult) (NotifierState, error) {
	if err := res.Validate(); err != nil {
		return NotifierState{}, err
	}
	res = res.Cut()
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	if res.Delivery < 1 || res.Delivery > int64(len(r.delivery.rows)) {
		return NotifierState{}, fmt.Errorf("delivery %d: %w", res.Delivery, ErrNotFound)
	}
	row := &r.delivery.rows[res.Delivery-1]
	now := time.Now().UTC()
	a := res.Attempt
	a.N, a.Owner = len(row.attempts)+1, res.Owner
	a.Started = a.Started.UTC()
	row.attempts = append(row.attempts, a)
	row.d.Attempts = len(row.attempts)
	row.d.Updated = now
	n := r.delivery.notifier(row.d.Notifier)
	if res.State == DeliveryDelivered {
		n.FailingSince, n.LastSuccess = time.Time{}, now
	} else if n.FailingSince.IsZero() {
		n.FailingSince = a.Started
	}
	if res.Disable != "" && n.Disabled.IsZero() {
		n.Disabled, n.Reason = now, res.Disable
	}
	if row.leaseOwner != res.Owner || row.d.State != DeliveryPending {
		return *n, fmt.Errorf("record attempt on delivery %d by %q: %w", res.Delivery, res.Owner, ErrLeaseLost)
	}
	if row.d.State != res.State {
		m.deliveryChange(row.seq, row.d.ID)
	}
	row.d.State, row.leaseOwner, row.leaseUntil = res.State, "", time.Time{}
	if res.State == DeliveryPending {
		row.d.NextAt = res.NextAt.UTC()
	}
	if res.State == DeliveryDelivered {
		row.d.LastError = ""
	} else {
		row.d.LastError = a.Error
	}
	return *n, nil
}

// Deliveries implements DeliveryStore.
func (m *memStore) Deliveries(_ context.Context, f DeliveryFilter) ([]Delivery, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []Delivery{}
	for i := len(r.delivery.rows) - 1; i >= 0; i-- {
		row := &r.delivery.rows[i]
		if f.State != "" && row.d.State != f.State || f.Notifier != "" && row.d.Notifier != f.Notifier ||
			f.EventID != "" && r.events[row.seq-1].ID != f.EventID {
			continue
		}
		out = append(out, r.withEvent(row))
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

// DeliveryAttempts implements DeliveryStore.
func (m *memStore) DeliveryAttempts(_ context.Context, id int64) ([]DeliveryAttempt, error) {
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	if id < 1 || id > int64(len(r.delivery.rows)) {
		return nil, fmt.Errorf("delivery %d: %w", id, ErrNotFound)
	}
	return append([]DeliveryAttempt{}, r.delivery.rows[id-1].attempts...), nil
}

// Redeliver implements DeliveryStore.
func (m *memStore) Redeliver(_ context.Context, eventID string, notifiers []string) ([]int64, error) {
	if err := check.Redeliver(eventID, notifiers); err != nil {
		return nil, err
	}
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	seq := int64(0)
	for _, e := range r.events {
		if e.ID == eventID {
			seq = e.Seq
			break
		}
	}
	if seq == 0 {
		return nil, fmt.Errorf("event %q: %w", eventID, ErrNotFound)
	}
	now := time.Now().UTC()
	if len(notifiers) == 0 {
		for _, row := range r.delivery.rows {
			if row.seq == seq {
				notifiers = append(notifiers, row.d.Notifier)
			}
		}
	}
	ids := []int64{}
	for _, n := range notifiers {
		id, ok := r.delivery.byKey[deliveryKey{seq, n}]
		if !ok {
			id = r.delivery.add(seq, n, now)
			m.deliveryChange(seq, id)
			ids = append(ids, id)
			continue
		}
		row := &r.delivery.rows[id-1]
		if row.d.State != DeliveryPending {
			m.deliveryChange(seq, id)
		}
		row.d.State, row.d.NextAt, row.d.Updated = DeliveryPending, now, now
		row.leaseOwner, row.leaseUntil = "", time.Time{}
		ids = append(ids, id)
	}
	return ids, nil
}

// Notifiers implements DeliveryStore.
func (m *memStore) Notifiers(_ context.Context) ([]NotifierState, error) {
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	states := map[string]NotifierState{}
	for _, row := range r.delivery.rows { // notifiers with deliveries but no health yet
		states[row.d.Notifier] = NotifierState{ID: row.d.Notifier}
	}
	for id, n := range r.delivery.notifiers {
		states[id] = *n
	}
	out := make([]NotifierState, 0, len(states))
	for _, n := range states {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b NotifierState) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// SetNotifierEnabled implements DeliveryStore.
func (m *memStore) SetNotifierEnabled(_ context.Context, id string, enabled bool, reason string) error {
	if err := check.NotifierID(id); err != nil {
		return err
	}
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.delivery.notifier(id)
	if enabled {
		n.Disabled, n.Reason, n.FailingSince = time.Time{}, "", time.Time{}
	} else if n.Disabled.IsZero() {
		n.Disabled, n.Reason = time.Now().UTC(), check.CutUTF8(reason, MaxResponseExcerpt)
	}
	return nil
}
