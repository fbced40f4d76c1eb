package main

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServe: serve refuses a database without a token; tokens create prints a token once
// that the API accepts; tokens revoke ends it; serve stops gracefully when cancelled.
func TestServe(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "retune.db")
	if r := cli(t, nil, "serve", "--db", db, "--addr", "127.0.0.1:0"); r.code != ExitUsage || !strings.Contains(r.stderr, "no valid token") {
		t.Fatalf("serve without a token = %v, want exit 2 saying so", r)
	}
	r := cli(t, nil, "tokens", "create", "--db", db, "--name", "ci", "--scope", "admin", "--studies", "team-*", "--expires", "30d")
	secret := strings.TrimSpace(r.stdout)
	if r.code != ExitOK || !strings.HasPrefix(secret, "rt_") || strings.Contains(r.stderr, secret) {
		t.Fatalf("tokens create = %v, want the token on stdout only", r)
	}
	if r := cli(t, nil, "tokens", "create", "--db", db, "--name", "x", "--scope", "root"); r.code != ExitUsage {
		t.Errorf("tokens create --scope root = %v, want exit 2", r)
	}
	list := mustCLI(t, "tokens", "list", "--db", db)
	if !strings.Contains(list, "ci") || !strings.Contains(list, "team-*") || strings.Contains(list, secret) {
		t.Errorf("tokens list = %q, want ci with its pattern and no secret", list)
	}
	b := startCLI(t, "serve", "--db", db, "--addr", "127.0.0.1:0")
	url := waitURL(t, b)
	get := func() int {
		req, _ := http.NewRequest("GET", url+"/studies", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(); got != http.StatusOK {
		t.Errorf("GET /studies = %d, want 200", got)
	}
	mustCLI(t, "tokens", "revoke", "--db", db, "ci")
	if got := get(); got != http.StatusUnauthorized {
		t.Errorf("GET /studies with a revoked token = %d, want 401", got)
	}
	if code := b.stop(t); code != ExitOK {
		t.Errorf("serve exit code after cancel = %d, want 0:\n%s", code, b.stderr.String())
	}
	if strings.Contains(b.stderr.String(), secret) {
		t.Errorf("the token is in the server's log")
	}
}

var servingURL = regexp.MustCompile(`url=(http://[0-9.]+:[0-9]+/api/v1)`)

// waitURL waits for serve's "serving" line and returns its API URL.
func waitURL(t testing.TB, b *background) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingURL.FindStringSubmatch(b.stderr.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-b.done:
			b.done <- code
			t.Fatalf("serve exited with %d:\n%s", code, b.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start within 30s:\n%s", b.stderr.String())
	return ""
}
