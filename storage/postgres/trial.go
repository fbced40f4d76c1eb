package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/codec"
	"github.com/a6b40afc/retune/internal/dbenc"
	"github.com/jackc/pgx/v5"
)

// How writes coordinate.
//
// Every write that allocates trial numbers or spends search budget (CreateTrial, Enqueue,
// ExpireLeases) starts by locking its study's row; every write that finishes trials
// (Finish, ExpireLeases) locks the study's finish counter row (study_finish). Each keeps
// its locks until it commits, so these writes are serialized per study and per counter,
// and because each later statement of the transaction runs on a fresh READ COMMITTED
// snapshot taken after the lock was granted, each one sees everything the previous
// holders committed. Creating and finishing take different rows, so with many workers
// they do not wait for each other. Lock order is always study row, then finish counter
// row, then trial rows; writes that touch a single running trial (Update, Report,
// Heartbeat) lock only that trial's row.

// CreateTrial implements retune.TrialStore.
//
// A request without system attributes is one round trip: the function
// retune_create_trial does what follows in one statement (see oneround.go). Otherwise
// (a claimed trial's system attributes are merged in Go) it is one transaction (a pipeTx)
// in two round trips. The first carries BEGIN and two
// statements: one locks the study row, counting the trial against the budget; the other,
// which runs once the lock is held and so sees every earlier claim, finds and locks the
// lowest-numbered WAITING trial of the kind. The second carries the write and COMMIT: the
// trial is claimed, or else a new one is inserted with the number taken from the study's
// next_number. The claim needs no SKIP LOCKED: claimers
// already take turns on the study row, which they need anyway for the budget and the
// dense numbers, nothing else locks a WAITING trial, and skipping a locked row could only
// make a claimer pass over the lowest one. When the budget is spent or there is nothing
// to claim the transaction rolls back, counters included, so no number is lost. Both
// statements of the first round trip also tell the number the trial will have, so that a
// COMMIT whose reply is lost can be followed by reading the trial back.
func (s *Store) CreateTrial(ctx context.Context, req retune.CreateTrialRequest) (retune.FrozenTrial, error) {
	if err := retune.CheckAskKind(req.Kind); err != nil {
		return retune.FrozenTrial{}, err
	}
	fixed, err := dbenc.Fixed(req.Fixed)
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	system, err := attrPatch(req.System)
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	search := 0
	if req.Kind == retune.KindSearch {
		search = 1
	}
	what := fmt.Sprintf("create trial in study id %d", req.StudyID)
	if len(system) == 0 {
		return s.createOne(ctx, req, fixed, search, what)
	}
	var ft retune.FrozenTrial
	var objs storedObjs
	err = s.pipeTx(ctx, what, func(tx *pipeTx) error {
		var err error
		b := &pgx.Batch{}
		b.Queue(`UPDATE studies SET search_started = search_started + $2 WHERE id = $1
			RETURNING name, budget_trials, search_started - $2, next_number`, req.StudyID, search)
		b.Queue(`SELECT id, number, system_attrs FROM trials WHERE study_id = $1 AND kind = $2 AND state = 0
			ORDER BY number LIMIT 1 FOR UPDATE`, req.StudyID, int16(req.Kind))
		br := tx.SendBatch(ctx, b)
		var name, oldSystem string
		var budget, started, id int64
		var next, waiting int
		studyErr := br.QueryRow().Scan(&name, &budget, &started, &next)
		waitErr := br.QueryRow().Scan(&id, &waiting, &oldSystem)
		if err := br.Close(); err != nil && studyErr == nil {
			return dbErr(what, err)
		}
		switch {
		case errors.Is(studyErr, pgx.ErrNoRows):
			return studyNotFound(req.StudyID)
		case studyErr != nil:
			return dbErr(what, studyErr)
		case search == 1 && budget > 0 && started >= budget:
			return fmt.Errorf("study %q started %d of %d trials: %w", name, started, budget, retune.ErrBudgetExhausted)
		case waitErr == nil:
			tx.Reread(s.rereadCreated(req, waiting, &ft, &objs))
			ft, objs, err = s.claim(ctx, tx, req, id, oldSystem, system)
		case !errors.Is(waitErr, pgx.ErrNoRows):
			err = waitErr
		case req.ClaimOnly:
			return fmt.Errorf("study %q has no waiting %v trial: %w", name, req.Kind, retune.ErrNotFound)
		default:
			tx.Reread(s.rereadCreated(req, next, &ft, &objs))
			ft, objs, err = s.insertRunning(ctx, tx, req, fixed, system)
		}
		if err != nil {
			return dbErr(what, err)
		}
		return nil
	})
	if err == nil && objs.params != "" {
		s.written.put(trialKey{req.StudyID, ft.Number, ft.Lease.Epoch}, objs)
	}
	return ft, err
}

// rereadCreated reads back trial number of req's study into ft, after the transaction
// that made it RUNNING committed without a reply. It is still RUNNING under that lease
// unless the lease has expired since.
func (s *Store) rereadCreated(req retune.CreateTrialRequest, number int, ft *retune.FrozenTrial, objs *storedObjs) func(context.Context) error {
	return func(ctx context.Context) error {
		got, err := s.trial(ctx, req.StudyID, number)
		if err != nil {
			return err
		}
		if got.State != retune.TrialRunning {
			return fmt.Errorf("trial %d of study id %d is %v: its lease expired before its start was confirmed: %w", number, req.StudyID, got.State, retune.ErrConflict)
		}
		*ft, *objs = got, storedObjs{} // unknown: Finish takes two round trips
		return nil
	}
}

