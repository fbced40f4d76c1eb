package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/codec"
	"github.com/a6b40afc/retune/internal/dbenc"
)

// The queries of the hot path, named so that a test can check their plans: none of them
// reads more of the trials table than the rows it returns.
const (
	// qClaim finds the lowest-numbered WAITING trial of a kind (index trials_state).
	qClaim = `SELECT id FROM trials INDEXED BY trials_state WHERE study_id = ?1 AND state = ?2 AND kind = ?3 ORDER BY number LIMIT 1`
	// qCreate reads the study row's counters and the trial qClaim finds (NULL for none).
	qCreate = `SELECT name, budget_trials, started, next_number, (` + qClaim + `) FROM studies WHERE id = ?1`
	// qFence reads a trial for a write fenced by its lease, with its study's name.
	qFence = `SELECT s.name, t.id, t.state, t.lease_epoch, t.params, t.user_attrs, t.system_attrs
		FROM studies s LEFT JOIN trials t ON t.study_id = s.id AND t.number = ? WHERE s.id = ?`
)

const trialCols = `t.id, t.number, t.kind, t.state, t.params, t.fixed, t.vals, t.metrics, t.user_attrs,
	t.system_attrs, t.retry_of, t.lease_holder, t.lease_epoch, t.lease_expires, t.reason, t.started, t.ended`

// sel selects trials t: the rows matching where, read through index if it is set
// (INDEXED BY pins the plan: without it, SQLite may read a study's trials in number
// order through the unique index and filter them, which grows with the history).
type sel struct {
	index, where string
}

var (
	selFinishedSince = sel{"trials_finish", `t.study_id = ? AND t.finish_seq > ?`}
	selRunning       = sel{"trials_state", `t.study_id = ? AND t.state = 1`}
	selRunningExcept = sel{"trials_state", `t.study_id = ? AND t.state = 1 AND t.number NOT IN (SELECT value FROM json_each(?))`}
	selExpired       = sel{"trials_state", `t.study_id = ? AND t.state = 1 AND t.lease_expires < ?`}
	selStudy         = sel{"", `t.study_id = ?`}
	selNumber        = sel{"", `t.study_id = ? AND t.number = ?`}
	selID            = sel{"", `t.id = ?`}
)

func (q sel) from() string {
	if q.index == "" {
		return ` FROM trials t`
	}
	return ` FROM trials t INDEXED BY ` + q.index
}

// trials is the query of the trials q selects, ordered by order.
func (q sel) trials(order string) string {
	return `SELECT ` + trialCols + q.from() + ` WHERE ` + q.where + ` ORDER BY ` + order
}

// intermediate is the query of the intermediate values of the trials q selects.
func (q sel) intermediate() string {
	return `SELECT i.trial_id, i.step, i.vals` + q.from() + ` JOIN intermediate i ON i.trial_id = t.id WHERE ` + q.where
}

// qExpiredExists asks whether any RUNNING trial's lease expired before a time.
var qExpiredExists = `SELECT EXISTS (SELECT 1` + selExpired.from() + ` WHERE ` + selExpired.where + `)`

