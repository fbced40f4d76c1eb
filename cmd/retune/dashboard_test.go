package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var loginURL = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/login\?ticket=[A-Za-z0-9_-]+`)

// TestDashboardCommand: retune dashboard prints a one-time login link that opens the
// dashboard once; the link's token is revoked when it stops, ending the session.
func TestDashboardCommand(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "retune.db")
	mustCLI(t, "run", "--db", db, "--trials", "3", filepath.Join("..", "..", "examples", "quadratic", "study.yaml"))
	if r := cli(t, nil, "dashboard", "--db", db, "--scope", "root"); r.code != ExitUsage {
		t.Errorf("dashboard --scope root = %v, want exit 2", r)
	}
	b := startCLI(t, "dashboard", "--db", db)
	var link string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && link == ""; time.Sleep(10 * time.Millisecond) {
		link = loginURL.FindString(b.stdout.String())
	}
	if link == "" {
		t.Fatalf("no login link within 30s:\nstdout %s\nstderr %s", b.stdout.String(), b.stderr.String())
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(c *http.Client, url string) (int, string) {
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if st, body := get(c, link); st != http.StatusOK || !strings.Contains(body, `href="/studies/quadratic"`) {
		t.Fatalf("login link = %d %.300s, want the studies page", st, body)
	}
	other, _ := cookiejar.New(nil)
	if st, _ := get(&http.Client{Jar: other}, link); st != http.StatusUnauthorized {
		t.Errorf("login link used twice = %d, want 401", st)
	}
	if code := b.stop(t); code != ExitOK {
		t.Errorf("dashboard exit code after cancel = %d:\n%s", code, b.stderr.String())
	}
	list := mustCLI(t, "tokens", "list", "--db", db)
	if !strings.Contains(list, "dashboard-") || !strings.Contains(strings.ToLower(list), "revoked") {
		t.Errorf("tokens after the dashboard stopped:\n%s\nwant its token revoked", list)
	}
}