// claim makes the WAITING trial id (locked) RUNNING under a new lease, and commits.
func (s *Store) claim(ctx context.Context, tx *pipeTx, req retune.CreateTrialRequest, id int64, oldSystem string, system patch) (ft retune.FrozenTrial, objs storedObjs, err error) {
	newSystem, err := system.apply(oldSystem)
	if err != nil {
		return retune.FrozenTrial{}, storedObjs{}, err
	}
	err = tx.CommitWith(ctx, func(r pgx.Row) error { ft, objs, err = scanTrialObjs(r); return err }, `UPDATE trials t SET state = 1, lease_holder = $2,
			lease_epoch = t.lease_epoch + 1, lease_expires = c.now + $3 * interval '1 microsecond',
			started_at = c.now, system_attrs = $4
		FROM (SELECT clock_timestamp() AS now) c
		WHERE t.id = $1
		RETURNING `+trialCols, id, req.Holder, micros(req.LeaseTTL), newSystem)
	return ft, objs, err
}

// insertRunning inserts a new RUNNING trial with the study's next number (its row
// locked), and commits.
func (s *Store) insertRunning(ctx context.Context, tx *pipeTx, req retune.CreateTrialRequest, fixed string, system patch) (ft retune.FrozenTrial, objs storedObjs, err error) {
	newSystem, err := system.apply("{}")
	if err != nil {
		return retune.FrozenTrial{}, storedObjs{}, err
	}
	err = tx.CommitWith(ctx, func(r pgx.Row) error { ft, objs, err = scanTrialObjs(r); return err }, `WITH n AS (
			UPDATE studies SET next_number = next_number + 1 WHERE id = $1
			RETURNING next_number - 1 AS number, clock_timestamp() AS now)
		INSERT INTO trials AS t (study_id, number, kind, state, fixed, system_attrs,
			lease_holder, lease_epoch, lease_expires, started_at)
		SELECT $1, n.number, $2, 1, $3, $4, $5, 1, n.now + $6 * interval '1 microsecond', n.now FROM n
		RETURNING `+trialCols, req.StudyID, int16(req.Kind), fixed, newSystem, req.Holder, micros(req.LeaseTTL))
	return ft, objs, err
}

