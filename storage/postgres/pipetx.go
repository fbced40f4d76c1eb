package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pipeTx is a transaction whose BEGIN travels in one round trip with its first
// statements, and whose COMMIT travels with its last statement (CommitWith): a
// transaction that locks, decides and writes takes two round trips instead of four.
// CreateTrial and Finish use it where their one-statement forms (oneround.go) do not
// apply; tx is built on it.
//
// The first round trip also reads the transaction's ID, so that a COMMIT whose reply is
// lost can be checked (see retryTx). Anything that fails before the commit rolls the whole
// transaction back. A connection released inside a transaction is closed by the pool,
// never reused.
type pipeTx struct {
	conn   *pgxpool.Conn
	try    *txAttempt
	hook   func(c *pgconn.PgConn, xid string, sent bool) // Store.onCommit
	reread func(context.Context) error
	begun  bool
	commit bool
}

// pipeTx runs fn in a pipelined transaction, which fn must end with CommitWith or
// Commit. The transaction is retried as a whole on a transient failure (retryTx).
func (s *Store) pipeTx(ctx context.Context, what string, fn func(*pipeTx) error) error {
	var p *pipeTx
	return s.retryTx(ctx, func(ctx context.Context, a *txAttempt) error {
		c, err := s.pool.Acquire(ctx)
		if err != nil {
			return dbErr(what, err)
		}
		defer c.Release()
		p = &pipeTx{conn: c, try: a, hook: s.onCommit}
		err = fn(p)
		if err == nil && !p.commit {
			err = fmt.Errorf("postgres: %s: the transaction ended without a commit", what)
		}
		if err != nil && c.Conn().PgConn().TxStatus() != 'I' {
			_, _ = c.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		return err
	}, func(ctx context.Context) error {
		if p.reread == nil {
			return nil
		}
		return p.reread(ctx)
	})
}

// Reread sets how the result of the transaction is read back when its COMMIT went out
// and committed, but the reply carrying the result was lost.
func (p *pipeTx) Reread(f func(context.Context) error) { p.reread = f }

// SendBatch sends b, opening the transaction in the same round trip if it is the first.
func (p *pipeTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if p.begun {
		return p.conn.SendBatch(ctx, b)
	}
	p.begun = true
	b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: "BEGIN"}, {SQL: xidSQL}}, b.QueuedQueries...)
	br := p.conn.SendBatch(ctx, b)
	_, err := br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&p.try.xid)
	}
	if err != nil {
		return failedResults{br, err}
	}
	return br
}

// Begin opens the transaction in a round trip of its own, for a transaction whose first
// statement cannot go with it.
func (p *pipeTx) Begin(ctx context.Context) error {
	return p.SendBatch(ctx, &pgx.Batch{}).Close()
}

// QueryRow runs one statement of the transaction after its first batch has opened it.
func (p *pipeTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if !p.begun {
		return errRow{errors.New("postgres: a statement before the transaction's first batch")}
	}
	return p.conn.QueryRow(ctx, sql, args...)
}

// CommitWith runs the transaction's last statement and commits, in one round trip; scan
// reads the statement's row. The statement must return a row whenever it succeeds: the
// commit is already on its way when scan runs.
func (p *pipeTx) CommitWith(ctx context.Context, scan func(pgx.Row) error, sql string, args ...any) error {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	return p.commitBatch(ctx, b, scan)
}

// Commit commits the transaction.
func (p *pipeTx) Commit(ctx context.Context) error {
	return p.commitBatch(ctx, &pgx.Batch{}, nil)
}

// commitBatch sends b and COMMIT in one round trip; scan, if not nil, reads b's one row.
func (p *pipeTx) commitBatch(ctx context.Context, b *pgx.Batch, scan func(pgx.Row) error) error {
	if !p.begun {
		// The transaction's ID must be known before its COMMIT goes out.
		return errors.New("postgres: a commit before the transaction's first batch")
	}
	b.Queue("COMMIT")
	p.try.sent = true
	if p.hook != nil {
		p.hook(p.conn.Conn().PgConn(), p.try.xid, false)
	}
	br := p.SendBatch(ctx, b)
	if p.hook != nil {
		p.hook(p.conn.Conn().PgConn(), p.try.xid, true)
	}
	var err error
	if scan != nil {
		err = scan(br.QueryRow())
	}
	tag, commitErr := br.Exec()
	closeErr := br.Close()
	switch {
	case err != nil:
		return err
	case commitErr != nil:
		return commitErr
	case closeErr != nil:
		return closeErr
	case tag.String() != "COMMIT":
		return fmt.Errorf("commit ended as %q", tag)
	}
	p.commit = true
	return nil
}

// failedResults are the results of a batch whose BEGIN failed: every read reports why.
type failedResults struct {
	pgx.BatchResults
	err error
}

func (f failedResults) Close() error                     { _ = f.BatchResults.Close(); return f.err }
func (f failedResults) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, f.err }
func (f failedResults) Query() (pgx.Rows, error)         { return nil, f.err }
func (f failedResults) QueryRow() pgx.Row                { return errRow{f.err} }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
