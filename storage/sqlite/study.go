package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/codec"
)

const studyCols = `id, name, directions, metrics, model, seed, sampler, pruner, budget_trials, budget_retries, user_attrs, system_attrs, created, definition`

// CreateStudy implements retune.StudyStore.
func (s *Store) CreateStudy(ctx context.Context, rec retune.StudyRecord) (retune.StudyRecord, error) {
	if err := rec.Validate(); err != nil {
		return retune.StudyRecord{}, err
	}
	dirs := make([]string, len(rec.Directions))
	for i, d := range rec.Directions {
		if d != retune.Minimize && d != retune.Maximize {
			return retune.StudyRecord{}, fmt.Errorf("%w: study %q: direction %d is %v: want minimize or maximize", retune.ErrInvalid, rec.Name, i, d)
		}
		dirs[i] = d.String()
	}
	metrics := rec.Metrics
	if metrics == nil {
		metrics = []string{}
	}
	var enc [4][]byte
	for i, v := range []any{dirs, metrics, rec.Sampler, rec.Pruner} {
		b, err := json.Marshal(v)
		if err != nil {
			return retune.StudyRecord{}, fmt.Errorf("%w: study %q: %v", retune.ErrInvalid, rec.Name, err)
		}
		enc[i] = b
	}
	userJSON, err := attrsJSON(rec.UserAttrs)
	if err != nil {
		return retune.StudyRecord{}, err
	}
	sysJSON, err := attrsJSON(rec.SystemAttrs)
	if err != nil {
		return retune.StudyRecord{}, err
	}
	var out retune.StudyRecord
	err = s.write(ctx, func(tx *txn) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM studies WHERE name = ?`, rec.Name).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: create study %q: %w", rec.Name, err)
		}
		if n > 0 {
			return fmt.Errorf("study %q exists: %w", rec.Name, retune.ErrConflict)
		}
		created := nowNanos()
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO studies (name, directions, metrics, model, seed, sampler, pruner,
			budget_trials, budget_retries, user_attrs, system_attrs, created, definition)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			rec.Name, string(enc[0]), string(enc[1]), rec.Model, int64(rec.Seed), string(enc[2]), string(enc[3]),
			rec.Budget.Trials, rec.Budget.Retries, string(userJSON), string(sysJSON), created, string(rec.Definition)).Scan(&id)
		if err != nil {
			return fmt.Errorf("sqlite: create study %q: %w", rec.Name, err)
		}
		out, err = scanStudy(tx.QueryRowContext(ctx, `SELECT `+studyCols+` FROM studies WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return retune.StudyRecord{}, err
	}
	return out, nil
}

func scanStudy(row interface{ Scan(...any) error }) (retune.StudyRecord, error) {
	var (
		rec                                            retune.StudyRecord
		dirs, metrics, sampler, pruner, user, sys, def []byte
		seed, created                                  int64
	)
	err := row.Scan(&rec.ID, &rec.Name, &dirs, &metrics, &rec.Model, &seed, &sampler, &pruner,
		&rec.Budget.Trials, &rec.Budget.Retries, &user, &sys, &created, &def)
	if err != nil {
		return rec, err
	}
	if len(def) > 0 {
		rec.Definition = json.RawMessage(def)
	}
	rec.Seed = uint64(seed)
	rec.Created = fromNanos(sql.NullInt64{Int64: created, Valid: true})
	var names []string
	if err := json.Unmarshal(dirs, &names); err != nil {
		return rec, fmt.Errorf("%w: study %q: stored directions %s: %v", retune.ErrInvalid, rec.Name, dirs, err)
	}
	if len(names) > 0 {
		rec.Directions = make([]retune.Direction, len(names))
	}
	for i, n := range names {
		if rec.Directions[i], err = retune.ParseDirection(n); err != nil {
			return rec, fmt.Errorf("study %q: stored directions: %w", rec.Name, err)
		}
	}
	if err := json.Unmarshal(metrics, &rec.Metrics); err != nil {
		return rec, fmt.Errorf("%w: study %q: stored metrics %s: %v", retune.ErrInvalid, rec.Name, metrics, err)
	}
	if len(rec.Metrics) == 0 {
		rec.Metrics = nil
	}
	if err := json.Unmarshal(sampler, &rec.Sampler); err != nil {
		return rec, fmt.Errorf("%w: study %q: stored sampler %s: %v", retune.ErrInvalid, rec.Name, sampler, err)
	}
	if err := json.Unmarshal(pruner, &rec.Pruner); err != nil {
		return rec, fmt.Errorf("%w: study %q: stored pruner %s: %v", retune.ErrInvalid, rec.Name, pruner, err)
	}
	if rec.UserAttrs, err = codec.UnmarshalAttrs(user); err != nil {
		return rec, fmt.Errorf("study %q: %w", rec.Name, err)
	}
	if rec.SystemAttrs, err = codec.UnmarshalAttrs(sys); err != nil {
		return rec, fmt.Errorf("study %q: %w", rec.Name, err)
	}
	return rec, nil
}

