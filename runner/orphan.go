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
// unrelated process that reused the id, it acts only when the group leader's environment
// names the same study and trial, which it can check on Linux only; elsewhere it does
// nothing and returns false (the orphan then runs to its end, and its results are ignored).
func StopOrphan(pgid int, study string, number int, grace time.Duration) bool {
	if runtime.GOOS != "linux" || pgid <= 1 || !groupAlive(pgid) {
		return false
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pgid))
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
	if !studyOK || !trialOK {
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

// groupRunning reports whether a process of group pgid is running. Zombies do not count:
// an orphan that exited waits for init to reap it, which some inits do late or never.
func groupRunning(pgid int) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return groupAlive(pgid)
	}
	want := []byte(strconv.Itoa(pgid))
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
			return true
		}
	}
	return false
}
