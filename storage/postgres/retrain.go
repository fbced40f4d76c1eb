package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/check"
	"github.com/a6b40afc/retune/internal/codec"
	"github.com/a6b40afc/retune/internal/dbenc"
	"github.com/jackc/pgx/v5"
)

// Retraining coordination: champions, decisions and the event outbox (migration 2).
//
// A promotion inserts version expect+1 of the model only if the model's newest version is
// expect; the primary key (model, version) settles a race between promoters that both saw
// expect: the second insert waits for the first and then inserts nothing. A decision is
// inserted unless its (run_id, champion_version, candidate) exists, settled the same way
// by its unique key. Events get their seq from the one row of event_seq, locked until
// the writing transaction commits (see Events). Created times and the time of events
// written without one come from the database clock.

var _ retune.RetrainStore = (*Store)(nil)

const championCols = `model, version, params, vals, metrics, source, study, trial, decision_id, created_at`

func scanChampion(row pgx.Row) (retune.Champion, error) {
	var (
		c                       retune.Champion
		params, values, metrics string
		created                 time.Time
	)
	if err := row.Scan(&c.Model, &c.Version, &params, &values, &metrics, &c.Source, &c.Study, &c.Trial, &c.Decision, &created); err != nil {
		return c, err
	}
	c.Created = created.UTC()
	err := c.UnmarshalParts([]byte(params), []byte(values), []byte(metrics))
	return c, err
}

// Champion implements retune.ChampionStore.
func (s *Store) Champion(ctx context.Context, model string) (retune.Champion, error) {
	return retried(ctx, s.retry, func(ctx context.Context) (retune.Champion, error) { return s.champion(ctx, model) })
}

// champion is Champion without retries.
func (s *Store) champion(ctx context.Context, model string) (retune.Champion, error) {
	c, err := scanChampion(s.pool.QueryRow(ctx, `SELECT `+championCols+` FROM champions WHERE model = $1 ORDER BY version DESC LIMIT 1`, model))
	if errors.Is(err, pgx.ErrNoRows) {
		return retune.Champion{}, fmt.Errorf("champion of model %q: %w", model, retune.ErrNotFound)
	}
	if err != nil {
		return retune.Champion{}, dbErr(fmt.Sprintf("read champion of model %q", model), err)
	}
	return c, nil
}

// ChampionHistory implements retune.ChampionStore.
func (s *Store) ChampionHistory(ctx context.Context, model string) ([]retune.Champion, error) {
	return retried(ctx, s.retry, func(ctx context.Context) ([]retune.Champion, error) { return s.championHistory(ctx, model) })
}

