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
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
}

// Store is a retune.Storage on a PostgreSQL connection pool. It is safe for concurrent
// use; any number of Stores, in any number of processes, may share one database.
type Store struct {
	pool *pgxpool.Pool
}

var _ retune.Storage = (*Store)(nil)

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
	return &Store{pool: pool}, nil
}

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
// the transaction back and is returned as it is.
func (s *Store) tx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	t, err := s.pool.Begin(ctx)
	if err != nil {
		return dbErr(what, err)
	}
	defer func() { _ = t.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(t); err != nil {
		return err
	}
	if err := t.Commit(ctx); err != nil {
		return dbErr(what, err)
	}
	return nil
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
