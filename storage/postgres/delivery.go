package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/check"
	"github.com/a6b40afc/retune/internal/codec"
	"github.com/jackc/pgx/v5"
)

// Deliveries of outbox events to notifiers (migration 4). Dispatchers claim due
// deliveries with FOR UPDATE SKIP LOCKED, so several claim at once without waiting for
// each other or taking the same row, and lease them; times come from the database clock
// so that dispatchers on several machines agree on what is due.

var _ retune.DeliveryStore = (*Store)(nil)

const eventCols = `seq, id, type, source, subject, time, data, notify`

const deliveryCols = `d.id, d.notifier, d.state, d.attempts, d.next_at, d.last_error, d.created_at, d.updated_at,
	e.seq, e.id, e.type, e.source, e.subject, e.time, e.data, e.notify`

const deliveryFrom = ` FROM deliveries d JOIN events e ON e.seq = d.event_seq`

func scanEvent(row pgx.Row, extra ...any) (retune.StoredEvent, error) {
	var (
		e      retune.StoredEvent
		t      time.Time
		data   *string
		notify string
	)
	if err := row.Scan(append(extra, &e.Seq, &e.ID, &e.Type, &e.Source, &e.Subject, &t, &data, &notify)...); err != nil {
		return e, err
	}
	e.Time = t.UTC()
	if data != nil && *data != "" {
		e.Data = []byte(*data)
	}
	var err error
	if e.Notify, err = codec.UnmarshalNotify([]byte(notify)); err != nil {
		return e, fmt.Errorf("stored event %q: %w", e.ID, err)
	}
	return e, nil
}

func scanDelivery(row pgx.Row) (retune.Delivery, error) {
	var (
		d                      retune.Delivery
		state                  string
		next, created, updated time.Time
	)
	e, err := scanEvent(row, &d.ID, &d.Notifier, &state, &d.Attempts, &next, &d.LastError, &created, &updated)
	if err != nil {
		return d, err
	}
	d.Event, d.State = e, retune.DeliveryState(state)
	d.NextAt, d.Created, d.Updated = next.UTC(), created.UTC(), updated.UTC()
	return d, nil
}

// AppendEvents implements retune.DeliveryStore.
func (s *Store) AppendEvents(ctx context.Context, events []retune.Event) error {
	if err := retune.Events(events).Validate(); err != nil {
		return err
	}
	return s.tx(ctx, "append events", func(tx dbtx) error {
		var now time.Time
		if err := tx.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&now); err != nil {
			return dbErr("append events", err)
		}
		return insertEvents(ctx, tx, events, now)
	})
}

// ClaimDeliveries implements retune.DeliveryStore.
func (s *Store) ClaimDeliveries(ctx context.Context, req retune.ClaimRequest) ([]retune.Delivery, error) {
	return retried(ctx, s.retryUnsent, func(ctx context.Context) ([]retune.Delivery, error) { return s.claimDeliveries(ctx, req) })
}

