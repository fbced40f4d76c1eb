package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/check"
	"github.com/a6b40afc/retune/internal/codec"
	"github.com/a6b40afc/retune/internal/dbenc"
)

// Retraining coordination: champions, decisions and the event outbox (migration 2).
// Each write is one write transaction, and SQLite runs one at a time on the file: the
// champion version check and the insert of the next version cannot interleave with
// another promotion, and event sequence numbers are handed out in commit order.

var _ retune.RetrainStore = (*Store)(nil)

const championCols = `model, version, params, vals, metrics, source, study, trial, decision, created`

// The queries of the retraining tables, named so that a test can check their plans: each
// finds its rows through an index.
const (
	qChampion        = `SELECT ` + championCols + ` FROM champions WHERE model = ? ORDER BY version DESC LIMIT 1`
	qChampionVersion = `SELECT coalesce(max(version), 0) FROM champions WHERE model = ?`
	qChampionHistory = `SELECT ` + championCols + ` FROM champions WHERE model = ? ORDER BY version`
	qDecisionByKey   = `SELECT ` + decisionCols + ` FROM decisions WHERE run_id = ? AND champion_version = ? AND candidate = ?`
	qDecisionsOf     = `SELECT ` + decisionCols + ` FROM decisions WHERE model = ? ORDER BY id DESC`
	qEventExists     = `SELECT count(*) FROM events WHERE id = ?`
	qEventsAfter     = `SELECT ` + eventCols + ` FROM events WHERE seq > ? ORDER BY seq LIMIT ?`
)

func scanChampion(row interface{ Scan(...any) error }) (retune.Champion, error) {
	var (
		c                       retune.Champion
		params, values, metrics []byte
		created                 int64
	)
	if err := row.Scan(&c.Model, &c.Version, &params, &values, &metrics, &c.Source, &c.Study, &c.Trial, &c.Decision, &created); err != nil {
		return c, err
	}
	c.Created = time.Unix(0, created).UTC()
	err := c.UnmarshalParts(params, values, metrics)
	return c, err
}

// Champion implements retune.ChampionStore.
func (s *Store) Champion(ctx context.Context, model string) (retune.Champion, error) {
	var c retune.Champion
	err := s.read(ctx, func(tx *txn) error {
		var err error
		c, err = scanChampion(tx.QueryRowContext(ctx, qChampion, model))
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return retune.Champion{}, fmt.Errorf("champion of model %q: %w", model, retune.ErrNotFound)
	case err != nil:
		return retune.Champion{}, fmt.Errorf("sqlite: read champion of model %q: %w", model, err)
	}
	return c, nil
}

// ChampionHistory implements retune.ChampionStore.
func (s *Store) ChampionHistory(ctx context.Context, model string) ([]retune.Champion, error) {
	out := []retune.Champion{}
	err := s.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, qChampionHistory, model)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanChampion(rows)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: read champions of model %q: %w", model, err)
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
	err = s.write(ctx, func(tx *txn) error {
		var cur int64
		if err := tx.QueryRowContext(ctx, qChampionVersion, c.Model).Scan(&cur); err != nil {
			return fmt.Errorf("sqlite: %s: %w", what, err)
		}
		if cur != expect {
			return fmt.Errorf("%s: current version is %d, not the expected %d: %w: %w", what, cur, expect, retune.ErrVersionConflict, retune.ErrConflict)
		}
		now := nowNanos()
		_, err := tx.ExecContext(ctx, `INSERT INTO champions (`+championCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Model, expect+1, string(cols.Params), string(cols.Values), string(cols.Metrics), c.Source, c.Study, c.Trial, c.Decision, now)
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", what, err)
		}
		if err := insertEvents(ctx, tx, events, now); err != nil {
			return err
		}
		c.Version, c.Created = expect+1, time.Unix(0, now).UTC()
		return nil
	})
	if err != nil {
		return retune.Champion{}, err
	}
	if err := c.UnmarshalParts(cols.Params, cols.Values, cols.Metrics); err != nil {
		return retune.Champion{}, err
	}
	return c, nil
}

