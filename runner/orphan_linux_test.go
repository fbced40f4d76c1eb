package runner_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

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
