package runner

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

// StopOrphan stops the process group of trial number of study, left running by a retune
// process that died, and reports whether it found and stopped it. To never signal an
// unrelated process that reused the id, it acts only when a live process of the group —
// the leader, or whatever the leader left behind when it died first (a trainer killed by
// SIGPIPE leaves its data loaders) — has RETUNE_STUDY and RETUNE_TRIAL naming the same
// study and trial in its environment. A group's id is not given to a new process while
// the group has members, so that process identifies the group. The check needs Linux;
// elsewhere StopOrphan does nothing and returns false (the orphan then runs to its end,
// and its results are ignored).
func StopOrphan(pgid int, study string, number int, grace time.Duration) bool {
	if runtime.GOOS != "linux" || pgid <= 1 || !groupAlive(pgid) {
		return false
	}
	members, _ := groupMembers(pgid)
	found := false
	for _, pid := range members {
		if hasMarkers(pid, study, number) {
			found = true
			break
		}
	}
	if !found {
		return false
	}
	termGroup(pgid)
	deadline := time.Now().Add(grace)
	for groupRunning(pgid) {
		if time.Now().After(deadline) {
			killGroup(pgid)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// hasMarkers reports whether process pid's environment names study and trial number.
func hasMarkers(pid int, study string, number int) bool {
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	var studyOK, trialOK bool
	for _, kv := range bytes.Split(env, []byte{0}) {
		switch string(kv) {
		case "RETUNE_STUDY=" + study:
			studyOK = true
		case "RETUNE_TRIAL=" + strconv.Itoa(number):
			trialOK = true
		}
	}
	return studyOK && trialOK
}

// groupRunning reports whether a process of group pgid is running. Zombies do not count:
// an orphan that exited waits for init to reap it, which some inits do late or never.
func groupRunning(pgid int) bool {
	members, err := groupMembers(pgid)
	if err != nil {
		return groupAlive(pgid)
	}
	return len(members) > 0
}

// groupMembers returns the processes of group pgid that are not zombies, from /proc.
func groupMembers(pgid int) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	want := []byte(strconv.Itoa(pgid))
	var out []int
	for _, e := range ents {
		if c := e.Name()[0]; c < '0' || c > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …, where comm may hold spaces and parentheses
		f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
		if len(f) >= 3 && bytes.Equal(f[2], want) && string(f[0]) != "Z" {
			if pid, err := strconv.Atoi(e.Name()); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out, nil
}
