package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
)

// Scope is what a token allows. Each scope includes the ones below it.
type Scope int8

// Scopes, from least to most.
const (
	ScopeNone  Scope = iota
	ScopeRead        // see studies, trials, decisions, events
	ScopeRun         // ask, report, tell, heartbeat, enqueue
	ScopeAdmin       // create and delete studies, champions, promote, notifiers
)

var scopeNames = [...]string{"none", "read", "run", "admin"}

func (s Scope) String() string {
	if s < 0 || int(s) >= len(scopeNames) {
		return "Scope(" + strconv.Itoa(int(s)) + ")"
	}
	return scopeNames[s]
}

// ParseScope parses "read", "run" or "admin".
func ParseScope(s string) (Scope, error) {
	for i, n := range scopeNames[1:] {
		if n == s {
			return Scope(i + 1), nil
		}
	}
	return ScopeNone, fmt.Errorf("%w: scope %q: want read, run or admin", retune.ErrInvalid, s)
}

// tokenPrefix starts every token, so that secret scanners can find leaked ones.
const tokenPrefix = "rt_"

// NewToken creates a token in store and returns its secret, which is never stored (only
// its SHA-256): "rt_<id>_<43 characters>". studies is a path.Match pattern of the study
// names the token reaches ("" = all); a zero expires never expires.
func NewToken(ctx context.Context, store retune.TokenStore, name string, scope Scope, studies string, expires time.Time) (string, retune.Token, error) {
	if scope < ScopeRead || scope > ScopeAdmin {
		return "", retune.Token{}, fmt.Errorf("%w: scope %v: want read, run or admin", retune.ErrInvalid, scope)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", retune.Token{}, err
	}
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(secret))
	tok, err := store.CreateToken(ctx, retune.Token{Name: name, Hash: h[:], Scope: scope.String(), Studies: studies, Expires: expires})
	if err != nil {
		return "", retune.Token{}, err
	}
	return tokenPrefix + strconv.FormatInt(tok.ID, 10) + "_" + secret, tok, nil
}

// principal is who makes a request: a token, or anyone on a server without auth.
type principal struct {
	id      string // "token:<id>" or "anonymous": scopes idempotency keys
	name    string // the token's name, for logs
	scope   Scope
	studies string // path.Match pattern; "" = all
}

// reaches reports whether the principal may touch the study named name.
func (p *principal) reaches(name string) bool {
	if p.studies == "" {
		return true
	}
	ok, err := path.Match(p.studies, name)
	return err == nil && ok
}

var errUnauthorized = errorf(http.StatusUnauthorized, "unauthorized", "a valid bearer token is required (Authorization: Bearer rt_…)")

// authenticate finds the principal of r from its bearer token. Every failure is the same
// 401, so that a caller learns nothing about which tokens exist.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	if s.opts.NoAuth {
		return &principal{id: "anonymous", name: "anonymous", scope: ScopeAdmin}, nil
	}
	auth := r.Header.Get("Authorization")
	scheme, cred, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, errUnauthorized
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(cred), tokenPrefix)
	if !ok {
		return nil, errUnauthorized
	}
	idText, secret, ok := strings.Cut(rest, "_")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 || len(secret) == 0 || len(secret) > 128 {
		return nil, errUnauthorized
	}
	tok, err := s.tokens.Token(r.Context(), id)
	if errors.Is(err, retune.ErrNotFound) {
		return nil, errUnauthorized
	}
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(h[:], tok.Hash) != 1 || !tok.Revoked.IsZero() ||
		(!tok.Expires.IsZero() && !time.Now().Before(tok.Expires)) {
		return nil, errUnauthorized
	}
	scope, err := ParseScope(tok.Scope)
	if err != nil {
		return nil, errUnauthorized
	}
	return &principal{id: "token:" + idText, name: tok.Name, scope: scope, studies: tok.Studies}, nil
}

// authorize checks that p may call route rt with request r: the scope, and the study
// pattern for the {study} or {model} the request names (a model is named like its
// studies) or for a route that spans every study.
func authorize(p *principal, rt route, r *http.Request) error {
	if err := authorizeScope(p, rt.scope); err != nil {
		return err
	}
	if rt.global && p.studies != "" {
		return errorf(http.StatusForbidden, "forbidden", "token %q reaches the studies %q only: this needs a token for every study", p.name, p.studies)
	}
	name := r.PathValue("study")
	if name == "" {
		name = r.PathValue("model")
	}
	return authorizeStudy(p, name)
}

func authorizeScope(p *principal, scope Scope) error {
	if p.scope < scope {
		return errorf(http.StatusForbidden, "forbidden", "token %q has scope %v: this needs %v", p.name, p.scope, scope)
	}
	return nil
}

// authorizeStudy checks that p reaches the study (or model) named name ("" for none).
func authorizeStudy(p *principal, name string) error {
	if name != "" && !p.reaches(name) {
		return errorf(http.StatusForbidden, "forbidden", "token %q reaches the studies %q only", p.name, p.studies)
	}
	return nil
}
