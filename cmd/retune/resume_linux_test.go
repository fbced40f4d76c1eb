package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// liveInGroup returns the processes of group pgid that are alive (zombies are not: they
// wait for a parent, or init, to reap them).
func liveInGroup(pgid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			out = append(out, pid)
		}
	}
	return out
}

// TestResumeAfterKill: after `retune run` is killed with SIGKILL, the next run stops the
// trainers it left behind, fails their trials as interrupted, runs their params again and
// finishes the study's budget.
func TestResumeAfterKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	body := "params:\n  x: {type: float, low: 0, high: 1}\nseed: 3\nbudget: {trials: 6, parallel: 2}\n"
	// The slow trainers write step lines to the metrics file, not to stdout (a pipe whose
	// reader dies with retune), so they outlive retune.
	slow := writeStudy(t, dir, "slow.yaml", "resume", []string{"-steps=600", "-delay=50ms", "-quick=0", "-metrics-file"}, body)
	fast := writeStudy(t, dir, "fast.yaml", "resume", []string{"-steps=2"}, body)

	p := startRetune(t, dir, "run", slow, "--db", db)
	p.waitLine(t, `^trial 0 COMPLETE`, 30*time.Second)
	orphans := waitRunning(t, db, "resume", 2)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != -1 {
		t.Fatalf("retune exit code %d, want -1 (killed)", code)
	}
	for _, tr := range orphans {
		pgid := pgidOf(tr)
		if len(liveInGroup(pgid)) == 0 {
			t.Fatalf("trial %d: trainer group %d ended with retune; the test needs orphans", tr.Number, pgid)
		}
		t.Cleanup(func() {
			if len(liveInGroup(pgid)) > 0 {
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
			}
		})
	}

	r := cli(t, nil, "run", fast, "--db", db)
	if r.code != ExitOK {
		t.Fatalf("second run: %v", r)
	}
	for _, tr := range orphans {
		if live := liveInGroup(pgidOf(tr)); len(live) > 0 {
			t.Errorf("trial %d: trainer processes %v of group %d still run after the second run", tr.Number, live, pgidOf(tr))
		}
	}
	if !strings.Contains(r.stderr, "re-enqueued 2 trial(s) left running by a stopped retune") {
		t.Errorf("second run's stderr:\n%s", r.stderr)
	}
	checkRequeuedRan(t, trials(t, db, "resume"), orphans, 6)
}
