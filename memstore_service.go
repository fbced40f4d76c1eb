package retune

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// memService holds the memory storage's API tokens and idempotency keys.
type memService struct {
	mu       sync.Mutex
	tokens   []Token // by ID: tokens[i].ID == i+1
	keys     map[string]*memKey
	sessions map[string]Session // by string(Hash)
}

type memKey struct {
	fingerprint, owner string
	locked, expires    time.Time
	answered           bool
	status             int
	body               []byte
}

var (
	_ TokenStore       = (*memStore)(nil)
	_ IdempotencyStore = (*memStore)(nil)
	_ SessionStore     = (*memStore)(nil)
)

// CreateSession implements SessionStore.
func (m *memStore) CreateSession(_ context.Context, s Session) (Session, error) {
	if err := s.Validate(); err != nil {
		return Session{}, err
	}
	sv := &m.service
	sv.mu.Lock()
	defer sv.mu.Unlock()
	now := memNow()
	for k, v := range sv.sessions {
		if !v.Expires.After(now) {
			delete(sv.sessions, k)
		}
	}
	if s.TokenID > int64(len(sv.tokens)) {
		return Session{}, fmt.Errorf("session for token %d: %w", s.TokenID, ErrNotFound)
	}
	if _, ok := sv.sessions[string(s.Hash)]; ok {
		return Session{}, fmt.Errorf("session exists: %w", ErrConflict)
	}
	if sv.sessions == nil {
		sv.sessions = make(map[string]Session)
	}
	s.Hash, s.Expires, s.Created = slices.Clone(s.Hash), s.Expires.UTC(), now
	sv.sessions[string(s.Hash)] = s
	return s, nil
}

// liveSession returns the session or ticket with that hash while it and its token are
// valid. sv.mu is held.
func (sv *memService) liveSession(hash []byte, login bool) (Session, bool) {
	s, ok := sv.sessions[string(hash)]
	now := memNow()
	if !ok || s.Login != login || !s.Expires.After(now) {
		return Session{}, false
	}
	t := sv.tokens[s.TokenID-1]
	if !t.Revoked.IsZero() || !t.Expires.IsZero() && !t.Expires.After(now) {
		return Session{}, false
	}
	s.Hash = slices.Clone(s.Hash)
	return s, true
}

