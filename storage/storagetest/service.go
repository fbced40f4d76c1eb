package storagetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// The service tests: API tokens (retune.TokenStore) and idempotency keys
// (retune.IdempotencyStore).

func tokenStore(t *testing.T, s retune.Storage) retune.TokenStore {
	t.Helper()
	ts, ok := s.(retune.TokenStore)
	if !ok {
		t.Fatalf("%T does not implement retune.TokenStore", s)
	}
	return ts
}

func idempotencyStore(t *testing.T, s retune.Storage) retune.IdempotencyStore {
	t.Helper()
	is, ok := s.(retune.IdempotencyStore)
	if !ok {
		t.Fatalf("%T does not implement retune.IdempotencyStore", s)
	}
	return is
}

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// testTokens: tokens round-trip with their hash, scope, pattern and expiry; names are
// unique; revoking is seen by every handle; invalid tokens are refused.
func testTokens(t *testing.T, open Opener) {
	ts, other := tokenStore(t, open(t)), tokenStore(t, open(t))
	ctx := ctxT(t)
	if got, err := ts.Tokens(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Tokens(empty) = %v, %v, want none", got, err)
	}
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	a, err := ts.CreateToken(ctx, retune.Token{Name: "ci", Hash: hash("a"), Scope: "run", Studies: "team-a-*", Expires: exp})
	if err != nil || a.ID == 0 || a.Created.IsZero() || a.Created.Location() != time.UTC {
		t.Fatalf("CreateToken = %+v, %v, want an ID and a UTC creation time", a, err)
	}
	b, err := other.CreateToken(ctx, retune.Token{Name: "admin", Hash: hash("b"), Scope: "admin"})
	if err != nil || b.ID <= a.ID {
		t.Fatalf("CreateToken(second) = %+v, %v, want an ID above %d", b, err, a.ID)
	}
	if _, err := ts.CreateToken(ctx, retune.Token{Name: "ci", Hash: hash("c"), Scope: "read"}); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("CreateToken(taken name) = %v, want ErrConflict", err)
	}
	got, err := other.Token(ctx, a.ID)
	if err != nil || got.Name != "ci" || string(got.Hash) != string(hash("a")) || got.Scope != "run" ||
		got.Studies != "team-a-*" || !got.Expires.Equal(exp) || !got.Revoked.IsZero() || !got.Created.Equal(a.Created) {
		t.Errorf("Token(%d) = %+v, %v, want %+v", a.ID, got, err, a)
	}
	if got, err := other.Token(ctx, b.ID); err != nil || !got.Expires.IsZero() || got.Studies != "" {
		t.Errorf("Token(%d) = %+v, %v, want no expiry and no pattern", b.ID, got, err)
	}
	if _, err := ts.Token(ctx, b.ID+100); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Token(missing) = %v, want ErrNotFound", err)
	}
	if err := other.RevokeToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if err := other.RevokeToken(ctx, "ci"); err != nil {
		t.Errorf("RevokeToken(revoked) = %v, want nil", err)
	}
	if err := ts.RevokeToken(ctx, "nobody"); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("RevokeToken(missing) = %v, want ErrNotFound", err)
	}
	list, err := ts.Tokens(ctx)
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[0].Revoked.IsZero() || !list[1].Revoked.IsZero() {
		t.Errorf("Tokens = %+v, %v, want ci (revoked) then admin", list, err)
	}
	for _, bad := range []retune.Token{
		{Name: "", Hash: hash("x"), Scope: "read"},
		{Name: "x", Hash: []byte("short"), Scope: "read"},
		{Name: "x", Hash: hash("x"), Scope: "root"},
		{Name: "x", Hash: hash("x"), Scope: "read", Studies: "[a-"},
	} {
		if _, err := ts.CreateToken(ctx, bad); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("CreateToken(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

// testIdempotency: of concurrent claims of one key on several handles exactly one runs
// the request; the others see it running, then its answer; another request with the
// key is refused; a claim whose lock passed is taken over; a key whose Keep passed is
// forgotten.
func testIdempotency(t *testing.T, open Opener) {
	handles := []retune.IdempotencyStore{idempotencyStore(t, open(t)), idempotencyStore(t, open(t)), idempotencyStore(t, open(t))}
	is := handles[0]
	ctx := ctxT(t)
	claim := func(key, fp, owner string, lock, keep time.Duration) retune.IdempotencyClaim {
		return retune.IdempotencyClaim{Key: key, Fingerprint: fp, Owner: owner, Lock: lock, Keep: keep}
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed []string
	)
	for i := range 6 {
		wg.Go(func() {
			owner := fmt.Sprint("w", i)
			a, err := handles[i%len(handles)].ClaimIdempotencyKey(ctx, claim("k1", "fp", owner, time.Hour, time.Hour))
			if err != nil && !errors.Is(err, retune.ErrConflict) {
				t.Errorf("ClaimIdempotencyKey(%s) = %v", owner, err)
			}
			if a.Claimed {
				mu.Lock()
				claimed = append(claimed, owner)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != 1 {
		t.Fatalf("claimed by %v, want exactly one owner", claimed)
	}
	if err := is.CompleteIdempotencyKey(ctx, "k1", "intruder", retune.IdempotentAnswer{Status: 200}); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("CompleteIdempotencyKey(not the owner) = %v, want ErrConflict", err)
	}
	if err := handles[1].CompleteIdempotencyKey(ctx, "k1", claimed[0], retune.IdempotentAnswer{Status: 201, Body: []byte(`{"number":7}`)}); err != nil {
		t.Fatal(err)
	}
	a, err := handles[2].ClaimIdempotencyKey(ctx, claim("k1", "fp", "late", time.Hour, time.Hour))
	if err != nil || a.Claimed || a.Status != 201 || string(a.Body) != `{"number":7}` {
		t.Errorf("ClaimIdempotencyKey(answered) = %+v, %v, want the stored answer 201", a, err)
	}
	if _, err := is.ClaimIdempotencyKey(ctx, claim("k1", "other", "x", time.Hour, time.Hour)); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("ClaimIdempotencyKey(other request) = %v, want ErrInvalid", err)
	}
	// Released: the next attempt claims it.
	if a, err := is.ClaimIdempotencyKey(ctx, claim("k2", "fp", "o1", time.Hour, time.Hour)); err != nil || !a.Claimed {
		t.Fatalf("ClaimIdempotencyKey(k2) = %+v, %v", a, err)
	}
	if err := handles[1].ReleaseIdempotencyKey(ctx, "k2", "o1"); err != nil {
		t.Fatal(err)
	}
	if a, err := handles[2].ClaimIdempotencyKey(ctx, claim("k2", "fp", "o2", time.Hour, time.Hour)); err != nil || !a.Claimed {
		t.Errorf("ClaimIdempotencyKey(released) = %+v, %v, want claimed", a, err)
	}
	// A short lock passes: another owner takes the claim over, and the first may no
	// longer answer.
	if a, err := is.ClaimIdempotencyKey(ctx, claim("k3", "fp", "dead", time.Millisecond, time.Hour)); err != nil || !a.Claimed {
		t.Fatalf("ClaimIdempotencyKey(k3) = %+v, %v", a, err)
	}
	waitFor(t, func() bool {
		a, err := handles[1].ClaimIdempotencyKey(ctx, claim("k3", "fp", "heir", time.Hour, time.Hour))
		return err == nil && a.Claimed
	})
	if err := is.CompleteIdempotencyKey(ctx, "k3", "dead", retune.IdempotentAnswer{Status: 200}); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("CompleteIdempotencyKey(lost claim) = %v, want ErrConflict", err)
	}
	// Keep passes: the key is forgotten, even with its answer, and even for another request.
	if _, err := is.ClaimIdempotencyKey(ctx, claim("k4", "fp", "o", time.Millisecond, time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := is.CompleteIdempotencyKey(ctx, "k4", "o", retune.IdempotentAnswer{Status: 200}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		a, err := handles[2].ClaimIdempotencyKey(ctx, claim("k4", "new", "o2", time.Hour, time.Hour))
		return err == nil && a.Claimed
	})
	for _, bad := range []retune.IdempotencyClaim{
		claim("", "fp", "o", time.Hour, time.Hour),
		claim("k", "fp", "", time.Hour, time.Hour),
		claim("k", "fp", "o", 0, time.Hour),
		claim("k", "fp", "o", time.Hour, time.Minute),
	} {
		if _, err := is.ClaimIdempotencyKey(ctx, bad); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("ClaimIdempotencyKey(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testSessions: sessions and login tickets round-trip by hash on every handle; a ticket
// is taken once (of concurrent takes one wins) and is no session; expiry, logout and the
// token's revocation or expiry end them; bad sessions are refused.
func testSessions(t *testing.T, open Opener) {
	s1, s2 := open(t), open(t)
	ss, other := sessionStore(t, s1), sessionStore(t, s2)
	ts := tokenStore(t, s1)
	ctx := ctxT(t)
	tok, err := ts.CreateToken(ctx, retune.Token{Name: "web", Hash: hash("web"), Scope: "read"})
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	sess, err := ss.CreateSession(ctx, retune.Session{Hash: hash("s1"), TokenID: tok.ID, CSRF: "c1", Expires: later})
	if err != nil || sess.Created.IsZero() || sess.Created.Location() != time.UTC || !sess.Expires.Equal(later) {
		t.Fatalf("CreateSession = %+v, %v, want a UTC creation time and the expiry", sess, err)
	}
	got, err := other.Session(ctx, hash("s1"))
	if err != nil || got.TokenID != tok.ID || got.CSRF != "c1" || got.Login || !got.Expires.Equal(later) || string(got.Hash) != string(hash("s1")) {
		t.Errorf("Session = %+v, %v, want %+v", got, err, sess)
	}
	if _, err := ss.CreateSession(ctx, retune.Session{Hash: hash("s1"), TokenID: tok.ID, CSRF: "c2", Expires: later}); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("CreateSession(taken hash) = %v, want ErrConflict", err)
	}
	if _, err := ss.CreateSession(ctx, retune.Session{Hash: hash("s9"), TokenID: tok.ID + 100, CSRF: "c", Expires: later}); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("CreateSession(missing token) = %v, want ErrNotFound", err)
	}
	if _, err := ss.TakeSession(ctx, hash("s1")); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("TakeSession(a session, not a ticket) = %v, want ErrNotFound", err)
	}

	// A login ticket: no session until taken, taken once.
	if _, err := ss.CreateSession(ctx, retune.Session{Hash: hash("t1"), TokenID: tok.ID, CSRF: "c", Login: true, Expires: later}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Session(ctx, hash("t1")); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Session(a login ticket) = %v, want ErrNotFound", err)
	}
	var wins, losses int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, h := range []retune.SessionStore{ss, other, ss, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := h.TakeSession(ctx, hash("t1"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && got.Login && got.TokenID == tok.ID:
				wins++
			case errors.Is(err, retune.ErrNotFound):
				losses++
			default:
				t.Errorf("TakeSession = %+v, %v", got, err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || losses != 3 {
		t.Errorf("concurrent TakeSession: %d won, %d found none; want 1 and 3", wins, losses)
	}

	// Expired sessions and tickets are not found.
	past := time.Now().Add(-time.Minute)
	for _, login := range []bool{false, true} {
		h := hash(fmt.Sprint("old", login))
		if _, err := ss.CreateSession(ctx, retune.Session{Hash: h, TokenID: tok.ID, CSRF: "c", Login: login, Expires: past}); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Session(ctx, h); !errors.Is(err, retune.ErrNotFound) {
			t.Errorf("Session(expired, login %v) = %v, want ErrNotFound", login, err)
		}
		if _, err := other.TakeSession(ctx, h); !errors.Is(err, retune.ErrNotFound) {
			t.Errorf("TakeSession(expired, login %v) = %v, want ErrNotFound", login, err)
		}
	}

	// Logout ends one session; deleting twice is no error.
	if _, err := ss.CreateSession(ctx, retune.Session{Hash: hash("s2"), TokenID: tok.ID, CSRF: "c", Expires: later}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := other.DeleteSession(ctx, hash("s2")); err != nil {
			t.Fatalf("DeleteSession = %v", err)
		}
	}
	if _, err := ss.Session(ctx, hash("s2")); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Session(after logout) = %v, want ErrNotFound", err)
	}
	if _, err := ss.Session(ctx, hash("s1")); err != nil {
		t.Errorf("Session(s1, after another's logout) = %v", err)
	}

	// Revoking the token ends its sessions and tickets, on every handle.
	if _, err := ss.CreateSession(ctx, retune.Session{Hash: hash("t2"), TokenID: tok.ID, CSRF: "c", Login: true, Expires: later}); err != nil {
		t.Fatal(err)
	}
	if err := tokenStore(t, s2).RevokeToken(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Session(ctx, hash("s1")); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Session(token revoked) = %v, want ErrNotFound", err)
	}
	if _, err := other.TakeSession(ctx, hash("t2")); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("TakeSession(token revoked) = %v, want ErrNotFound", err)
	}

	// So does the token's expiry.
	short, err := ts.CreateToken(ctx, retune.Token{Name: "short", Hash: hash("short"), Scope: "admin", Expires: past})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ss.CreateSession(ctx, retune.Session{Hash: hash("s3"), TokenID: short.ID, CSRF: "c", Expires: later}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Session(ctx, hash("s3")); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Session(token expired) = %v, want ErrNotFound", err)
	}

	for _, bad := range []retune.Session{
		{Hash: []byte("short"), TokenID: tok.ID, CSRF: "c", Expires: later},
		{Hash: hash("b"), TokenID: 0, CSRF: "c", Expires: later},
		{Hash: hash("b"), TokenID: tok.ID, CSRF: "", Expires: later},
		{Hash: hash("b"), TokenID: tok.ID, CSRF: "c"},
	} {
		if _, err := ss.CreateSession(ctx, bad); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("CreateSession(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func sessionStore(t *testing.T, s retune.Storage) retune.SessionStore {
	t.Helper()
	ss, ok := s.(retune.SessionStore)
	if !ok {
		t.Fatalf("%T does not implement retune.SessionStore", s)
	}
	return ss
}