// Study implements retune.StudyStore.
func (s *Store) Study(ctx context.Context, name string) (retune.StudyRecord, error) {
	rec, err := scanStudy(s.r.QueryRowContext(ctx, `SELECT `+studyCols+` FROM studies WHERE name = ?`, name))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return retune.StudyRecord{}, fmt.Errorf("study %q: %w", name, retune.ErrNotFound)
	case err != nil:
		return retune.StudyRecord{}, fmt.Errorf("sqlite: read study %q: %w", name, err)
	}
	return rec, nil
}

// Studies implements retune.StudyStore. It counts every study's trials, so it reads the
// state index of the whole trials table.
func (s *Store) Studies(ctx context.Context) ([]retune.StudySummary, error) {
	var out []retune.StudySummary
	err := s.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+studyCols+` FROM studies ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		byID := map[int64]int{}
		for rows.Next() {
			rec, err := scanStudy(rows)
			if err != nil {
				return err
			}
			byID[rec.ID] = len(out)
			out = append(out, retune.StudySummary{StudyRecord: rec})
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT study_id, state, count(*) FROM trials GROUP BY study_id, state`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var state retune.TrialState
			var n int
			if err := rows.Scan(&id, &state, &n); err != nil {
				return err
			}
			i, ok := byID[id]
			if !ok {
				continue
			}
			sum := &out[i]
			switch state {
			case retune.TrialWaiting:
				sum.Waiting = n
			case retune.TrialRunning:
				sum.Running = n
			case retune.TrialComplete:
				sum.Complete = n
			case retune.TrialPruned:
				sum.Pruned = n
			case retune.TrialFail:
				sum.Failed = n
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range out {
			sum := &out[i]
			if len(sum.Directions) != 1 || sum.Complete == 0 {
				continue
			}
			agg := "min"
			if sum.Directions[0] == retune.Maximize {
				agg = "max"
			}
			var best sql.NullFloat64
			// Feasible trials only: every stored constraint value a number <= 0.
			err := tx.QueryRowContext(ctx, `SELECT `+agg+`(value0) FROM trials WHERE study_id = ? AND state = ? AND kind = ?
				AND NOT EXISTS (SELECT 1 FROM json_each(system_attrs, '$.constraints') WHERE type NOT IN ('integer', 'real') OR value > 0)`,
				sum.ID, retune.TrialComplete, retune.KindSearch).Scan(&best)
			if err != nil {
				return err
			}
			if best.Valid {
				v := best.Float64
				sum.Best = &v
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: list studies: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// UpdateStudy implements retune.StudyStore.
func (s *Store) UpdateStudy(ctx context.Context, id int64, upd retune.StudyUpdate) error {
	if err := upd.Validate(); err != nil {
		return err
	}
	user, err := encodeAttrs(upd.UserAttrs)
	if err != nil {
		return err
	}
	sys, err := encodeAttrs(upd.SystemAttrs)
	if err != nil {
		return err
	}
	var specs [2][]byte
	for i, sp := range []*retune.Spec{upd.Sampler, upd.Pruner} {
		if sp == nil {
			continue
		}
		if specs[i], err = json.Marshal(sp); err != nil {
			return fmt.Errorf("%w: study id %d: %v", retune.ErrInvalid, id, err)
		}
	}
	return s.write(ctx, func(tx *txn) error {
		var oldUser, oldSys []byte
		err := tx.QueryRowContext(ctx, `SELECT user_attrs, system_attrs FROM studies WHERE id = ?`, id).Scan(&oldUser, &oldSys)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("study id %d: %w", id, retune.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqlite: update study id %d: %w", id, err)
		}
		newUser, err := mergeRaw(oldUser, user)
		if err != nil {
			return fmt.Errorf("study id %d: user attributes: %w", id, err)
		}
		newSys, err := mergeRaw(oldSys, sys)
		if err != nil {
			return fmt.Errorf("study id %d: system attributes: %w", id, err)
		}
		set := `user_attrs = ?, system_attrs = ?`
		args := []any{string(newUser), string(newSys)}
		if specs[0] != nil {
			set += `, sampler = ?`
			args = append(args, string(specs[0]))
		}
		if specs[1] != nil {
			set += `, pruner = ?`
			args = append(args, string(specs[1]))
		}
		if upd.Definition != nil {
			set += `, definition = ?`
			args = append(args, string(upd.Definition))
		}
		if upd.Budget != nil {
			set += `, budget_trials = ?, budget_retries = ?`
			args = append(args, upd.Budget.Trials, upd.Budget.Retries)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE studies SET `+set+` WHERE id = ?`, append(args, id)...); err != nil {
			return fmt.Errorf("sqlite: update study id %d: %w", id, err)
		}
		return nil
	})
}

// DeleteStudy implements retune.StudyStore. Its trials, their intermediate values and its
// enqueue keys go with it (foreign keys ON DELETE CASCADE); champions, decisions and
// events are kept.
func (s *Store) DeleteStudy(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM studies WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("sqlite: delete study id %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: delete study id %d: %w", id, err)
		} else if n == 0 {
			return fmt.Errorf("study id %d: %w", id, retune.ErrNotFound)
		}
		return nil
	})
}
