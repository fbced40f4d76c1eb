package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/jackc/pgx/v5"
)

// API tokens and idempotency keys (migration 7). A claim of an idempotency key is one
// transaction that inserts the key or locks its row, so of concurrent claims one wins;
// times come from the database clock.

var (
	_ retune.TokenStore       = (*Store)(nil)
	_ retune.IdempotencyStore = (*Store)(nil)
)

const tokenCols = `id, name, hash, scope, studies, expires_at, created_at, revoked_at`

func scanToken(row pgx.Row) (retune.Token, error) {
	var (
		t                retune.Token
		expires, revoked *time.Time
		created          time.Time
	)
	if err := row.Scan(&t.ID, &t.Name, &t.Hash, &t.Scope, &t.Studies, &expires, &created, &revoked); err != nil {
		return t, err
	}
	t.Created = created.UTC()
	if expires != nil {
		t.Expires = expires.UTC()
	}
	if revoked != nil {
		t.Revoked = revoked.UTC()
	}
	return t, nil
}

// CreateToken implements retune.TokenStore.
func (s *Store) CreateToken(ctx context.Context, tok retune.Token) (retune.Token, error) {
	if err := tok.Validate(); err != nil {
		return retune.Token{}, err
	}
	var expires *time.Time
	if !tok.Expires.IsZero() {
		expires = &tok.Expires
	}
	what := fmt.Sprintf("create token %q", tok.Name)
	var out retune.Token
	err := s.pipeTx(ctx, what, func(tx *pipeTx) error {
		if err := tx.Begin(ctx); err != nil {
			return dbErr(what, err)
		}
		tx.Reread(func(ctx context.Context) (err error) {
			out, err = scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE name = $1`, tok.Name))
			return err
		})
		err := tx.CommitWith(ctx, func(r pgx.Row) (err error) { out, err = scanToken(r); return err },
			`INSERT INTO tokens (name, hash, scope, studies, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5, clock_timestamp())
			ON CONFLICT (name) DO NOTHING RETURNING `+tokenCols,
			tok.Name, tok.Hash, tok.Scope, tok.Studies, expires)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("token %q exists: %w", tok.Name, retune.ErrConflict)
		}
		if err != nil {
			return dbErr(what, err)
		}
		return nil
	})
	if err != nil {
		return retune.Token{}, err
	}
	return out, nil
}

// Token implements retune.TokenStore.
func (s *Store) Token(ctx context.Context, id int64) (out retune.Token, err error) {
	err = s.retry(ctx, func(ctx context.Context) (err error) {
		out, err = scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("token %d: %w", id, retune.ErrNotFound)
		}
		if err != nil {
			return dbErr(fmt.Sprintf("read token %d", id), err)
		}
		return nil
	})
	return out, err
}

// Tokens implements retune.TokenStore.
func (s *Store) Tokens(ctx context.Context) (out []retune.Token, err error) {
	err = s.retry(ctx, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY id`)
		if err != nil {
			return dbErr("list tokens", err)
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (retune.Token, error) { return scanToken(row) })
		if err != nil {
			return dbErr("list tokens", err)
		}
		return nil
	})
	if out == nil && err == nil {
		out = []retune.Token{}
	}
	return out, err
}

// RevokeToken implements retune.TokenStore. Revoking twice changes nothing, so it is
// simply run again on a transient failure.
func (s *Store) RevokeToken(ctx context.Context, name string) error {
	return s.retry(ctx, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked_at = coalesce(revoked_at, clock_timestamp()) WHERE name = $1`, name)
		if err != nil {
			return dbErr(fmt.Sprintf("revoke token %q", name), err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("token %q: %w", name, retune.ErrNotFound)
		}
		return nil
	})
}

// ClaimIdempotencyKey implements retune.IdempotencyStore.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, c retune.IdempotencyClaim) (retune.IdempotentAnswer, error) {
	if err := c.Validate(); err != nil {
		return retune.IdempotentAnswer{}, err
	}
	const what = "claim idempotency key"
	var out retune.IdempotentAnswer
	err := s.pipeTx(ctx, what, func(tx *pipeTx) error {
		out = retune.IdempotentAnswer{}
		if err := tx.Begin(ctx); err != nil {
			return dbErr(what, err)
		}
		tx.Reread(func(ctx context.Context) error { // committed, reply lost: the claim is ours
			out = retune.IdempotentAnswer{Claimed: true}
			return nil
		})
		q := tx.conn
		if _, err := q.Exec(ctx, `DELETE FROM idempotency_keys WHERE key = $1 AND expires_at <= clock_timestamp()`, c.Key); err != nil {
			return dbErr(what, err)
		}
		tag, err := q.Exec(ctx, `INSERT INTO idempotency_keys (key, fingerprint, owner, locked_at, expires_at)
			VALUES ($1, $2, $3, clock_timestamp() + $4 * interval '1 microsecond', clock_timestamp() + $5 * interval '1 microsecond')
			ON CONFLICT (key) DO NOTHING`, c.Key, c.Fingerprint, c.Owner, c.Lock.Microseconds(), c.Keep.Microseconds())
		if err != nil {
			return dbErr(what, err)
		}
		if tag.RowsAffected() == 1 {
			out.Claimed = true
			return commit(ctx, tx, what)
		}
		var (
			fp, owner string
			lockPast  bool
			status    *int32
			body      []byte
		)
		err = q.QueryRow(ctx, `SELECT fingerprint, owner, locked_at <= clock_timestamp(), status, body
			FROM idempotency_keys WHERE key = $1 FOR UPDATE`, c.Key).Scan(&fp, &owner, &lockPast, &status, &body)
		switch {
		case err != nil:
			return dbErr(what, err)
		case fp != c.Fingerprint:
			return fmt.Errorf("%w: idempotency key %q was used for another request", retune.ErrInvalid, c.Key)
		case status != nil:
			out.Status, out.Body = int(*status), body
			return commit(ctx, tx, what)
		case owner != c.Owner && !lockPast:
			return fmt.Errorf("%w: a request with idempotency key %q is still running", retune.ErrConflict, c.Key)
		}
		if _, err := q.Exec(ctx, `UPDATE idempotency_keys SET owner = $2, locked_at = clock_timestamp() + $3 * interval '1 microsecond' WHERE key = $1`,
			c.Key, c.Owner, c.Lock.Microseconds()); err != nil {
			return dbErr(what, err)
		}
		out.Claimed = true
		return commit(ctx, tx, what)
	})
	if err != nil {
		return retune.IdempotentAnswer{}, err
	}
	s.maybePurgeKeys(ctx)
	return out, nil
}

func commit(ctx context.Context, tx *pipeTx, what string) error {
	if err := tx.Commit(ctx); err != nil {
		return dbErr(what, err)
	}
	return nil
}

// purgeEvery is how often a Store deletes the idempotency keys whose time has passed.
const purgeEvery = time.Minute

// maybePurgeKeys deletes expired idempotency keys at most once per purgeEvery. Errors
// are left for the next time: a claim never sees an expired key anyway.
func (s *Store) maybePurgeKeys(ctx context.Context) {
	now := time.Now().UnixNano()
	last := s.purged.Load()
	if now-last < int64(purgeEvery) || !s.purged.CompareAndSwap(last, now) {
		return
	}
	_, _ = s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= clock_timestamp()`)
}

// CompleteIdempotencyKey implements retune.IdempotencyStore. Storing the same answer
// twice changes nothing, so it is simply run again on a transient failure.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, key, owner string, a retune.IdempotentAnswer) error {
	return s.retry(ctx, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET status = $3, body = $4
			WHERE key = $1 AND owner = $2 AND (status IS NULL OR (status = $3 AND body = $4))`, key, owner, a.Status, a.Body)
		if err != nil {
			return dbErr("answer idempotency key", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: idempotency key %q is not claimed by %q", retune.ErrConflict, key, owner)
		}
		return nil
	})
}

// ReleaseIdempotencyKey implements retune.IdempotencyStore.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, key, owner string) error {
	return s.retry(ctx, func(ctx context.Context) error {
		if _, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE key = $1 AND owner = $2 AND status IS NULL`, key, owner); err != nil {
			return dbErr("release idempotency key", err)
		}
		return nil
	})
}

