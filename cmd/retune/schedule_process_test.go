//go:build linux || darwin

package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// TestScheduleInterrupt: SIGINT to a scheduler in the middle of a run stops its trainer
// and exits 130.
func TestScheduleInterrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "i.db")
	study := writeStudy(t, dir, "i.yaml", "isched", []string{"-steps=600", "-delay=50ms"}, "params:\n  x: {type: float, low: 0, high: 1}\nbudget: {trials: 2}\n")
	p := startRetune(t, dir, "run", study, "--every", "1h", "--db", db)
	p.waitLine(t, `scheduled run of model isched: study isched-`, 30*time.Second)
	name := regexp.MustCompile(`study (isched-\S+)`).FindStringSubmatch(p.errText())[1]
	running := waitRunning(t, db, name, 1)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != ExitInterrupt {
		t.Errorf("exit code %d after SIGINT, want %d\n%s", code, ExitInterrupt, p.errText())
	}
	if err := syscall.Kill(-pgidOf(running[0]), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("trainer process group %d still exists after retune exited (kill: %v)", pgidOf(running[0]), err)
	}
}
