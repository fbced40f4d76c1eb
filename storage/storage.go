// Package storage opens a retune.Storage by DSN:
//
//	memory                              in-process, gone at exit
//	retune.db, ./dir/x.db, /abs/x.db    SQLite file (created if missing)
//	sqlite:///abs/path.db, sqlite://rel.db
//	postgres://user@host:5432/db?sslmode=disable (also postgresql://)
//
// Opening applies pending schema migrations; use Migrate to run them explicitly first when
// many workers start at once against a shared database.
package storage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/storage/memory"
	"github.com/a6b40afc/retune/storage/postgres"
	"github.com/a6b40afc/retune/storage/sqlite"
)

// DefaultDSN is the storage the CLI uses when none is given: a SQLite file in the working
// directory.
const DefaultDSN = "retune.db"

// Kind says which backend a DSN selects: "memory", "sqlite" or "postgres"; the second
// result is what the backend's Open takes (a path or a PostgreSQL URL).
func Kind(dsn string) (kind, target string, err error) {
	switch {
	case dsn == "":
		return "", "", fmt.Errorf("%w: empty storage DSN: want memory, a SQLite path, sqlite:///path.db or postgres://…", retune.ErrInvalid)
	case dsn == "memory" || dsn == "memory://":
		return "memory", "", nil
	case strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://"):
		return "postgres", dsn, nil
	case strings.HasPrefix(dsn, "sqlite://"):
		path := strings.TrimPrefix(dsn, "sqlite://")
		if path == "" {
			return "", "", fmt.Errorf("%w: DSN %q has no path: want sqlite:///abs/path.db or sqlite://relative.db", retune.ErrInvalid, dsn)
		}
		return "sqlite", path, nil
	case strings.Contains(dsn, "://"):
		return "", "", fmt.Errorf("%w: DSN %q: unknown scheme: want memory, a SQLite path, sqlite:///path.db or postgres://…", retune.ErrInvalid, dsn)
	}
	return "sqlite", dsn, nil
}

// Options configures OpenOptions. The zero value is the default.
type Options struct {
	// RetryFor is how long a PostgreSQL storage tries an operation again when it fails
	// for a transient reason, such as a server restart (postgres.Options.RetryFor). Other
	// storages ignore it. Default 0: postgres.DefaultRetryFor; negative: no retries.
	RetryFor time.Duration
}

// Open opens the storage dsn names (see the package doc).
func Open(ctx context.Context, dsn string) (retune.Storage, error) {
	return OpenOptions(ctx, dsn, Options{})
}

// OpenOptions is Open with options.
func OpenOptions(ctx context.Context, dsn string, o Options) (retune.Storage, error) {
	kind, target, err := Kind(dsn)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "memory":
		return memory.New(), nil
	case "postgres":
		return postgres.OpenOptions(ctx, target, postgres.Options{RetryFor: o.RetryFor})
	}
	return sqlite.Open(ctx, target)
}

// OpenExisting is Open for commands that only read or change what is there: a SQLite file
// that does not exist is an error wrapping retune.ErrNotFound, not a new empty database.
func OpenExisting(ctx context.Context, dsn string) (retune.Storage, error) {
	kind, target, err := Kind(dsn)
	if err != nil {
		return nil, err
	}
	if kind == "sqlite" {
		return sqlite.OpenOptions(ctx, target, sqlite.Options{MustExist: true})
	}
	return Open(ctx, dsn)
}

// Migrate applies pending migrations to the database dsn names (nothing for memory).
func Migrate(ctx context.Context, dsn string) error {
	kind, target, err := Kind(dsn)
	if err != nil {
		return err
	}
	switch kind {
	case "postgres":
		return postgres.Migrate(ctx, target)
	case "sqlite":
		return sqlite.Migrate(ctx, target)
	}
	return nil
}

// Redact returns dsn with any password replaced by "xxxxx", for logs and errors.
func Redact(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return dsn
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return dsn
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}
