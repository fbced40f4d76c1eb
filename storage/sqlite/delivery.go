package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/check"
	"github.com/a6b40afc/retune/internal/codec"
)

// Deliveries of outbox events to notifiers (migration 4). A claim is one write
// transaction that leases the due rows, so two dispatchers never hold the same delivery;
// SQLite runs one write transaction at a time on the file, which is all the locking a
// claim needs.

var _ retune.DeliveryStore = (*Store)(nil)

const eventCols = `seq, id, type, source, subject, time, data, notify`

// eventColsOf is eventCols qualified by the table alias e.
const eventColsOf = `e.seq, e.id, e.type, e.source, e.subject, e.time, e.data, e.notify`

const deliveryCols = `d.id, d.notifier, d.state, d.attempts, d.next_at, d.last_error, d.created, d.updated, ` + eventColsOf

const deliveryFrom = ` FROM deliveries d JOIN events e ON e.seq = d.event_seq`

func scanEvent(row interface{ Scan(...any) error }, extra ...any) (retune.StoredEvent, error) {
	var (
		e            retune.StoredEvent
		t            int64
		data, notify []byte
	)
	if err := row.Scan(append(extra, &e.Seq, &e.ID, &e.Type, &e.Source, &e.Subject, &t, &data, &notify)...); err != nil {
		return e, err
	}
	e.Time = time.Unix(0, t).UTC()
	if len(data) > 0 {
		e.Data = data
	}
	var err error
	if e.Notify, err = codec.UnmarshalNotify(notify); err != nil {
		return e, fmt.Errorf("stored event %q: %w", e.ID, err)
	}
	return e, nil
}

func scanDelivery(row interface{ Scan(...any) error }) (retune.Delivery, error) {
	var (
		d                      retune.Delivery
		state                  string
		next, created, updated int64
	)
	e, err := scanEvent(row, &d.ID, &d.Notifier, &state, &d.Attempts, &next, &d.LastError, &created, &updated)
	if err != nil {
		return d, err
	}
	d.Event, d.State = e, retune.DeliveryState(state)
	d.NextAt, d.Created, d.Updated = time.Unix(0, next).UTC(), time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return d, nil
}

func collectDeliveries(rows *sql.Rows) ([]retune.Delivery, error) {
	defer rows.Close()
	out := []retune.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// AppendEvents implements retune.DeliveryStore.
func (s *Store) AppendEvents(ctx context.Context, events []retune.Event) error {
	if err := retune.Events(events).Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx *txn) error { return insertEvents(ctx, tx, events, nowNanos()) })
}

// ClaimDeliveries implements retune.DeliveryStore.
func (s *Store) ClaimDeliveries(ctx context.Context, req retune.ClaimRequest) ([]retune.Delivery, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if len(req.Notifiers) == 0 {
		return []retune.Delivery{}, nil
	}
	var out []retune.Delivery
	err := s.write(ctx, func(tx *txn) error {
		now := nowNanos()
		rows, err := tx.QueryContext(ctx, `UPDATE deliveries SET lease_owner = ?, lease_until = ?
			WHERE id IN (SELECT d.id FROM deliveries d
				WHERE d.state = 'pending' AND d.notifier IN (SELECT value FROM json_each(?))
					AND d.next_at <= ? AND d.lease_until <= ?
					AND NOT EXISTS (SELECT 1 FROM notifiers n WHERE n.id = d.notifier AND n.disabled <> 0)
				ORDER BY d.next_at, d.id LIMIT ?)
			RETURNING id`, req.Owner, now+int64(req.Lease), codec.MarshalNotify(req.Notifiers), now, now, req.Limit)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			out = []retune.Delivery{}
			return nil
		}
		idJSON, _ := json.Marshal(ids)
		rows, err = tx.QueryContext(ctx, `SELECT `+deliveryCols+deliveryFrom+
			` WHERE d.id IN (SELECT value FROM json_each(?)) ORDER BY d.next_at, d.id`, string(idJSON))
		if err != nil {
			return err
		}
		out, err = collectDeliveries(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim deliveries: %w", err)
	}
	return out, nil
}

// ReleaseDeliveries implements retune.DeliveryStore.
func (s *Store) ReleaseDeliveries(ctx context.Context, owner string, ids []int64) error {
	if owner == "" {
		return fmt.Errorf("%w: release: owner is empty", retune.ErrInvalid)
	}
	if len(ids) == 0 {
		return nil
	}
	idJSON, _ := json.Marshal(ids)
	err := s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `UPDATE deliveries SET lease_owner = '', lease_until = 0
			WHERE id IN (SELECT value FROM json_each(?)) AND lease_owner = ? AND state = 'pending'`, string(idJSON), owner)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: release deliveries: %w", err)
	}
	return nil
}

