package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// The writes of the trial loop (CreateTrial, Finish) run on the writer's driver
// connection itself (sql.Conn.Raw), through statements the driver keeps prepared. Through
// database/sql, each such write cost a goroutine watching the transaction's context, a
// transaction-bound copy of every statement, and, in the driver, a fresh parse of BEGIN
// and of COMMIT with a goroutine watching the context of each. Here only BEGIN IMMEDIATE,
// which may wait for another process's write lock, runs under the caller's context; the
// statements run to completion, and a context that ended by the time they did rolls the
// transaction back instead of committing it, as database/sql does.

// rawStmts are the driver statements prepared on the writer connection dc. Only the
// holder of that connection (inside sql.Conn.Raw) uses them, so they need no lock of
// their own.
type rawStmts struct {
	dc any
	m  map[string]driver.Stmt
}

// on returns the statements of driver connection dc. Those of an earlier connection,
// which database/sql closed as broken, are dropped unused: finalizing them would need
// that connection.
func (r *rawStmts) on(dc any) *rawStmts {
	if r.dc != dc {
		r.dc, r.m = dc, map[string]driver.Stmt{}
	}
	return r
}

func (r *rawStmts) stmt(q string) (driver.Stmt, error) {
	if st, ok := r.m[q]; ok {
		return st, nil
	}
	p, ok := r.dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("sqlite: driver connection %T cannot prepare with a context", r.dc)
	}
	st, err := p.PrepareContext(context.Background(), q)
	if err != nil {
		return nil, err
	}
	r.m[q] = st // the queries of writeRaw's callers are a fixed few
	return st, nil
}

// close finalizes the statements; the caller holds the connection.
func (r *rawStmts) close() {
	for q, st := range r.m {
		st.Close()
		delete(r.m, q)
	}
}

// rawTx is a write transaction on the writer's driver connection.
type rawTx struct {
	s *rawStmts
}

