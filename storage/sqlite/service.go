package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
)

// API tokens and idempotency keys (migration 7). Each operation is one write
// transaction, and SQLite runs one at a time on the file: two claims of one key cannot
// both win.

var (
	_ retune.TokenStore       = (*Store)(nil)
	_ retune.IdempotencyStore = (*Store)(nil)
)

const tokenColumns = `id, name, hash, scope, studies, expires, created, revoked`

func scanToken(sc interface{ Scan(...any) error }) (retune.Token, error) {
	var (
		t                retune.Token
		expires, revoked sql.NullInt64
		created          int64
	)
	if err := sc.Scan(&t.ID, &t.Name, &t.Hash, &t.Scope, &t.Studies, &expires, &created, &revoked); err != nil {
		return t, err
	}
	t.Expires, t.Created, t.Revoked = fromNanos(expires), time.Unix(0, created).UTC(), fromNanos(revoked)
	return t, nil
}

// CreateToken implements retune.TokenStore.
func (s *Store) CreateToken(ctx context.Context, tok retune.Token) (retune.Token, error) {
	if err := tok.Validate(); err != nil {
		return retune.Token{}, err
	}
	var expires sql.NullInt64
	if !tok.Expires.IsZero() {
		expires = sql.NullInt64{Int64: tok.Expires.UnixNano(), Valid: true}
	}
	var out retune.Token
	err := s.write(ctx, func(tx *txn) error {
		var err error
		out, err = scanToken(tx.QueryRowContext(ctx, `INSERT INTO tokens (name, hash, scope, studies, expires, created)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING `+tokenColumns,
			tok.Name, tok.Hash, tok.Scope, tok.Studies, expires, nowNanos()))
		return err
	})
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return retune.Token{}, fmt.Errorf("token %q exists: %w", tok.Name, retune.ErrConflict)
	}
	if err != nil {
		return retune.Token{}, fmt.Errorf("sqlite: create token %q: %w", tok.Name, err)
	}
	return out, nil
}

// Token implements retune.TokenStore.
func (s *Store) Token(ctx context.Context, id int64) (retune.Token, error) {
	var out retune.Token
	err := s.read(ctx, func(tx *txn) error {
		var err error
		out, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return retune.Token{}, fmt.Errorf("token %d: %w", id, retune.ErrNotFound)
	}
	if err != nil {
		return retune.Token{}, fmt.Errorf("sqlite: token %d: %w", id, err)
	}
	return out, nil
}

// Tokens implements retune.TokenStore.
func (s *Store) Tokens(ctx context.Context) ([]retune.Token, error) {
	out := []retune.Token{}
	err := s.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanToken(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken implements retune.TokenStore.
func (s *Store) RevokeToken(ctx context.Context, name string) error {
	var found bool
	err := s.write(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked = coalesce(revoked, ?) WHERE name = ?`, nowNanos(), name)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		found = n > 0
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: revoke token %q: %w", name, err)
	}
	if !found {
		return fmt.Errorf("token %q: %w", name, retune.ErrNotFound)
	}
	return nil
}

// ClaimIdempotencyKey implements retune.IdempotencyStore.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, c retune.IdempotencyClaim) (retune.IdempotentAnswer, error) {
	if err := c.Validate(); err != nil {
		return retune.IdempotentAnswer{}, err
	}
	var out retune.IdempotentAnswer
	err := s.write(ctx, func(tx *txn) error {
		out = retune.IdempotentAnswer{}
		now := nowNanos()
		// Expired keys go first, this one included: the index keeps it cheap.
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE expires <= ?`, now); err != nil {
			return err
		}
		var (
			fp, owner string
			locked    int64
			status    sql.NullInt64
			body      []byte
		)
		err := tx.QueryRowContext(ctx, `SELECT fingerprint, owner, locked, status, body FROM idempotency_keys WHERE key = ?`, c.Key).
			Scan(&fp, &owner, &locked, &status, &body)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			out.Claimed = true
			_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_keys (key, fingerprint, owner, locked, expires) VALUES (?, ?, ?, ?, ?)`,
				c.Key, c.Fingerprint, c.Owner, addNanos(now, c.Lock), addNanos(now, c.Keep))
			return err
		case err != nil:
			return err
		case fp != c.Fingerprint:
			return fmt.Errorf("%w: idempotency key %q was used for another request", retune.ErrInvalid, c.Key)
		case status.Valid:
			out.Status, out.Body = int(status.Int64), body
			return nil
		case owner != c.Owner && locked > now:
			return fmt.Errorf("%w: a request with idempotency key %q is still running", retune.ErrConflict, c.Key)
		}
		out.Claimed = true
		_, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET owner = ?, locked = ? WHERE key = ?`, c.Owner, addNanos(now, c.Lock), c.Key)
		return err
	})
	if errors.Is(err, retune.ErrInvalid) || errors.Is(err, retune.ErrConflict) {
		return retune.IdempotentAnswer{}, err
	}
	if err != nil {
		return retune.IdempotentAnswer{}, fmt.Errorf("sqlite: claim idempotency key: %w", err)
	}
	return out, nil
}

