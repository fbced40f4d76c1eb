package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Retrying transient failures: see the package doc for the rule.

// DefaultRetryFor is how long a Store retries an operation that fails for a transient
// reason, unless Options.RetryFor says otherwise.
const DefaultRetryFor = 2 * time.Minute

// Backoff between attempts: doubling from minWait up to maxWait, each wait drawn
// uniformly from its upper half (jitter, so that many clients do not retry in step).
const (
	minWait = 50 * time.Millisecond
	maxWait = 2 * time.Second
)

// transient reports whether err may go away if the operation is tried again: the server
// is restarting, shutting down, refusing or dropping connections, or the transaction lost
// a serialization check or a deadlock. An error the caller asked for (a cancelled or
// expired context) is not transient, nor is any other error the server reports.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", // serialization_failure
			"40P01", // deadlock_detected
			"53300", // too_many_connections
			"57P01", // admin_shutdown
			"57P02", // crash_shutdown
			"57P03", // cannot_connect_now
			"57P05": // idle_session_timeout
			return true
		}
		return strings.HasPrefix(pe.Code, "08") // connection_exception
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err)
}

// didNotRun reports whether err shows that a statement outside a transaction block
// changed nothing: it was never sent, the connection failed to open, or the server
// answered with an error (the statement's implicit transaction rolled back). A dropped
// connection after the statement was sent leaves its outcome unknown.
func didNotRun(err error) bool {
	var pe *pgconn.PgError
	var ce *pgconn.ConnectError
	return errors.As(err, &pe) || errors.As(err, &ce) || pgconn.SafeToRetry(err)
}

// retriedError is the error of an operation that failed for a transient reason for the
// whole retry window.
type retriedError struct {
	err     error
	window  time.Duration
	unknown bool // a COMMIT was sent and its outcome could not be learned
}

func (e *retriedError) Error() string {
	if e.unknown {
		return fmt.Sprintf("%v (database unavailable: retried for %v, and whether the transaction committed is unknown)", e.err, e.window)
	}
	return fmt.Sprintf("%v (database unavailable: retried for %v)", e.err, e.window)
}

func (e *retriedError) Unwrap() error { return e.err }

// retrier paces the attempts of one operation within its retry window. The window opens
// when the database became unavailable: at the operation's first failure, or earlier if
// another operation of the Store has been failing since (down), so that once the database
// has been unavailable for the window every operation gives up at its first failure.
type retrier struct {
	window time.Duration // <= 0: no retries
	down   *atomic.Int64 // Store.down
	first  time.Time
	n      int
}

// newRetrier returns the retrier of one operation of s.
func (s *Store) newRetrier() retrier { return retrier{window: s.retryFor, down: &s.down} }

// wait returns nil after the pause before the next attempt, if err is transient and the
// window is still open; otherwise it returns the error to give up with.
func (r *retrier) wait(ctx context.Context, err error) error {
	if !transient(err) {
		if ctx.Err() == nil {
			r.up()
		}
		return err
	}
	if r.window <= 0 || ctx.Err() != nil {
		return err
	}
	now := time.Now()
	if r.n == 0 {
		r.first = now
		if r.down != nil && !r.down.CompareAndSwap(0, now.UnixNano()) {
			if d := r.down.Load(); d != 0 && d < now.UnixNano() {
				r.first = time.Unix(0, d)
			}
		}
	}
	left := r.window - now.Sub(r.first)
	if left <= 0 {
		return &retriedError{err: err, window: r.window}
	}
	d := minWait << min(r.n, 6)
	d = min(d/2+rand.N(d/2+1), maxWait, left)
	r.n++
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return err
	case <-t.C:
		return nil
	}
}

// retry runs op until it succeeds, fails for a reason that is not transient, ctx ends or
// the retry window closes. op must be idempotent: it is run again even when the failed try
// may have changed something.
func (s *Store) retry(ctx context.Context, op func(context.Context) error) error {
	r := s.newRetrier()
	return r.do(ctx, op)
}

// up records that the database answered.
func (r *retrier) up() {
	if r.down != nil && r.down.Load() != 0 {
		r.down.Store(0)
	}
}

