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
		rows, err := tx.QueryContext(ctx, `SELECT seq, at, kind, trial, step, ref FROM changes
			WHERE study_id = ? AND seq > ? ORDER BY seq LIMIT ?`, studyID, after, limit)
		if err != nil {
			return fmt.Errorf("sqlite: read changes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c retune.Change
			var at int64
			var trial, step, ref sql.NullInt64
			if err := rows.Scan(&c.Seq, &at, &c.Kind, &trial, &step, &ref); err != nil {
				return fmt.Errorf("sqlite: read changes: %w", err)
			}
			c.Time, c.Trial, c.Step, c.Ref = time.Unix(0, at).UTC(), -1, step.Int64, ref.Int64
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
	var n int64
	err := s.write(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM changes WHERE at < ?`, before.UnixNano())
		if err != nil {
			return fmt.Errorf("sqlite: prune changes: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