// CompleteIdempotencyKey implements retune.IdempotencyStore.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, key, owner string, a retune.IdempotentAnswer) error {
	var found bool
	err := s.write(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET status = ?, body = ?
			WHERE key = ? AND owner = ? AND status IS NULL`, a.Status, a.Body, key, owner)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		found = n > 0
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: answer idempotency key: %w", err)
	}
	if !found {
		return fmt.Errorf("%w: idempotency key %q is not claimed by %q", retune.ErrConflict, key, owner)
	}
	return nil
}

// ReleaseIdempotencyKey implements retune.IdempotencyStore.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, key, owner string) error {
	err := s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE key = ? AND owner = ? AND status IS NULL`, key, owner)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: release idempotency key: %w", err)
	}
	return nil
}

// Dashboard sessions (migration 16).

var _ retune.SessionStore = (*Store)(nil)

// CreateSession implements retune.SessionStore.
func (s *Store) CreateSession(ctx context.Context, sess retune.Session) (retune.Session, error) {
	if err := sess.Validate(); err != nil {
		return retune.Session{}, err
	}
	var found bool
	now := nowNanos()
	err := s.write(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires <= ?`, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, token, csrf, login, expires, created)
			SELECT ?, id, ?, ?, ?, ? FROM tokens WHERE id = ?`,
			sess.Hash, sess.CSRF, sess.Login, sess.Expires.UnixNano(), now, sess.TokenID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		found = n > 0
		return err
	})
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return retune.Session{}, fmt.Errorf("session exists: %w", retune.ErrConflict)
	}
	if err != nil {
		return retune.Session{}, fmt.Errorf("sqlite: create session: %w", err)
	}
	if !found {
		return retune.Session{}, fmt.Errorf("session for token %d: %w", sess.TokenID, retune.ErrNotFound)
	}
	sess.Hash = append([]byte(nil), sess.Hash...)
	sess.Expires, sess.Created = time.Unix(0, sess.Expires.UnixNano()).UTC(), time.Unix(0, now).UTC()
	return sess, nil
}

// liveSession selects a session or login ticket by hash while it and its token are valid
// (parameters: hash, login, now, now).
const liveSession = `SELECT s.hash, s.token, s.csrf, s.login, s.expires, s.created FROM sessions s JOIN tokens t ON t.id = s.token
	WHERE s.hash = ? AND s.login = ? AND s.expires > ? AND t.revoked IS NULL AND (t.expires IS NULL OR t.expires > ?)`

func scanSession(sc interface{ Scan(...any) error }) (retune.Session, error) {
	var (
		out              retune.Session
		expires, created int64
	)
	if err := sc.Scan(&out.Hash, &out.TokenID, &out.CSRF, &out.Login, &expires, &created); err != nil {
		return out, err
	}
	out.Expires, out.Created = time.Unix(0, expires).UTC(), time.Unix(0, created).UTC()
	return out, nil
}

// Session implements retune.SessionStore.
func (s *Store) Session(ctx context.Context, hash []byte) (retune.Session, error) {
	var out retune.Session
	err := s.read(ctx, func(tx *txn) error {
		now := nowNanos()
		var err error
		out, err = scanSession(tx.QueryRowContext(ctx, liveSession, hash, false, now, now))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return retune.Session{}, fmt.Errorf("session: %w", retune.ErrNotFound)
	}
	if err != nil {
		return retune.Session{}, fmt.Errorf("sqlite: session: %w", err)
	}
	return out, nil
}

// TakeSession implements retune.SessionStore: the read and the delete are one write
// transaction, so of two takes one finds the ticket.
func (s *Store) TakeSession(ctx context.Context, hash []byte) (retune.Session, error) {
	var out retune.Session
	err := s.write(ctx, func(tx *txn) error {
		now := nowNanos()
		var err error
		if out, err = scanSession(tx.QueryRowContext(ctx, liveSession, hash, true, now, now)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return retune.Session{}, fmt.Errorf("login ticket: %w", retune.ErrNotFound)
	}
	if err != nil {
		return retune.Session{}, fmt.Errorf("sqlite: take login ticket: %w", err)
	}
	return out, nil
}

// DeleteSession implements retune.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	err := s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	return nil
}