// Enqueue implements retune.TrialStore. The numbers come from the study row, like
// CreateTrial's; the once key is recorded in the same transaction, under the same lock,
// so of concurrent enqueues under one key exactly one adds trials.
func (s *Store) Enqueue(ctx context.Context, req retune.EnqueueRequest) ([]int, error) {
	if err := retune.CheckAskKind(req.Kind); err != nil {
		return nil, err
	}
	fixed, err := dbenc.Enqueued(req)
	if err != nil {
		return nil, err
	}
	sys, err := dbenc.EnqueuedSystem(req)
	if err != nil {
		return nil, err
	}
	if sys == nil {
		sys = make([]string, len(fixed))
		for i := range sys {
			sys[i] = "{}"
		}
	}
	what := fmt.Sprintf("enqueue in study id %d", req.StudyID)
	var nums []int
	errOnce := errors.New("enqueued under this key before")
	err = s.tx(ctx, what, func(tx dbtx) error {
		var first int
		err := tx.QueryRow(ctx, `UPDATE studies SET next_number = next_number + $2 WHERE id = $1
			RETURNING next_number - $2`, req.StudyID, len(fixed)).Scan(&first)
		if errors.Is(err, pgx.ErrNoRows) {
			return studyNotFound(req.StudyID)
		}
		if err != nil {
			return dbErr(what, err)
		}
		if req.OnceKey != "" {
			tag, err := tx.Exec(ctx, `INSERT INTO enqueue_keys (study_id, once_key) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, req.StudyID, req.OnceKey)
			if err != nil {
				return dbErr(what, err)
			}
			if tag.RowsAffected() == 0 {
				return errOnce
			}
		}
		if len(fixed) > 0 {
			_, err = tx.Exec(ctx, `INSERT INTO trials (study_id, number, kind, state, fixed, system_attrs)
				SELECT $1, $2 + u.i - 1, $3, 0, u.f, u.y FROM unnest($4::text[], $5::text[]) WITH ORDINALITY AS u(f, y, i)`,
				req.StudyID, first, int16(req.Kind), fixed, sys)
			if err != nil {
				return dbErr(what, err)
			}
		}
		nums = make([]int, len(fixed))
		for i := range nums {
			nums[i] = first + i
		}
		return nil
	})
	if errors.Is(err, errOnce) {
		return nil, nil
	}
	return nums, err
}

// fenceFailure explains why a fenced write of ref matched no row.
func (s *Store) fenceFailure(ctx context.Context, q querier, ref retune.TrialRef) error {
	var name string
	var state *int16
	var epoch *int64
	err := q.QueryRow(ctx, `SELECT s.name, t.state, t.lease_epoch
		FROM studies s LEFT JOIN trials t ON t.study_id = s.id AND t.number = $2
		WHERE s.id = $1`, ref.StudyID, ref.Number).Scan(&name, &state, &epoch)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return studyNotFound(ref.StudyID)
	case err != nil:
		return dbErr(fmt.Sprintf("read trial %d of study id %d", ref.Number, ref.StudyID), err)
	case state == nil:
		return fmt.Errorf("trial %d of study %q: %w", ref.Number, name, retune.ErrNotFound)
	}
	if err := ref.Fence(name, retune.TrialState(*state), *epoch); err != nil {
		return err
	}
	return fmt.Errorf("trial %d of study %q changed during the write: %w", ref.Number, name, retune.ErrConflict)
}

type querier interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}

// lockRunning locks ref's trial row, if ref's lease is current, and returns its id and
// stored objects for a merge; otherwise it returns the fence error.
func (s *Store) lockRunning(ctx context.Context, tx dbtx, ref retune.TrialRef) (id int64, params, user, system string, err error) {
	err = tx.QueryRow(ctx, lockRunningSQL, ref.StudyID, ref.Number, ref.Epoch).Scan(&id, &params, &user, &system)
	if errors.Is(err, pgx.ErrNoRows) {
		err = s.fenceFailure(ctx, tx, ref)
	} else if err != nil {
		err = dbErr(fmt.Sprintf("lock trial %d of study id %d", ref.Number, ref.StudyID), err)
	}
	return id, params, user, system, err
}

const lockRunningSQL = `SELECT id, params, user_attrs, system_attrs FROM trials
	WHERE study_id = $1 AND number = $2 AND state = 1 AND lease_epoch = $3 FOR NO KEY UPDATE`

// merged applies the three patches of a trial write to the stored objects.
func merged(enc dbenc.Patches, oldParams, oldUser, oldSystem string) (p, u, sys string, err error) {
	params, err := enc.Params()
	if err != nil {
		return
	}
	if p, err = patch(params).apply(oldParams); err != nil {
		return
	}
	if u, err = patch(enc.UserAttrs).apply(oldUser); err != nil {
		return
	}
	sys, err = patch(enc.SystemAttrs).apply(oldSystem)
	return
}

// Update implements retune.TrialStore.
func (s *Store) Update(ctx context.Context, upd retune.TrialUpdate) error {
	enc, err := dbenc.Update(upd)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("update trial %d of study id %d", upd.Ref.Number, upd.Ref.StudyID)
	var written storedObjs
	err = s.tx(ctx, what, func(tx dbtx) error {
		id, oldParams, oldUser, oldSystem, err := s.lockRunning(ctx, tx, upd.Ref)
		if err != nil {
			return err
		}
		newParams, newUser, newSystem, err := merged(enc, oldParams, oldUser, oldSystem)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE trials SET params = $2, user_attrs = $3, system_attrs = $4 WHERE id = $1`,
			id, newParams, newUser, newSystem); err != nil {
			return dbErr(what, err)
		}
		written = storedObjs{newParams, newUser, newSystem}
		return nil
	})
	if err == nil {
		s.written.put(trialKey{upd.Ref.StudyID, upd.Ref.Number, upd.Ref.Epoch}, written)
	}
	return err
}

// Report implements retune.TrialStore. The fence check and the write are one statement;
// FOR SHARE keeps the trial from finishing until the value is in.
func (s *Store) Report(ctx context.Context, ref retune.TrialRef, step int64, values []float64) error {
	if step < 0 {
		return fmt.Errorf("%w: step %d: want >= 0", retune.ErrInvalid, step)
	}
	vals := string(codec.MarshalFloats(values))
	return s.retry(ctx, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO trial_intermediate (trial_id, step, vals)
			SELECT t.id, $4, $5 FROM trials t
			WHERE t.study_id = $1 AND t.number = $2 AND t.state = 1 AND t.lease_epoch = $3
			FOR SHARE
			ON CONFLICT (trial_id, step) DO UPDATE SET vals = excluded.vals`,
			ref.StudyID, ref.Number, ref.Epoch, step, vals)
		if err != nil {
			return dbErr(fmt.Sprintf("report step %d of trial %d of study id %d", step, ref.Number, ref.StudyID), err)
		}
		if tag.RowsAffected() == 0 {
			return s.fenceFailure(ctx, s.pool, ref)
		}
		return nil
	})
}

// ReportMany implements retune.BatchReporter: one statement, as Report, whatever the number
// of steps. A step given twice is sent once, with its last values (an upsert may not touch
// a row twice).
func (s *Store) ReportMany(ctx context.Context, ref retune.TrialRef, steps []retune.StepValues) error {
	if len(steps) == 0 {
		return nil
	}
	at := make(map[int64]int, len(steps))
	nums := make([]int64, 0, len(steps))
	vals := make([]string, 0, len(steps))
	for _, sv := range steps {
		if sv.Step < 0 {
			return fmt.Errorf("%w: step %d: want >= 0", retune.ErrInvalid, sv.Step)
		}
		v := string(codec.MarshalFloats(sv.Values))
		if i, ok := at[sv.Step]; ok {
			vals[i] = v
			continue
		}
		at[sv.Step] = len(nums)
		nums = append(nums, sv.Step)
		vals = append(vals, v)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO trial_intermediate (trial_id, step, vals)
		SELECT t.id, r.step, r.vals FROM trials t, unnest($4::bigint[], $5::text[]) AS r (step, vals)
		WHERE t.study_id = $1 AND t.number = $2 AND t.state = 1 AND t.lease_epoch = $3
		FOR SHARE OF t
		ON CONFLICT (trial_id, step) DO UPDATE SET vals = excluded.vals`,
		ref.StudyID, ref.Number, ref.Epoch, nums, vals)
	if err != nil {
		return dbErr(fmt.Sprintf("report %d steps of trial %d of study id %d", len(nums), ref.Number, ref.StudyID), err)
	}
	if tag.RowsAffected() == 0 {
		return s.fenceFailure(ctx, s.pool, ref)
	}
	return nil
}

// Heartbeat implements retune.TrialStore. The new expiry is the database's clock plus ttl.
func (s *Store) Heartbeat(ctx context.Context, ref retune.TrialRef, ttl time.Duration) (time.Time, error) {
	var expires time.Time
	var stop bool
	err := s.retry(ctx, func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, `UPDATE trials SET lease_expires = clock_timestamp() + $4 * interval '1 microsecond'
			WHERE study_id = $1 AND number = $2 AND state = 1 AND lease_epoch = $3
			RETURNING lease_expires, strpos(system_attrs, 'stop_requested') > 0 AND coalesce((system_attrs::jsonb ->> 'stop_requested')::boolean, false)`,
			ref.StudyID, ref.Number, ref.Epoch, micros(ttl)).Scan(&expires, &stop)
		if errors.Is(err, pgx.ErrNoRows) {
			return s.fenceFailure(ctx, s.pool, ref)
		}
		if err != nil {
			return dbErr(fmt.Sprintf("heartbeat trial %d of study id %d", ref.Number, ref.StudyID), err)
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	if stop {
		return expires.UTC(), fmt.Errorf("trial %d: %w", ref.Number, retune.ErrStopRequested)
	}
	return expires.UTC(), nil
}

// RequestStop implements retune.StopStore.
func (s *Store) RequestStop(ctx context.Context, studyID int64, number int) error {
	what := fmt.Sprintf("stop trial %d of study id %d", number, studyID)
	return s.retry(ctx, func(ctx context.Context) error {
		var name string
		var state *int16
		err := s.pool.QueryRow(ctx, `WITH u AS (
				UPDATE trials SET system_attrs = (system_attrs::jsonb || '{"stop_requested": true}')::text
				WHERE study_id = $1 AND number = $2 AND state = 1
					AND coalesce((system_attrs::jsonb ->> 'stop_requested')::boolean, false) IS NOT TRUE
				RETURNING 1)
			SELECT s.name, t.state FROM studies s LEFT JOIN trials t ON t.study_id = s.id AND t.number = $2
			WHERE s.id = $1`, studyID, number).Scan(&name, &state)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return studyNotFound(studyID)
		case err != nil:
			return dbErr(what, err)
		case state == nil:
			return fmt.Errorf("trial %d of study %q: %w", number, name, retune.ErrNotFound)
		case retune.TrialState(*state) != retune.TrialRunning:
			return fmt.Errorf("%w: trial %d of study %q is %v: only a RUNNING trial can be stopped", retune.ErrConflict, number, name, retune.TrialState(*state))
		}
		return nil
	})
}

// Finish implements retune.TrialStore.
//
// The trial's finish_seq comes from its study's finish counter row, incremented by this
// transaction, which holds the row's lock until it commits. The next finisher of the study
// can read the counter only after that commit, so finish_seq order is commit order. A
// PostgreSQL sequence would not do: it hands out numbers when a row is written, not when
// it commits, and a reader could see finish 8 committed while 7 is still in flight, move
// its cursor past 7 and never see it. Here a reader that sees finish_seq n sees every
// smaller one.
//
// The epoch fence makes a second run of a Finish that committed fail with ErrConflict;
// when the reply to its COMMIT is lost, the transaction's own outcome decides instead
// (see the package doc), and the finished trial is read back.
//
// When this Store wrote the trial last (created or updated it) and the finish gives no
// budget back, the same is one statement (retune_finish_trial, see oneround.go), merging
// into the objects as written and only if they are still stored; if not, the
// two-round-trip transaction below runs.
func (s *Store) Finish(ctx context.Context, req retune.FinishRequest) (retune.FrozenTrial, error) {
	enc, err := dbenc.Finish(req)
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	vals := finishValues(req)
	ref := req.Ref
	what := fmt.Sprintf("finish trial %d of study id %d", ref.Number, ref.StudyID)
	if objs, ok := s.written.take(trialKey{ref.StudyID, ref.Number, ref.Epoch}); ok && !req.Interrupted {
		ft, err := s.finishOne(ctx, req, enc, objs, what)
		if !errors.Is(err, errChanged) {
			return ft, err
		}
	}
	var ft retune.FrozenTrial
	err = s.pipeTx(ctx, what, func(tx *pipeTx) error {
		tx.Reread(func(ctx context.Context) (err error) {
			ft, err = s.trial(ctx, ref.StudyID, ref.Number)
			return err
		})
		// Lock the finish counter row, then the trial's: one round trip with BEGIN, in that order.
		// An interrupted search trial first gives its place in the budget back, locking the
		// study row before the others as CreateTrial and ExpireLeases do (if the fence then
		// fails, the transaction rolls back with it).
		b := &pgx.Batch{}
		if req.Interrupted {
			b.Queue(`UPDATE studies SET search_started = search_started - 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM trials
				WHERE study_id = $1 AND number = $2 AND kind = $3 AND state = 1 AND lease_epoch = $4)`,
				ref.StudyID, ref.Number, int16(retune.KindSearch), ref.Epoch)
		}
		b.Queue(`UPDATE study_finish SET finish_seq = finish_seq + 1 WHERE study_id = $1 RETURNING finish_seq`, ref.StudyID)
		b.Queue(lockRunningSQL, ref.StudyID, ref.Number, ref.Epoch)
		br := tx.SendBatch(ctx, b)
		var seq, id int64
		var oldParams, oldUser, oldSystem string
		if req.Interrupted {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return dbErr(what, err)
			}
		}
		studyErr := br.QueryRow().Scan(&seq)
		trialErr := br.QueryRow().Scan(&id, &oldParams, &oldUser, &oldSystem)
		if err := br.Close(); err != nil && studyErr == nil && trialErr == nil {
			return dbErr(what, err)
		}
		switch {
		case errors.Is(studyErr, pgx.ErrNoRows):
			return studyNotFound(ref.StudyID)
		case studyErr != nil:
			return dbErr(what, studyErr)
		case errors.Is(trialErr, pgx.ErrNoRows):
			return s.fenceFailure(ctx, tx, ref)
		case trialErr != nil:
			return dbErr(what, trialErr)
		}
		newParams, newUser, newSystem, err := merged(enc.Patches, oldParams, oldUser, oldSystem)
		if err != nil {
			return err
		}
		// The trial's row is locked: the update returns it, and commits in the same round trip.
		err = tx.CommitWith(ctx, func(r pgx.Row) error { ft, err = scanTrial(r); return err }, `UPDATE trials t SET state = $2, vals = $3, metrics = $4,
				reason = $5, ended_at = clock_timestamp(), params = $6, user_attrs = $7,
				system_attrs = $8, finish_seq = $9
			WHERE t.id = $1
			RETURNING `+trialCols,
			id, int16(req.State), vals, string(enc.Metrics), []byte(req.Reason), newParams, newUser, newSystem, seq)
		if err != nil {
			return dbErr(what, err)
		}
		return nil
	})
	return ft, err
}

