package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxStmts bounds the prepared statements kept per pool.
const maxStmts = 128

// stmtCache keeps the statements of one pool prepared, so that SQLite parses each query
// once per connection instead of on every call. A query first seen inside a transaction
// runs unprepared and is prepared after the transaction ends: preparing on the pool
// inside it could wait for the connection the transaction holds (the writer has one).
type stmtCache struct {
	db     *sql.DB
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	missed map[string]bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, missed: map[string]bool{}}
}

// lookup returns the prepared statement of q, or nil (and notes q to prepare later).
func (c *stmtCache) lookup(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[q]
	if !ok && len(c.m)+len(c.missed) < maxStmts {
		c.missed[q] = true
	}
	return st
}

// prepareMissed prepares the queries lookup did not find. The caller holds no
// transaction. A query that fails to prepare stays unprepared and reports its error when
// it runs.
func (c *stmtCache) prepareMissed(ctx context.Context) {
	c.mu.Lock()
	if len(c.missed) == 0 {
		c.mu.Unlock()
		return
	}
	var qs []string
	for q := range c.missed {
		qs = append(qs, q)
	}
	clear(c.missed)
	c.mu.Unlock()
	for _, q := range qs {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.m[q] == nil {
			c.m[q], st = st, nil
		}
		c.mu.Unlock()
		if st != nil {
			st.Close()
		}
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}

// txn is a transaction that runs queries through its pool's prepared statements.
//
// The statements of a write transaction run under a context without cancellation
// (detach): the driver would otherwise start a goroutine per statement to interrupt it
// when the context ends, a measurable share of a short write's cost. A write's
// statements are short, and cancellation still ends the transaction between them:
// database/sql rolls back a transaction whose context ends (BeginTx keeps the caller's).
// Reads, which may scan a large study, stay interruptible.
type txn struct {
	tx     *sql.Tx
	c      *stmtCache
	detach bool
}

func (t *txn) stmtCtx(ctx context.Context) context.Context {
	if t.detach {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (t *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = t.stmtCtx(ctx)
	if st := t.c.lookup(q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

func (t *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = t.stmtCtx(ctx)
	if st := t.c.lookup(q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx = t.stmtCtx(ctx)
	if st := t.c.lookup(q); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}
