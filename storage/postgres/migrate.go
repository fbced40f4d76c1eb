package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/a6b40afc/retune"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SchemaVersion is the newest schema version this package knows: the number of its
// migrations, migration/NNNN_name.sql numbered 1, 2, 3 … with no gap. The SQLite storage
// uses the same numbers for the same changes; a change only one storage needs (version 5,
// the finish counter's row) is a no-op migration in the other.
const SchemaVersion = 18

//go:embed migration/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migration/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, p := range names { // fs.Glob returns names in lexical order
		base := strings.TrimSuffix(path.Base(p), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", p)
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migration file %s has version %d: want %d (versions are 1, 2, 3 … with no gap)", p, v, len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	if len(ms) == 0 {
		return nil, errors.New("no migration files")
	}
	return ms, nil
}

// knownMigrations are the embedded migrations in version order.
var knownMigrations = sync.OnceValue(func() []migration {
	ms, err := loadMigrations(migrationFS)
	if err == nil && len(ms) != SchemaVersion {
		err = fmt.Errorf("%d migration files, but SchemaVersion is %d", len(ms), SchemaVersion)
	}
	if err != nil {
		panic("postgres: " + err.Error())
	}
	return ms
})

// Migrate applies the pending migrations to the database dsn names, in the first schema
// of its search_path, and returns once the schema is current. Run it once before starting
// the workers of a multi-node deployment; they can then open the store with
// Options.NoMigrate. Concurrent Migrate calls (and Opens) are safe: each version is applied
// once. A database whose schema is newer than this package knows is an error wrapping
// retune.ErrConflict.
func Migrate(ctx context.Context, dsn string) error {
	pool, err := newPool(ctx, dsn, "")
	if err != nil {
		return err
	}
	defer pool.Close()
	return migrate(ctx, pool, "", knownMigrations())
}

// migrate applies ms to the schema (or to the first existing schema of the search_path,
// for ""), one migration per transaction.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string, ms []migration) error {
	for {
		done, err := migrateOne(ctx, pool, schema, ms)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next pending migration, if any, in one transaction. The
// transaction first takes an advisory lock on the schema's name, so concurrent migrators
// of one schema take turns (and migrators of other schemas do not wait); the lock is
// released when the transaction ends.
func migrateOne(ctx context.Context, pool *pgxpool.Pool, schema string, ms []migration) (done bool, err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("postgres: migrate: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	target := schema
	if target == "" {
		var cur *string
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&cur); err != nil {
			return false, fmt.Errorf("postgres: migrate: %w", err)
		}
		if cur == nil {
			return false, fmt.Errorf("%w: postgres: migrate: no schema of the search_path exists: create one, or set Options.Schema", retune.ErrInvalid)
		}
		target = *cur
	}
	h := fnv.New64a()
	h.Write([]byte("retune migrate " + target))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return false, fmt.Errorf("postgres: migrate schema %q: lock: %w", target, err)
	}
	if schema != "" {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
			return false, fmt.Errorf("postgres: migrate: create schema %q: %w", schema, err)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT clock_timestamp())`); err != nil {
		return false, fmt.Errorf("postgres: migrate schema %q: %w", target, err)
	}
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return false, err
	}
	switch {
	case v > len(ms):
		return false, newerErr(v, len(ms))
	case v == len(ms):
		return true, nil
	}
	m := ms[v]
	if _, err := tx.Exec(ctx, m.sql); err != nil {
		return false, fmt.Errorf("postgres: migration %d (%s): %w", m.version, m.name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.version); err != nil {
		return false, fmt.Errorf("postgres: migration %d (%s): record: %w", m.version, m.name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("postgres: migration %d (%s): commit: %w", m.version, m.name, err)
	}
	return m.version == len(ms), nil
}

// checkVersion fails unless the schema is at the newest version of ms.
func checkVersion(ctx context.Context, pool *pgxpool.Pool, ms []migration) error {
	v, err := schemaVersion(ctx, pool)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table: never migrated
		v, err = 0, nil
	}
	switch {
	case err != nil:
		return err
	case v > len(ms):
		return newerErr(v, len(ms))
	case v < len(ms):
		return fmt.Errorf("postgres: database schema version %d is older than this retune (needs %d): run postgres.Migrate, or open without NoMigrate: %w", v, len(ms), retune.ErrConflict)
	}
	return nil
}

func schemaVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var v int
	if err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: read schema version: %w", err)
	}
	return v, nil
}

func newerErr(v, known int) error {
	return fmt.Errorf("postgres: database schema version %d is newer than this retune (knows up to %d): upgrade retune: %w", v, known, retune.ErrConflict)
}
