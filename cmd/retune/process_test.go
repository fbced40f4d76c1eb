//go:build linux || darwin

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/a6b40afc/retune/export"
)

// proc is the retune command running as a child process of the test.
type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	eof    chan struct{} // closed when stderr is read to its end

	mu     sync.Mutex
	stderr []string // lines so far
}

// startRetune starts the built retune command in dir with args. Its environment is the
// test's without RETUNE_* variables, with TMPDIR in dir.
func startRetune(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(retuneBin, args...), eof: make(chan struct{})}
	p.cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RETUNE_") && !strings.HasPrefix(kv, "TMPDIR=") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, "TMPDIR="+dir)
	p.cmd.Stdout = &p.stdout
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.eof)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr = append(p.stderr, sc.Text())
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.eof
			_ = p.cmd.Wait()
		}
	})
	return p
}

// waitLine waits for a stderr line matching re.
func (p *proc) waitLine(t *testing.T, re string, timeout time.Duration) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		p.mu.Lock()
		found := slices.ContainsFunc(p.stderr, rx.MatchString)
		p.mu.Unlock()
		if found {
			return
		}
		select {
		case <-p.eof:
			t.Fatalf("retune exited without a line matching %q:\n%s", re, p.errText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line matching %q within %v:\n%s", re, timeout, p.errText())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.stderr, "\n")
}

// wait waits for the process to exit and returns its exit code (-1 if a signal killed it).
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.eof:
	case <-time.After(60 * time.Second):
		t.Fatalf("retune still running after 60s:\n%s", p.errText())
	}
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return p.cmd.ProcessState.ExitCode()
}