// queryTrials reads the trials q selects, ordered by order, with
// their intermediate values.
func queryTrials(ctx context.Context, tx *txn, q sel, order string, args ...any) ([]retune.FrozenTrial, error) {
	rows, err := tx.QueryContext(ctx, q.trials(order), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read trials: %w", err)
	}
	defer rows.Close()
	out := []retune.FrozenTrial{}
	byID := map[int64]int{}
	for rows.Next() {
		id, ft, err := scanTrial(rows.Scan)
		if err != nil {
			return nil, err
		}
		byID[id] = len(out)
		out = append(out, ft)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read trials: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	rows, err = tx.QueryContext(ctx, q.intermediate(), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read intermediate values: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, step int64
		var vals []byte
		if err := rows.Scan(&id, &step, &vals); err != nil {
			return nil, fmt.Errorf("sqlite: read intermediate values: %w", err)
		}
		i, ok := byID[id]
		if !ok {
			continue
		}
		v, err := codec.UnmarshalFloats(vals)
		if err != nil {
			return nil, fmt.Errorf("trial %d step %d: %w", out[i].Number, step, err)
		}
		if out[i].Intermediate == nil {
			out[i].Intermediate = map[int64][]float64{}
		}
		out[i].Intermediate[step] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read intermediate values: %w", err)
	}
	return out, nil
}

// scanTrial decodes a row of trialCols, which scan reads.
func scanTrial(scan func(dest ...any) error) (int64, retune.FrozenTrial, error) {
	var (
		id                                      int64
		ft                                      retune.FrozenTrial
		params, fixed, vals, metrics, user, sys []byte
		retryOf, expires, started, ended        sql.NullInt64
	)
	err := scan(&id, &ft.Number, &ft.Kind, &ft.State, &params, &fixed, &vals, &metrics, &user, &sys,
		&retryOf, &ft.Lease.Holder, &ft.Lease.Epoch, &expires, &ft.Reason, &started, &ended)
	if err != nil {
		return 0, ft, fmt.Errorf("sqlite: read trial: %w", err)
	}
	ft.RetryOf = -1
	if retryOf.Valid {
		ft.RetryOf = int(retryOf.Int64)
	}
	ft.Lease.Expires, ft.Start, ft.End = fromNanos(expires), fromNanos(started), fromNanos(ended)
	wrap := func(err error) error { return fmt.Errorf("stored trial %d: %w", ft.Number, err) }
	if string(params) != "{}" {
		if ft.Params, ft.Distributions, err = retune.UnmarshalParams(params); err != nil {
			return 0, ft, wrap(err)
		}
	}
	if ft.Fixed, err = codec.UnmarshalFixed(fixed); err != nil {
		return 0, ft, wrap(err)
	}
	if vals != nil {
		if ft.Values, err = codec.UnmarshalFloats(vals); err != nil {
			return 0, ft, wrap(err)
		}
	}
	if ft.Metrics, err = codec.UnmarshalMetrics(metrics); err != nil {
		return 0, ft, wrap(err)
	}
	if ft.UserAttrs, err = codec.UnmarshalAttrs(user); err != nil {
		return 0, ft, wrap(err)
	}
	if ft.SystemAttrs, err = codec.UnmarshalAttrs(sys); err != nil {
		return 0, ft, wrap(err)
	}
	return id, ft, nil
}

// loadTrial reads one trial by row id.
func loadTrial(ctx context.Context, tx *txn, id int64) (retune.FrozenTrial, error) {
	ts, err := queryTrials(ctx, tx, selID, `t.id`, id)
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	if len(ts) != 1 {
		return retune.FrozenTrial{}, fmt.Errorf("sqlite: trial row %d vanished inside its transaction", id)
	}
	return ts[0], nil
}

// loadTrialRaw is loadTrial in a rawTx.
func loadTrialRaw(tx *rawTx, id int64) (retune.FrozenTrial, error) {
	var ft retune.FrozenTrial
	found := false
	err := tx.query(selID.trials(`t.id`), func(v []driver.Value) (bool, error) {
		var err error
		_, ft, err = scanTrial(scanner(v))
		found = true
		return false, err
	}, id)
	switch {
	case err != nil:
		return ft, fmt.Errorf("sqlite: read trial: %w", err)
	case !found:
		return ft, fmt.Errorf("sqlite: trial row %d vanished inside its transaction", id)
	}
	ft.Intermediate, err = intermediateOf(tx, id)
	if err != nil {
		return ft, fmt.Errorf("trial %d: %w", ft.Number, err)
	}
	return ft, nil
}

// studyName reads a study's name, or fails with ErrNotFound.
func studyName(ctx context.Context, tx *txn, id int64) (string, error) {
	var name string
	err := tx.QueryRowContext(ctx, `SELECT name FROM studies WHERE id = ?`, id).Scan(&name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("study id %d: %w", id, retune.ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("sqlite: read study id %d: %w", id, err)
	}
	return name, nil
}

// CreateTrial implements retune.TrialStore. The budget check, the claim of a WAITING trial
// or the creation of a new one, and the lease are one write transaction; the study row's
// counters give the next number and the started count without reading other trials.
func (s *Store) CreateTrial(ctx context.Context, req retune.CreateTrialRequest) (retune.FrozenTrial, error) {
	if err := retune.CheckAskKind(req.Kind); err != nil {
		return retune.FrozenTrial{}, err
	}
	fixed, err := dbenc.Fixed(req.Fixed)
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	sys, err := encodeAttrs(req.System)
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	var ft retune.FrozenTrial
	err = s.writeRaw(ctx, func(tx *rawTx) error {
		var name string
		var budget, started, next int64
		var claim sql.NullInt64
		err := tx.queryRow(qCreate, []any{&name, &budget, &started, &next, &claim}, req.StudyID, retune.TrialWaiting, req.Kind)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("study id %d: %w", req.StudyID, retune.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqlite: create trial: %w", err)
		}
		search := req.Kind == retune.KindSearch
		if search && budget > 0 && started >= budget {
			return fmt.Errorf("study %q started %d of %d trials: %w", name, started, budget, retune.ErrBudgetExhausted)
		}
		now := nowNanos()
		expires := addNanos(now, req.LeaseTTL)
		id := claim.Int64
		var created *retune.FrozenTrial
		switch {
		case claim.Valid:
			var oldSys []byte
			if err := tx.queryRow(`SELECT system_attrs FROM trials WHERE id = ?`, []any{&oldSys}, id); err != nil {
				return fmt.Errorf("sqlite: claim trial: %w", err)
			}
			newSys, err := mergeRaw(oldSys, sys)
			if err != nil {
				return err
			}
			_, err = tx.exec(`UPDATE trials SET state = ?, started = ?, lease_holder = ?, lease_epoch = lease_epoch + 1,
				lease_expires = ?, system_attrs = ? WHERE id = ?`,
				retune.TrialRunning, now, req.Holder, expires, string(newSys), id)
			if err != nil {
				return fmt.Errorf("sqlite: claim trial: %w", err)
			}
		case req.ClaimOnly:
			return fmt.Errorf("study %q has no waiting %v trial: %w", name, req.Kind, retune.ErrNotFound)
		default:
			newSys, _ := mergeRaw(nil, sys)
			_, err := tx.exec(`INSERT INTO trials (study_id, number, kind, state, fixed, system_attrs,
				lease_holder, lease_epoch, lease_expires, started) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
				req.StudyID, next, req.Kind, retune.TrialRunning, fixed, string(newSys), req.Holder, expires, now)
			if err != nil {
				return fmt.Errorf("sqlite: create trial %d: %w", next, err)
			}
			// A new trial is all in this request: decode it as a read would, without reading.
			if created, err = newTrial(int(next), req, fixed, newSys, now, expires); err != nil {
				return err
			}
			next++
		}
		if search {
			started++
		}
		if _, err := tx.exec(`UPDATE studies SET next_number = ?, started = ? WHERE id = ?`, next, started, req.StudyID); err != nil {
			return fmt.Errorf("sqlite: create trial: %w", err)
		}
		if created != nil {
			ft = *created
			return nil
		}
		ft, err = loadTrialRaw(tx, id) // a claimed trial has params, attributes and values stored
		return err
	})
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	return ft, nil
}

// newTrial is the trial CreateTrial inserted (number, fixed params and system attributes
// as stored, started now with lease epoch 1), as loadTrial would read it back.
func newTrial(number int, req retune.CreateTrialRequest, fixed string, sys []byte, now, expires int64) (*retune.FrozenTrial, error) {
	ft := &retune.FrozenTrial{
		Number: number, Kind: req.Kind, State: retune.TrialRunning, RetryOf: -1,
		Lease: retune.Lease{Holder: req.Holder, Epoch: 1, Expires: time.Unix(0, expires).UTC()},
		Start: time.Unix(0, now).UTC(),
	}
	var err error
	if ft.Fixed, err = codec.UnmarshalFixed([]byte(fixed)); err != nil {
		return nil, fmt.Errorf("new trial %d: %w", number, err)
	}
	if ft.UserAttrs, err = codec.UnmarshalAttrs([]byte("{}")); err != nil {
		return nil, err
	}
	if ft.SystemAttrs, err = codec.UnmarshalAttrs(sys); err != nil {
		return nil, fmt.Errorf("new trial %d: %w", number, err)
	}
	if ft.Metrics, err = codec.UnmarshalMetrics([]byte("{}")); err != nil {
		return nil, err
	}
	return ft, nil
}

// Enqueue implements retune.TrialStore.
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
	var nums []int
	err = s.write(ctx, func(tx *txn) error {
		var next int64
		err := tx.QueryRowContext(ctx, `SELECT next_number FROM studies WHERE id = ?`, req.StudyID).Scan(&next)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("study id %d: %w", req.StudyID, retune.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqlite: enqueue: %w", err)
		}
		if req.OnceKey != "" {
			res, err := tx.ExecContext(ctx, `INSERT INTO enqueue_keys (study_id, key) VALUES (?, ?) ON CONFLICT DO NOTHING`, req.StudyID, req.OnceKey)
			if err != nil {
				return fmt.Errorf("sqlite: enqueue: record key %q: %w", req.OnceKey, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("sqlite: enqueue: record key %q: %w", req.OnceKey, err)
			} else if n == 0 {
				return nil // enqueued under this key before
			}
		}
		nums = make([]int, len(fixed))
		for i, f := range fixed {
			y := "{}"
			if sys != nil {
				y = sys[i]
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO trials (study_id, number, kind, state, fixed, system_attrs) VALUES (?, ?, ?, ?, ?, ?)`,
				req.StudyID, next, req.Kind, retune.TrialWaiting, f, y); err != nil {
				return fmt.Errorf("sqlite: enqueue trial %d: %w", next, err)
			}
			nums[i] = int(next)
			next++
		}
		if _, err := tx.ExecContext(ctx, `UPDATE studies SET next_number = ? WHERE id = ?`, next, req.StudyID); err != nil {
			return fmt.Errorf("sqlite: enqueue: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return nums, nil
}

// fenced is a running trial read for a write under its lease.
type fenced struct {
	id                int64
	params, user, sys []byte
	// Read by fenceFinish only:
	reported  bool  // the trial has intermediate values
	finishSeq int64 // the study's finish sequence number
}

// fence reads the trial ref points at and checks, as every storage does, that it is
// RUNNING under ref's epoch.
func fence(ctx context.Context, tx *txn, ref retune.TrialRef) (fenced, error) {
	var (
		study     string
		id, epoch sql.NullInt64
		state     sql.NullInt16
		f         fenced
	)
	err := tx.QueryRowContext(ctx, qFence, ref.Number, ref.StudyID).Scan(&study, &id, &state, &epoch, &f.params, &f.user, &f.sys)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return f, fmt.Errorf("study id %d: %w", ref.StudyID, retune.ErrNotFound)
	case err != nil:
		return f, fmt.Errorf("sqlite: read trial %d: %w", ref.Number, err)
	case !id.Valid:
		return f, fmt.Errorf("trial %d of study %q: %w", ref.Number, study, retune.ErrNotFound)
	}
	f.id = id.Int64
	return f, ref.Fence(study, retune.TrialState(state.Int16), epoch.Int64)
}

// takesWhole reports whether the trial has no stored params for enc's to merge into:
// its params become enc's whole encoding as it is, the same bytes a merge would give
// (dbenc's TestWholeIsMergedPatch).
func (f fenced) takesWhole(enc dbenc.Patches) bool {
	return enc.Whole.JSON != nil && isEmptyObject(f.params)
}

// merged applies a write's params and attribute changes to a fenced trial's stored JSON.
func (f fenced) merged(enc dbenc.Patches) (p, u, y string, err error) {
	pb := enc.Whole.JSON
	if !f.takesWhole(enc) {
		params, err := enc.Params()
		if err != nil {
			return "", "", "", err
		}
		if pb, err = mergeRaw(f.params, params); err != nil {
			return "", "", "", err
		}
	}
	ub, err := mergeRaw(f.user, enc.UserAttrs)
	if err != nil {
		return "", "", "", err
	}
	yb, err := mergeRaw(f.sys, enc.SystemAttrs)
	if err != nil {
		return "", "", "", err
	}
	return string(pb), string(ub), string(yb), nil
}

// Update implements retune.TrialStore.
func (s *Store) Update(ctx context.Context, upd retune.TrialUpdate) error {
	enc, err := dbenc.Update(upd)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *txn) error {
		f, err := fence(ctx, tx, upd.Ref)
		if err != nil {
			return err
		}
		p, u, y, err := f.merged(enc)
		if err != nil {
			return fmt.Errorf("trial %d: %w", upd.Ref.Number, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE trials SET params = ?, user_attrs = ?, system_attrs = ? WHERE id = ?`, p, u, y, f.id); err != nil {
			return fmt.Errorf("sqlite: update trial %d: %w", upd.Ref.Number, err)
		}
		return nil
	})
}

// Report implements retune.TrialStore.
func (s *Store) Report(ctx context.Context, ref retune.TrialRef, step int64, values []float64) error {
	return s.ReportMany(ctx, ref, []retune.StepValues{{Step: step, Values: values}})
}

// qReport stores steps given as a JSON array of [step, "values"] pairs in one statement.
const qReport = `INSERT INTO intermediate (trial_id, step, vals)
	SELECT ?1, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]') FROM json_each(?2) AS j WHERE true
	ON CONFLICT (trial_id, step) DO UPDATE SET vals = excluded.vals`

// ReportMany implements retune.BatchReporter, in one statement whatever the number of steps.
func (s *Store) ReportMany(ctx context.Context, ref retune.TrialRef, steps []retune.StepValues) error {
	rows := make([][2]any, 0, len(steps))
	at := make(map[int64]int, len(steps))
	for _, sv := range steps {
		if sv.Step < 0 {
			return fmt.Errorf("%w: step %d: want >= 0", retune.ErrInvalid, sv.Step)
		}
		v := string(codec.MarshalFloats(sv.Values))
		if i, ok := at[sv.Step]; ok { // the last values given win
			rows[i][1] = v
			continue
		}
		at[sv.Step] = len(rows)
		rows = append(rows, [2]any{sv.Step, v})
	}
	arg, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("sqlite: encode steps: %w", err)
	}
	return s.write(ctx, func(tx *txn) error {
		f, err := fence(ctx, tx, ref)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qReport, f.id, string(arg)); err != nil {
			return fmt.Errorf("sqlite: report %d steps of trial %d: %w", len(rows), ref.Number, err)
		}
		return nil
	})
}

// Heartbeat implements retune.TrialStore.
func (s *Store) Heartbeat(ctx context.Context, ref retune.TrialRef, ttl time.Duration) (time.Time, error) {
	var expires int64
	var stop bool
	err := s.write(ctx, func(tx *txn) error {
		f, err := fence(ctx, tx, ref)
		if err != nil {
			return err
		}
		expires = addNanos(nowNanos(), ttl)
		if _, err := tx.ExecContext(ctx, `UPDATE trials SET lease_expires = ? WHERE id = ?`, expires, f.id); err != nil {
			return fmt.Errorf("sqlite: renew lease of trial %d: %w", ref.Number, err)
		}
		if bytes.Contains(f.sys, []byte("stop_requested")) { // parse only when it may be there
			sys, err := codec.UnmarshalAttrs(f.sys)
			stop = err == nil && (retune.FrozenTrial{SystemAttrs: sys}).StopRequested()
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	if stop {
		return time.Unix(0, expires).UTC(), fmt.Errorf("trial %d: %w", ref.Number, retune.ErrStopRequested)
	}
	return time.Unix(0, expires).UTC(), nil
}

// Finish implements retune.TrialStore.
//
// The trial gets the study's next finish sequence number, taken from the study row inside
// this write transaction. SQLite runs one write transaction at a time on a database
// (across all connections and processes), so sequence numbers are handed out in commit
// order: once a reader's snapshot holds sequence n, it holds every sequence below n, and
// FinishedSince's cursor (the last sequence read) never skips a trial.
func (s *Store) Finish(ctx context.Context, req retune.FinishRequest) (retune.FrozenTrial, error) {
	enc, err := dbenc.Finish(req)
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	var value0 sql.NullFloat64
	if req.State == retune.TrialComplete && !math.IsNaN(req.Values[0]) {
		value0 = sql.NullFloat64{Float64: req.Values[0], Valid: true}
	}
	var ft retune.FrozenTrial
	err = s.writeRaw(ctx, func(tx *rawTx) error {
		f, head, err := fenceFinish(tx, req.Ref)
		if err != nil {
			return err
		}
		// A trial with no stored params takes the request's as encoded and decoded before
		// the write.
		whole := f.takesWhole(enc.Patches)
		p, u, y, err := f.merged(enc.Patches)
		if err != nil {
			return fmt.Errorf("trial %d: %w", req.Ref.Number, err)
		}
		seq := f.finishSeq + 1
		if _, err := tx.exec(`UPDATE studies SET finish_seq = ? WHERE id = ?`, seq, req.Ref.StudyID); err != nil {
			return fmt.Errorf("sqlite: finish trial %d: %w", req.Ref.Number, err)
		}
		ended := nowNanos()
		_, err = tx.exec(`UPDATE trials SET state = ?, params = ?, vals = ?, value0 = ?, metrics = ?, user_attrs = ?,
			system_attrs = ?, reason = ?, ended = ?, finish_seq = ? WHERE id = ?`,
			req.State, p, string(enc.Values), value0, string(enc.Metrics), u, y, req.Reason, ended, seq, f.id)
		if err != nil {
			return fmt.Errorf("sqlite: finish trial %d: %w", req.Ref.Number, err)
		}
		if req.Interrupted { // gives the trial's place in the budget back
			_, err = tx.exec(`UPDATE studies SET started = started - 1
				WHERE id = ? AND (SELECT kind FROM trials WHERE id = ?) = ?`, req.Ref.StudyID, f.id, retune.KindSearch)
			if err != nil {
				return fmt.Errorf("sqlite: finish trial %d: %w", req.Ref.Number, err)
			}
		}
		// The finished trial as a read would return it, from what this write holds.
		ft = head
		ft.State, ft.Reason, ft.End = req.State, req.Reason, time.Unix(0, ended).UTC()
		ft.Values, ft.Metrics = enc.ReadValues, enc.ReadMetrics
		if whole {
			ft.Params, ft.Distributions = enc.Whole.Values, enc.Whole.Distributions
		} else if p != "{}" {
			if ft.Params, ft.Distributions, err = retune.UnmarshalParams([]byte(p)); err != nil {
				return fmt.Errorf("trial %d: %w", ft.Number, err)
			}
		}
		if ft.UserAttrs, err = codec.UnmarshalAttrs([]byte(u)); err != nil {
			return fmt.Errorf("trial %d: %w", ft.Number, err)
		}
		if ft.SystemAttrs, err = codec.UnmarshalAttrs([]byte(y)); err != nil {
			return fmt.Errorf("trial %d: %w", ft.Number, err)
		}
		if f.reported {
			ft.Intermediate, err = intermediateOf(tx, f.id)
		}
		return err
	})
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	return ft, nil
}

// qFenceFinish is qFence with the columns a finish leaves as they are.
const qFenceFinish = `SELECT s.name, s.finish_seq, t.id, t.state, t.lease_epoch, t.params, t.user_attrs, t.system_attrs,
		t.kind, t.fixed, t.retry_of, t.lease_holder, t.lease_expires, t.started,
		EXISTS (SELECT 1 FROM intermediate i WHERE i.trial_id = t.id)
	FROM studies s LEFT JOIN trials t ON t.study_id = s.id AND t.number = ? WHERE s.id = ?`

// fenceFinish is fence for Finish: it also returns the trial's columns that the finish
// does not change (number, kind, fixed params, retry, lease, start), decoded.
func fenceFinish(tx *rawTx, ref retune.TrialRef) (fenced, retune.FrozenTrial, error) {
	var (
		study                     string
		id, epoch                 sql.NullInt64
		state                     sql.NullInt16
		f                         fenced
		ft                        retune.FrozenTrial
		fixed                     []byte
		kind                      sql.NullInt16
		holder                    sql.NullString
		retryOf, expires, started sql.NullInt64
	)
	var reported int64
	err := tx.queryRow(qFenceFinish, []any{&study, &f.finishSeq, &id, &state, &epoch, &f.params, &f.user, &f.sys,
		&kind, &fixed, &retryOf, &holder, &expires, &started, &reported}, ref.Number, ref.StudyID)
	f.reported = reported != 0
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return f, ft, fmt.Errorf("study id %d: %w", ref.StudyID, retune.ErrNotFound)
	case err != nil:
		return f, ft, fmt.Errorf("sqlite: read trial %d: %w", ref.Number, err)
	case !id.Valid:
		return f, ft, fmt.Errorf("trial %d of study %q: %w", ref.Number, study, retune.ErrNotFound)
	}
	f.id = id.Int64
	if err := ref.Fence(study, retune.TrialState(state.Int16), epoch.Int64); err != nil {
		return f, ft, err
	}
	ft.Number, ft.Kind, ft.Lease.Holder, ft.Lease.Epoch, ft.RetryOf = ref.Number, retune.TrialKind(kind.Int16), holder.String, epoch.Int64, -1
	if retryOf.Valid {
		ft.RetryOf = int(retryOf.Int64)
	}
	ft.Lease.Expires, ft.Start = fromNanos(expires), fromNanos(started)
	if ft.Fixed, err = codec.UnmarshalFixed(fixed); err != nil {
		return f, ft, fmt.Errorf("stored trial %d: %w", ref.Number, err)
	}
	return f, ft, nil
}

// intermediateOf reads a trial's intermediate values (nil when it has none), as
// queryTrials does.
func intermediateOf(tx *rawTx, id int64) (map[int64][]float64, error) {
	var out map[int64][]float64
	err := tx.query(`SELECT step, vals FROM intermediate WHERE trial_id = ?`, func(v []driver.Value) (bool, error) {
		var step int64
		var vals []byte
		if err := scanner(v)(&step, &vals); err != nil {
			return false, fmt.Errorf("sqlite: read intermediate values: %w", err)
		}
		f, err := codec.UnmarshalFloats(vals)
		if err != nil {
			return false, fmt.Errorf("step %d: %w", step, err)
		}
		if out == nil {
			out = map[int64][]float64{}
		}
		out[step] = f
		return true, nil
	}, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read intermediate values: %w", err)
	}
	return out, nil
}

// FinishLate implements retune.LateFinisher: the late-tell rule (see retune's late.go)
// in one write transaction.
func (s *Store) FinishLate(ctx context.Context, req retune.FinishRequest) (retune.FrozenTrial, error) {
	enc, err := dbenc.Finish(req)
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	ref := req.Ref
	var ft retune.FrozenTrial
	err = s.write(ctx, func(tx *txn) error {
		var (
			name                       string
			budget, started, next, seq int64
			id                         sql.NullInt64
			params, user, sys          []byte
		)
		err := tx.QueryRowContext(ctx, `SELECT s.name, s.budget_trials, s.started, s.next_number, s.finish_seq, t.id, t.params, t.user_attrs, t.system_attrs
			FROM studies s LEFT JOIN trials t ON t.study_id = s.id AND t.number = ? WHERE s.id = ?`, ref.Number, ref.StudyID).
			Scan(&name, &budget, &started, &next, &seq, &id, &params, &user, &sys)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("study id %d: %w", ref.StudyID, retune.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqlite: late finish of trial %d: %w", ref.Number, err)
		case !id.Valid:
			return fmt.Errorf("trial %d of study %q: %w", ref.Number, name, retune.ErrNotFound)
		}
		old, err := loadTrial(ctx, tx, id.Int64)
		if err != nil {
			return err
		}
		if keep, err := req.LateVerdict(name, old); err != nil {
			return err
		} else if keep {
			ft = old
			return nil
		}
		var recID int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM trials WHERE study_id = ? AND kind = ? AND json_extract(system_attrs, '$.late_of') = ?`,
			ref.StudyID, retune.KindLate, ref.Number).Scan(&recID)
		switch {
		case err == nil: // told again
			ft, err = loadTrial(ctx, tx, recID)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlite: late finish of trial %d: %w", ref.Number, err)
		}
		vals := enc.Values
		if req.State == retune.TrialPruned && len(req.Values) == 0 {
			if _, last, ok := old.LastStep(); ok {
				vals = codec.MarshalFloats(last)
			}
		}
		var value0 sql.NullFloat64
		if req.State == retune.TrialComplete && !math.IsNaN(req.Values[0]) {
			value0 = sql.NullFloat64{Float64: req.Values[0], Valid: true}
		}
		var retryID sql.NullInt64
		var retryState sql.NullInt16
		err = tx.QueryRowContext(ctx, `SELECT id, state FROM trials WHERE study_id = ? AND retry_of = ?`, ref.StudyID, ref.Number).Scan(&retryID, &retryState)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: late finish of trial %d: %w", ref.Number, err)
		}
		search := old.Kind == retune.KindSearch
		full := search && budget > 0 && started >= budget
		now := nowNanos()
		if (!retryID.Valid || retune.TrialState(retryState.Int16) == retune.TrialWaiting) && !full {
			// Revive the trial; cancel its re-run.
			enc.SystemAttrs = dbenc.With(enc.SystemAttrs, "late", true)
			p, u, y, err := fenced{params: params, user: user, sys: sys}.merged(enc.Patches)
			if err != nil {
				return fmt.Errorf("trial %d: %w", ref.Number, err)
			}
			seq++
			_, err = tx.ExecContext(ctx, `UPDATE trials SET state = ?, params = ?, vals = ?, value0 = ?, metrics = ?, user_attrs = ?,
				system_attrs = ?, reason = ?, ended = ?, finish_seq = ? WHERE id = ?`,
				req.State, p, string(vals), value0, string(enc.Metrics), u, y, req.Reason, now, seq, id.Int64)
			if err != nil {
				return fmt.Errorf("sqlite: late finish of trial %d: %w", ref.Number, err)
			}
			if retryID.Valid {
				seq++
				_, err = tx.ExecContext(ctx, `UPDATE trials SET state = ?, reason = ?, ended = ?, finish_seq = ?,
					system_attrs = json_set(system_attrs, '$.interrupted', json('true')) WHERE id = ?`,
					retune.TrialFail, retune.LateCancelReason(ref.Number), now, seq, retryID.Int64)
				if err != nil {
					return fmt.Errorf("sqlite: cancel the re-run of trial %d: %w", ref.Number, err)
				}
			}
			if search {
				started++
			}
			if _, err := tx.ExecContext(ctx, `UPDATE studies SET finish_seq = ?, started = ? WHERE id = ?`, seq, started, ref.StudyID); err != nil {
				return fmt.Errorf("sqlite: late finish of trial %d: %w", ref.Number, err)
			}
			ft, err = loadTrial(ctx, tx, id.Int64)
			return err
		}
		// Record the result as a trial of its own, outside the budget.
		enc.SystemAttrs = dbenc.With(enc.SystemAttrs, "late_of", ref.Number)
		p, u, y, err := fenced{params: params, user: []byte("{}"), sys: []byte("{}")}.merged(enc.Patches)
		if err != nil {
			return fmt.Errorf("trial %d: %w", ref.Number, err)
		}
		fixed, err := codec.MarshalAttrs(old.Fixed)
		if err != nil {
			return fmt.Errorf("trial %d: %w", ref.Number, err)
		}
		var newID int64
		err = tx.QueryRowContext(ctx, `INSERT INTO trials (study_id, number, kind, state, params, fixed, system_attrs, started)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			ref.StudyID, next, retune.KindLate, retune.TrialRunning, p, string(fixed), y, old.Start.UnixNano()).Scan(&newID)
		if err != nil {
			return fmt.Errorf("sqlite: record the late result of trial %d: %w", ref.Number, err)
		}
		seq++
		_, err = tx.ExecContext(ctx, `UPDATE trials SET state = ?, vals = ?, value0 = ?, metrics = ?, user_attrs = ?, reason = ?, ended = ?, finish_seq = ?
			WHERE id = ?`, req.State, string(vals), value0, string(enc.Metrics), u, req.Reason, now, seq, newID)
		if err != nil {
			return fmt.Errorf("sqlite: record the late result of trial %d: %w", ref.Number, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE studies SET finish_seq = ?, next_number = ? WHERE id = ?`, seq, next+1, ref.StudyID); err != nil {
			return fmt.Errorf("sqlite: record the late result of trial %d: %w", ref.Number, err)
		}
		ft, err = loadTrial(ctx, tx, newID)
		return err
	})
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	return ft, nil
}

// FinishedSince implements retune.TrialStore. The cursor is the study's finish sequence
// number of the last trial returned (see Finish).
func (s *Store) FinishedSince(ctx context.Context, studyID int64, cursor int64) ([]retune.FrozenTrial, int64, error) {
	var out []retune.FrozenTrial
	next := cursor
	err := s.read(ctx, func(tx *txn) error {
		var last int64
		err := tx.QueryRowContext(ctx, `SELECT finish_seq FROM studies WHERE id = ?`, studyID).Scan(&last)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("study id %d: %w", studyID, retune.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqlite: read finished trials: %w", err)
		}
		if cursor < 0 || cursor > last {
			return fmt.Errorf("%w: cursor %d: want 0 to %d", retune.ErrInvalid, cursor, last)
		}
		if cursor == last {
			return nil
		}
		// In this snapshot the study row's sequence is the highest of its finished trials.
		out, err = queryTrials(ctx, tx, selFinishedSince, `t.finish_seq`, studyID, cursor)
		next = last
		return err
	})
	if err != nil {
		return nil, cursor, err
	}
	if out == nil {
		out = []retune.FrozenTrial{}
	}
	return out, next, nil
}

// Running implements retune.TrialStore.
func (s *Store) Running(ctx context.Context, studyID int64) ([]retune.FrozenTrial, error) {
	var out []retune.FrozenTrial
	err := s.read(ctx, func(tx *txn) error {
		if _, err := studyName(ctx, tx, studyID); err != nil {
			return err
		}
		var err error
		out, err = queryTrials(ctx, tx, selRunning, `t.number`, studyID)
		return err
	})
	return out, err
}

// RunningExcept implements retune.RunningExcepter.
func (s *Store) RunningExcept(ctx context.Context, studyID int64, except []int) ([]retune.FrozenTrial, error) {
	if except == nil {
		except = []int{}
	}
	numbers, err := json.Marshal(except)
	if err != nil {
		return nil, fmt.Errorf("sqlite: encode trial numbers: %w", err)
	}
	var out []retune.FrozenTrial
	err = s.read(ctx, func(tx *txn) error {
		if _, err := studyName(ctx, tx, studyID); err != nil {
			return err
		}
		var err error
		out, err = queryTrials(ctx, tx, selRunningExcept, `t.number`, studyID, string(numbers))
		return err
	})
	return out, err
}

// Trials implements retune.TrialStore.
func (s *Store) Trials(ctx context.Context, studyID int64) ([]retune.FrozenTrial, error) {
	var out []retune.FrozenTrial
	err := s.read(ctx, func(tx *txn) error {
		if _, err := studyName(ctx, tx, studyID); err != nil {
			return err
		}
		var err error
		out, err = queryTrials(ctx, tx, selStudy, `t.number`, studyID)
		return err
	})
	return out, err
}

// Trial implements retune.TrialStore.
func (s *Store) Trial(ctx context.Context, studyID int64, number int) (retune.FrozenTrial, error) {
	var ft retune.FrozenTrial
	err := s.read(ctx, func(tx *txn) error {
		name, err := studyName(ctx, tx, studyID)
		if err != nil {
			return err
		}
		ts, err := queryTrials(ctx, tx, selNumber, `t.number`, studyID, number)
		if err != nil {
			return err
		}
		if len(ts) == 0 {
			return fmt.Errorf("trial %d of study %q: %w", number, name, retune.ErrNotFound)
		}
		ft = ts[0]
		return nil
	})
	return ft, err
}

// ExpireLeases implements retune.TrialStore: failing the expired trials, giving them
// finish sequence numbers and enqueueing their retries is one write transaction.
func (s *Store) ExpireLeases(ctx context.Context, studyID int64) (int, error) {
	// Most calls find nothing to expire: look first without taking the write lock.
	var due bool
	err := s.read(ctx, func(tx *txn) error {
		if _, err := studyName(ctx, tx, studyID); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, qExpiredExists, studyID, nowNanos()).Scan(&due)
		if err != nil {
			return fmt.Errorf("sqlite: expire leases: %w", err)
		}
		return nil
	})
	if err != nil || !due {
		return 0, err
	}
	var n int
	err = s.write(ctx, func(tx *txn) error {
		var retries, seq, next int64
		err := tx.QueryRowContext(ctx, `SELECT budget_retries, finish_seq, next_number FROM studies WHERE id = ?`, studyID).Scan(&retries, &seq, &next)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("study id %d: %w", studyID, retune.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqlite: expire leases: %w", err)
		}
		now := nowNanos()
		type expired struct {
			id, depth int64
			ft        retune.FrozenTrial
		}
		var exp []expired
		rows, err := tx.QueryContext(ctx, `SELECT t.id, t.number, t.kind, t.params, t.fixed, t.retry_depth`+selExpired.from()+` WHERE `+selExpired.where+` ORDER BY t.number`, studyID, now)
		if err != nil {
			return fmt.Errorf("sqlite: expire leases: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e expired
			var params, fixed []byte
			if err := rows.Scan(&e.id, &e.ft.Number, &e.ft.Kind, &params, &fixed, &e.depth); err != nil {
				return fmt.Errorf("sqlite: expire leases: %w", err)
			}
			if e.depth < retries {
				if e.ft.Params, _, err = retune.UnmarshalParams(params); err != nil {
					return fmt.Errorf("stored trial %d: %w", e.ft.Number, err)
				}
				if e.ft.Fixed, err = codec.UnmarshalFixed(fixed); err != nil {
					return fmt.Errorf("stored trial %d: %w", e.ft.Number, err)
				}
			}
			exp = append(exp, e)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: expire leases: %w", err)
		}
		rows.Close()
		search := 0 // expired search trials give their places in the budget back
		for _, e := range exp {
			if e.ft.Kind == retune.KindSearch {
				search++
			}
			seq++
			_, err := tx.ExecContext(ctx, `UPDATE trials SET state = ?, reason = ?, ended = ?, finish_seq = ? WHERE id = ?`,
				retune.TrialFail, retune.ReasonLeaseExpired, now, seq, e.id)
			if err != nil {
				return fmt.Errorf("sqlite: expire lease of trial %d: %w", e.ft.Number, err)
			}
			if e.depth >= retries {
				continue
			}
			fixed, err := codec.MarshalAttrs(e.ft.RetryParams())
			if err != nil {
				return fmt.Errorf("retry of trial %d: %w", e.ft.Number, err)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO trials (study_id, number, kind, state, fixed, retry_of, retry_depth) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				studyID, next, e.ft.Kind, retune.TrialWaiting, string(fixed), e.ft.Number, e.depth+1)
			if err != nil {
				return fmt.Errorf("sqlite: enqueue retry of trial %d: %w", e.ft.Number, err)
			}
			next++
		}
		if len(exp) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE studies SET finish_seq = ?, next_number = ?, started = started - ? WHERE id = ?`, seq, next, search, studyID); err != nil {
			return fmt.Errorf("sqlite: expire leases: %w", err)
		}
		n = len(exp)
		return nil
	})
	return n, err
}

// RequestStop implements retune.StopStore.
func (s *Store) RequestStop(ctx context.Context, studyID int64, number int) error {
	return s.write(ctx, func(tx *txn) error {
		var study string
		var state sql.NullInt16
		err := tx.QueryRowContext(ctx, `SELECT s.name, t.state FROM studies s LEFT JOIN trials t ON t.study_id = s.id AND t.number = ?
			WHERE s.id = ?`, number, studyID).Scan(&study, &state)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("study id %d: %w", studyID, retune.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqlite: stop trial %d: %w", number, err)
		case !state.Valid:
			return fmt.Errorf("trial %d of study %q: %w", number, study, retune.ErrNotFound)
		case retune.TrialState(state.Int16) != retune.TrialRunning:
			return fmt.Errorf("%w: trial %d of study %q is %v: only a RUNNING trial can be stopped", retune.ErrConflict, number, study, retune.TrialState(state.Int16))
		}
		_, err = tx.ExecContext(ctx, `UPDATE trials SET system_attrs = json_set(system_attrs, '$.stop_requested', json('true'))
			WHERE study_id = ? AND number = ? AND json_extract(system_attrs, '$.stop_requested') IS NOT 1`, studyID, number)
		if err != nil {
			return fmt.Errorf("sqlite: stop trial %d: %w", number, err)
		}
		return nil
	})
}