// RecordAttempt implements retune.DeliveryStore.
func (s *Store) RecordAttempt(ctx context.Context, r retune.AttemptResult) (retune.NotifierState, error) {
	if err := r.Validate(); err != nil {
		return retune.NotifierState{}, err
	}
	r = r.Cut()
	var (
		ns   retune.NotifierState
		lost error
	)
	a := r.Attempt
	err := s.write(ctx, func(tx *txn) error {
		now := nowNanos()
		var (
			notifier, owner, state string
			n                      int
		)
		err := tx.QueryRowContext(ctx, `SELECT notifier, lease_owner, state, attempts FROM deliveries WHERE id = ?`, r.Delivery).
			Scan(&notifier, &owner, &state, &n)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("delivery %d: %w", r.Delivery, retune.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_attempts (delivery, n, owner, started, duration_ns, status, outcome, response, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Delivery, n+1, r.Owner, a.Started.UnixNano(), int64(a.Duration), a.Status,
			a.Outcome, a.Response, a.Error); err != nil {
			return err
		}
		if owner != r.Owner || state != string(retune.DeliveryPending) {
			lost = fmt.Errorf("record attempt on delivery %d by %q: %w", r.Delivery, r.Owner, retune.ErrLeaseLost)
			_, err = tx.ExecContext(ctx, `UPDATE deliveries SET attempts = attempts + 1, updated = ? WHERE id = ?`, now, r.Delivery)
		} else {
			lastErr := a.Error
			if r.State == retune.DeliveryDelivered {
				lastErr = ""
			}
			next := int64(0)
			if r.State == retune.DeliveryPending {
				next = r.NextAt.UnixNano()
			}
			_, err = tx.ExecContext(ctx, `UPDATE deliveries SET attempts = attempts + 1, updated = ?, state = ?,
				next_at = CASE WHEN ? <> 0 THEN ? ELSE next_at END, lease_owner = '', lease_until = 0, last_error = ?
				WHERE id = ?`, now, string(r.State), next, next, lastErr, r.Delivery)
		}
		if err != nil {
			return err
		}
		ok := r.State == retune.DeliveryDelivered
		if _, err := tx.ExecContext(ctx, `INSERT INTO notifiers (id) VALUES (?) ON CONFLICT (id) DO NOTHING`, notifier); err != nil {
			return err
		}
		if ok { // written only when the health changes or the last success is a second old
			_, err = tx.ExecContext(ctx, `UPDATE notifiers SET failing_since = 0, last_success = ?
				WHERE id = ? AND (failing_since <> 0 OR last_success < ?)`, now, notifier, now-int64(time.Second))
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE notifiers SET failing_since = ? WHERE id = ? AND failing_since = 0`, a.Started.UnixNano(), notifier)
		}
		if err != nil {
			return err
		}
		if r.Disable != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE notifiers SET disabled = ?, reason = ? WHERE id = ? AND disabled = 0`,
				now, r.Disable, notifier); err != nil {
				return err
			}
		}
		ns, err = scanNotifier(tx.QueryRowContext(ctx, `SELECT `+notifierCols+` FROM notifiers WHERE id = ?`, notifier))
		return err
	})
	if err != nil {
		if errors.Is(err, retune.ErrNotFound) {
			return retune.NotifierState{}, err
		}
		return retune.NotifierState{}, fmt.Errorf("sqlite: record attempt on delivery %d: %w", r.Delivery, err)
	}
	return ns, lost
}

const notifierCols = `id, failing_since, last_success, disabled, reason`

func scanNotifier(row interface{ Scan(...any) error }) (retune.NotifierState, error) {
	var (
		n                        retune.NotifierState
		failing, success, disabl int64
	)
	if err := row.Scan(&n.ID, &failing, &success, &disabl, &n.Reason); err != nil {
		return n, err
	}
	n.FailingSince, n.LastSuccess, n.Disabled = unixOrZero(failing), unixOrZero(success), unixOrZero(disabl)
	return n, nil
}