// waitRunning polls the study until n trials are RUNNING with their process group
// recorded, and returns them.
func waitRunning(t *testing.T, db, study string, n int) []export.Trial {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var running []export.Trial
		var ts []export.Trial
		// The study may not exist yet: a scheduler names it before it creates it.
		if r := cli(t, nil, "trials", study, "--db", db, "--json"); r.code == ExitOK {
			if err := json.Unmarshal([]byte(r.stdout), &ts); err != nil {
				t.Fatalf("trials --json: %v\n%s", err, r.stdout)
			}
		} else if r.code != ExitNotFound {
			t.Fatalf("retune trials %s: %v", study, r)
		}
		for _, tr := range ts {
			if _, ok := tr.SystemAttrs["pgid"].(float64); ok && tr.State == "RUNNING" {
				running = append(running, tr)
			}
		}
		if len(running) == n {
			return running
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d trials RUNNING with a pgid after 30s, want %d", len(running), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pgidOf(tr export.Trial) int { return int(tr.SystemAttrs["pgid"].(float64)) }

// checkRequeuedRan checks, once a study is done, that each of the interrupted trials is FAIL
// ("interrupted…", marked interrupted) and that a later trial with its params is COMPLETE;
// that nothing is left RUNNING or WAITING; and that the budget is exactly the number of
// search trials with an outcome: interruptions give their places back.
func checkRequeuedRan(t *testing.T, ts []export.Trial, interrupted []export.Trial, budget int) {
	t.Helper()
	outcomes := 0
	for _, tr := range ts {
		if tr.State == "RUNNING" || tr.State == "WAITING" {
			t.Errorf("trial %d left %s", tr.Number, tr.State)
		}
		if tr.Kind == "search" && tr.State != "WAITING" && tr.SystemAttrs["interrupted"] != true {
			outcomes++
		}
	}
	if outcomes != budget {
		t.Errorf("%d search trials with an outcome, want the budget %d (states %v)", outcomes, budget, byState(ts))
	}
	for _, it := range interrupted {
		if tr := ts[it.Number]; tr.SystemAttrs["interrupted"] != true {
			t.Errorf("interrupted trial %d: system attrs %v, want interrupted: true", tr.Number, tr.SystemAttrs)
		}
	}
	for _, it := range interrupted {
		tr := ts[it.Number]
		if tr.State != "FAIL" || !strings.HasPrefix(tr.Reason, "interrupted") {
			t.Errorf("interrupted trial %d: %s %q, want FAIL \"interrupted…\"", tr.Number, tr.State, tr.Reason)
		}
		again := slices.ContainsFunc(ts, func(o export.Trial) bool {
			return o.Number > tr.Number && o.State == "COMPLETE" && o.Params["x"] == tr.Params["x"]
		})
		if !again {
			t.Errorf("no later COMPLETE trial with the params %v of interrupted trial %d", tr.Params, tr.Number)
		}
	}
}

// TestInterrupt: SIGINT stops the trainers and exits 130; the interrupted trials' params are
// enqueued and the next run completes them.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	body := "params:\n  x: {type: float, low: 0, high: 1}\nseed: 5\nbudget: {trials: 5, parallel: 2}\n"
	slow := writeStudy(t, dir, "slow.yaml", "intr", []string{"-steps=600", "-delay=50ms", "-quick=0"}, body)
	fast := writeStudy(t, dir, "fast.yaml", "intr", []string{"-steps=2"}, body)

	p := startRetune(t, dir, "run", slow, "--db", db)
	p.waitLine(t, `^trial 0 COMPLETE`, 30*time.Second)
	running := waitRunning(t, db, "intr", 2)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != ExitInterrupt {
		t.Errorf("exit code %d after SIGINT, want %d\n%s", code, ExitInterrupt, p.errText())
	}
	for _, tr := range running {
		if err := syscall.Kill(-pgidOf(tr), 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("trial %d: process group %d still exists after retune exited (kill: %v)", tr.Number, pgidOf(tr), err)
		}
	}
	if !strings.Contains(p.errText(), "retune: interrupted") || !strings.Contains(p.stdout.String(), "2 interrupted trial(s) were enqueued again") {
		t.Errorf("output after SIGINT:\nstdout:\n%s\nstderr:\n%s", &p.stdout, p.errText())
	}
	ts := trials(t, db, "intr")
	var waiting []string
	for _, tr := range ts {
		if tr.State == "WAITING" {
			waiting = append(waiting, fmt.Sprint(tr.Params["x"]))
		}
	}
	var want []string
	for _, tr := range running {
		if got := ts[tr.Number]; got.State != "FAIL" || !strings.HasPrefix(got.Reason, "interrupted") {
			t.Errorf("trial %d after SIGINT: %s %q, want FAIL \"interrupted…\"", tr.Number, got.State, got.Reason)
		}
		want = append(want, fmt.Sprint(tr.Params["x"]))
	}
	slices.Sort(waiting)
	slices.Sort(want)
	if !slices.Equal(waiting, want) {
		t.Errorf("WAITING trials with x %v, want the interrupted trials' %v", waiting, want)
	}

	if r := cli(t, nil, "run", fast, "--db", db); r.code != ExitOK {
		t.Fatalf("second run: %v", r)
	}
	checkRequeuedRan(t, trials(t, db, "intr"), running, 5)
}

// TestInterruptTwice: with a small budget, two runs stopped by SIGINT leave their trials
// re-enqueued with their places in the budget given back, so a third run runs them all and
// the budget yields exactly its number of outcomes, with nothing stranded WAITING.
func TestInterruptTwice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	body := "params:\n  x: {type: float, low: 0, high: 1}\nseed: 9\nbudget: {trials: 3, parallel: 2}\n"
	slow := writeStudy(t, dir, "slow.yaml", "twice", []string{"-steps=600", "-delay=50ms", "-quick=0"}, body)
	fast := writeStudy(t, dir, "fast.yaml", "twice", []string{"-steps=2"}, body)
	var interrupted []export.Trial
	for round := range 2 {
		p := startRetune(t, dir, "run", slow, "--db", db)
		if round == 0 {
			p.waitLine(t, `^trial 0 COMPLETE`, 30*time.Second)
		}
		running := waitRunning(t, db, "twice", 2)
		interrupted = append(interrupted, running...)
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t); code != ExitInterrupt {
			t.Fatalf("round %d: exit code %d after SIGINT, want %d\n%s", round, code, ExitInterrupt, p.errText())
		}
		if !strings.Contains(p.stdout.String(), "2 interrupted trial(s) were enqueued again") {
			t.Errorf("round %d: stdout after SIGINT:\n%s", round, &p.stdout)
		}
	}
	r := cli(t, nil, "run", fast, "--db", db)
	if r.code != ExitOK || !strings.Contains(r.stdout, "ran 2 trials") {
		t.Fatalf("third run, want the 2 re-enqueued trials run: %v", r)
	}
	ts := trials(t, db, "twice")
	// The second round re-ran the first round's interrupted params: only its own
	// interrupted trials must be completed later.
	checkRequeuedRan(t, ts, interrupted[2:], 3)
}

