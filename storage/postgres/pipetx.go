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
// CreateTrial and Finish, the writes of every trial, use it; other writes use tx.
//
// Error handling is the same as tx's: anything that fails before the commit rolls the
// whole transaction back. A connection released inside a transaction is closed by the
// pool, never reused.
type pipeTx struct {
	conn   *pgxpool.Conn
	begun  bool
	commit bool
}

// pipeTx runs fn in a pipelined transaction, which fn must end with CommitWith.
func (s *Store) pipeTx(ctx context.Context, what string, fn func(*pipeTx) error) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return dbErr(what, err)
	}
	defer c.Release()
	p := &pipeTx{conn: c}
	err = fn(p)
	if err == nil && !p.commit {
		err = fmt.Errorf("postgres: %s: the transaction ended without a commit", what)
	}
	if err != nil && c.Conn().PgConn().TxStatus() != 'I' {
		_, _ = c.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	return err
}

// SendBatch sends b, opening the transaction in the same round trip if it is the first.
func (p *pipeTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if p.begun {
		return p.conn.SendBatch(ctx, b)
	}
	p.begun = true
	b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: "BEGIN"}}, b.QueuedQueries...)
	br := p.conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		return failedResults{br, err}
	}
	return br
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
	b.Queue("COMMIT")
	br := p.SendBatch(ctx, b)
	err := scan(br.QueryRow())
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

func (f failedResults) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, f.err }
func (f failedResults) Query() (pgx.Rows, error)         { return nil, f.err }
func (f failedResults) QueryRow() pgx.Row                { return errRow{f.err} }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