// FinishLate implements retune.LateFinisher: the late-tell rule (see retune's late.go)
// in one transaction, which locks the study row, the finish counter and then the trials,
// in the order CreateTrial, Finish and ExpireLeases lock them.
func (s *Store) FinishLate(ctx context.Context, req retune.FinishRequest) (retune.FrozenTrial, error) {
	enc, err := dbenc.Finish(req)
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	ref := req.Ref
	what := fmt.Sprintf("late finish of trial %d of study id %d", ref.Number, ref.StudyID)
	var ft retune.FrozenTrial
	err = s.pipeTx(ctx, what, func(p *pipeTx) error {
		p.Reread(func(ctx context.Context) (err error) {
			ft, err = s.lateOutcome(ctx, ref)
			return err
		})
		// commit sends b with the study's new finish counter, then commits, reading back
		// trial row id as the answer.
		commit := func(b *pgx.Batch, seq, id int64) error {
			b.Queue(`UPDATE study_finish SET finish_seq = $2 WHERE study_id = $1`, ref.StudyID, seq)
			if err := p.conn.SendBatch(ctx, b).Close(); err != nil {
				return dbErr(what, err)
			}
			return p.CommitWith(ctx, func(r pgx.Row) (err error) { ft, err = scanTrial(r); return err },
				`SELECT `+trialCols+` FROM trials t WHERE t.id = $1`, id)
		}
		b := &pgx.Batch{}
		b.Queue(`SELECT name, budget_trials, search_started, next_number FROM studies WHERE id = $1 FOR NO KEY UPDATE`, ref.StudyID)
		b.Queue(`SELECT finish_seq FROM study_finish WHERE study_id = $1 FOR NO KEY UPDATE`, ref.StudyID)
		b.Queue(`SELECT t.id, t.params, t.user_attrs, t.system_attrs, `+trialCols+` FROM trials t WHERE t.study_id = $1 AND t.number = $2 FOR NO KEY UPDATE`, ref.StudyID, ref.Number)
		br := p.SendBatch(ctx, b)
		var (
			name                       string
			budget, started, seq       int64
			next                       int
			id                         int64
			oldParams, oldUser, oldSys string
		)
		studyErr := br.QueryRow().Scan(&name, &budget, &started, &next)
		finishErr := br.QueryRow().Scan(&seq)
		old, trialErr := scanTrial(rowWith{br.QueryRow(), []any{&id, &oldParams, &oldUser, &oldSys}})
		if err := br.Close(); err != nil && studyErr == nil && finishErr == nil && trialErr == nil {
			return dbErr(what, err)
		}
		switch {
		case errors.Is(studyErr, pgx.ErrNoRows) || errors.Is(finishErr, pgx.ErrNoRows):
			return studyNotFound(ref.StudyID)
		case studyErr != nil:
			return dbErr(what, studyErr)
		case finishErr != nil:
			return dbErr(what, finishErr)
		case errors.Is(trialErr, pgx.ErrNoRows):
			return fmt.Errorf("trial %d of study %q: %w", ref.Number, name, retune.ErrNotFound)
		case trialErr != nil:
			return dbErr(what, trialErr)
		}
		if keep, err := req.LateVerdict(name, old); err != nil {
			return err
		} else if keep {
			ft = old
			return p.Commit(ctx)
		}
		b = &pgx.Batch{}
		b.Queue(`SELECT `+trialCols+` FROM trials t WHERE t.study_id = $1 AND t.kind = $2 AND (t.system_attrs::jsonb->>'late_of')::int = $3`,
			ref.StudyID, int16(retune.KindLate), ref.Number)
		b.Queue(`SELECT id, state FROM trials WHERE study_id = $1 AND retry_of = $2 FOR NO KEY UPDATE`, ref.StudyID, ref.Number)
		br = p.conn.SendBatch(ctx, b)
		rec, recErr := scanTrial(br.QueryRow())
		var retryID int64
		var retryState int16
		retryErr := br.QueryRow().Scan(&retryID, &retryState)
		if err := br.Close(); err != nil && (recErr == nil || errors.Is(recErr, pgx.ErrNoRows)) && (retryErr == nil || errors.Is(retryErr, pgx.ErrNoRows)) {
			return dbErr(what, err)
		}
		switch {
		case recErr == nil: // told again
			ft = rec
			return p.Commit(ctx)
		case !errors.Is(recErr, pgx.ErrNoRows):
			return dbErr(what, recErr)
		case retryErr != nil && !errors.Is(retryErr, pgx.ErrNoRows):
			return dbErr(what, retryErr)
		}
		hasRetry := retryErr == nil
		vals := req.Values
		if req.State == retune.TrialPruned && len(vals) == 0 {
			if _, last, ok := old.LastStep(); ok {
				vals = last
			}
		}
		if vals == nil {
			vals = []float64{}
		}
		search := old.Kind == retune.KindSearch
		full := search && budget > 0 && started >= budget
		if (!hasRetry || retune.TrialState(retryState) == retune.TrialWaiting) && !full {
			// Revive the trial; cancel its re-run.
			enc.SystemAttrs = dbenc.With(enc.SystemAttrs, "late", true)
			newParams, newUser, newSys, err := merged(enc.Patches, oldParams, oldUser, oldSys)
			if err != nil {
				return err
			}
			b = &pgx.Batch{}
			seq++
			b.Queue(`UPDATE trials t SET state = $2, vals = $3, metrics = $4, reason = $5, ended_at = clock_timestamp(),
				params = $6, user_attrs = $7, system_attrs = $8, finish_seq = $9 WHERE t.id = $1`,
				id, int16(req.State), vals, string(enc.Metrics), []byte(req.Reason), newParams, newUser, newSys, seq)
			if hasRetry {
				seq++
				b.Queue(`UPDATE trials SET state = 4, reason = $2, ended_at = clock_timestamp(), finish_seq = $3,
					system_attrs = jsonb_set(system_attrs::jsonb, '{interrupted}', 'true')::text WHERE id = $1`,
					retryID, []byte(retune.LateCancelReason(ref.Number)), seq)
			}
			if search {
				b.Queue(`UPDATE studies SET search_started = search_started + 1 WHERE id = $1`, ref.StudyID)
			}
			return commit(b, seq, id)
		}
		// Record the result as a trial of its own, outside the budget.
		enc.SystemAttrs = dbenc.With(enc.SystemAttrs, "late_of", ref.Number)
		newParams, newUser, newSys, err := merged(enc.Patches, oldParams, "{}", "{}")
		if err != nil {
			return err
		}
		fixed, err := dbenc.Fixed(old.Fixed)
		if err != nil {
			return err
		}
		var newID int64
		err = p.conn.QueryRow(ctx, `INSERT INTO trials (study_id, number, kind, state, params, fixed, system_attrs, started_at)
			VALUES ($1, $2, $3, 1, $4, $5, $6, $7) RETURNING id`,
			ref.StudyID, next, int16(retune.KindLate), newParams, fixed, newSys, old.Start).Scan(&newID)
		if err != nil {
			return dbErr(what, err)
		}
		seq++
		b = &pgx.Batch{}
		b.Queue(`UPDATE trials t SET state = $2, vals = $3, metrics = $4, reason = $5, ended_at = clock_timestamp(),
			user_attrs = $6, finish_seq = $7 WHERE t.id = $1`,
			newID, int16(req.State), vals, string(enc.Metrics), []byte(req.Reason), newUser, seq)
		b.Queue(`UPDATE studies SET next_number = next_number + 1 WHERE id = $1`, ref.StudyID)
		return commit(b, seq, newID)
	})
	return ft, err
}