// Session implements SessionStore.
func (m *memStore) Session(_ context.Context, hash []byte) (Session, error) {
	sv := &m.service
	sv.mu.Lock()
	defer sv.mu.Unlock()
	s, ok := sv.liveSession(hash, false)
	if !ok {
		return Session{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	return s, nil
}

// TakeSession implements SessionStore.
func (m *memStore) TakeSession(_ context.Context, hash []byte) (Session, error) {
	sv := &m.service
	sv.mu.Lock()
	defer sv.mu.Unlock()
	s, ok := sv.liveSession(hash, true)
	if !ok {
		return Session{}, fmt.Errorf("login ticket: %w", ErrNotFound)
	}
	delete(sv.sessions, string(hash))
	return s, nil
}

// DeleteSession implements SessionStore.
func (m *memStore) DeleteSession(_ context.Context, hash []byte) error {
	sv := &m.service
	sv.mu.Lock()
	defer sv.mu.Unlock()
	delete(sv.sessions, string(hash))
	return nil
}

// CreateToken implements TokenStore.
func (m *memStore) CreateToken(_ context.Context, tok Token) (Token, error) {
	if err := tok.Validate(); err != nil {
		return Token{}, err
	}
	sv := &m.service
	sv.mu.Lock()
	defer sv.mu.Unlock()
	for _, t := range sv.tokens {
		if t.Name == tok.Name {
			return Token{}, fmt.Errorf("token %q exists: %w", tok.Name, ErrConflict)
		}
	}
	tok.ID, tok.Created, tok.Revoked = int64(len(sv.tokens))+1, memNow(), time.Time{}
	tok.Hash = slices.Clone(tok.Hash)
	if !tok.Expires.IsZero() {
		tok.Expires = tok.Expires.UTC()
	}
	sv.tokens = append(sv.tokens, tok)
	return tok, nil
}

// Token implements TokenStore.
func (m *memStore) Token(_ context.Context, id int64) (Token, error) {
	sv := &m.service
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if id < 1 || id > int64(len(sv.tokens)) {
		return Token{}, fmt.Errorf("token %d: %w", id, ErrNotFound)
	}
	t := sv.tokens[id-1]
	t.Hash = slices.Clone(t.Hash)
	return t, nil
}

// Tokens implements TokenStore.
func (m *memStore) Tokens(_ context.Context) ([]Token, error) {
	sv := &m.service
	sv.mu.Lock()
	defer sv.mu.Unlock()
	out := make([]Token, len(sv.tokens))
	for i, t := range sv.tokens {
		t.Hash = slices.Clone(t.Hash)
		out[i] = t
	}
	return out, nil
}

// RevokeToken implements TokenStore.
func (m *memStore) RevokeToken(_ context.Context, name string) error {
	sv := &m.service
	sv.mu.Lock()
	defer sv.mu.Unlock()
	for i := range sv.tokens {
		if t := &sv.tokens[i]; t.Name == name {
			if t.Revoked.IsZero() {
				t.Revoked = memNow()
			}
			return nil
		}
	}
	return fmt.Errorf("token %q: %w", name, ErrNotFound)
}

// ClaimIdempotencyKey implements IdempotencyStore.
func (m *memStore) ClaimIdempotencyKey(_ context.Context, c IdempotencyClaim) (IdempotentAnswer, error) {
	if err := c.Validate(); err != nil {
		return IdempotentAnswer{}, err
	}
	sv := &m.service
	sv.mu.Lock()
	defer sv.mu.Unlock()
	now := memNow()
	for k, v := range sv.keys { // the memory storage is small: purge as we go
		if !v.expires.After(now) {
			delete(sv.keys, k)
		}
	}
	if sv.keys == nil {
		sv.keys = make(map[string]*memKey)
	}
	k, ok := sv.keys[c.Key]
	switch {
	case !ok:
		sv.keys[c.Key] = &memKey{fingerprint: c.Fingerprint, owner: c.Owner, locked: now.Add(c.Lock), expires: now.Add(c.Keep)}
		return IdempotentAnswer{Claimed: true}, nil
	case k.fingerprint != c.Fingerprint:
		return IdempotentAnswer{}, fmt.Errorf("%w: idempotency key %q was used for another request", ErrInvalid, c.Key)
	case k.answered:
		return IdempotentAnswer{Status: k.status, Body: slices.Clone(k.body)}, nil
	case k.owner != c.Owner && k.locked.After(now):
		return IdempotentAnswer{}, fmt.Errorf("%w: a request with idempotency key %q is still running", ErrConflict, c.Key)
	}
	k.owner, k.locked = c.Owner, now.Add(c.Lock)
	return IdempotentAnswer{Claimed: true}, nil
}

// CompleteIdempotencyKey implements IdempotencyStore.
func (m *memStore) CompleteIdempotencyKey(_ context.Context, key, owner string, a IdempotentAnswer) error {
	sv := &m.service
	sv.mu.Lock()
	defer sv.mu.Unlock()
	k, ok := sv.keys[key]
	if !ok || k.answered || k.owner != owner {
		return fmt.Errorf("%w: idempotency key %q is not claimed by %q", ErrConflict, key, owner)
	}
	k.answered, k.status, k.body = true, a.Status, bytes.Clone(a.Body)
	return nil
}

// ReleaseIdempotencyKey implements IdempotencyStore.
func (m *memStore) ReleaseIdempotencyKey(_ context.Context, key, owner string) error {
	sv := &m.service
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if k, ok := sv.keys[key]; ok && !k.answered && k.owner == owner {
		delete(sv.keys, key)
	}
	return nil
}

// AcquireLeadership implements LeaderStore.
func (m *memStore) AcquireLeadership(_ context.Context, role, holder string, ttl time.Duration) (bool, error) {
	if err := CheckLeadership(role, holder, ttl); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := memNow()
	if m.leaders == nil {
		m.leaders = map[string]memLeader{}
	}
	if l, ok := m.leaders[role]; ok && l.holder != holder && now.Before(l.expires) {
		return false, nil
	}
	m.leaders[role] = memLeader{holder: holder, expires: now.Add(ttl)}
	return true, nil
}

// ReleaseLeadership implements LeaderStore.
func (m *memStore) ReleaseLeadership(_ context.Context, role, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leaders[role]; ok && l.holder == holder {
		delete(m.leaders, role)
	}
	return nil
}

type memLeader struct {
	holder  string
	expires time.Time
}

// RecordAgent implements AgentStore.
func (m *memStore) RecordAgent(_ context.Context, a AgentInfo) error {
	if err := a.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.agents == nil {
		m.agents = map[string]AgentInfo{}
	}
	now := memNow()
	a.First, a.Last = now, now
	if old, ok := m.agents[a.ID]; ok {
		a.First = old.First
	}
	m.agents[a.ID] = a
	return nil
}

// Agents implements AgentStore.
func (m *memStore) Agents(_ context.Context, since time.Time) ([]AgentInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []AgentInfo
	for _, a := range m.agents {
		if !a.Last.Before(since) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Last.After(out[j].Last) || out[i].Last.Equal(out[j].Last) && out[i].ID < out[j].ID
	})
	return out, nil
}
