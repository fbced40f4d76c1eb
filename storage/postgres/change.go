package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/jackc/pgx/v5"
)

var _ retune.ChangeStore = (*Store)(nil)

// Changes implements retune.ChangeStore. The rows are written by the triggers of
// migration 8, in the transaction of each change; the head is the study's counter row
// (absent until its first change).
func (s *Store) Changes(ctx context.Context, studyID int64, after int64, limit int) (out []retune.Change, head int64, err error) {
	if err := retune.CheckChangesQuery(after, limit); err != nil {
		return nil, 0, err
	}
	what := fmt.Sprintf("read changes of study id %d", studyID)
	err = s.retry(ctx, func(ctx context.Context) error {
		out, head = nil, 0
		b := &pgx.Batch{}
		b.Queue(`SELECT coalesce((SELECT seq FROM study_changes WHERE study_id = s.id), 0) FROM studies s WHERE s.id = $1`, studyID)
		b.Queue(`SELECT seq, at, kind, coalesce(trial, -1), coalesce(step, 0), coalesce(ref, 0), coalesce(state, 0) FROM changes
			WHERE study_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, studyID, after, limit)
		br := s.pool.SendBatch(ctx, b)
		defer br.Close()
		if err := br.QueryRow().Scan(&head); errors.Is(err, pgx.ErrNoRows) {
			return studyNotFound(studyID)
		} else if err != nil {
			return dbErr(what, err)
		}
		rows, err := br.Query()
		if err != nil {
			return dbErr(what, err)
		}
		for rows.Next() {
			var c retune.Change
			var trial int32
			var state int16
			if err := rows.Scan(&c.Seq, &c.Time, &c.Kind, &trial, &c.Step, &c.Ref, &state); err != nil {
				rows.Close()
				return dbErr(what, err)
			}
			c.Time, c.Trial, c.State = c.Time.UTC(), int(trial), retune.TrialState(state)
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbErr(what, err)
		}
		return nil
	})
	return out, head, err
}

// PruneChanges implements retune.ChangeStore.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) (n int64, err error) {
	err = s.retry(ctx, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM changes WHERE at < $1`, before)
		if err != nil {
			return dbErr("prune changes", err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return n, err
}

var _ retune.ChangeListener = (*Store)(nil)

// ListenChanges implements retune.ChangeListener: it holds one connection of the pool
// listening on the channel the change triggers notify (payload "schema:study_id"), and
// passes on the ids of this store's schema.
func (s *Store) ListenChanges(ctx context.Context, fn func(studyID int64)) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return dbErr("listen for changes", err)
	}
	defer conn.Release()
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return dbErr("listen for changes", err)
	}
	if _, err := conn.Exec(ctx, `LISTEN retune_changes`); err != nil {
		return dbErr("listen for changes", err)
	}
	defer func() {
		// The connection goes back to the pool: stop listening on it (or drop it).
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `UNLISTEN retune_changes`); err != nil {
			conn.Conn().Close(uctx) //nolint:errcheck // the pool replaces a closed connection
		}
	}()
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return dbErr("listen for changes", err)
		}
		sch, id, ok := strings.Cut(n.Payload, ":")
		if !ok || sch != schema {
			continue
		}
		if studyID, err := strconv.ParseInt(id, 10, 64); err == nil {
			fn(studyID)
		}
	}
}

var _ retune.LogStore = (*Store)(nil)

