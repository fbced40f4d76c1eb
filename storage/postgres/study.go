package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/codec"
	"github.com/jackc/pgx/v5"
)

const studyCols = `s.id, s.name, s.directions, s.metrics, s.model, s.seed, s.sampler, s.pruner,
	s.budget_trials, s.budget_retries, s.user_attrs, s.system_attrs, s.created_at, s.definition`

func scanStudy(row pgx.Row, extra ...any) (retune.StudyRecord, error) {
	var (
		rec             retune.StudyRecord
		dirs            []int16
		seed            int64
		sampler, pruner string
		trials, retries int64
		user, system    string
		created         time.Time
		def             string
	)
	dest := append([]any{&rec.ID, &rec.Name, &dirs, &rec.Metrics, &rec.Model, &seed, &sampler, &pruner,
		&trials, &retries, &user, &system, &created, &def}, extra...)
	if err := row.Scan(dest...); err != nil {
		return rec, err
	}
	if def != "" {
		rec.Definition = json.RawMessage(def)
	}
	rec.Directions = make([]retune.Direction, len(dirs))
	for i, d := range dirs {
		rec.Directions[i] = retune.Direction(d)
	}
	rec.Seed = uint64(seed)
	rec.Budget = retune.Budget{Trials: int(trials), Retries: int(retries)}
	rec.Created = created.UTC()
	if err := json.Unmarshal([]byte(sampler), &rec.Sampler); err != nil {
		return rec, fmt.Errorf("study %q: sampler spec: %w", rec.Name, err)
	}
	if err := json.Unmarshal([]byte(pruner), &rec.Pruner); err != nil {
		return rec, fmt.Errorf("study %q: pruner spec: %w", rec.Name, err)
	}
	var err error
	if rec.UserAttrs, err = codec.UnmarshalAttrs([]byte(user)); err != nil {
		return rec, fmt.Errorf("study %q: user attributes: %w", rec.Name, err)
	}
	if rec.SystemAttrs, err = codec.UnmarshalAttrs([]byte(system)); err != nil {
		return rec, fmt.Errorf("study %q: system attributes: %w", rec.Name, err)
	}
	return rec, nil
}

func encodeSpec(what string, sp retune.Spec) (string, error) {
	b, err := json.Marshal(sp)
	if err != nil {
		return "", fmt.Errorf("%w: %s spec %q: options are not JSON-encodable: %v", retune.ErrInvalid, what, sp.Name, err)
	}
	return string(b), nil
}

// CreateStudy implements retune.StudyStore.
func (s *Store) CreateStudy(ctx context.Context, rec retune.StudyRecord) (retune.StudyRecord, error) {
	if err := rec.Validate(); err != nil {
		return retune.StudyRecord{}, err
	}
	user, userDec, err := encodeAttrs(rec.UserAttrs)
	if err != nil {
		return retune.StudyRecord{}, err
	}
	system, systemDec, err := encodeAttrs(rec.SystemAttrs)
	if err != nil {
		return retune.StudyRecord{}, err
	}
	sampler, err := encodeSpec("sampler", rec.Sampler)
	if err != nil {
		return retune.StudyRecord{}, err
	}
	pruner, err := encodeSpec("pruner", rec.Pruner)
	if err != nil {
		return retune.StudyRecord{}, err
	}
	dirs := make([]int16, len(rec.Directions))
	for i, d := range rec.Directions {
		dirs[i] = int16(d)
	}
	var created time.Time
	var reread *retune.StudyRecord
	what := fmt.Sprintf("create study %q", rec.Name)
	// The study and its finish counter's row, in one statement, in a transaction of its
	// own so that a lost COMMIT can be checked.
	err = s.pipeTx(ctx, what, func(tx *pipeTx) error {
		if err := tx.Begin(ctx); err != nil {
			return dbErr(what, err)
		}
		tx.Reread(func(ctx context.Context) error {
			stored, err := scanStudy(s.pool.QueryRow(ctx, `SELECT `+studyCols+` FROM studies s WHERE s.name = $1`, rec.Name))
			if err != nil {
				return dbErr(what, err)
			}
			reread = &stored
			return nil
		})
		err := tx.CommitWith(ctx, func(r pgx.Row) error { return r.Scan(&rec.ID, &created) }, `WITH s AS (
				INSERT INTO studies (name, directions, metrics, model, seed, sampler, pruner,
					budget_trials, budget_retries, user_attrs, system_attrs, created_at, definition)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, clock_timestamp(), $12)
				ON CONFLICT (name) DO NOTHING
				RETURNING id, created_at),
			f AS (INSERT INTO study_finish (study_id) SELECT id FROM s)
			SELECT id, created_at FROM s`,
			rec.Name, dirs, rec.Metrics, rec.Model, int64(rec.Seed), sampler, pruner,
			rec.Budget.Trials, rec.Budget.Retries, user, system, string(rec.Definition))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("study %q exists: %w", rec.Name, retune.ErrConflict)
		}
		if err != nil {
			return dbErr(what, err)
		}
		return nil
	})
	switch {
	case err != nil:
		return retune.StudyRecord{}, err
	case reread != nil:
		return *reread, nil
	}
	rec.Created = created.UTC()
	rec.UserAttrs, rec.SystemAttrs = userDec, systemDec
	rec.Directions = append([]retune.Direction(nil), rec.Directions...)
	if rec.Metrics != nil {
		rec.Metrics = append([]string{}, rec.Metrics...)
	}
	return rec, nil
}