func unixOrZero(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// Deliveries implements retune.DeliveryStore.
func (s *Store) Deliveries(ctx context.Context, f retune.DeliveryFilter) ([]retune.Delivery, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var (
		where []string
		args  []any
	)
	if f.State != "" {
		where, args = append(where, "d.state = ?"), append(args, string(f.State))
	}
	if f.Notifier != "" {
		where, args = append(where, "d.notifier = ?"), append(args, f.Notifier)
	}
	if f.EventID != "" {
		where, args = append(where, "e.id = ?"), append(args, f.EventID)
	}
	q := `SELECT ` + deliveryCols + deliveryFrom
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	lim := int64(f.Limit)
	if lim == 0 {
		lim = -1
	}
	q += ` ORDER BY d.id DESC LIMIT ?`
	args = append(args, lim)
	var out []retune.Delivery
	err := s.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		out, err = collectDeliveries(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: read deliveries: %w", err)
	}
	return out, nil
}

// DeliveryAttempts implements retune.DeliveryStore.
func (s *Store) DeliveryAttempts(ctx context.Context, id int64) ([]retune.DeliveryAttempt, error) {
	var out []retune.DeliveryAttempt
	err := s.read(ctx, func(tx *txn) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("delivery %d: %w", id, retune.ErrNotFound)
		}
		rows, err := tx.QueryContext(ctx, `SELECT n, owner, started, duration_ns, status, outcome, response, error
			FROM delivery_attempts WHERE delivery = ? ORDER BY n`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []retune.DeliveryAttempt{}
		for rows.Next() {
			var (
				a          retune.DeliveryAttempt
				started, d int64
			)
			if err := rows.Scan(&a.N, &a.Owner, &started, &d, &a.Status, &a.Outcome, &a.Response, &a.Error); err != nil {
				return err
			}
			a.Started, a.Duration = time.Unix(0, started).UTC(), time.Duration(d)
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		if errors.Is(err, retune.ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: read attempts of delivery %d: %w", id, err)
	}
	return out, nil
}

// Redeliver implements retune.DeliveryStore.
func (s *Store) Redeliver(ctx context.Context, eventID string, notifiers []string) ([]int64, error) {
	if err := check.Redeliver(eventID, notifiers); err != nil {
		return nil, err
	}
	var ids []int64
	err := s.write(ctx, func(tx *txn) error {
		var seq int64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM events WHERE id = ?`, eventID).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("event %q: %w", eventID, retune.ErrNotFound)
		}
		if err != nil {
			return err
		}
		now := nowNanos()
		for _, n := range notifiers {
			if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (event_seq, notifier, state, next_at, created, updated)
				VALUES (?, ?, 'pending', ?, ?, ?) ON CONFLICT (event_seq, notifier) DO NOTHING`, seq, n, now, now, now); err != nil {
				return err
			}
		}
		q := `UPDATE deliveries SET state = 'pending', next_at = ?, lease_owner = '', lease_until = 0, updated = ? WHERE event_seq = ?`
		args := []any{now, now, seq}
		if len(notifiers) > 0 {
			q += ` AND notifier IN (SELECT value FROM json_each(?))`
			args = append(args, codec.MarshalNotify(notifiers))
		}
		rows, err := tx.QueryContext(ctx, q+` RETURNING id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		ids = []int64{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		if errors.Is(err, retune.ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: redeliver event %q: %w", eventID, err)
	}
	slices.Sort(ids)
	return ids, nil
}

// Notifiers implements retune.DeliveryStore.
func (s *Store) Notifiers(ctx context.Context) ([]retune.NotifierState, error) {
	out := []retune.NotifierState{}
	err := s.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+notifierCols+` FROM notifiers
			UNION ALL SELECT DISTINCT notifier, 0, 0, 0, '' FROM deliveries WHERE notifier NOT IN (SELECT id FROM notifiers)
			ORDER BY 1`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n, err := scanNotifier(rows)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: read notifiers: %w", err)
	}
	return out, nil
}

// SetNotifierEnabled implements retune.DeliveryStore.
func (s *Store) SetNotifierEnabled(ctx context.Context, id string, enabled bool, reason string) error {
	if err := check.NotifierID(id); err != nil {
		return err
	}
	reason = check.CutUTF8(reason, retune.MaxResponseExcerpt)
	err := s.write(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notifiers (id) VALUES (?) ON CONFLICT (id) DO NOTHING`, id); err != nil {
			return err
		}
		var err error
		if enabled {
			_, err = tx.ExecContext(ctx, `UPDATE notifiers SET disabled = 0, reason = '', failing_since = 0 WHERE id = ?`, id)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE notifiers SET disabled = ?, reason = ? WHERE id = ? AND disabled = 0`, nowNanos(), reason, id)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: set notifier %q: %w", id, err)
	}
	return nil
}