// lateOutcome reads back what a late tell of ref stored when the reply to its COMMIT
// was lost: the KindLate record if there is one, else the trial (revived, or left as it
// was by an interrupted tell).
func (s *Store) lateOutcome(ctx context.Context, ref retune.TrialRef) (retune.FrozenTrial, error) {
	out, _, err := s.readTrialsOnce(ctx, "read a late result", ref.StudyID,
		`t.kind = $2 AND (t.system_attrs::jsonb->>'late_of')::int = $3`, `t.number`, int16(retune.KindLate), ref.Number)
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	if len(out) > 0 {
		return out[0], nil
	}
	return s.trial(ctx, ref.StudyID, ref.Number)
}

// readTrials returns the study's trials that match cond (on alias t, with $2 onwards for
// args), ordered by order, and the study's finish_seq counter, retrying transient
// failures.
func (s *Store) readTrials(ctx context.Context, what string, studyID int64, cond, order string, args ...any) (out []retune.FrozenTrial, finished int64, err error) {
	err = s.retry(ctx, func(ctx context.Context) (err error) {
		out, finished, err = s.readTrialsOnce(ctx, what, studyID, cond, order, args...)
		return err
	})
	return out, finished, err
}

// readTrialsOnce is readTrials without retries. The study check and the trial query go
// in one round trip.
func (s *Store) readTrialsOnce(ctx context.Context, what string, studyID int64, cond, order string, args ...any) ([]retune.FrozenTrial, int64, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT finish_seq FROM study_finish WHERE study_id = $1`, studyID)
	b.Queue(`SELECT `+trialCols+` FROM trials t WHERE t.study_id = $1 AND `+cond+` ORDER BY `+order,
		append([]any{studyID}, args...)...)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	var finished int64
	err := br.QueryRow().Scan(&finished)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, studyNotFound(studyID)
	}
	if err != nil {
		return nil, 0, dbErr(what, err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, 0, dbErr(what, err)
	}
	defer rows.Close()
	out := []retune.FrozenTrial{}
	for rows.Next() {
		ft, err := scanTrial(rows)
		if err != nil {
			return nil, 0, dbErr(what, err)
		}
		out = append(out, ft)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, dbErr(what, err)
	}
	return out, finished, nil
}

// FinishedSince implements retune.TrialStore. The cursor is a finish_seq; see Finish for
// why no trial is skipped.
func (s *Store) FinishedSince(ctx context.Context, studyID int64, cursor int64) ([]retune.FrozenTrial, int64, error) {
	if cursor < 0 {
		return nil, cursor, fmt.Errorf("%w: cursor %d: want >= 0", retune.ErrInvalid, cursor)
	}
	out, finished, err := s.readTrials(ctx, "read finished trials", studyID, `t.finish_seq > $2`, `t.finish_seq`, cursor)
	if err != nil {
		return nil, cursor, err
	}
	if cursor > finished {
		return nil, cursor, fmt.Errorf("%w: cursor %d: want 0 to %d", retune.ErrInvalid, cursor, finished)
	}
	// A study's finish_seq values are 1, 2, 3 … with no gap (a rolled-back finish takes
	// its increment with it), so the trials read are cursor+1 … cursor+len(out). The query
	// ran after the counter was read and may have found more than finished.
	return out, cursor + int64(len(out)), nil
}

// Running implements retune.TrialStore.
func (s *Store) Running(ctx context.Context, studyID int64) ([]retune.FrozenTrial, error) {
	out, _, err := s.readTrials(ctx, "read running trials", studyID, `t.state = 1`, `t.number`)
	return out, err
}

// RunningExcept implements retune.RunningExcepter.
func (s *Store) RunningExcept(ctx context.Context, studyID int64, except []int) ([]retune.FrozenTrial, error) {
	numbers := make([]int32, len(except))
	for i, n := range except {
		numbers[i] = int32(n)
	}
	out, _, err := s.readTrials(ctx, "read running trials", studyID, `t.state = 1 AND t.number <> ALL($2::integer[])`, `t.number`, numbers)
	return out, err
}

// Trials implements retune.TrialStore.
func (s *Store) Trials(ctx context.Context, studyID int64) ([]retune.FrozenTrial, error) {
	out, _, err := s.readTrials(ctx, "read trials", studyID, `true`, `t.number`)
	return out, err
}

// Trial implements retune.TrialStore.
func (s *Store) Trial(ctx context.Context, studyID int64, number int) (ft retune.FrozenTrial, err error) {
	err = s.retry(ctx, func(ctx context.Context) (err error) {
		ft, err = s.trial(ctx, studyID, number)
		return err
	})
	return ft, err
}

// trial is Trial without retries.
func (s *Store) trial(ctx context.Context, studyID int64, number int) (retune.FrozenTrial, error) {
	const what = "read trial"
	out, _, err := s.readTrialsOnce(ctx, what, studyID, `t.number = $2`, `t.number`, number)
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	if len(out) == 0 {
		var name string
		err := s.pool.QueryRow(ctx, `SELECT name FROM studies WHERE id = $1`, studyID).Scan(&name)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return retune.FrozenTrial{}, fmt.Errorf("trial %d of study id %d: %w", number, studyID, retune.ErrNotFound)
		case err != nil:
			return retune.FrozenTrial{}, dbErr(what, err)
		}
		return retune.FrozenTrial{}, fmt.Errorf("trial %d of study %q: %w", number, name, retune.ErrNotFound)
	}
	return out[0], nil
}

// ExpireLeases implements retune.TrialStore. Expiry is judged by the database clock. A
// first read, without locks, returns early when no lease has expired (the common case,
// as every process calls this now and then); otherwise one transaction locks the study
// row, fails the expired trials (skipping any whose row a heartbeat or report holds right
// now: they are alive), gives them finish sequence numbers, and enqueues their retries.
func (s *Store) ExpireLeases(ctx context.Context, studyID int64) (int, error) {
	what := fmt.Sprintf("expire leases in study id %d", studyID)
	var expired bool
	err := s.retry(ctx, func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM trials t
				WHERE t.study_id = s.id AND t.state = 1 AND t.lease_expires < clock_timestamp())
			FROM studies s WHERE s.id = $1`, studyID).Scan(&expired)
		if errors.Is(err, pgx.ErrNoRows) {
			return studyNotFound(studyID)
		}
		if err != nil {
			return dbErr(what, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if !expired {
		return 0, nil
	}
	n := 0
	err = s.tx(ctx, what, func(tx dbtx) error {
		var retries, seq int64
		var next int
		// The study row (retry budget, numbers), then the finish counter's row.
		b := &pgx.Batch{}
		b.Queue(`SELECT budget_retries, next_number FROM studies WHERE id = $1 FOR NO KEY UPDATE`, studyID)
		b.Queue(`SELECT finish_seq FROM study_finish WHERE study_id = $1 FOR NO KEY UPDATE`, studyID)
		br := tx.SendBatch(ctx, b)
		studyErr := br.QueryRow().Scan(&retries, &next)
		finishErr := br.QueryRow().Scan(&seq)
		if err := br.Close(); err != nil && studyErr == nil && finishErr == nil {
			return dbErr(what, err)
		}
		switch {
		case errors.Is(studyErr, pgx.ErrNoRows) || errors.Is(finishErr, pgx.ErrNoRows):
			return studyNotFound(studyID)
		case studyErr != nil:
			return dbErr(what, studyErr)
		case finishErr != nil:
			return dbErr(what, finishErr)
		}
		rows, err := tx.Query(ctx, `SELECT t.id, t.retry_depth, `+trialCols+` FROM trials t
			WHERE t.study_id = $1 AND t.state = 1 AND t.lease_expires < clock_timestamp()
			ORDER BY t.number FOR UPDATE SKIP LOCKED`, studyID)
		if err != nil {
			return dbErr(what, err)
		}
		search := 0 // expired search trials give their places in the budget back
		var (
			ids, seqs                      []int64
			retryNums, retryOf, retryDepth []int32
			retryKinds                     []int16
			retryFixed                     []string
		)
		for rows.Next() {
			var id int64
			var depth int32
			ft, err := scanTrial(rowWith{rows, []any{&id, &depth}})
			if err != nil {
				rows.Close()
				return dbErr(what, err)
			}
			seq++
			ids, seqs = append(ids, id), append(seqs, seq)
			if ft.Kind == retune.KindSearch {
				search++
			}
			if int64(depth) < retries {
				fixed, err := dbenc.Fixed(ft.RetryParams())
				if err != nil {
					rows.Close()
					return fmt.Errorf("trial %d: retry params: %w", ft.Number, err)
				}
				retryNums = append(retryNums, int32(next))
				retryOf = append(retryOf, int32(ft.Number))
				retryDepth = append(retryDepth, depth+1)
				retryKinds = append(retryKinds, int16(ft.Kind))
				retryFixed = append(retryFixed, fixed)
				next++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbErr(what, err)
		}
		n = len(ids)
		if n == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE trials t SET state = 4, reason = $3, ended_at = n.now, finish_seq = u.seq
			FROM unnest($1::bigint[], $2::bigint[]) AS u(id, seq), (SELECT clock_timestamp() AS now) n
			WHERE t.id = u.id`, ids, seqs, []byte(retune.ReasonLeaseExpired)); err != nil {
			return dbErr(what, err)
		}
		if len(retryNums) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO trials (study_id, number, kind, state, fixed, retry_of, retry_depth)
				SELECT $1, u.number, u.kind, 0, u.fixed, u.retry_of, u.depth
				FROM unnest($2::integer[], $3::smallint[], $4::text[], $5::integer[], $6::integer[])
					AS u(number, kind, fixed, retry_of, depth)`,
				studyID, retryNums, retryKinds, retryFixed, retryOf, retryDepth); err != nil {
				return dbErr(what, err)
			}
		}
		b = &pgx.Batch{}
		b.Queue(`UPDATE studies SET next_number = $2, search_started = search_started - $3 WHERE id = $1`, studyID, next, search)
		b.Queue(`UPDATE study_finish SET finish_seq = $2 WHERE study_id = $1`, studyID, seq)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return dbErr(what, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// rowWith scans a row whose first columns go to head and the rest to the caller's
// destinations.
type rowWith struct {
	row  pgx.Row
	head []any
}

func (r rowWith) Scan(dest ...any) error { return r.row.Scan(append(r.head, dest...)...) }