// TestTwoProcesses runs two `retune run` processes on one SQLite study at once.
func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	ran := regexp.MustCompile(`ran (\d+) trials`)
	tests := []struct {
		name  string
		args  []string
		body  string
		total int
	}{
		{"grid", []string{"-steps={steps}", "-delay=20ms"}, `params:
  x: {type: float, values: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}
  steps: {type: int, values: [1, 2]}
seed: 2
budget: {parallel: 2}
`, 12},
		{"budget", []string{"-steps=2", "-delay=20ms"}, `params:
  x: {type: float, low: 0, high: 1}
seed: 2
budget: {trials: 10, parallel: 2}
`, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := filepath.Join(dir, "r.db")
			file := writeStudy(t, dir, "study.yaml", "two", tt.args, tt.body)
			mustCLI(t, "migrate", "--db", db) // once before starting several workers, as the help says
			ps := []*proc{startRetune(t, dir, "run", file, "--db", db), startRetune(t, dir, "run", file, "--db", db)}
			sum := 0
			for i, p := range ps {
				if code := p.wait(t); code != ExitOK {
					t.Fatalf("process %d: exit code %d\n%s\n%s", i, code, &p.stdout, p.errText())
				}
				m := ran.FindStringSubmatch(p.stdout.String())
				if m == nil {
					t.Fatalf("process %d: no summary:\n%s", i, &p.stdout)
				}
				n, _ := strconv.Atoi(m[1])
				sum += n
			}
			if sum != tt.total {
				t.Errorf("the processes ran %d trials together, want %d", sum, tt.total)
			}
			ts := trials(t, db, "two")
			if st := byState(ts); len(ts) != tt.total || st["COMPLETE"] != tt.total {
				t.Errorf("%d trials %v, want %d COMPLETE", len(ts), st, tt.total)
			}
			seen := map[string]int{}
			for _, tr := range ts {
				seen[fmt.Sprint(tr.Params["x"], "/", tr.Params["steps"])]++
			}
			for k, n := range seen {
				if n != 1 {
					t.Errorf("params %s ran %d times", k, n)
				}
			}
		})
	}
}

// TestRelativePaths runs retune from a folder other than the study file's, with the study
// file, the log dir and the database given as relative paths. The trainer, which runs in
// the study file's folder, writes its steps to $RETUNE_METRICS_FILE, and an exec notifier
// "./on-event.sh" beside the study file gets the run's events.
func TestRelativePaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	writeStudy(t, sub, "study.yaml", "rel", []string{"-steps=2", "-metrics-file"},
		"params:\n  x: {type: float, low: 0, high: 1}\nbudget: {trials: 2}\n"+
			"notifiers:\n  on-event: {type: exec, command: [\"./on-event.sh\"]}\n")
	if err := os.WriteFile(filepath.Join(sub, "on-event.sh"), []byte("#!/bin/sh\ncat >> events.jsonl\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	p := startRetune(t, dir, "run", "sub/study.yaml", "--db", "r.db", "--log-dir", "logs")
	if code := p.wait(t); code != ExitOK {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, &p.stdout, p.errText())
	}
	ts := trials(t, filepath.Join(dir, "r.db"), "rel")
	for _, tr := range ts {
		log, _ := tr.SystemAttrs["log"].(string)
		if tr.State != "COMPLETE" || len(tr.Intermediate) != 2 || !strings.HasPrefix(log, filepath.Join(dir, "logs")+"/") {
			t.Errorf("trial %d: %s %q, %d steps, log %q; want COMPLETE, 2 steps from the metrics file, an absolute log path",
				tr.Number, tr.State, tr.Reason, len(tr.Intermediate), log)
		}
	}
	events, err := os.ReadFile(filepath.Join(sub, "events.jsonl"))
	if err != nil || !strings.Contains(string(events), "study.completed") {
		t.Errorf("events the notifier got: %q (%v), want the study-completed event", events, err)
	}
}
