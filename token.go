package retune

import (
	"context"
	"fmt"
	"path"
	"time"
)

// Token is an API token as storage keeps it: never the secret, only its SHA-256 hash.
type Token struct {
	ID   int64
	Name string // unique among all tokens, revoked ones included
	// Hash is the SHA-256 of the token's secret (32 bytes).
	Hash []byte
	// Scope is "read", "run" or "admin".
	Scope string
	// Studies is a path.Match pattern the study names the token reaches must match; ""
	// means every study.
	Studies string
	Expires time.Time // zero: never
	Created time.Time
	Revoked time.Time // zero while valid
}

// Validate checks a token before it is stored.
func (t Token) Validate() error {
	if err := ValidateName("token", t.Name); err != nil {
		return err
	}
	if len(t.Hash) != 32 {
		return fmt.Errorf("%w: token %q: hash of %d bytes: want a SHA-256 (32 bytes)", ErrInvalid, t.Name, len(t.Hash))
	}
	switch t.Scope {
	case "read", "run", "admin":
	default:
		return fmt.Errorf("%w: token %q: scope %q: want read, run or admin", ErrInvalid, t.Name, t.Scope)
	}
	if t.Studies != "" {
		if err := ValidateName("study pattern", t.Studies); err != nil {
			return err
		}
		if _, err := path.Match(t.Studies, ""); err != nil {
			return fmt.Errorf("%w: token %q: study pattern %q: %v", ErrInvalid, t.Name, t.Studies, err)
		}
	}
	return nil
}

// TokenStore keeps API tokens. Every Storage in this module implements it; the server
// finds it by type assertion.
type TokenStore interface {
	// CreateToken stores tok (Validate) and returns it with its ID and creation time set.
	// A name that exists already, revoked or not, is an error wrapping ErrConflict.
	CreateToken(ctx context.Context, tok Token) (Token, error)
	// Token returns the token with that ID, revoked or not, or an error wrapping
	// ErrNotFound.
	Token(ctx context.Context, id int64) (Token, error)
	// Tokens lists every token, revoked ones included, ordered by ID.
	Tokens(ctx context.Context) ([]Token, error)
	// RevokeToken marks the token with that name revoked now; revoking a revoked token
	// changes nothing. A name with no token is an error wrapping ErrNotFound.
	RevokeToken(ctx context.Context, name string) error
}

// IdempotencyStore keeps the answers of requests by idempotency key for a bounded time,
// so that a request retried with the same key (its answer was lost) gets the first answer
// instead of running again, whichever process serves it. Every Storage in this module
// implements it.
type IdempotencyStore interface {
	// ClaimIdempotencyKey looks up c.Key, atomically:
	//   - unknown, or its Keep has passed: the key is claimed for c.Owner until c.Lock
	//     passes, and the result has Claimed set: run the request, then Complete or Release;
	//   - stored for a request with another Fingerprint: an error wrapping ErrInvalid;
	//   - answered: the stored answer (Status and Body);
	//   - claimed by another owner whose Lock has not passed: an error wrapping
	//     ErrConflict (the first request is still running);
	//   - claimed, but the Lock has passed (its owner died): claimed for c.Owner anew.
	ClaimIdempotencyKey(ctx context.Context, c IdempotencyClaim) (IdempotentAnswer, error)
	// CompleteIdempotencyKey stores the answer to owner's claim of key. An owner that no
	// longer holds the claim gets an error wrapping ErrConflict.
	CompleteIdempotencyKey(ctx context.Context, key, owner string, a IdempotentAnswer) error
	// ReleaseIdempotencyKey drops owner's unanswered claim of key, so a retry runs the
	// request again; nothing happens if owner does not hold it.
	ReleaseIdempotencyKey(ctx context.Context, key, owner string) error
}

// IdempotencyClaim asks IdempotencyStore.ClaimIdempotencyKey for a key.
type IdempotencyClaim struct {
	Key         string        // at most MaxNameLen bytes
	Fingerprint string        // what the request is (a hash of its method, path and body)
	Owner       string        // who runs the request: unique per attempt
	Lock        time.Duration // how long the claim holds before another attempt may take it over
	Keep        time.Duration // how long the key and its answer are kept
}

// Validate checks a claim.
func (c IdempotencyClaim) Validate() error {
	switch {
	case c.Key == "" || len(c.Key) > MaxNameLen:
		return fmt.Errorf("%w: idempotency key of %d bytes: want 1 to %d", ErrInvalid, len(c.Key), MaxNameLen)
	case c.Owner == "":
		return fmt.Errorf("%w: idempotency claim of key %q has no owner", ErrInvalid, c.Key)
	case c.Lock <= 0 || c.Keep < c.Lock:
		return fmt.Errorf("%w: idempotency claim of key %q: lock %v, keep %v: want 0 < lock <= keep", ErrInvalid, c.Key, c.Lock, c.Keep)
	}
	return nil
}

// IdempotentAnswer is a stored answer, or a fresh claim.
type IdempotentAnswer struct {
	Claimed bool // the caller holds the key: run the request
	Status  int  // the first answer's HTTP status (when not Claimed)
	Body    []byte
}
