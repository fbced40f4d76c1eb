package postgres

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/a6b40afc/retune"
	"github.com/jackc/pgx/v5"
)

// Group commit. The one-statement writes of oneround.go lock a per-study row first (the
// study row to create, the finish counter to finish) and hold it through their COMMIT's
// WAL flush, so concurrent writes to one study queue on that row one commit at a time.
// A Store therefore keeps at most one such write per study and kind (create, finish) in
// flight; the writes that arrive meanwhile wait, and go together as the next one: one
// round trip carrying each write's statement, in one implicit transaction (pgx sends one
// Sync after the batch), so one commit and one lock wait serve them all.
//
//   - A write that finds nothing in flight is sent at once, alone: one worker's latency is
//     what it was.
//   - Outcomes stay per write. If any statement of a group fails with an error the server
//     reports (the budget is spent, a fence fails, an object changed) the transaction
//     rolls back as a whole and every write of the group runs again alone, reporting its
//     own outcome. Write tokens make any repeat safe, as for a lost reply.
//   - A group of finishes first locks the finish counter and then the group's trial rows
//     in number order, the order a single finish takes them; only then do the functions
//     run. The study's change-log counter is taken last, at commit (migration 18), as by
//     every other trial write.
//   - A write whose context ends while it waits is taken out of the queue and never sent;
//     once sent, its context ending makes it return at once, with its outcome unknown
//     (as a single statement cancelled in flight). The group's round trip is cancelled
//     only once every member's context has ended.

// maxGroup bounds the writes that go in one round trip.
const maxGroup = 32

// groupKey names a queue of writes: one study, creates or finishes.
type groupKey struct {
	study  int64
	finish bool
}

// groupCall is one write waiting for, or part of, a group.
type groupCall struct {
	ctx   context.Context
	token int64
	sql   string
	args  []any
	trial int // finishes: the trial's number, whose row the group locks first

	done  chan struct{} // closed when the fields below are set
	ft    retune.FrozenTrial
	objs  storedObjs
	err   error
	alone bool // the group failed as a whole: run again alone
}

// groupQueue is the writes of one key waiting while one is in flight.
type groupQueue struct {
	busy  bool
	calls []*groupCall
}

// groups are a Store's queues.
type groups struct {
	mu sync.Mutex
	m  map[groupKey]*groupQueue
	// sent counts the writes that went in a group of more than one (tests).
	sent atomic.Int64
}

// grouped runs sql (a one-statement write returning a trialCols row) as call would,
// retried as s.retry does, in a group with the writes of the same key that wait with it.
func (s *Store) grouped(ctx context.Context, key groupKey, c *groupCall) (retune.FrozenTrial, storedObjs, error) {
	c.ctx = ctx
	g := &s.groups
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[groupKey]*groupQueue)
	}
	q := g.m[key]
	if q == nil {
		q = &groupQueue{}
		g.m[key] = q
	}
	if !q.busy {
		q.busy = true
		g.mu.Unlock()
		ft, objs, err := s.alone(ctx, c)
		s.nextGroup(key)
		return ft, objs, err
	}
	c.done = make(chan struct{})
	q.calls = append(q.calls, c)
	g.mu.Unlock()
	select {
	case <-c.done:
	case <-ctx.Done():
		g.mu.Lock()
		i := indexOf(q.calls, c)
		if i >= 0 {
			q.calls = append(q.calls[:i], q.calls[i+1:]...)
		}
		g.mu.Unlock()
		return retune.FrozenTrial{}, storedObjs{}, ctx.Err()
	}
	if c.alone {
		return s.alone(ctx, c)
	}
	return c.ft, c.objs, c.err
}

func indexOf(calls []*groupCall, c *groupCall) int {
	for i, x := range calls {
		if x == c {
			return i
		}
	}
	return -1
}

// alone sends one write by itself.
func (s *Store) alone(ctx context.Context, c *groupCall) (ft retune.FrozenTrial, objs storedObjs, err error) {
	err = s.retry(ctx, func(ctx context.Context) (err error) {
		ft, objs, err = s.call(ctx, c.token, c.sql, c.args...)
		return err
	})
	return ft, objs, err
}

// nextGroup sends the writes that queued behind the one in flight for key, as one group,
// on a goroutine of its own (the caller's write is done), or marks key idle.
func (s *Store) nextGroup(key groupKey) {
	g := &s.groups
	g.mu.Lock()
	q := g.m[key]
	if len(q.calls) == 0 {
		delete(g.m, key)
		g.mu.Unlock()
		return
	}
	n := min(len(q.calls), maxGroup)
	calls := append([]*groupCall(nil), q.calls[:n]...)
	q.calls = append(q.calls[:0], q.calls[n:]...)
	g.mu.Unlock()
	go func() {
		s.sendGroup(key, calls)
		s.nextGroup(key)
	}()
}

// sendGroup sends calls, more than none, and tells each its outcome.
func (s *Store) sendGroup(key groupKey, calls []*groupCall) {
	defer func() {
		for _, c := range calls {
			close(c.done)
		}
	}()
	if len(calls) == 1 {
		c := calls[0]
		c.ft, c.objs, c.err = s.alone(c.ctx, c)
		return
	}
	// The group's round trip runs until it is done or every member has stopped waiting.
	ctx, cancel := context.WithCancel(context.WithoutCancel(calls[0].ctx))
	defer cancel()
	waiting := atomic.Int64{}
	waiting.Store(int64(len(calls)))
	for _, c := range calls {
		stop := context.AfterFunc(c.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
		defer stop()
	}
	var rows []callRow
	err := s.retry(ctx, func(ctx context.Context) (err error) {
		rows, err = s.callGroup(ctx, key, calls)
		return err
	})
	if _, code := pgCode(err); code != "" && !transient(err) {
		for _, c := range calls {
			c.alone = true
		}
		return
	}
	s.groups.sent.Add(int64(len(calls)))
	for i, c := range calls {
		if err != nil {
			c.err = err
			continue
		}
		c.ft, c.objs = rows[i].ft, rows[i].objs
	}
}

// callRow is one write's row in a group's reply.
type callRow struct {
	ft   retune.FrozenTrial
	objs storedObjs
}

// callGroup sends calls' statements in one round trip and one transaction. The first
// error ends it: the server has rolled the whole group back.
func (s *Store) callGroup(ctx context.Context, key groupKey, calls []*groupCall) ([]callRow, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	b := &pgx.Batch{}
	if key.finish {
		numbers := make([]int32, len(calls))
		for i, c := range calls {
			numbers[i] = int32(c.trial)
		}
		b.Queue(`SELECT 1 FROM study_finish WHERE study_id = $1 FOR NO KEY UPDATE`, key.study)
		b.Queue(`SELECT 1 FROM trials WHERE study_id = $1 AND number = ANY($2) ORDER BY number FOR NO KEY UPDATE`, key.study, numbers)
	}
	for _, c := range calls {
		b.Queue(c.sql, c.args...)
	}
	if s.onCall != nil {
		s.onCall(conn.Conn().PgConn(), calls[0].token, false)
	}
	br := conn.SendBatch(ctx, b)
	if s.onCall != nil {
		s.onCall(conn.Conn().PgConn(), calls[0].token, true)
	}
	defer br.Close()
	if key.finish {
		for range 2 {
			if _, err := br.Exec(); err != nil {
				return nil, err
			}
		}
	}
	rows := make([]callRow, len(calls))
	for i := range calls {
		ft, objs, err := scanTrialObjs(br.QueryRow())
		if err != nil {
			return nil, err
		}
		rows[i] = callRow{ft, objs}
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	return rows, nil
}