// insertEvents appends events to the outbox, failing with ErrConflict if an ID is stored
// already. now (Unix nanoseconds) is the time of events without one.
func insertEvents(ctx context.Context, tx *txn, events []retune.Event, now int64) error {
	for _, e := range events {
		var n int
		if err := tx.QueryRowContext(ctx, qEventExists, e.ID).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: write event %q: %w", e.ID, err)
		}
		if n > 0 {
			return fmt.Errorf("event %q is stored already: want a new ID: %w", e.ID, retune.ErrConflict)
		}
		var data sql.NullString
		if len(e.Data) > 0 {
			data = sql.NullString{String: string(e.Data), Valid: true}
		}
		t := codec.EventTime(e.Time, time.Unix(0, now)).UnixNano()
		var seq int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO events (id, type, source, subject, time, data, notify) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			e.ID, e.Type, e.Source, e.Subject, t, data, codec.MarshalNotify(e.Notify)).Scan(&seq); err != nil {
			return fmt.Errorf("sqlite: write event %q: %w", e.ID, err)
		}
		for _, n := range e.Notify {
			if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (event_seq, notifier, state, next_at, created, updated) VALUES (?, ?, 'pending', ?, ?, ?)`,
				seq, n, now, now, now); err != nil {
				return fmt.Errorf("sqlite: write delivery of event %q to %q: %w", e.ID, n, err)
			}
		}
	}
	return nil
}

const decisionCols = `id, model, study, run_id, champion_version, candidate, improved, reason, evidence, created`

func scanDecision(row interface{ Scan(...any) error }) (retune.Decision, error) {
	var (
		d        retune.Decision
		evidence []byte
		created  int64
	)
	if err := row.Scan(&d.ID, &d.Model, &d.Study, &d.RunID, &d.ChampionVersion, &d.Candidate, &d.Improved, &d.Reason, &evidence, &created); err != nil {
		return d, err
	}
	d.Created = time.Unix(0, created).UTC()
	if err := d.Evidence.UnmarshalBinary(evidence); err != nil {
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
	var out retune.Decision
	var dup error
	err = s.write(ctx, func(tx *txn) error {
		stored, err := scanDecision(tx.QueryRowContext(ctx, qDecisionByKey, d.RunID, d.ChampionVersion, d.Candidate))
		switch {
		case err == nil:
			out = stored
			dup = fmt.Errorf("decision of run %q on champion version %d for candidate trial %d is recorded already (ID %d): %w",
				d.RunID, d.ChampionVersion, d.Candidate, stored.ID, retune.ErrConflict)
			return dup
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlite: record decision: %w", err)
		}
		now := nowNanos()
		err = tx.QueryRowContext(ctx, `INSERT INTO decisions (model, study, run_id, champion_version, candidate, improved, reason, evidence, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			d.Model, d.Study, d.RunID, d.ChampionVersion, d.Candidate, d.Improved, d.Reason, string(evidence), now).Scan(&d.ID)
		if err != nil {
			return fmt.Errorf("sqlite: record decision: %w", err)
		}
		if err := insertEvents(ctx, tx, events, now); err != nil {
			return err
		}
		d.Created = time.Unix(0, now).UTC()
		if err = d.Evidence.UnmarshalBinary(evidence); err != nil {
			return err
		}
		out = d
		return nil
	})
	switch {
	case dup != nil:
		return out, dup
	case err != nil:
		return retune.Decision{}, err
	}
	return out, nil
}

// Decision implements retune.DecisionStore.
func (s *Store) Decision(ctx context.Context, id int64) (retune.Decision, error) {
	var d retune.Decision
	err := s.read(ctx, func(tx *txn) error {
		var err error
		d, err = scanDecision(tx.QueryRowContext(ctx, `SELECT `+decisionCols+` FROM decisions WHERE id = ?`, id))
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return retune.Decision{}, fmt.Errorf("decision %d: %w", id, retune.ErrNotFound)
	case err != nil:
		return retune.Decision{}, fmt.Errorf("sqlite: read decision %d: %w", id, err)
	}
	return d, nil
}

// Decisions implements retune.DecisionStore.
func (s *Store) Decisions(ctx context.Context, model string) ([]retune.Decision, error) {
	q, args := `SELECT `+decisionCols+` FROM decisions ORDER BY id DESC`, []any(nil)
	if model != "" {
		q, args = qDecisionsOf, []any{model}
	}
	out := []retune.Decision{}
	err := s.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDecision(rows)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: read decisions of model %q: %w", model, err)
	}
	return out, nil
}

// Events implements retune.EventStore. Sequence numbers follow commit order (see the
// events table), so a reader passing the last one it saw never skips an event.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]retune.StoredEvent, error) {
	if err := check.EventsRead(after, limit); err != nil {
		return nil, err
	}
	lim := int64(limit)
	if limit == 0 {
		lim = -1 // SQLite: no limit
	}
	out, err := s.readEvents(ctx, qEventsAfter, after, lim)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read events after %d: %w", after, err)
	}
	return out, nil
}

// readEvents runs a query of eventCols and collects its events.
func (s *Store) readEvents(ctx context.Context, query string, args ...any) ([]retune.StoredEvent, error) {
	out := []retune.StoredEvent{}
	err := s.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// FindEvents implements retune.EventStore: newest first, by the events' primary key; a
// delivery filter checks each event's deliveries through their (event_seq, notifier) key.
func (s *Store) FindEvents(ctx context.Context, q retune.EventQuery) ([]retune.StoredEvent, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	query, args := findEventsQuery(q)
	out, err := s.readEvents(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find events: %w", err)
	}
	return out, nil
}

// findEventsQuery is the SQL of FindEvents.
func findEventsQuery(q retune.EventQuery) (string, []any) {
	var (
		where, dwhere []string
		args          []any
	)
	if q.ID != "" {
		where, args = append(where, "e.id = ?"), append(args, q.ID)
	}
	if q.Before > 0 {
		where, args = append(where, "e.seq < ?"), append(args, q.Before)
	}
	if q.State != "" {
		dwhere, args = append(dwhere, "d.state = ?"), append(args, string(q.State))
	}
	if q.Notifier != "" {
		dwhere, args = append(dwhere, "d.notifier = ?"), append(args, q.Notifier)
	}
	if len(dwhere) > 0 {
		where = append(where, "EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND "+strings.Join(dwhere, " AND ")+")")
	}
	query := `SELECT ` + eventColsOf + ` FROM events e`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	lim := int64(q.Limit)
	if lim == 0 {
		lim = -1 // SQLite: no limit
	}
	return query + ` ORDER BY e.seq DESC LIMIT ?`, append(args, lim)
}
