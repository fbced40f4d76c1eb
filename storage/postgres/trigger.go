package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/check"
	"github.com/jackc/pgx/v5"
)

// Re-tune triggers (migration 3). Consuming is one UPDATE of the pending rows: a second
// consumer racing for the same rows waits for the first to commit, then finds them
// consumed and skips them, so each trigger is consumed once. Times come from the
// database clock.

var _ retune.TriggerStore = (*Store)(nil)

// RequestRetune implements retune.TriggerStore.
func (s *Store) RequestRetune(ctx context.Context, model, reason string) (int64, error) {
	return retried(ctx, s.retryUnsent, func(ctx context.Context) (int64, error) { return s.requestRetune(ctx, model, reason) })
}

// requestRetune is RequestRetune without retries.
func (s *Store) requestRetune(ctx context.Context, model, reason string) (int64, error) {
	if err := check.Trigger(model, reason); err != nil {
		return 0, err
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO triggers (model, reason, created_at) VALUES ($1, $2, clock_timestamp()) RETURNING id`,
		model, reason).Scan(&id)
	if err != nil {
		return 0, dbErr(fmt.Sprintf("request re-tune of model %q", model), err)
	}
	return id, nil
}

// ConsumeTriggers implements retune.TriggerStore.
func (s *Store) ConsumeTriggers(ctx context.Context, model string) ([]retune.Trigger, error) {
	return retried(ctx, s.retryUnsent, func(ctx context.Context) ([]retune.Trigger, error) { return s.consumeTriggers(ctx, model) })
}

// consumeTriggers is ConsumeTriggers without retries.
func (s *Store) consumeTriggers(ctx context.Context, model string) ([]retune.Trigger, error) {
	what := fmt.Sprintf("consume triggers of model %q", model)
	rows, err := s.pool.Query(ctx, `UPDATE triggers SET consumed_at = clock_timestamp()
		WHERE model = $1 AND consumed_at IS NULL
		RETURNING id, model, reason, created_at, consumed_at`, model)
	if err != nil {
		return nil, dbErr(what, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (retune.Trigger, error) {
		var (
			t                 retune.Trigger
			created, consumed time.Time
		)
		err := row.Scan(&t.ID, &t.Model, &t.Reason, &created, &consumed)
		t.Created, t.Consumed = created.UTC(), consumed.UTC()
		return t, err
	})
	if err != nil {
		return nil, dbErr(what, err)
	}
	if out == nil {
		out = []retune.Trigger{}
	}
	slices.SortFunc(out, func(a, b retune.Trigger) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
