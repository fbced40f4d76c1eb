// Package sqlite is a retune.Storage in one SQLite file, for a single machine: any number
// of processes on it may share the file. It uses the pure-Go driver modernc.org/sqlite
// (no cgo).
//
// The database runs in WAL mode with foreign keys on. Each Store has exactly one writer
// connection; every write is one BEGIN IMMEDIATE transaction, so writers of all processes
// queue on the file's write lock (for up to Options.BusyTimeout) instead of failing
// half-way with SQLITE_BUSY. Reads use a separate small pool of read-only connections
// and, in WAL mode, never wait for writers.
//
// Stored form: trial data (params with their distributions, values, metrics, attributes,
// fixed params) is the encoding every storage shares (retune.MarshalParams,
// internal/codec's MarshalFloats, …) kept in TEXT columns, so ±Inf and NaN read back
// exactly. Times are INTEGER Unix nanoseconds in UTC, read back as UTC; they come from
// the clock of the process that writes them. The study seed, a uint64, is stored as the
// signed integer with the same bits.
//
// The Store is also a retune.RetrainStore: champions, decisions and the event outbox
// live in the same file and outlive the studies of their model.
//
// Open applies pending schema migrations (see Migrate and SchemaVersion).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Synchronous is SQLite's synchronous setting: how hard a commit waits for the disk.
type Synchronous int8

// Synchronous settings.
const (
	// SyncNormal (the default): in WAL mode a committed transaction survives the crash or
	// kill -9 of the process, but the last commits before a power loss or an operating
	// system crash may be rolled back (the database stays consistent).
	SyncNormal Synchronous = iota
	// SyncFull syncs the WAL to disk at every commit: a committed transaction also
	// survives power loss, at the cost of one fsync per write.
	SyncFull
)

func (s Synchronous) String() string {
	switch s {
	case SyncNormal:
		return "NORMAL"
	case SyncFull:
		return "FULL"
	}
	return "Synchronous(" + strconv.Itoa(int(s)) + ")"
}

// Options configures OpenOptions. The zero value is the default Open uses.
type Options struct {
	// Synchronous is the durability of a commit; default SyncNormal (see its doc).
	Synchronous Synchronous
	// BusyTimeout is how long a connection waits for a lock another connection or
	// process holds before failing with SQLITE_BUSY; default 10s.
	BusyTimeout time.Duration
	// Readers is the number of read connections; default 4.
	Readers int
	// NoMigrate makes OpenOptions fail, instead of migrating, when the database's schema
	// is older than this package's (see Migrate). Default false: pending migrations are
	// applied.
	NoMigrate bool
	// MustExist makes OpenOptions fail with an error wrapping retune.ErrNotFound, instead
	// of creating the file, when there is no database at path: for commands that only
	// read. Default false: a missing file is created.
	MustExist bool
	// CheckpointPages is how many pages the WAL holds before a commit copies them into the
	// database file (SQLite's wal_autocheckpoint); default 10,000, about 40 MB. In WAL
	// mode with SyncNormal a commit only appends to the WAL, and a checkpoint syncs the
	// WAL and the database file: with SQLite's default of 1,000 pages, about every 125
	// trials, an ask and tell took 3% to 11% longer (BenchmarkAskTell, medians of 5 runs
	// side by side: 326 against 318 µs after 500 trials, 343 against 306 µs after 5,000).
	// Commits are as durable either way; a larger WAL takes longer to replay when a crashed
	// process's database is next opened.
	CheckpointPages int
}

const (
	defaultBusyTimeout     = 10 * time.Second
	defaultReaders         = 4
	defaultCheckpointPages = 10000
)

// Store is a retune.Storage on a SQLite file. It is safe for concurrent use.
type Store struct {
	w  *sql.DB // exactly one connection: every write transaction
	r  *sql.DB // read-only connections
	ws *stmtCache
	rs *stmtCache
	// raw are the statements writeRaw keeps prepared on the writer's connection.
	raw rawStmts
}

var _ retune.Storage = (*Store)(nil)

// Open opens (creating it if needed) the SQLite database at path with the default
// Options and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenOptions(ctx, path, Options{})
}

