package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/a6b40afc/retune/export"
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

// TestResumeAfterKillLeaderGone: when `retune run` is killed, a trainer writing to stdout
// dies of SIGPIPE, and the helper it started in the background keeps running in the
// trainer's process group; the next run finds that helper and stops it.
func TestResumeAfterKillLeaderGone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	body := "params:\n  x: {type: float, low: 0, high: 1}\nseed: 4\nbudget: {trials: 2}\n"
	slow := filepath.Join(dir, "slow.yaml")
	script := `sleep 301 & echo $! > helper.pid; while :; do echo step=1 loss=1; sleep 0.05; done`
	if err := os.WriteFile(slow, []byte("name: helpers\ncommand: [/bin/sh, -c, \""+script+"\"]\n"+
		"objective: {metric: loss, direction: minimize}\n"+body), 0o600); err != nil {
		t.Fatal(err)
	}
	fast := writeStudy(t, dir, "fast.yaml", "helpers", []string{"-steps=2"}, body)

	p := startRetune(t, dir, "run", slow, "--db", db)
	orphan := waitRunning(t, db, "helpers", 1)[0]
	pgid := pgidOf(orphan)
	var helper int
	deadline := time.Now().Add(30 * time.Second)
	for helper == 0 {
		b, _ := os.ReadFile(filepath.Join(dir, "helper.pid"))
		helper, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		if helper == 0 && time.Now().After(deadline) {
			t.Fatal("no helper.pid after 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() { _ = syscall.Kill(helper, syscall.SIGKILL) })
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
	for deadline := time.Now().Add(30 * time.Second); slices.Contains(liveInGroup(pgid), pgid); {
		if time.Now().After(deadline) {
			t.Fatalf("trainer %d still runs 30s after retune was killed", pgid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if live := liveInGroup(pgid); !slices.Contains(live, helper) {
		t.Fatalf("group %d has %v, want the helper %d: the test needs a leaderless group", pgid, live, helper)
	}

	r := cli(t, nil, "run", fast, "--db", db)
	if r.code != ExitOK {
		t.Fatalf("second run: %v", r)
	}
	if live := liveInGroup(pgid); len(live) > 0 {
		t.Errorf("processes %v of group %d still run after the second run", live, pgid)
	}
	if !strings.Contains(r.stderr, "re-enqueued 1 trial(s) left running by a stopped retune") {
		t.Errorf("second run's stderr:\n%s", r.stderr)
	}
	checkRequeuedRan(t, trials(t, db, "helpers"), []export.Trial{orphan}, 2)
}
