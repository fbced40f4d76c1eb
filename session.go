package retune

import (
	"context"
	"fmt"
	"time"
)

// Session is a dashboard login as storage keeps it: never the cookie's secret, only its
// SHA-256, with the token it was opened with (whose scope and study pattern it carries).
// A session lives in the database so that every replica of a server knows it, and it ends
// at its expiry, at logout, or when its token is revoked or expires.
type Session struct {
	// Hash is the SHA-256 of the session's secret (32 bytes).
	Hash []byte
	// TokenID is the token the session acts for.
	TokenID int64
	// CSRF is the session's anti-forgery token: sent back with every state-changing request
	// of the dashboard. It is no credential alone (the cookie is), so it is kept as is.
	CSRF string
	// Login marks a one-time login ticket: TakeSession exchanges it, once, for a session.
	Login   bool
	Expires time.Time
	Created time.Time
}

// Validate checks a session before it is stored.
func (s Session) Validate() error {
	switch {
	case len(s.Hash) != 32:
		return fmt.Errorf("%w: session hash of %d bytes: want a SHA-256 (32 bytes)", ErrInvalid, len(s.Hash))
	case s.TokenID <= 0:
		return fmt.Errorf("%w: session for token %d: want a token's ID", ErrInvalid, s.TokenID)
	case s.CSRF == "" || len(s.CSRF) > MaxNameLen:
		return fmt.Errorf("%w: session CSRF token of %d bytes: want 1 to %d", ErrInvalid, len(s.CSRF), MaxNameLen)
	case s.Expires.IsZero():
		return fmt.Errorf("%w: session without an expiry: every session must end", ErrInvalid)
	}
	return nil
}

// SessionStore keeps the dashboard's sessions. Every Storage in this module implements
// it; the server finds it by type assertion.
type SessionStore interface {
	// CreateSession stores s (Validate) and returns it with its creation time set; expired
	// sessions are purged in the same write. A token that does not exist is an error
	// wrapping ErrNotFound; a hash that exists, ErrConflict.
	CreateSession(ctx context.Context, s Session) (Session, error)
	// Session returns the session (not a login ticket) with that hash, or an error
	// wrapping ErrNotFound if there is none, it has expired, or its token is revoked or
	// expired.
	Session(ctx context.Context, hash []byte) (Session, error)
	// TakeSession deletes the login ticket with that hash and returns it, or an error
	// wrapping ErrNotFound under the same conditions as Session: of concurrent takes,
	// one wins.
	TakeSession(ctx context.Context, hash []byte) (Session, error)
	// DeleteSession ends the session with that hash (a logout); none is no error.
	DeleteSession(ctx context.Context, hash []byte) error
}
