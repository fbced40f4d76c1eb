//go:build unix

package notify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/a6b40afc/retune"
)

// script writes an executable sh script into a new temporary directory and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hook.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExecInput checks what the command receives: the event on stdin, its attributes in
// the environment, and no secrets. It sets environment variables, so it is not parallel.
func TestExecInput(t *testing.T) {
	t.Setenv("RETUNE_DB", "postgres://u:pw@db/retune")
	t.Setenv("RETUNE_WEBHOOK_SECRET", "whsec_x")
	t.Setenv("RETUNE_PG_PASSWORD", "pw")
	t.Setenv("RETUNE_API_token", "tok")
	t.Setenv("HOOK_KEY", "custom secret")
	t.Setenv("RETUNE_EVENT_ID", "stale")
	t.Setenv("RETUNE_KEEP", "kept")

	out := t.TempDir()
	x := &Exec{
		Command: []string{script(t, `cat > "$1/stdin" && env > "$1/env" && pwd > "$1/pwd"`), out},
		Secrets: []string{"HOOK_KEY"},
		Dir:     out,
	}
	e := testEvent()
	e.Subject = "digits"
	a := x.Send(t.Context(), e)
	if a.Outcome != Delivered || a.Err != nil {
		t.Fatalf("Send = %+v, want delivered", a)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	want, err := Structured(e)
	if err != nil {
		t.Fatal(err)
	}
	if got := read("stdin"); got != string(want) {
		t.Errorf("stdin = %s, want %s", got, want)
	}
	if got := strings.TrimSpace(read("pwd")); got != out {
		t.Errorf("working directory = %q, want %q", got, out)
	}
	env := map[string]string{}
	for line := range strings.Lines(read("env")) {
		k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		env[k] = v
	}
	for k, v := range map[string]string{
		"RETUNE_EVENT_ID":      e.ID,
		"RETUNE_EVENT_TYPE":    e.Type,
		"RETUNE_EVENT_SOURCE":  e.Source,
		"RETUNE_EVENT_SUBJECT": "digits",
		"RETUNE_EVENT_TIME":    "2026-01-02T03:04:05Z",
		"RETUNE_KEEP":          "kept",
	} {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"RETUNE_DB", "RETUNE_WEBHOOK_SECRET", "RETUNE_PG_PASSWORD", "RETUNE_API_token", "HOOK_KEY"} {
		if v, ok := env[k]; ok {
			t.Errorf("env %s = %q, want it absent", k, v)
		}
	}
}

func TestExecOutcome(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 1000) + "last line" // 2009 bytes
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		command  func(t *testing.T) []string
		ctx      context.Context
		event    func(e *retune.Event)
		want     Outcome
		response string // a suffix of Response
		err      string // a substring of Err
	}{
		{name: "exit 0", command: func(t *testing.T) []string { return []string{script(t, "echo fine >&2")} },
			want: Delivered, response: "fine\n"},
		{name: "exit 3", command: func(t *testing.T) []string { return []string{script(t, "echo boom >&2; exit 3")} },
			want: Retry, response: "boom\n", err: "exit status 3"},
		{name: "long stderr", command: func(t *testing.T) []string {
			return []string{script(t, "printf '%s' '"+long+"' >&2; exit 1")}
		}, want: Retry, response: "last line", err: "exit status 1"},
		{name: "killed", command: func(t *testing.T) []string { return []string{script(t, "kill -KILL $$")} },
			want: Retry, err: "killed"},
		{name: "not found", command: func(t *testing.T) []string { return []string{filepath.Join(t.TempDir(), "missing")} },
			want: Fail, err: "no such file"},
		{name: "not executable", command: func(t *testing.T) []string {
			p := script(t, "exit 0")
			if err := os.Chmod(p, 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{p}
		}, want: Fail, err: "permission denied"},
		{name: "empty command", command: func(*testing.T) []string { return nil }, want: Fail, err: "empty command"},
		{name: "invalid event", command: func(t *testing.T) []string { return []string{script(t, "exit 0")} },
			event: func(e *retune.Event) { e.ID = "" }, want: Fail, err: "missing id"},
		{name: "cancelled", command: func(t *testing.T) []string { return []string{script(t, "exit 0")} },
			ctx: cancelled, want: Retry, err: "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			e := testEvent()
			if tt.event != nil {
				tt.event(&e)
			}
			x := &Exec{Command: tt.command(t)}
			a := x.Send(ctx, e)
			if a.Outcome != tt.want {
				t.Fatalf("Send = %+v, want %v", a, tt.want)
			}
			if !strings.HasSuffix(a.Response, tt.response) || len(a.Response) > responseLimit || !utf8.ValidString(a.Response) {
				t.Errorf("Response = %q (%d bytes), want valid UTF-8 ending in %q, at most %d bytes",
					a.Response, len(a.Response), tt.response, responseLimit)
			}
			switch {
			case tt.err == "" && a.Err != nil:
				t.Errorf("Err = %v, want nil", a.Err)
			case tt.err != "" && (a.Err == nil || !strings.Contains(a.Err.Error(), tt.err)):
				t.Errorf("Err = %v, want it to contain %q", a.Err, tt.err)
			}
		})
	}
}

// TestExecTimeout checks that a timed-out command's process group is terminated, and
// killed when it ignores SIGTERM once the grace period has passed.
func TestExecTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		trap  string
		grace time.Duration
	}{
		// Send returns once the group has ended, long before the grace period would.
		{name: "terminated", grace: time.Hour},
		{name: "ignores SIGTERM", trap: "trap '' TERM", grace: 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			pidFile := filepath.Join(dir, "pid")
			// The child sleep inherits the ignored SIGTERM and the shell's stderr.
			cmd := script(t, tt.trap+"\nsleep 60 &\necho $! > "+pidFile+"\nwait")
			x := &Exec{Command: []string{cmd}, Timeout: 300 * time.Millisecond, grace: tt.grace}
			sent := make(chan Attempt, 1)
			start := time.Now()
			go func() { sent <- x.Send(t.Context(), testEvent()) }()
			var a Attempt
			select {
			case a = <-sent:
			case <-time.After(30 * time.Second):
				t.Fatalf("Send has not returned after 30 s (grace period %v)", tt.grace)
			}
			if a.Outcome != Retry || !errors.Is(a.Err, context.DeadlineExceeded) ||
				!strings.Contains(a.Err.Error(), "timed out after 300ms") {
				t.Fatalf("Send = %+v, want retry after a timeout", a)
			}
			if tt.trap != "" {
				if took := time.Since(start); took < tt.grace {
					t.Errorf("Send took %v, want at least the grace period %v before SIGKILL", took, tt.grace)
				}
			}
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(30 * time.Second); alive(pid); {
				if time.Now().After(deadline) {
					t.Fatalf("child %d still running 30 s after Send returned", pid)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !os.IsNotExist(err) // no /proc: trust kill
	}
	// The state follows the parenthesized command name.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