// do runs op until it succeeds or wait gives up.
func (r *retrier) do(ctx context.Context, op func(context.Context) error) error {
	for {
		err := op(ctx)
		if err == nil {
			r.up()
			return nil
		}
		if err := r.wait(ctx, err); err != nil {
			return err
		}
	}
}

// retryUnsent is retry for a single statement (or batch) that is not idempotent and runs
// outside a transaction block: it is tried again only when the failure shows that it
// changed nothing (didNotRun).
func (s *Store) retryUnsent(ctx context.Context, op func(context.Context) error) error {
	r := s.newRetrier()
	for {
		err := op(ctx)
		if err == nil {
			r.up()
			return nil
		}
		if !didNotRun(err) {
			return err
		}
		if err := r.wait(ctx, err); err != nil {
			return err
		}
	}
}

// txAttempt is what one try of a write transaction learned.
type txAttempt struct {
	xid  string // the transaction's ID, read before its COMMIT is sent
	sent bool   // the COMMIT was sent
}

// xidSQL reads the ID of the transaction, assigning one if it has none yet (every write
// transaction gets one anyway).
const xidSQL = `SELECT pg_current_xact_id()::text`

// retryTx runs a write transaction with attempt until it succeeds, fails for a reason
// that is not transient, ctx ends or the retry window closes. A transient failure after
// the COMMIT was sent leaves the outcome unknown: the transaction may have committed. Then
// the database is asked (outcome) whether it did; if it did, the write succeeded and
// reread, if not nil, reads back the result that the lost reply carried; if not, the
// transaction is tried again.
func (s *Store) retryTx(ctx context.Context, attempt func(context.Context, *txAttempt) error, reread func(context.Context) error) error {
	r := s.newRetrier()
	for {
		var a txAttempt
		err := attempt(ctx, &a)
		if err == nil {
			r.up()
			return nil
		}
		if a.sent && transient(err) && !pgconn.SafeToRetry(err) {
			committed, oerr := s.outcome(ctx, &r, a.xid, err)
			switch {
			case oerr != nil:
				return oerr
			case committed && reread == nil:
				return nil
			case committed:
				return r.do(ctx, reread)
			}
			// Rolled back: run it again (after a pause, within the window, like any retry).
		}
		if err := r.wait(ctx, err); err != nil {
			return err
		}
	}
}

// outcome reports whether transaction xid committed; cause is the error that lost the
// reply to its COMMIT. It asks the database until it can tell or the retry window
// closes. A transaction still in progress (its connection not yet noticed dead) is
// waited for.
func (s *Store) outcome(ctx context.Context, r *retrier, xid string, cause error) (bool, error) {
	unknown := func(err error) error {
		var re *retriedError
		if errors.As(err, &re) {
			re.unknown = true
			return re
		}
		return fmt.Errorf("%w (the COMMIT was sent; whether the transaction committed is unknown)", err)
	}
	if xid == "" || s.retryFor <= 0 {
		return false, unknown(cause)
	}
	for {
		var status *string
		err := s.pool.QueryRow(ctx, `SELECT pg_xact_status($1::xid8)`, xid).Scan(&status)
		switch {
		case err != nil && !transient(err):
			return false, unknown(fmt.Errorf("%w; then checking transaction %s: %v", cause, xid, err))
		case err != nil:
		case status == nil:
			return false, unknown(fmt.Errorf("%w; transaction %s is too old to tell", cause, xid))
		case *status == "committed":
			r.up()
			return true, nil
		case *status == "aborted":
			r.up()
			return false, nil
		}
		if err := r.wait(ctx, cause); err != nil {
			return false, unknown(err)
		}
	}
}

// retried runs op with retry (s.retry or s.retryUnsent) and returns its result.
func retried[T any](ctx context.Context, retry func(context.Context, func(context.Context) error) error, op func(context.Context) (T, error)) (T, error) {
	var out T
	err := retry(ctx, func(ctx context.Context) (err error) {
		out, err = op(ctx)
		return err
	})
	return out, err
}
