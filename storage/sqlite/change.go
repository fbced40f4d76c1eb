package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/a6b40afc/retune"
)

var _ retune.ChangeStore = (*Store)(nil)

// Changes implements retune.ChangeStore. The rows are written by the triggers of
// migration 8, in the transaction of each change.
func (s *Store) Changes(ctx context.Context, studyID int64, after int64, limit int) ([]retune.Change, int64, error) {
	if err := retune.CheckChangesQuery(after, limit); err != nil {
		return nil, 0, err
	}
	var out []retune.Change
	var head int64
	err := s.read(ctx, func(tx *txn) error {
		err := tx.QueryRowContext(ctx, `SELECT change_seq FROM studies WHERE id = ?`, studyID).Scan(&head)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("study id %d: %w", studyID, retune.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqlite: read changes: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq, at, kind, trial, step, ref, state FROM changes
			WHERE study_id = ? AND seq > ? ORDER BY seq LIMIT ?`, studyID, after, limit)
		if err != nil {
			return fmt.Errorf("sqlite: read changes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c retune.Change
			var at int64
			var trial, step, ref, state sql.NullInt64
			if err := rows.Scan(&c.Seq, &at, &c.Kind, &trial, &step, &ref, &state); err != nil {
				return fmt.Errorf("sqlite: read changes: %w", err)
			}
			c.Time, c.Trial, c.Step, c.Ref, c.State = time.Unix(0, at).UTC(), -1, step.Int64, ref.Int64, retune.TrialState(state.Int64)
			if trial.Valid {
				c.Trial = int(trial.Int64)
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, head, err
}

// PruneChanges implements retune.ChangeStore.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) (int64, error) {
	// Each study's last change before the cutoff, found in a read transaction by binary
	// search over its sequence (a study's changes are timed in sequence order), so that
	// the write only deletes ranges of the primary key and no index on the time is kept
	// up by every change.
	type cut struct{ study, seq int64 }
	var cuts []cut
	limit := before.UnixNano()
	err := s.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT study_id, min(seq), max(seq) FROM changes GROUP BY study_id`)
		if err != nil {
			return fmt.Errorf("sqlite: prune changes: %w", err)
		}
		type span struct{ study, lo, hi int64 }
		var spans []span
		for rows.Next() {
			var sp span
			if err := rows.Scan(&sp.study, &sp.lo, &sp.hi); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: prune changes: %w", err)
			}
			spans = append(spans, sp)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: prune changes: %w", err)
		}
		// at returns the first change at or after seq: its sequence and time.
		at := func(study, seq int64) (int64, int64, error) {
			var got, t int64
			err := tx.QueryRowContext(ctx, `SELECT seq, at FROM changes WHERE study_id = ? AND seq >= ? ORDER BY seq LIMIT 1`, study, seq).Scan(&got, &t)
			if err != nil {
				return 0, 0, fmt.Errorf("sqlite: prune changes: %w", err)
			}
			return got, t, nil
		}
		for _, sp := range spans {
			_, first, err := at(sp.study, sp.lo)
			if err != nil {
				return err
			}
			if first >= limit {
				continue
			}
			_, last, err := at(sp.study, sp.hi)
			if err != nil {
				return err
			}
			if last < limit {
				cuts = append(cuts, cut{sp.study, sp.hi})
				continue
			}
			lo, hi := sp.lo, sp.hi // at(lo) < limit <= at(hi)
			for hi-lo > 1 {
				mid := lo + (hi-lo)/2
				seq, t, err := at(sp.study, mid)
				switch {
				case err != nil:
					return err
				case seq >= hi: // a gap up to hi
					hi = mid
				case t < limit:
					lo = seq
				default:
					hi = seq
				}
			}
			cuts = append(cuts, cut{sp.study, lo})
		}
		return nil
	})
	if err != nil || len(cuts) == 0 {
		return 0, err
	}
	var n int64
	err = s.write(ctx, func(tx *txn) error {
		for _, c := range cuts {
			res, err := tx.ExecContext(ctx, `DELETE FROM changes WHERE study_id = ? AND seq <= ?`, c.study, c.seq)
			if err != nil {
				return fmt.Errorf("sqlite: prune changes: %w", err)
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
}

var _ retune.LogStore = (*Store)(nil)

// PutLog implements retune.LogStore.
func (s *Store) PutLog(ctx context.Context, ref retune.TrialRef, log retune.TrialLog) error {
	if err := log.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx *txn) error {
		f, err := fence(ctx, tx, ref)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO trial_logs (trial_id, head, tail, size, at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (trial_id) DO UPDATE SET head = excluded.head, tail = excluded.tail, size = excluded.size, at = excluded.at`,
			f.id, nonNil(log.Head), nonNil(log.Tail), log.Size, nowNanos())
		if err != nil {
			return fmt.Errorf("sqlite: store log of trial %d: %w", ref.Number, err)
		}
		return nil
	})
}

// TrialLog implements retune.LogStore.
func (s *Store) TrialLog(ctx context.Context, studyID int64, number int) (retune.TrialLog, error) {
	var l retune.TrialLog
	err := s.read(ctx, func(tx *txn) error {
		var study string
		var id sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT s.name, t.id FROM studies s LEFT JOIN trials t ON t.study_id = s.id AND t.number = ? WHERE s.id = ?`,
			number, studyID).Scan(&study, &id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("study id %d: %w", studyID, retune.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqlite: read log: %w", err)
		case !id.Valid:
			return fmt.Errorf("trial %d of study %q: %w", number, study, retune.ErrNotFound)
		}
		var at int64
		err = tx.QueryRowContext(ctx, `SELECT head, tail, size, at FROM trial_logs WHERE trial_id = ?`, id.Int64).Scan(&l.Head, &l.Tail, &l.Size, &at)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("trial %d of study %q has no stored log: %w", number, study, retune.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqlite: read log of trial %d: %w", number, err)
		}
		l.Time = time.Unix(0, at).UTC()
		return nil
	})
	return l, err
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

var _ retune.LeaderStore = (*Store)(nil)

// AcquireLeadership implements retune.LeaderStore in one statement: take the role if it
// is free, expired or already ours.
func (s *Store) AcquireLeadership(ctx context.Context, role, holder string, ttl time.Duration) (bool, error) {
	if err := retune.CheckLeadership(role, holder, ttl); err != nil {
		return false, err
	}
	var leads bool
	err := s.write(ctx, func(tx *txn) error {
		now := nowNanos()
		var got string
		err := tx.QueryRowContext(ctx, `INSERT INTO leaders (role, holder, expires) VALUES (?1, ?2, ?3)
			ON CONFLICT (role) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
				WHERE leaders.holder = excluded.holder OR leaders.expires < ?4
			RETURNING holder`, role, holder, addNanos(now, ttl), now).Scan(&got)
		switch {
		case errors.Is(err, sql.ErrNoRows): // held by another
		case err != nil:
			return fmt.Errorf("sqlite: acquire leadership of %q: %w", role, err)
		default:
			leads = got == holder
		}
		return nil
	})
	return leads, err
}

// ReleaseLeadership implements retune.LeaderStore.
func (s *Store) ReleaseLeadership(ctx context.Context, role, holder string) error {
	return s.write(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM leaders WHERE role = ? AND holder = ?`, role, holder); err != nil {
			return fmt.Errorf("sqlite: release leadership of %q: %w", role, err)
		}
		return nil
	})
}

var _ retune.AgentStore = (*Store)(nil)

// RecordAgent implements retune.AgentStore.
func (s *Store) RecordAgent(ctx context.Context, a retune.AgentInfo) error {
	if err := a.Validate(); err != nil {
		return err
	}
	return s.write(ctx, func(tx *txn) error {
		now := nowNanos()
		_, err := tx.ExecContext(ctx, `INSERT INTO agents (id, host, addr, pid, study, slots, running, first, last) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET host = excluded.host, addr = excluded.addr, pid = excluded.pid, study = excluded.study,
				slots = excluded.slots, running = excluded.running, last = excluded.last`,
			a.ID, a.Host, a.Addr, a.PID, a.Study, a.Slots, a.Running, now, now)
		if err != nil {
			return fmt.Errorf("sqlite: record agent: %w", err)
		}
		return nil
	})
}

// Agents implements retune.AgentStore.
func (s *Store) Agents(ctx context.Context, since time.Time) ([]retune.AgentInfo, error) {
	var out []retune.AgentInfo
	err := s.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, host, addr, pid, study, slots, running, first, last FROM agents
			WHERE last >= ? ORDER BY last DESC, id`, since.UnixNano())
		if err != nil {
			return fmt.Errorf("sqlite: list agents: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var a retune.AgentInfo
			var first, last int64
			if err := rows.Scan(&a.ID, &a.Host, &a.Addr, &a.PID, &a.Study, &a.Slots, &a.Running, &first, &last); err != nil {
				return fmt.Errorf("sqlite: list agents: %w", err)
			}
			a.First, a.Last = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}
