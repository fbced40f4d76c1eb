package notify

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/a6b40afc/retune"
)

// DefaultExecTimeout bounds a command's run when [Exec.Timeout] is 0.
const DefaultExecTimeout = 60 * time.Second

// execGrace is how long a timed-out command's process group has between SIGTERM and
// SIGKILL.
const execGrace = 5 * time.Second

// Exec delivers events by running a command, one run per [Exec.Send]. Its fields must not
// change while Send runs; Send is safe for concurrent use. It needs a Unix system: elsewhere
// every Send fails.
//
// The command gets Structured(e) on standard input and these environment variables besides
// its parent's: RETUNE_EVENT_ID, RETUNE_EVENT_TYPE, RETUNE_EVENT_SOURCE,
// RETUNE_EVENT_SUBJECT and RETUNE_EVENT_TIME (RFC 3339 in UTC; empty if the event has no
// subject or time). Its standard output is discarded.
type Exec struct {
	// Command is the program and its arguments; it is run directly, not through a shell.
	// A program name without a slash is looked up in PATH.
	Command []string
	// Timeout bounds a run. When it passes, or the context given to Send is done, the
	// command's process group gets SIGTERM, and whatever remains of it 5 seconds later,
	// or once the command has exited, gets SIGKILL. If Timeout is 0, DefaultExecTimeout
	// is used.
	Timeout time.Duration
	// Secrets names environment variables removed from the command's environment. RETUNE_DB
	// and the RETUNE_ variables whose names contain SECRET, PASSWORD or TOKEN are always
	// removed.
	Secrets []string
	Dir     string // the working directory; "" runs the command in the current one

	grace time.Duration // between SIGTERM and SIGKILL; 0 means execGrace (tests change it)
}

// killGrace returns how long a stopped command has between SIGTERM and SIGKILL.
func (x *Exec) killGrace() time.Duration { return orDefault(x.grace, execGrace) }

// Send makes one attempt to deliver e by running the command and waiting for it to end.
// Exit status 0 is Delivered. Another exit status, a signal, or a timeout is Retry. A
// command that cannot be started (not found, not executable, a missing Dir) or an invalid
// event is Fail. The attempt's Response is the end of the command's standard error: at most
// 1 KiB, starting at a UTF-8 character boundary. Status is always 0.
func (x *Exec) Send(ctx context.Context, e retune.Event) Attempt {
	body, err := Structured(e)
	if err != nil {
		return Attempt{Outcome: Fail, Err: err}
	}
	if len(x.Command) == 0 || x.Command[0] == "" {
		return Attempt{Outcome: Fail, Err: fmt.Errorf("exec: empty command: %w", retune.ErrInvalid)}
	}
	name := x.Command[0]
	timeout := orDefault(x.Timeout, DefaultExecTimeout)
	ctx, cancel := context.WithTimeoutCause(ctx, timeout,
		fmt.Errorf("timed out after %v: %w", timeout, context.DeadlineExceeded))
	defer cancel()

	cmd := exec.CommandContext(ctx, name, x.Command[1:]...)
	cmd.Dir = x.Dir
	cmd.Stdin = bytes.NewReader(body)
	var stderr tailWriter
	cmd.Stderr = &stderr
	cmd.Env = x.env(e)
	cmd.WaitDelay = x.killGrace()
	if err := setProcessGroup(cmd); err != nil {
		return Attempt{Outcome: Fail, Err: fmt.Errorf("exec %s: %w", name, err)}
	}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		if ctx.Err() != nil {
			return Attempt{Outcome: Retry, Err: fmt.Errorf("exec %s: %w", name, context.Cause(ctx))}
		}
		return Attempt{Outcome: Fail, Err: fmt.Errorf("exec %s: %w", name, err)}
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		killProcessGroup(cmd)
	}
	a := Attempt{Duration: time.Since(start), Response: stderr.String()}
	switch {
	case cmd.ProcessState != nil && cmd.ProcessState.Success():
		a.Outcome = Delivered
		return a
	case ctx.Err() != nil:
		a.Err = fmt.Errorf("exec %s: %w", name, context.Cause(ctx))
	default:
		a.Err = fmt.Errorf("exec %s: %w", name, err) // an *exec.ExitError
	}
	a.Outcome = Retry
	return a
}

// env returns the command's environment: the parent's without secrets and stale
// RETUNE_EVENT_ variables, then the event's.
func (x *Exec) env(e retune.Event) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !x.secret(k) && !strings.HasPrefix(k, "RETUNE_EVENT_") {
			env = append(env, kv)
		}
	}
	var ts string
	if !e.Time.IsZero() {
		ts = e.Time.UTC().Format(time.RFC3339Nano)
	}
	return append(env,
		"RETUNE_EVENT_ID="+e.ID,
		"RETUNE_EVENT_TYPE="+e.Type,
		"RETUNE_EVENT_SOURCE="+e.Source,
		"RETUNE_EVENT_SUBJECT="+e.Subject,
		"RETUNE_EVENT_TIME="+ts,
	)
}

// secret reports whether the environment variable k is kept from the command.
func (x *Exec) secret(k string) bool {
	if k == "RETUNE_DB" {
		return true
	}
	if rest, ok := strings.CutPrefix(k, "RETUNE_"); ok {
		u := strings.ToUpper(rest)
		if strings.Contains(u, "SECRET") || strings.Contains(u, "PASSWORD") || strings.Contains(u, "TOKEN") {
			return true
		}
	}
	for _, s := range x.Secrets {
		if k == s {
			return true
		}
	}
	return false
}

// tailWriter keeps the last responseLimit bytes written to it.
type tailWriter struct {
	b   []byte
	cut bool // bytes before b were dropped
}

func (w *tailWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= responseLimit {
		w.cut = w.cut || len(w.b) > 0 || len(p) > responseLimit
		w.b = append(w.b[:0], p[len(p)-responseLimit:]...)
		return n, nil
	}
	if over := len(w.b) + len(p) - responseLimit; over > 0 {
		w.cut = true
		w.b = append(w.b[:0], w.b[over:]...)
	}
	w.b = append(w.b, p...)
	return n, nil
}

// String returns the kept bytes, from the first UTF-8 character start when they were cut.
func (w *tailWriter) String() string {
	b := w.b
	for i := 0; w.cut && i < utf8.UTFMax && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
		b = b[1:]
	}
	return string(b)
}