// championHistory is ChampionHistory without retries.
func (s *Store) championHistory(ctx context.Context, model string) ([]retune.Champion, error) {
	what := fmt.Sprintf("read champions of model %q", model)
	rows, err := s.pool.Query(ctx, `SELECT `+championCols+` FROM champions WHERE model = $1 ORDER BY version`, model)
	if err != nil {
		return nil, dbErr(what, err)
	}
	defer rows.Close()
	out := []retune.Champion{}
	for rows.Next() {
		c, err := scanChampion(rows)
		if err != nil {
			return nil, dbErr(what, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(what, err)
	}
	return out, nil
}

// PromoteChampion implements retune.ChampionStore.
func (s *Store) PromoteChampion(ctx context.Context, c retune.Champion, expect int64, events []retune.Event) (retune.Champion, error) {
	cols, err := dbenc.Promotion(c, expect, events)
	if err != nil {
		return retune.Champion{}, err
	}
	what := fmt.Sprintf("promote champion of model %q", c.Model)
	var created time.Time
	err = s.tx(ctx, what, func(tx dbtx) error {
		err := tx.QueryRow(ctx, `INSERT INTO champions (`+championCols+`)
			SELECT $1, $2 + 1, $3, $4, $5, $6, $7, $8, $9, clock_timestamp()
			WHERE coalesce((SELECT max(version) FROM champions WHERE model = $1), 0) = $2
			ON CONFLICT (model, version) DO NOTHING
			RETURNING created_at`,
			c.Model, expect, string(cols.Params), string(cols.Values), string(cols.Metrics), c.Source, c.Study, c.Trial, c.Decision).Scan(&created)
		if errors.Is(err, pgx.ErrNoRows) {
			var cur int64
			if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM champions WHERE model = $1`, c.Model).Scan(&cur); err != nil {
				return dbErr(what, err)
			}
			return fmt.Errorf("%s: current version is %d, not the expected %d: %w: %w", what, cur, expect, retune.ErrVersionConflict, retune.ErrConflict)
		}
		if err != nil {
			return dbErr(what, err)
		}
		return insertEvents(ctx, tx, events, created)
	})
	if err != nil {
		return retune.Champion{}, err
	}
	c.Version, c.Created = expect+1, created.UTC()
	if err := c.UnmarshalParts(cols.Params, cols.Values, cols.Metrics); err != nil {
		return retune.Champion{}, err
	}
	return c, nil
}

// insertEvents appends events to the outbox with the next sequence numbers, failing with
// ErrConflict if an ID is stored already. now is the time of events without one.
//
// The sequence numbers come from event_seq's one row, which this statement locks until
// the transaction ends: writers of events take turns, and each sees the numbers its
// predecessor committed. Nothing else is locked after it, so it cannot deadlock.
func insertEvents(ctx context.Context, tx dbtx, events []retune.Event, now time.Time) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	var (
		ids, types, sources, subjects = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		times                         = make([]time.Time, n)
		data                          = make([]*string, n)
		notify                        = make([]string, n)
	)
	for i, e := range events {
		ids[i], types[i], sources[i], subjects[i] = e.ID, e.Type, e.Source, e.Subject
		notify[i] = codec.MarshalNotify(e.Notify)
		times[i] = codec.EventTime(e.Time, now)
		if len(e.Data) > 0 {
			d := string(e.Data)
			data[i] = &d
		}
	}
	var last int64
	if err := tx.QueryRow(ctx, `UPDATE event_seq SET last = last + $1 RETURNING last`, n).Scan(&last); err != nil {
		return dbErr("write events", err)
	}
	rows, err := tx.Query(ctx, `INSERT INTO events (seq, id, type, source, subject, time, data, notify)
		SELECT $1 + u.i, u.id, u.type, u.source, u.subject, u.time, u.data, u.notify
		FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[])
			WITH ORDINALITY AS u(id, type, source, subject, time, data, notify, i)
		ON CONFLICT (id) DO NOTHING
		RETURNING id`, last-int64(n), ids, types, sources, subjects, times, data, notify)
	if err != nil {
		return dbErr("write events", err)
	}
	written, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return dbErr("write events", err)
	}
	if len(written) == n {
		// One delivery per notifier each event names, due now.
		_, err := tx.Exec(ctx, `INSERT INTO deliveries (event_seq, notifier, state, next_at, created_at, updated_at)
			SELECT e.seq, x.notifier, 'pending', clock_timestamp(), clock_timestamp(), clock_timestamp()
			FROM events e, jsonb_array_elements_text(e.notify::jsonb) AS x(notifier)
			WHERE e.seq > $1 AND e.seq <= $2`, last-int64(n), last)
		if err != nil {
			return dbErr("write deliveries", err)
		}
		return nil
	}
	have := make(map[string]bool, len(written))
	for _, id := range written {
		have[id] = true
	}
	for _, id := range ids {
		if !have[id] {
			return fmt.Errorf("event %q is stored already: want a new ID: %w", id, retune.ErrConflict)
		}
	}
	return fmt.Errorf("postgres: wrote %d of %d events", len(written), n)
}

const decisionCols = `id, model, study, run_id, champion_version, candidate, improved, reason, evidence, created_at`

func scanDecision(row pgx.Row) (retune.Decision, error) {
	var (
		d        retune.Decision
		evidence string
		created  time.Time
	)
	if err := row.Scan(&d.ID, &d.Model, &d.Study, &d.RunID, &d.ChampionVersion, &d.Candidate, &d.Improved, &d.Reason, &evidence, &created); err != nil {
		return d, err
	}
	d.Created = created.UTC()
	if err := d.Evidence.UnmarshalBinary([]byte(evidence)); err != nil {
		return d, fmt.Errorf("stored decision %d: %w", d.ID, err)
	}
	return d, nil
}

// RecordDecision implements retune.DecisionStore.
func (s *Store) RecordDecision(ctx context.Context, d retune.Decision, events []retune.Event) (retune.Decision, error) {
	evidence, err := dbenc.Decision(d, events)
	if err != nil {
		return retune.Decision{}, err
	}
	what := fmt.Sprintf("record decision of run %q", d.RunID)
	var stored retune.Decision
	var dup error
	err = s.tx(ctx, what, func(tx dbtx) error {
		var created time.Time
		err := tx.QueryRow(ctx, `INSERT INTO decisions (model, study, run_id, champion_version, candidate, improved, reason, evidence, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp())
			ON CONFLICT (run_id, champion_version, candidate) DO NOTHING
			RETURNING id, created_at`,
			d.Model, d.Study, d.RunID, d.ChampionVersion, d.Candidate, d.Improved, d.Reason, string(evidence)).Scan(&d.ID, &created)
		if errors.Is(err, pgx.ErrNoRows) {
			// The conflicting decision has committed: the insert waited for it if it was in flight.
			stored, err = scanDecision(tx.QueryRow(ctx, `SELECT `+decisionCols+` FROM decisions
				WHERE run_id = $1 AND champion_version = $2 AND candidate = $3`, d.RunID, d.ChampionVersion, d.Candidate))
			if err != nil {
				return dbErr(what, err)
			}
			dup = fmt.Errorf("decision of run %q on champion version %d for candidate trial %d is recorded already (ID %d): %w",
				d.RunID, d.ChampionVersion, d.Candidate, stored.ID, retune.ErrConflict)
			return dup
		}
		if err != nil {
			return dbErr(what, err)
		}
		d.Created = created.UTC()
		return insertEvents(ctx, tx, events, created)
	})
	switch {
	case dup != nil:
		return stored, dup
	case err != nil:
		return retune.Decision{}, err
	}
	if err = d.Evidence.UnmarshalBinary(evidence); err != nil {
		return retune.Decision{}, err
	}
	return d, nil
}

// Decision implements retune.DecisionStore.
func (s *Store) Decision(ctx context.Context, id int64) (retune.Decision, error) {
	return retried(ctx, s.retry, func(ctx context.Context) (retune.Decision, error) { return s.decision(ctx, id) })
}

// decision is Decision without retries.
func (s *Store) decision(ctx context.Context, id int64) (retune.Decision, error) {
	d, err := scanDecision(s.pool.QueryRow(ctx, `SELECT `+decisionCols+` FROM decisions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return retune.Decision{}, fmt.Errorf("decision %d: %w", id, retune.ErrNotFound)
	}
	if err != nil {
		return retune.Decision{}, dbErr(fmt.Sprintf("read decision %d", id), err)
	}
	return d, nil
}

// Decisions implements retune.DecisionStore.
func (s *Store) Decisions(ctx context.Context, model string) ([]retune.Decision, error) {
	return retried(ctx, s.retry, func(ctx context.Context) ([]retune.Decision, error) { return s.decisions(ctx, model) })
}

// decisions is Decisions without retries.
func (s *Store) decisions(ctx context.Context, model string) ([]retune.Decision, error) {
	what := fmt.Sprintf("read decisions of model %q", model)
	q, args := `SELECT `+decisionCols+` FROM decisions ORDER BY id DESC`, []any(nil)
	if model != "" {
		q, args = `SELECT `+decisionCols+` FROM decisions WHERE model = $1 ORDER BY id DESC`, []any{model}
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, dbErr(what, err)
	}
	defer rows.Close()
	out := []retune.Decision{}
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, dbErr(what, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(what, err)
	}
	return out, nil
}

// Events implements retune.EventStore.
//
// Sequence numbers are handed out under event_seq's row lock, held until commit (see
// insertEvents), so they follow commit order: a transaction's events become visible
// before the next writer can take a number. A reader that has seen seq n has therefore
// seen every event below n, and passing the last seq it read never skips an event.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]retune.StoredEvent, error) {
	if err := check.EventsRead(after, limit); err != nil {
		return nil, err
	}
	var lim *int64
	if limit > 0 {
		l := int64(limit)
		lim = &l
	}
	return s.readEvents(ctx, fmt.Sprintf("read events after %d", after), `SELECT `+eventCols+` FROM events
		WHERE seq > $1 ORDER BY seq LIMIT $2`, after, lim)
}

// readEvents runs a query of eventCols and collects its events; what names the read in
// errors.
func (s *Store) readEvents(ctx context.Context, what, query string, args ...any) ([]retune.StoredEvent, error) {
	return retried(ctx, s.retry, func(ctx context.Context) ([]retune.StoredEvent, error) {
		return s.readEventsOnce(ctx, what, query, args...)
	})
}

// readEventsOnce is readEvents without retries.
func (s *Store) readEventsOnce(ctx context.Context, what, query string, args ...any) ([]retune.StoredEvent, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, dbErr(what, err)
	}
	defer rows.Close()
	out := []retune.StoredEvent{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, dbErr(what, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(what, err)
	}
	return out, nil
}

// FindEvents implements retune.EventStore: newest first, by the events' primary key; a
// delivery filter checks each event's deliveries through their (event_seq, notifier) key.
func (s *Store) FindEvents(ctx context.Context, q retune.EventQuery) ([]retune.StoredEvent, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	var (
		where, dwhere []string
		args          []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.ID != "" {
		where = append(where, "e.id = "+arg(q.ID))
	}
	if q.Before > 0 {
		where = append(where, "e.seq < "+arg(q.Before))
	}
	if q.State != "" {
		dwhere = append(dwhere, "d.state = "+arg(string(q.State)))
	}
	if q.Notifier != "" {
		dwhere = append(dwhere, "d.notifier = "+arg(q.Notifier))
	}
	if len(dwhere) > 0 {
		where = append(where, "EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND "+strings.Join(dwhere, " AND ")+")")
	}
	query := `SELECT ` + eventCols + ` FROM events e`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	var lim *int64
	if q.Limit > 0 {
		l := int64(q.Limit)
		lim = &l
	}
	query += ` ORDER BY e.seq DESC LIMIT ` + arg(lim)
	return s.readEvents(ctx, "find events", query, args...)
}