// PutLog implements retune.LogStore: one statement, fenced by the lease like Report.
func (s *Store) PutLog(ctx context.Context, ref retune.TrialRef, log retune.TrialLog) error {
	if err := log.Validate(); err != nil {
		return err
	}
	head, tail := log.Head, log.Tail
	if head == nil {
		head = []byte{}
	}
	if tail == nil {
		tail = []byte{}
	}
	return s.retry(ctx, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO trial_logs (trial_id, head, tail, size, at)
			SELECT t.id, $4, $5, $6, clock_timestamp() FROM trials t
			WHERE t.study_id = $1 AND t.number = $2 AND t.state = 1 AND t.lease_epoch = $3
			FOR SHARE
			ON CONFLICT (trial_id) DO UPDATE SET head = excluded.head, tail = excluded.tail, size = excluded.size, at = excluded.at`,
			ref.StudyID, ref.Number, ref.Epoch, head, tail, log.Size)
		if err != nil {
			return dbErr(fmt.Sprintf("store log of trial %d of study id %d", ref.Number, ref.StudyID), err)
		}
		if tag.RowsAffected() == 0 {
			return s.fenceFailure(ctx, s.pool, ref)
		}
		return nil
	})
}

// TrialLog implements retune.LogStore.
func (s *Store) TrialLog(ctx context.Context, studyID int64, number int) (l retune.TrialLog, err error) {
	what := fmt.Sprintf("read log of trial %d of study id %d", number, studyID)
	err = s.retry(ctx, func(ctx context.Context) error {
		var name string
		var tid, size *int64
		var at *time.Time
		var head, tail []byte
		err := s.pool.QueryRow(ctx, `SELECT s.name, t.id, l.head, l.tail, l.size, l.at FROM studies s
			LEFT JOIN trials t ON t.study_id = s.id AND t.number = $2
			LEFT JOIN trial_logs l ON l.trial_id = t.id
			WHERE s.id = $1`, studyID, number).Scan(&name, &tid, &head, &tail, &size, &at)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return studyNotFound(studyID)
		case err != nil:
			return dbErr(what, err)
		case tid == nil:
			return fmt.Errorf("trial %d of study %q: %w", number, name, retune.ErrNotFound)
		case size == nil:
			return fmt.Errorf("trial %d of study %q has no stored log: %w", number, name, retune.ErrNotFound)
		}
		l = retune.TrialLog{Head: head, Tail: tail, Size: *size, Time: at.UTC()}
		return nil
	})
	return l, err
}

var _ retune.LeaderStore = (*Store)(nil)

// AcquireLeadership implements retune.LeaderStore in one statement: take the role if it
// is free, expired or already ours, by the database's clock.
func (s *Store) AcquireLeadership(ctx context.Context, role, holder string, ttl time.Duration) (leads bool, err error) {
	if err := retune.CheckLeadership(role, holder, ttl); err != nil {
		return false, err
	}
	err = s.retry(ctx, func(ctx context.Context) error {
		var got string
		err := s.pool.QueryRow(ctx, `INSERT INTO leaders AS l (role, holder, expires)
				VALUES ($1, $2, clock_timestamp() + $3 * interval '1 microsecond')
			ON CONFLICT (role) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
				WHERE l.holder = excluded.holder OR l.expires < clock_timestamp()
			RETURNING holder`, role, holder, micros(ttl)).Scan(&got)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			leads = false
		case err != nil:
			return dbErr(fmt.Sprintf("acquire leadership of %q", role), err)
		default:
			leads = got == holder
		}
		return nil
	})
	return leads, err
}

// ReleaseLeadership implements retune.LeaderStore.
func (s *Store) ReleaseLeadership(ctx context.Context, role, holder string) error {
	return s.retry(ctx, func(ctx context.Context) error {
		if _, err := s.pool.Exec(ctx, `DELETE FROM leaders WHERE role = $1 AND holder = $2`, role, holder); err != nil {
			return dbErr(fmt.Sprintf("release leadership of %q", role), err)
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
	return s.retry(ctx, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO agents (id, host, addr, pid, study, slots, running, first, last)
				VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp(), clock_timestamp())
			ON CONFLICT (id) DO UPDATE SET host = excluded.host, addr = excluded.addr, pid = excluded.pid, study = excluded.study,
				slots = excluded.slots, running = excluded.running, last = excluded.last`,
			a.ID, a.Host, a.Addr, a.PID, a.Study, a.Slots, a.Running)
		if err != nil {
			return dbErr("record agent", err)
		}
		return nil
	})
}

// Agents implements retune.AgentStore.
func (s *Store) Agents(ctx context.Context, since time.Time) (out []retune.AgentInfo, err error) {
	err = s.retry(ctx, func(ctx context.Context) error {
		out = nil
		rows, err := s.pool.Query(ctx, `SELECT id, host, addr, pid, study, slots, running, first, last FROM agents
			WHERE last >= $1 ORDER BY last DESC, id`, since)
		if err != nil {
			return dbErr("list agents", err)
		}
		defer rows.Close()
		for rows.Next() {
			var a retune.AgentInfo
			var pid, slots, running int32
			if err := rows.Scan(&a.ID, &a.Host, &a.Addr, &pid, &a.Study, &slots, &running, &a.First, &a.Last); err != nil {
				return dbErr("list agents", err)
			}
			a.PID, a.Slots, a.Running = int(pid), int(slots), int(running)
			a.First, a.Last = a.First.UTC(), a.Last.UTC()
			out = append(out, a)
		}
		if err := rows.Err(); err != nil {
			return dbErr("list agents", err)
		}
		return nil
	})
	return out, err
}