// OpenOptions opens (creating it if needed) the SQLite database at path.
func OpenOptions(ctx context.Context, path string, o Options) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("%w: sqlite path %q: want the path of a database file", retune.ErrInvalid, path)
	}
	if o.Synchronous != SyncNormal && o.Synchronous != SyncFull {
		return nil, fmt.Errorf("%w: sqlite synchronous %v: want SyncNormal or SyncFull", retune.ErrInvalid, o.Synchronous)
	}
	if o.BusyTimeout < 0 || o.Readers < 0 || o.CheckpointPages < 0 {
		return nil, fmt.Errorf("%w: sqlite options busy timeout %v, readers %d, checkpoint pages %d: want >= 0 (0 = default)", retune.ErrInvalid, o.BusyTimeout, o.Readers, o.CheckpointPages)
	}
	if o.CheckpointPages == 0 {
		o.CheckpointPages = defaultCheckpointPages
	}
	if o.BusyTimeout == 0 {
		o.BusyTimeout = defaultBusyTimeout
	}
	if o.Readers == 0 {
		o.Readers = defaultReaders
	}
	if o.MustExist {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, notExist(path)
		}
	} else if err := createPrivate(path); err != nil {
		return nil, err
	}
	w, err := openWriter(ctx, path, o)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, w, migrations, !o.NoMigrate); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, o, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite %s: open readers: %w", path, err)
	}
	r.SetMaxOpenConns(o.Readers)
	r.SetMaxIdleConns(o.Readers)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite %s: open readers: %w", path, err)
	}
	return &Store{w: w, r: r, ws: newStmtCache(w), rs: newStmtCache(r)}, nil
}

// notExist is the error of MustExist for a missing file; it matches retune.ErrNotFound.
type notExist string

func (e notExist) Error() string        { return "sqlite database " + string(e) + " does not exist" }
func (e notExist) Is(target error) bool { return target == retune.ErrNotFound }

// createPrivate creates the database file with mode 0600 if it does not exist: it holds
// trainers' output and decision evidence. SQLite gives the -wal and -shm files it creates
// beside it the database file's mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		return fmt.Errorf("sqlite %s: create: %w", path, err)
	}
	return f.Close()
}

// openWriter opens the single writer connection and checks that the file is in WAL mode.
// Switching a new file to WAL can report SQLITE_BUSY without waiting for the busy timeout
// when another process is opening the same file at that moment, so a busy open is retried
// until the busy timeout has passed.
func openWriter(ctx context.Context, path string, o Options) (*sql.DB, error) {
	deadline := time.Now().Add(o.BusyTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		w, err := tryOpenWriter(ctx, path, o)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			return w, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
	}
}

func tryOpenWriter(ctx context.Context, path string, o Options) (*sql.DB, error) {
	w, err := sql.Open("sqlite", dsn(path, o, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: open: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite %s: open: %w", path, err)
	}
	if mode != "wal" {
		w.Close()
		return nil, fmt.Errorf("sqlite %s: journal mode is %q, want wal (a network filesystem cannot hold a WAL database)", path, mode)
	}
	return w, nil
}

// dsn is the driver's data source name for path: a file: URI whose query the driver
// applies on every new connection. The writer begins its transactions IMMEDIATE and sets
// the journal and sync modes; readers are query-only.
func dsn(path string, o Options, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(o.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	if writer {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+o.Synchronous.String()+")")
		q.Add("_pragma", "wal_autocheckpoint("+strconv.Itoa(o.CheckpointPages)+")")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close closes the writer and the readers.
func (s *Store) Close() error {
	s.rs.close()
	s.ws.close()
	if c, err := s.w.Conn(context.Background()); err == nil {
		_ = c.Raw(func(dc any) error {
			s.raw.on(dc).close()
			return nil
		})
		c.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// write runs fn in one BEGIN IMMEDIATE transaction on the writer connection and commits
// it, or rolls it back if fn fails.
func (s *Store) write(ctx context.Context, fn func(tx *txn) error) error {
	defer s.ws.prepareMissed(ctx)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin write: %w", err)
	}
	if err := fn(&txn{tx: tx, c: s.ws, detach: true}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// read runs fn in one read transaction, a consistent snapshot of the database.
func (s *Store) read(ctx context.Context, fn func(tx *txn) error) error {
	defer s.rs.prepareMissed(ctx)
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a read transaction has nothing to keep
	return fn(&txn{tx: tx, c: s.rs})
}

func nowNanos() int64 { return time.Now().UnixNano() }

// addNanos is the time t (Unix nanoseconds) plus d, saturated at the limits of int64.
func addNanos(t int64, d time.Duration) int64 {
	switch s := t + int64(d); {
	case d > 0 && s < t:
		return math.MaxInt64
	case d < 0 && s > t:
		return math.MinInt64
	default:
		return s
	}
}

// fromNanos reads back a stored time; NULL is the zero time.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