// Study implements retune.StudyStore.
func (s *Store) Study(ctx context.Context, name string) (rec retune.StudyRecord, err error) {
	err = s.retry(ctx, func(ctx context.Context) (err error) {
		rec, err = scanStudy(s.pool.QueryRow(ctx, `SELECT `+studyCols+` FROM studies s WHERE s.name = $1`, name))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("study %q: %w", name, retune.ErrNotFound)
		}
		if err != nil {
			return dbErr(fmt.Sprintf("read study %q", name), err)
		}
		return nil
	})
	if err != nil {
		return retune.StudyRecord{}, err
	}
	return rec, nil
}

// feasibleSQL holds for a trial t whose stored constraint values are all numbers <= 0
// (retune.FrozenTrial.Feasible), or that has none.
const feasibleSQL = `NOT jsonb_path_exists(t.system_attrs::jsonb, '$.constraints[*] ? (@.type() != "number" || @ > 0)')`

// Studies implements retune.StudyStore.
func (s *Store) Studies(ctx context.Context) (out []retune.StudySummary, err error) {
	err = s.retry(ctx, func(ctx context.Context) (err error) {
		out, err = s.studies(ctx)
		return err
	})
	return out, err
}

func (s *Store) studies(ctx context.Context) ([]retune.StudySummary, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+studyCols+`,
			count(*) FILTER (WHERE t.state = 0), count(*) FILTER (WHERE t.state = 1),
			count(*) FILTER (WHERE t.state = 2), count(*) FILTER (WHERE t.state = 3),
			count(*) FILTER (WHERE t.state = 4),
			CASE WHEN cardinality(s.directions) <> 1 THEN NULL
			     WHEN s.directions[1] = 0 THEN min(t.vals[1]) FILTER (WHERE t.state = 2 AND t.kind = 0 AND `+feasibleSQL+`)
			     ELSE max(t.vals[1]) FILTER (WHERE t.state = 2 AND t.kind = 0 AND `+feasibleSQL+`) END
		FROM studies s LEFT JOIN trials t ON t.study_id = s.id
		GROUP BY s.id
		ORDER BY s.name`)
	if err != nil {
		return nil, dbErr("list studies", err)
	}
	defer rows.Close()
	out := []retune.StudySummary{}
	for rows.Next() {
		var sum retune.StudySummary
		var waiting, running, complete, pruned, failed int64
		rec, err := scanStudy(rows, &waiting, &running, &complete, &pruned, &failed, &sum.Best)
		if err != nil {
			return nil, dbErr("list studies", err)
		}
		sum.StudyRecord = rec
		sum.Waiting, sum.Running, sum.Complete, sum.Pruned, sum.Failed = int(waiting), int(running), int(complete), int(pruned), int(failed)
		out = append(out, sum)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("list studies", err)
	}
	return out, nil
}

// UpdateStudy implements retune.StudyStore. Attribute updates are merged under the study
// row's lock, so concurrent updates of different keys all survive.
func (s *Store) UpdateStudy(ctx context.Context, id int64, upd retune.StudyUpdate) error {
	if err := upd.Validate(); err != nil {
		return err
	}
	var def *string
	if upd.Definition != nil {
		v := string(upd.Definition)
		def = &v
	}
	user, err := attrPatch(upd.UserAttrs)
	if err != nil {
		return err
	}
	system, err := attrPatch(upd.SystemAttrs)
	if err != nil {
		return err
	}
	var sampler, pruner *string
	var trials, retries *int
	if upd.Sampler != nil {
		v, err := encodeSpec("sampler", *upd.Sampler)
		if err != nil {
			return err
		}
		sampler = &v
	}
	if upd.Pruner != nil {
		v, err := encodeSpec("pruner", *upd.Pruner)
		if err != nil {
			return err
		}
		pruner = &v
	}
	if upd.Budget != nil {
		trials, retries = &upd.Budget.Trials, &upd.Budget.Retries
	}
	what := fmt.Sprintf("update study id %d", id)
	return s.tx(ctx, what, func(tx dbtx) error {
		var oldUser, oldSystem string
		err := tx.QueryRow(ctx, `SELECT user_attrs, system_attrs FROM studies WHERE id = $1 FOR NO KEY UPDATE`, id).Scan(&oldUser, &oldSystem)
		if errors.Is(err, pgx.ErrNoRows) {
			return studyNotFound(id)
		}
		if err != nil {
			return dbErr(what, err)
		}
		newUser, err := user.apply(oldUser)
		if err != nil {
			return err
		}
		newSystem, err := system.apply(oldSystem)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE studies SET
				sampler = coalesce($2, sampler), pruner = coalesce($3, pruner),
				budget_trials = coalesce($4, budget_trials), budget_retries = coalesce($5, budget_retries),
				user_attrs = $6, system_attrs = $7, definition = coalesce($8, definition)
			WHERE id = $1`, id, sampler, pruner, trials, retries, newUser, newSystem, def); err != nil {
			return dbErr(what, err)
		}
		return nil
	})
}

// DeleteStudy implements retune.StudyStore. Trials, intermediate values and enqueue keys
// go with the study (ON DELETE CASCADE); champions, decisions and events are kept.
func (s *Store) DeleteStudy(ctx context.Context, id int64) error {
	what := fmt.Sprintf("delete study id %d", id)
	return s.pipeTx(ctx, what, func(tx *pipeTx) error {
		if err := tx.Begin(ctx); err != nil {
			return dbErr(what, err)
		}
		err := tx.CommitWith(ctx, func(r pgx.Row) error { return r.Scan(new(int64)) }, `DELETE FROM studies WHERE id = $1 RETURNING id`, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return studyNotFound(id)
		}
		if err != nil {
			return dbErr(what, err)
		}
		return nil
	})
}
