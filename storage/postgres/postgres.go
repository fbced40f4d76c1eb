// Package postgres is the retune.Storage on PostgreSQL, for studies shared by any number of
// processes on any number of machines. All coordination state lives in the database:
//
//   - Each study row carries its counters: the next trial number and the search trials
//     started (for Budget.Trials); a row of its own in study_finish carries its finish
//     sequence. Every write that allocates a number or spends budget updates the study
//     row first, and every write that finishes a trial the finish row, so these writes
//     are serialized per study by those row locks and numbers stay dense (a transaction
//     that rolls back leaves no gap).
//   - Leases are judged by the database clock, never the client's: expiry is written as
//     clock_timestamp() + ttl and compared with clock_timestamp().
//   - The finish sequence follows commit order (see Finish), so FinishedSince never skips
//     a trial whose finish committed after a later one's.
//   - The Store is also a retune.RetrainStore. Champion promotions are a compare-and-set
//     on the model's version; outbox events are numbered in commit order (see Events).
//
// Open applies pending schema migrations unless Options.NoMigrate; deployments with many
// workers can run Migrate once before starting them. Times are returned in UTC.
//
// # Transient failures
//
// An operation that fails for a transient reason is tried again, after a pause that
// doubles from 50 ms to 2 s (each drawn from its upper half), until it succeeds or the
// database has been unavailable for Options.RetryFor (DefaultRetryFor, 2 minutes),
// counted from the first transient failure since an operation of the Store last got an
// answer; then it returns the last error, saying how long it retried. Once the window has
// passed, every operation gives up at its first failure, until the database answers. Transient failures are refused,
// reset or closed connections, the server shutting down or starting up (SQLSTATE class
// 08, 57P01, 57P02, 57P03, 57P05, 53300), serialization failures (40001) and deadlocks
// (40P01). Anything else, such as a constraint violation, ErrConflict or the caller's
// context ending, is returned at once. Open and Migrate do not retry.
//
// What is tried again is the whole operation, never a statement inside a transaction:
//
//   - Reads, and the writes whose repetition changes nothing (Report, Heartbeat,
//     ReleaseDeliveries, SetNotifierEnabled), are simply run again.
//   - Every other write but the next point's is one transaction that reads its transaction ID before it sends
//     COMMIT. A failure before COMMIT went out rolled everything back, so the transaction
//     runs again. A connection lost after it went out leaves the outcome unknown: the Store
//     asks the server (pg_xact_status) once it answers. If the transaction committed, the
//     write succeeded and its result is read back (a Finish that committed reports the
//     finished trial, not the ErrConflict its epoch fence would give a second run; a
//     CreateTrial that committed returns its trial instead of leaving it RUNNING and
//     starting another); if it did not, the transaction runs again.
//   - CreateTrial and Finish, in the common case, are one statement calling a server-side
//     function (see oneround.go) with a random write token that the function records in
//     the trial's row. Such a call is simply run again: a repeat finds its token and
//     returns what the first run did. Such calls to one study that arrive while one is in
//     flight go together as the next round trip, in one transaction (group commit, see
//     group.go); if one of them fails, each runs again alone.
//   - RequestRetune, ConsumeTriggers, ClaimDeliveries and RecordAttempt are single
//     statements that must not run twice: they are tried again only when the failure shows
//     they did not run (the connection did not open, or the server reported an error).
//
// A lease whose renewals fail during an outage stays valid until it expires by the
// database clock: an outage longer than the lease TTL can let another process fail the
// trial ("lease expired").
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configures OpenOptions. The zero value is the default.
type Options struct {
	// NoMigrate makes Open check the database schema instead of migrating it: Open fails
	// unless the schema is at the version this package knows (see Migrate). Default false:
	// Open applies pending migrations.
	NoMigrate bool
	// Schema is the PostgreSQL schema every connection uses (its search_path); Open
	// creates it if it migrates and the schema is missing. Default "": the search_path
	// of the DSN (PostgreSQL's default puts the tables in "public").
	Schema string
	// RetryFor is how long operations that fail for a transient reason are tried again,
	// counted from when the database became unavailable (see the package doc). Default 0:
	// DefaultRetryFor; negative: never retried.
	RetryFor time.Duration
}

