package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/dbenc"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// One round trip per trial write. CreateTrial and Finish call the server-side functions
// of migration 17 (retune_create_trial, retune_finish_trial) as one statement, in its own
// transaction or in a group's (group.go). A function takes the same locks in the same
// order as the two-round-trip transactions (pipeTx) it replaces in the common case:
//
//   - CreateTrial, unless the request carries system attributes to merge into a claimed
//     trial's (the merge happens in Go; see patch).
//   - Finish, when this Store knows the trial's stored objects as it last wrote them
//     (written) and the finish does not give an interrupted trial's budget back. The
//     function writes the objects merged in Go only if the stored ones are unchanged;
//     otherwise (RT412) the two-round-trip Finish runs.
//
// Each call carries a random write token, recorded in the trial's row. A call whose reply
// is lost is simply repeated with the same token: the repeat finds the token and returns
// what the first run did (a repeat that arrives first does the write, and the first run
// then finds the token), so a lost reply never makes a second trial or a spurious
// conflict.

// storedObjs are a trial's stored objects as their text is stored.
type storedObjs struct{ params, user, system string }

// trialKey names one lease of a trial.
type trialKey struct {
	study  int64
	number int
	epoch  int64
}

// maxWritten bounds written; when it is full it starts over (an entry missing costs only
// a two-round-trip Finish).
const maxWritten = 4096

// writtenObjs remembers the stored objects of the running trials this Store created or
// last updated, by lease.
type writtenObjs struct {
	mu sync.Mutex
	m  map[trialKey]storedObjs
}

func (w *writtenObjs) put(k trialKey, o storedObjs) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil || len(w.m) >= maxWritten {
		w.m = make(map[trialKey]storedObjs)
	}
	w.m[k] = o
}

// take returns and forgets the objects of k.
func (w *writtenObjs) take(k trialKey) (storedObjs, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	o, ok := w.m[k]
	delete(w.m, k)
	return o, ok
}

// call runs one function statement returning a trialCols row, in one round trip, and
// tells onCall (tests) around the send.
func (s *Store) call(ctx context.Context, token int64, sql string, args ...any) (retune.FrozenTrial, storedObjs, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return retune.FrozenTrial{}, storedObjs{}, err
	}
	defer c.Release()
	if s.onCall != nil {
		s.onCall(c.Conn().PgConn(), token, false)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := c.SendBatch(ctx, b)
	if s.onCall != nil {
		s.onCall(c.Conn().PgConn(), token, true)
	}
	ft, objs, err := scanTrialObjs(br.QueryRow())
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return ft, objs, err
}

// pgCode is the SQLSTATE of err, if the server reported it.
func pgCode(err error) (*pgconn.PgError, string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe, pe.Code
	}
	return nil, ""
}

// createOne is CreateTrial in one round trip, for a request without system attributes.
func (s *Store) createOne(ctx context.Context, req retune.CreateTrialRequest, fixed string, search int, what string) (retune.FrozenTrial, error) {
	token := rand.Int64()
	ft, objs, err := s.grouped(ctx, groupKey{study: req.StudyID}, &groupCall{token: token,
		sql:  `SELECT * FROM retune_create_trial($1, $2, $3, $4, $5, '{}', $6, $7, $8)`,
		args: []any{req.StudyID, int16(req.Kind), search, req.ClaimOnly, fixed, req.Holder, micros(req.LeaseTTL), token}})
	switch pe, code := pgCode(err); code {
	case "":
	case "RT404":
		return retune.FrozenTrial{}, studyNotFound(req.StudyID)
	case "RT429":
		var started, budget int64
		_, _ = fmt.Sscan(pe.Detail, &started, &budget)
		return retune.FrozenTrial{}, fmt.Errorf("study %q started %d of %d trials: %w", pe.Message, started, budget, retune.ErrBudgetExhausted)
	case "RT410":
		return retune.FrozenTrial{}, fmt.Errorf("study %q has no waiting %v trial: %w", pe.Message, req.Kind, retune.ErrNotFound)
	}
	if err != nil {
		return retune.FrozenTrial{}, dbErr(what, err)
	}
	s.written.put(trialKey{req.StudyID, ft.Number, ft.Lease.Epoch}, objs)
	return ft, nil
}

// errChanged is finishOne's answer when the stored objects are not the ones it merged
// into: the two-round-trip Finish must run.
var errChanged = errors.New("postgres: the trial's stored objects changed")

// finishOne is Finish in one round trip, merging into objs, what the trial's objects were
// when this Store last wrote them.
func (s *Store) finishOne(ctx context.Context, req retune.FinishRequest, enc dbenc.FinishCols, objs storedObjs, what string) (retune.FrozenTrial, error) {
	newParams, newUser, newSystem, err := merged(enc.Patches, objs.params, objs.user, objs.system)
	if err != nil {
		return retune.FrozenTrial{}, err
	}
	ref := req.Ref
	token := rand.Int64()
	ft, _, err := s.grouped(ctx, groupKey{study: ref.StudyID, finish: true}, &groupCall{token: token, trial: ref.Number,
		sql: `SELECT * FROM retune_finish_trial($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		args: []any{ref.StudyID, ref.Number, ref.Epoch, int16(req.State), finishValues(req), string(enc.Metrics), []byte(req.Reason),
			objs.params, objs.user, objs.system, newParams, newUser, newSystem, token}})
	switch _, code := pgCode(err); code {
	case "":
	case "RT404":
		return retune.FrozenTrial{}, studyNotFound(ref.StudyID)
	case "RT409":
		return retune.FrozenTrial{}, s.fenceFailure(ctx, s.pool, ref)
	case "RT412":
		return retune.FrozenTrial{}, errChanged
	}
	if err != nil {
		return retune.FrozenTrial{}, dbErr(what, err)
	}
	return ft, nil
}

// finishValues are the values a finish stores: never NULL.
func finishValues(req retune.FinishRequest) []float64 {
	if req.Values == nil {
		return []float64{}
	}
	return req.Values
}
