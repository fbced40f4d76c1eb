package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"

	"github.com/a6b40afc/retune"
)

// SchemaVersion is the newest schema version this package knows: the number of its
// migrations. Version numbers are shared with the PostgreSQL storage.
const SchemaVersion = 18

//go:embed migration/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string // file name
	sql     string
}

// migrations are the embedded migration files, in version order: version i+1 at index i.
var migrations = mustLoadMigrations(migrationFS)

var migrationName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// loadMigrations reads migration/NNNN_name.sql files and checks that their versions
// are 1, 2, … SchemaVersion.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	files, err := fs.Glob(fsys, "migration/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, f := range files { // Glob returns names in lexical order
		name := path.Base(f)
		m := migrationName.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", name)
		}
		v, _ := strconv.Atoi(m[1])
		if v != len(out)+1 {
			return nil, fmt.Errorf("migration file %s: version %d, want %d (versions are 1, 2, … without gaps)", name, v, len(out)+1)
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	if len(out) != SchemaVersion {
		return nil, fmt.Errorf("%d migration files, but SchemaVersion is %d", len(out), SchemaVersion)
	}
	return out, nil
}

func mustLoadMigrations(fsys fs.FS) []migration {
	m, err := loadMigrations(fsys)
	if err != nil {
		panic("sqlite: " + err.Error())
	}
	return m
}

// Migrate brings the database at path (created if missing) to SchemaVersion, applying
// each pending migration in its own transaction. Open does the same unless
// Options.NoMigrate; Migrate is for doing it explicitly. A database whose schema is
// newer than SchemaVersion is an error wrapping retune.ErrConflict.
func Migrate(ctx context.Context, path string) error {
	s, err := OpenOptions(ctx, path, Options{})
	if err != nil {
		return err
	}
	return s.Close()
}

// migrate applies pending migrations of ms (version i+1 at index i) through w, the writer, one transaction each, or,
// if !apply, only checks that none is pending. Each transaction re-reads the version
// under the write lock, so processes migrating the same file at once apply each
// migration once.
func migrate(ctx context.Context, w *sql.DB, ms []migration, apply bool) error {
	for {
		done, err := migrateOne(ctx, w, ms, apply)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next pending migration, or reports done if there is none.
func migrateOne(ctx context.Context, w *sql.DB, ms []migration, apply bool) (done bool, err error) {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() {
		if err != nil || done {
			_ = tx.Rollback()
		}
	}()
	cur, err := schemaVersion(ctx, tx)
	if err != nil {
		return false, err
	}
	switch newest := len(ms); {
	case cur > newest:
		return false, fmt.Errorf("%w: database schema version %d is newer than this retune (knows up to %d): upgrade retune", retune.ErrConflict, cur, newest)
	case cur == newest:
		return true, nil
	case !apply:
		return false, fmt.Errorf("%w: database schema version %d is older than this retune (wants %d): migrate it (retune migrate, or open without NoMigrate)", retune.ErrConflict, cur, newest)
	}
	m := ms[cur]
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL -- Unix nanoseconds, UTC
	) STRICT`); err != nil {
		return false, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.version, nowNanos()); err != nil {
		return false, fmt.Errorf("migration %d (%s): record version: %w", m.version, m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %d (%s): commit: %w", m.version, m.name, err)
	}
	return false, nil
}

// schemaVersion is the newest version recorded in schema_migrations, 0 if none.
func schemaVersion(ctx context.Context, q *sql.Tx) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("migrate: read schema version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v int
	if err := q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("migrate: read schema version: %w", err)
	}
	return v, nil
}