// Store is a retune.Storage on a PostgreSQL connection pool. It is safe for concurrent
// use; any number of Stores, in any number of processes, may share one database.
type Store struct {
	pool     *pgxpool.Pool
	retryFor time.Duration // <= 0: no retries
	down     atomic.Int64  // when operations began failing for a transient reason (Unix ns); 0 while the database answers
	purged   atomic.Int64  // when expired idempotency keys were last deleted (Unix ns)
	// onCommit, if not nil, is called just before a transaction's COMMIT is sent (sent
	// false) and just after, before its reply is read (sent true): tests lose commits and
	// their replies with it.
	onCommit func(c *pgconn.PgConn, xid string, sent bool)
	// onCall is onCommit for the writes done in one statement (see call), which carry a
	// write token instead of a transaction ID.
	onCall func(c *pgconn.PgConn, token int64, sent bool)
	// written holds the stored objects of trials this Store wrote last, for Finish.
	written writtenObjs
	// groups queue the one-statement writes that wait for another to the same study (group.go).
	groups groups
}

var (
	_ retune.Storage = (*Store)(nil)
	_ retune.Retrier = (*Store)(nil)
)

// Open connects to the database dsn names and applies pending migrations. The DSN is a
// PostgreSQL URL or keyword/value string as pgx parses it; pool settings such as
// pool_max_conns go in it too.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenOptions(ctx, dsn, Options{})
}

// OpenOptions is Open with options.
func OpenOptions(ctx context.Context, dsn string, o Options) (*Store, error) {
	pool, err := newPool(ctx, dsn, o.Schema)
	if err != nil {
		return nil, err
	}
	if o.NoMigrate {
		err = checkVersion(ctx, pool, knownMigrations())
	} else {
		err = migrate(ctx, pool, o.Schema, knownMigrations())
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	retryFor := o.RetryFor
	if retryFor == 0 {
		retryFor = DefaultRetryFor
	}
	return &Store{pool: pool, retryFor: retryFor}, nil
}

// RetryFor returns how long the Store retries an operation that fails for a transient
// reason (0 if it does not).
func (s *Store) RetryFor() time.Duration { return max(s.retryFor, 0) }

// Close implements retune.Storage: it closes the pool, waiting for connections in use.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

func newPool(ctx context.Context, dsn, schema string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres DSN: %v", retune.ErrInvalid, err)
	}
	if schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "retune"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return pool, nil
}

// tx runs fn in a READ COMMITTED transaction: each statement sees what committed before it
// started, which is what the study-row locking below relies on. An error from fn rolls
// the transaction back and is returned as it is. The transaction is a pipeTx whose BEGIN
// goes alone: it is retried as a whole on a transient failure, so fn must set its results
// afresh each time it runs.
func (s *Store) tx(ctx context.Context, what string, fn func(dbtx) error) error {
	return s.pipeTx(ctx, what, func(p *pipeTx) error {
		if err := p.Begin(ctx); err != nil {
			return dbErr(what, err)
		}
		if err := fn(p.conn); err != nil {
			return err
		}
		if err := p.Commit(ctx); err != nil {
			return dbErr(what, err)
		}
		return nil
	})
}

// dbtx is what the statements of a transaction run on.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// dbErr wraps a database error with what was being done. Values the database cannot
// store (a NUL byte or invalid UTF-8 in text, a number out of range) are invalid input.
func dbErr(what string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && strings.HasPrefix(pe.Code, "22") {
		return fmt.Errorf("%w: %s: %s", retune.ErrInvalid, what, pe.Message)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

func studyNotFound(id int64) error {
	return fmt.Errorf("study id %d: %w", id, retune.ErrNotFound)
}