// Dashboard sessions (migration 16). Each operation is one statement; times come from
// the database clock.

var _ retune.SessionStore = (*Store)(nil)

const sessionCols = `hash, token, csrf, login, expires_at, created_at`

func scanSession(row pgx.Row) (retune.Session, error) {
	var out retune.Session
	if err := row.Scan(&out.Hash, &out.TokenID, &out.CSRF, &out.Login, &out.Expires, &out.Created); err != nil {
		return out, err
	}
	out.Expires, out.Created = out.Expires.UTC(), out.Created.UTC()
	return out, nil
}

// CreateSession implements retune.SessionStore. It is not run again after a reply that
// may have been lost (a second insert would find its own row and call it a conflict): the
// caller sees the error and logs in again.
func (s *Store) CreateSession(ctx context.Context, sess retune.Session) (out retune.Session, err error) {
	if err := sess.Validate(); err != nil {
		return retune.Session{}, err
	}
	const what = "create session"
	err = s.retryUnsent(ctx, func(ctx context.Context) error {
		var inserted, tokenFound bool
		err := s.pool.QueryRow(ctx, `WITH purge AS (DELETE FROM sessions WHERE expires_at <= clock_timestamp()),
			ins AS (INSERT INTO sessions (`+sessionCols+`)
				SELECT $1, id, $2, $3, $4, clock_timestamp() FROM tokens WHERE id = $5
				ON CONFLICT (hash) DO NOTHING RETURNING `+sessionCols+`)
			SELECT EXISTS (SELECT 1 FROM ins), EXISTS (SELECT 1 FROM tokens WHERE id = $5)`,
			sess.Hash, sess.CSRF, sess.Login, sess.Expires, sess.TokenID).Scan(&inserted, &tokenFound)
		switch {
		case err != nil:
			return dbErr(what, err)
		case !tokenFound:
			return fmt.Errorf("session for token %d: %w", sess.TokenID, retune.ErrNotFound)
		case !inserted:
			return fmt.Errorf("session exists: %w", retune.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return retune.Session{}, err
	}
	// The stored row, with the database's times.
	err = s.retry(ctx, func(ctx context.Context) (err error) {
		out, err = scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE hash = $1`, sess.Hash))
		if err != nil {
			return dbErr(what, err)
		}
		return nil
	})
	return out, err
}

// liveWhere selects a session or login ticket ($2) by hash ($1) while it and its token
// are valid.
const liveWhere = `hash = $1 AND login = $2 AND expires_at > clock_timestamp() AND EXISTS (SELECT 1 FROM tokens t
	WHERE t.id = sessions.token AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > clock_timestamp()))`

// Session implements retune.SessionStore.
func (s *Store) Session(ctx context.Context, hash []byte) (out retune.Session, err error) {
	err = s.retry(ctx, func(ctx context.Context) (err error) {
		out, err = scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE `+liveWhere, hash, false))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("session: %w", retune.ErrNotFound)
		}
		if err != nil {
			return dbErr("read session", err)
		}
		return nil
	})
	return out, err
}

// TakeSession implements retune.SessionStore: one DELETE … RETURNING, so of two takes one
// gets the row; it is not run again after a lost reply (the ticket may be gone).
func (s *Store) TakeSession(ctx context.Context, hash []byte) (out retune.Session, err error) {
	err = s.retryUnsent(ctx, func(ctx context.Context) (err error) {
		out, err = scanSession(s.pool.QueryRow(ctx, `DELETE FROM sessions WHERE `+liveWhere+` RETURNING `+sessionCols, hash, true))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("login ticket: %w", retune.ErrNotFound)
		}
		if err != nil {
			return dbErr("take login ticket", err)
		}
		return nil
	})
	return out, err
}

// DeleteSession implements retune.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	return s.retry(ctx, func(ctx context.Context) error {
		if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash); err != nil {
			return dbErr("delete session", err)
		}
		return nil
	})
}
