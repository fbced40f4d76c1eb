package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/check"
)

// Re-tune triggers (migration 3). Consuming is one write transaction, and SQLite runs
// one at a time on the file: two consumers cannot both mark the same trigger.

var _ retune.TriggerStore = (*Store)(nil)

// qTriggersPending finds a model's pending triggers through the triggers_pending index.
const qTriggersPending = `SELECT id FROM triggers WHERE model = ? AND consumed IS NULL ORDER BY id`

// RequestRetune implements retune.TriggerStore.
func (s *Store) RequestRetune(ctx context.Context, model, reason string) (int64, error) {
	if err := check.Trigger(model, reason); err != nil {
		return 0, err
	}
	var id int64
	err := s.write(ctx, func(tx *txn) error {
		return tx.QueryRowContext(ctx, `INSERT INTO triggers (model, reason, created) VALUES (?, ?, ?) RETURNING id`,
			model, reason, nowNanos()).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: request re-tune of model %q: %w", model, err)
	}
	return id, nil
}

// ConsumeTriggers implements retune.TriggerStore.
func (s *Store) ConsumeTriggers(ctx context.Context, model string) ([]retune.Trigger, error) {
	out := []retune.Trigger{}
	err := s.write(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `UPDATE triggers SET consumed = ?
			WHERE id IN (`+qTriggersPending+`)
			RETURNING id, model, reason, created, consumed`, nowNanos(), model)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				t                 retune.Trigger
				created, consumed int64
			)
			if err := rows.Scan(&t.ID, &t.Model, &t.Reason, &created, &consumed); err != nil {
				return err
			}
			t.Created, t.Consumed = time.Unix(0, created).UTC(), time.Unix(0, consumed).UTC()
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: consume triggers of model %q: %w", model, err)
	}
	slices.SortFunc(out, func(a, b retune.Trigger) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