// args converts a query's arguments to the values the driver binds.
func args(in []any) ([]driver.NamedValue, error) {
	out := make([]driver.NamedValue, len(in))
	for i, a := range in {
		var v driver.Value
		switch a := a.(type) {
		case int64, float64, string, []byte, nil:
			v = a
		case int:
			v = int64(a)
		default:
			var err error
			if v, err = driver.DefaultParameterConverter.ConvertValue(a); err != nil {
				return nil, fmt.Errorf("argument %d: %w", i+1, err)
			}
		}
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out, nil
}

func (t *rawTx) exec(q string, a ...any) (driver.Result, error) {
	st, err := t.s.stmt(q)
	if err != nil {
		return nil, err
	}
	nv, err := args(a)
	if err != nil {
		return nil, err
	}
	return st.(driver.StmtExecContext).ExecContext(context.Background(), nv)
}

// query runs q and calls row with each row's values, until it returns false.
func (t *rawTx) query(q string, row func(v []driver.Value) (more bool, err error), a ...any) error {
	st, err := t.s.stmt(q)
	if err != nil {
		return err
	}
	nv, err := args(a)
	if err != nil {
		return err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(context.Background(), nv)
	if err != nil {
		return err
	}
	v := make([]driver.Value, len(rows.Columns()))
	for {
		switch err := rows.Next(v); {
		case errors.Is(err, io.EOF):
			return rows.Close()
		case err != nil:
			rows.Close()
			return err
		}
		more, err := row(v)
		if err != nil || !more {
			rows.Close()
			return err
		}
	}
}

// queryRow runs q and scans its first row into dest, as sql.Row.Scan does (sql.ErrNoRows
// without one). dest takes *int64, *string, *[]byte (a copy) and sql.Scanner
// implementations such as sql.NullInt64, and pointers to integer types.
func (t *rawTx) queryRow(q string, dest []any, a ...any) error {
	found := false
	err := t.query(q, func(v []driver.Value) (bool, error) {
		found = true
		return false, scanner(v)(dest...)
	}, a...)
	if err == nil && !found {
		return sql.ErrNoRows
	}
	return err
}

func scanValue(dest any, v driver.Value) error {
	switch d := dest.(type) {
	case *int64:
		if n, ok := v.(int64); ok {
			*d = n
			return nil
		}
	case *string:
		switch s := v.(type) {
		case string:
			*d = s
			return nil
		case []byte:
			*d = string(s)
			return nil
		}
	case *[]byte:
		switch s := v.(type) {
		case string:
			*d = []byte(s)
			return nil
		case []byte:
			*d = append([]byte(nil), s...)
			return nil
		case nil:
			*d = nil
			return nil
		}
	case *sql.NullInt64: // the common Scanners, without their reflection
		if n, ok := v.(int64); ok || v == nil {
			*d = sql.NullInt64{Int64: n, Valid: ok}
			return nil
		}
	case *sql.NullInt16:
		if n, ok := v.(int64); (ok && int64(int16(n)) == n) || v == nil {
			*d = sql.NullInt16{Int16: int16(n), Valid: ok}
			return nil
		}
	case *sql.NullString:
		if s, ok := v.(string); ok || v == nil {
			*d = sql.NullString{String: s, Valid: ok}
			return nil
		}
	}
	switch d := dest.(type) {
	case sql.Scanner:
		return d.Scan(v)
	default: // a pointer to an integer type, such as *int or *retune.TrialState
		if n, ok := v.(int64); ok {
			if r := reflect.ValueOf(dest); r.Kind() == reflect.Pointer && r.Elem().CanInt() {
				if e := r.Elem(); !e.OverflowInt(n) {
					e.SetInt(n)
					return nil
				}
			}
		}
	}
	return fmt.Errorf("cannot store %T in %T", v, dest)
}

// scanner scans a row's values into dest as queryRow does.
func scanner(v []driver.Value) func(dest ...any) error {
	return func(dest ...any) error {
		if len(v) != len(dest) {
			return fmt.Errorf("sqlite: %d columns into %d destinations", len(v), len(dest))
		}
		for i, d := range dest {
			if err := scanValue(d, v[i]); err != nil {
				return fmt.Errorf("sqlite: column %d: %w", i, err)
			}
		}
		return nil
	}
}

// writeRaw is write on the driver connection: fn runs in one BEGIN IMMEDIATE transaction,
// committed if fn succeeds and ctx has not ended, else rolled back.
func (s *Store) writeRaw(ctx context.Context, fn func(tx *rawTx) error) error {
	c, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: begin write: %w", err)
	}
	defer c.Close()
	var ferr error // fn's error, returned as it is
	err = c.Raw(func(dc any) error {
		st := s.raw.on(dc)
		begin, err := st.stmt("BEGIN IMMEDIATE")
		if err != nil {
			return fmt.Errorf("sqlite: begin write: %w", err)
		}
		// The one statement that may wait (for another connection's write lock): it ends
		// its wait when ctx ends.
		if _, err := begin.(driver.StmtExecContext).ExecContext(ctx, nil); err != nil {
			return fmt.Errorf("sqlite: begin write: %w", err)
		}
		tx := &rawTx{s: st}
		if ferr = fn(tx); ferr == nil && ctx.Err() != nil {
			ferr = fmt.Errorf("sqlite: commit: %w", ctx.Err())
		}
		if ferr != nil {
			if _, err := tx.exec("ROLLBACK"); err != nil {
				// Still in the transaction, perhaps: database/sql discards the connection.
				return fmt.Errorf("sqlite: rollback: %v: %w", err, driver.ErrBadConn)
			}
			return nil
		}
		if _, err := tx.exec("COMMIT"); err != nil {
			if _, rerr := tx.exec("ROLLBACK"); rerr != nil {
				return fmt.Errorf("sqlite: commit: %v; rollback: %v: %w", err, rerr, driver.ErrBadConn)
			}
			return fmt.Errorf("sqlite: commit: %w", err)
		}
		return nil
	})
	if ferr != nil {
		return ferr
	}
	return err
}