// claimDeliveries is ClaimDeliveries without retries.
func (s *Store) claimDeliveries(ctx context.Context, req retune.ClaimRequest) ([]retune.Delivery, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if len(req.Notifiers) == 0 {
		return []retune.Delivery{}, nil
	}
	const what = "claim deliveries"
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT d.id FROM deliveries d
			WHERE d.state = 'pending' AND d.notifier = ANY($1) AND d.next_at <= clock_timestamp()
				AND d.lease_until <= clock_timestamp()
				AND NOT EXISTS (SELECT 1 FROM notifiers n WHERE n.id = d.notifier AND n.disabled_at IS NOT NULL)
			ORDER BY d.next_at, d.id LIMIT $2
			FOR UPDATE OF d SKIP LOCKED),
		claimed AS (
			UPDATE deliveries d SET lease_owner = $3, lease_until = clock_timestamp() + $4 * interval '1 microsecond'
			FROM due WHERE d.id = due.id
			RETURNING d.*)
		SELECT `+deliveryCols+` FROM claimed d JOIN events e ON e.seq = d.event_seq ORDER BY d.next_at, d.id`,
		req.Notifiers, req.Limit, req.Owner, req.Lease.Microseconds())
	if err != nil {
		return nil, dbErr(what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (retune.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, dbErr(what, err)
	}
	return out, nil
}

// ReleaseDeliveries implements retune.DeliveryStore.
func (s *Store) ReleaseDeliveries(ctx context.Context, owner string, ids []int64) error {
	return s.retry(ctx, func(ctx context.Context) error { return s.releaseDeliveries(ctx, owner, ids) })
}

// releaseDeliveries is ReleaseDeliveries without retries.
func (s *Store) releaseDeliveries(ctx context.Context, owner string, ids []int64) error {
	if owner == "" {
		return fmt.Errorf("%w: release: owner is empty", retune.ErrInvalid)
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `UPDATE deliveries SET lease_owner = '', lease_until = '-infinity'
		WHERE id = ANY($1) AND lease_owner = $2 AND state = 'pending'`, ids, owner); err != nil {
		return dbErr("release deliveries", err)
	}
	return nil
}

// RecordAttempt implements retune.DeliveryStore. Its statements go in one batch, which
// PostgreSQL runs as one implicit transaction: one round trip per attempt.
func (s *Store) RecordAttempt(ctx context.Context, r retune.AttemptResult) (retune.NotifierState, error) {
	return retried(ctx, s.retryUnsent, func(ctx context.Context) (retune.NotifierState, error) { return s.recordAttempt(ctx, r) })
}

// recordAttempt is RecordAttempt without retries.
func (s *Store) recordAttempt(ctx context.Context, r retune.AttemptResult) (retune.NotifierState, error) {
	if err := r.Validate(); err != nil {
		return retune.NotifierState{}, err
	}
	r = r.Cut()
	what := fmt.Sprintf("record attempt on delivery %d", r.Delivery)
	a := r.Attempt
	lastErr := a.Error
	if r.State == retune.DeliveryDelivered {
		lastErr = ""
	}
	var next *time.Time
	if r.State == retune.DeliveryPending {
		next = &r.NextAt
	}
	var b pgx.Batch
	// The attempt, and the delivery's next state if this dispatcher still holds its lease.
	b.Queue(`WITH d AS (SELECT id, lease_owner = $2 AND state = 'pending' AS held, attempts FROM deliveries WHERE id = $1 FOR UPDATE),
		a AS (INSERT INTO delivery_attempts (delivery, n, owner, started, duration_ns, status, outcome, response, error)
			SELECT d.id, d.attempts + 1, $2, $3, $4, $5, $6, $7, $8 FROM d),
		u AS (UPDATE deliveries x SET attempts = x.attempts + 1, updated_at = clock_timestamp(),
				state = CASE WHEN d.held THEN $9 ELSE x.state END,
				next_at = CASE WHEN d.held AND $10::timestamptz IS NOT NULL THEN $10::timestamptz ELSE x.next_at END,
				lease_owner = CASE WHEN d.held THEN '' ELSE x.lease_owner END,
				lease_until = CASE WHEN d.held THEN '-infinity'::timestamptz ELSE x.lease_until END,
				last_error = CASE WHEN d.held THEN $11 ELSE x.last_error END
			FROM d WHERE x.id = d.id
			RETURNING d.held)
		SELECT held FROM u`,
		r.Delivery, r.Owner, a.Started, int64(a.Duration), a.Status, a.Outcome, a.Response, a.Error, string(r.State), next, lastErr)
	// The notifier's row is written only when its health changes (or its last success is a
	// second old): every attempt writing it would serialize all of a notifier's attempts on
	// its row lock until commit.
	const of = `(SELECT notifier FROM deliveries WHERE id = $1)`
	b.Queue(`INSERT INTO notifiers (id) SELECT notifier FROM deliveries WHERE id = $1 ON CONFLICT (id) DO NOTHING`, r.Delivery)
	if r.State == retune.DeliveryDelivered {
		b.Queue(`UPDATE notifiers SET failing_since = NULL, last_success = clock_timestamp()
			WHERE id = `+of+` AND (failing_since IS NOT NULL OR last_success IS NULL OR last_success < clock_timestamp() - interval '1 second')`, r.Delivery)
	} else {
		b.Queue(`UPDATE notifiers SET failing_since = $2 WHERE id = `+of+` AND failing_since IS NULL`, r.Delivery, a.Started)
	}
	if r.Disable != "" {
		b.Queue(`UPDATE notifiers SET disabled_at = clock_timestamp(), reason = $2 WHERE id = `+of+` AND disabled_at IS NULL`, r.Delivery, r.Disable)
	}
	b.Queue(`SELECT `+notifierCols+` FROM notifiers WHERE id = `+of, r.Delivery)
	br := s.pool.SendBatch(ctx, &b)
	var held bool
	err := br.QueryRow().Scan(&held)
	if errors.Is(err, pgx.ErrNoRows) {
		_ = br.Close()
		return retune.NotifierState{}, fmt.Errorf("delivery %d: %w", r.Delivery, retune.ErrNotFound)
	}
	for i := 1; err == nil && i < b.Len()-1; i++ {
		_, err = br.Exec()
	}
	var ns retune.NotifierState
	if err == nil {
		ns, err = scanNotifier(br.QueryRow())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return retune.NotifierState{}, dbErr(what, err)
	}
	if !held {
		return ns, fmt.Errorf("%s by %q: %w", what, r.Owner, retune.ErrLeaseLost)
	}
	return ns, nil
}

const notifierCols = `id, failing_since, last_success, disabled_at, reason`

func scanNotifier(row pgx.Row) (retune.NotifierState, error) {
	var (
		n                         retune.NotifierState
		failing, success, disabld *time.Time
	)
	if err := row.Scan(&n.ID, &failing, &success, &disabld, &n.Reason); err != nil {
		return n, err
	}
	n.FailingSince, n.LastSuccess, n.Disabled = utcOrZero(failing), utcOrZero(success), utcOrZero(disabld)
	return n, nil
}

func utcOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// Deliveries implements retune.DeliveryStore.
func (s *Store) Deliveries(ctx context.Context, f retune.DeliveryFilter) ([]retune.Delivery, error) {
	return retried(ctx, s.retry, func(ctx context.Context) ([]retune.Delivery, error) { return s.deliveries(ctx, f) })
}

// deliveries is Deliveries without retries.
func (s *Store) deliveries(ctx context.Context, f retune.DeliveryFilter) ([]retune.Delivery, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.State != "" {
		add("d.state = $%d", string(f.State))
	}
	if f.Notifier != "" {
		add("d.notifier = $%d", f.Notifier)
	}
	if f.EventID != "" {
		add("e.id = $%d", f.EventID)
	}
	q := `SELECT ` + deliveryCols + deliveryFrom
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	var lim *int64
	if f.Limit > 0 {
		l := int64(f.Limit)
		lim = &l
	}
	args = append(args, lim)
	q += fmt.Sprintf(` ORDER BY d.id DESC LIMIT $%d`, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, dbErr("read deliveries", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (retune.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, dbErr("read deliveries", err)
	}
	return out, nil
}

// DeliveryAttempts implements retune.DeliveryStore.
func (s *Store) DeliveryAttempts(ctx context.Context, id int64) ([]retune.DeliveryAttempt, error) {
	return retried(ctx, s.retry, func(ctx context.Context) ([]retune.DeliveryAttempt, error) { return s.deliveryAttempts(ctx, id) })
}

// deliveryAttempts is DeliveryAttempts without retries.
func (s *Store) deliveryAttempts(ctx context.Context, id int64) ([]retune.DeliveryAttempt, error) {
	what := fmt.Sprintf("read attempts of delivery %d", id)
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE id = $1`, id).Scan(&n); err != nil {
		return nil, dbErr(what, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("delivery %d: %w", id, retune.ErrNotFound)
	}
	rows, err := s.pool.Query(ctx, `SELECT n, owner, started, duration_ns, status, outcome, response, error
		FROM delivery_attempts WHERE delivery = $1 ORDER BY n`, id)
	if err != nil {
		return nil, dbErr(what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (retune.DeliveryAttempt, error) {
		var (
			a retune.DeliveryAttempt
			d int64
		)
		err := r.Scan(&a.N, &a.Owner, &a.Started, &d, &a.Status, &a.Outcome, &a.Response, &a.Error)
		a.Started, a.Duration = a.Started.UTC(), time.Duration(d)
		return a, err
	})
	if err != nil {
		return nil, dbErr(what, err)
	}
	return out, nil
}

// Redeliver implements retune.DeliveryStore.
func (s *Store) Redeliver(ctx context.Context, eventID string, notifiers []string) ([]int64, error) {
	if err := check.Redeliver(eventID, notifiers); err != nil {
		return nil, err
	}
	what := fmt.Sprintf("redeliver event %q", eventID)
	if notifiers == nil {
		notifiers = []string{} // an array, not NULL: cardinality 0 means every notifier
	}
	var ids []int64
	err := s.tx(ctx, what, func(tx dbtx) error {
		var seq int64
		err := tx.QueryRow(ctx, `SELECT seq FROM events WHERE id = $1`, eventID).Scan(&seq)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("event %q: %w", eventID, retune.ErrNotFound)
		}
		if err != nil {
			return dbErr(what, err)
		}
		if len(notifiers) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO deliveries (event_seq, notifier, state, next_at, created_at, updated_at)
				SELECT $1, x, 'pending', clock_timestamp(), clock_timestamp(), clock_timestamp() FROM unnest($2::text[]) AS x
				ON CONFLICT (event_seq, notifier) DO NOTHING`, seq, notifiers); err != nil {
				return dbErr(what, err)
			}
		}
		rows, err := tx.Query(ctx, `UPDATE deliveries SET state = 'pending', next_at = clock_timestamp(), lease_owner = '',
			lease_until = '-infinity', updated_at = clock_timestamp()
			WHERE event_seq = $1 AND (cardinality($2::text[]) = 0 OR notifier = ANY($2))
			RETURNING id`, seq, notifiers)
		if err != nil {
			return dbErr(what, err)
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return dbErr(what, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// Notifiers implements retune.DeliveryStore.
func (s *Store) Notifiers(ctx context.Context) ([]retune.NotifierState, error) {
	return retried(ctx, s.retry, func(ctx context.Context) ([]retune.NotifierState, error) { return s.notifiers(ctx) })
}

// notifiers is Notifiers without retries.
func (s *Store) notifiers(ctx context.Context) ([]retune.NotifierState, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+notifierCols+` FROM notifiers
		UNION ALL SELECT DISTINCT notifier, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, '' FROM deliveries
			WHERE notifier NOT IN (SELECT id FROM notifiers)
		ORDER BY 1`)
	if err != nil {
		return nil, dbErr("read notifiers", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (retune.NotifierState, error) { return scanNotifier(r) })
	if err != nil {
		return nil, dbErr("read notifiers", err)
	}
	return out, nil
}

// SetNotifierEnabled implements retune.DeliveryStore.
func (s *Store) SetNotifierEnabled(ctx context.Context, id string, enabled bool, reason string) error {
	return s.retry(ctx, func(ctx context.Context) error { return s.setNotifierEnabled(ctx, id, enabled, reason) })
}

// setNotifierEnabled is SetNotifierEnabled without retries.
func (s *Store) setNotifierEnabled(ctx context.Context, id string, enabled bool, reason string) error {
	if err := check.NotifierID(id); err != nil {
		return err
	}
	var err error
	if enabled {
		_, err = s.pool.Exec(ctx, `INSERT INTO notifiers (id) VALUES ($1)
			ON CONFLICT (id) DO UPDATE SET disabled_at = NULL, reason = '', failing_since = NULL`, id)
	} else {
		_, err = s.pool.Exec(ctx, `INSERT INTO notifiers AS n (id, disabled_at, reason) VALUES ($1, clock_timestamp(), $2)
			ON CONFLICT (id) DO UPDATE SET disabled_at = coalesce(n.disabled_at, excluded.disabled_at),
				reason = CASE WHEN n.disabled_at IS NULL THEN excluded.reason ELSE n.reason END`,
			id, check.CutUTF8(reason, retune.MaxResponseExcerpt))
	}
	if err != nil {
		return dbErr(fmt.Sprintf("set notifier %q", id), err)
	}
	return nil
}
