package runner_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/runner"
)

// running reports whether process pid exists and is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	return len(f) > 0 && string(f[0]) != "Z"
}

// waitGone waits up to 30s for process pid to end and reports whether it did.
func waitGone(pid int) bool {
	deadline := time.Now().Add(30 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// A trainer left behind by a killed retune may die before recovery (of SIGPIPE, say) while
// the helpers it started in its process group keep running: recovery finds them by their
// group and environment, and stops them.
func TestStopOrphanLeaderGone(t *testing.T) {
	t.Parallel()
	pidfile := filepath.Join(t.TempDir(), "helper.pid")
	leader := exec.Command("/bin/sh", "-c", "sleep 301 & echo $! > "+pidfile)
	leader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // as the runner starts a trainer
	leader.Env = append(os.Environ(), "RETUNE_STUDY=orphans", "RETUNE_TRIAL=7")
	if err := leader.Run(); err != nil { // no output pipes: the helper would hold them
		t.Fatalf("trainer: %v", err)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	helper, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(helper, syscall.SIGKILL) })
	pgid := leader.Process.Pid

	if runner.StopOrphan(pgid, "orphans", 8, time.Second) || runner.StopOrphan(pgid, "other", 7, time.Second) {
		t.Error("StopOrphan of another trial = true, want false")
	}
	if !running(helper) {
		t.Fatalf("helper %d stopped by StopOrphan of another trial", helper)
	}
	if !runner.StopOrphan(pgid, "orphans", 7, 30*time.Second) {
		t.Errorf("StopOrphan(group %d, leader gone) = false, want true", pgid)
	}
	if !waitGone(helper) {
		t.Errorf("helper %d of group %d still runs after StopOrphan", helper, pgid)
	}
}

// A trainer that exits 0 with its objective while a background child still holds its
// stdout is COMPLETE, at once (not after the kill grace), and the child is stopped.
func TestLeftoverChildKeepsResult(t *testing.T) {
	t.Parallel()
	pidfile := filepath.Join(t.TempDir(), "child.pid")
	cmd := &runner.Command{Args: []string{"/bin/sh", "-c", "echo loss=0.5; sleep 300 & echo $! > " + pidfile},
		Objectives: []string{"loss"}, Study: "s", KillGrace: time.Hour}
	s, err := retune.NewStudy(t.Context(), retune.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := s.Ask(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		v   []float64
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := cmd.Run(t.Context(), tr, nil)
		done <- result{v, err}
	}()
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidfile); err == nil {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	select {
	case r := <-done:
		if r.err != nil || len(r.v) != 1 || r.v[0] != 0.5 {
			t.Fatalf("Run = %v, %v; want [0.5]", r.v, r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run has not returned after 30s: it waits for the child holding stdout")
	}
	if err := s.Tell(t.Context(), tr, 0.5); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if !waitGone(child) {
		t.Errorf("background child %d still runs after the trial", child)
	}
}
