package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/server"
	"github.com/a6b40afc/retune/storage/sqlite"
)

var envSeq atomic.Int64

// env is a server on loopback over a SQLite file, with a token of each scope.
type env struct {
	t      *testing.T
	store  retune.Storage
	srv    *httptest.Server
	server *server.Server
	tokens map[string]string // name → secret
	log    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func openSQLite(t *testing.T, path string) retune.Storage {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newEnv starts a server on a fresh SQLite file; mod adjusts its options.
func newEnv(t *testing.T, mod func(*server.Options)) *env {
	t.Helper()
	return newEnvOn(t, openSQLite(t, filepath.Join(t.TempDir(), "retune.db")), mod)
}

func newEnvOn(t *testing.T, store retune.Storage, mod func(*server.Options)) *env {
	t.Helper()
	e := &env{t: t, store: store, tokens: map[string]string{}, log: &syncBuffer{}}
	ctx := context.Background()
	for _, tk := range []struct {
		name    string
		scope   server.Scope
		studies string
	}{
		{"read", server.ScopeRead, ""}, {"run", server.ScopeRun, ""}, {"admin", server.ScopeAdmin, ""},
		{"read-a", server.ScopeRead, "team-a-*"}, {"run-a", server.ScopeRun, "team-a-*"}, {"admin-a", server.ScopeAdmin, "team-a-*"},
	} {
		secret, _, err := server.NewToken(ctx, store.(retune.TokenStore), fmt.Sprintf("%s-%s-%d", tk.name, t.Name(), envSeq.Add(1)), tk.scope, tk.studies, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[tk.name] = secret
	}
	o := server.Options{Storage: store, Addr: "127.0.0.1:0", LeaseTTL: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(e.log, nil))}
	if mod != nil {
		mod(&o)
	}
	s, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.server = s
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)
	client := e.srv.Client()
	client.Transport = &validating{t: t, base: client.Transport}
	return e
}

// resp is an answer: status, headers and body.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request with the token named tok ("" for none); body nil for none.
func (e *env) do(tok, method, path string, body any, header ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				e.t.Fatal(err)
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[tok])
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	r, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{r.StatusCode, r.Header, b}
}

// definition is a study definition as a JSON-ready map.
func definition(name string, trials int) map[string]any {
	d := map[string]any{
		"name":       name,
		"objectives": []any{map[string]any{"metric": "loss", "direction": "minimize"}},
		"params": map[string]any{
			"lr":     map[string]any{"type": "float", "low": 0.001, "high": 0.1, "log": true},
			"layers": map[string]any{"type": "int", "low": 1, "high": 4},
			"opt":    map[string]any{"type": "categorical", "choices": []any{"adam", "sgd"}},
		},
		"sampler": map[string]any{"name": "random"},
		"pruner":  map[string]any{"name": "threshold", "upper": 10.0},
	}
	if trials > 0 {
		d["budget"] = map[string]any{"trials": trials}
	}
	return d
}

// createStudy creates a study through the API as admin.
func (e *env) createStudy(name string, trials int) {
	e.t.Helper()
	if r := e.do("admin", "POST", "/api/v1/studies", map[string]any{"definition": definition(name, trials)}); r.status != http.StatusCreated {
		e.t.Fatalf("create study %s: %d %s", name, r.status, r.body)
	}
}

type asked struct {
	Number int            `json:"number"`
	Epoch  int64          `json:"epoch"`
	Params map[string]any `json:"params"`
}

// ask asks a trial as the run token.
func (e *env) ask(study string, header ...string) asked {
	e.t.Helper()
	r := e.do("run", "POST", "/api/v1/studies/"+study+"/trials", map[string]any{}, header...)
	if r.status != http.StatusCreated {
		e.t.Fatalf("ask %s: %d %s", study, r.status, r.body)
	}
	var a asked
	r.decode(e.t, &a)
	return a
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
