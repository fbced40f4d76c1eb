//go:build unix

// Package cputime reads CPU time used so far, for benchmarks that report CPU per
// operation beside wall time (which varies more on shared cores).
package cputime

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Self is the CPU time (user and system) this process has used so far, all threads
// together; ok is false where it cannot be read.
func Self() (d time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// Processes is the CPU time the running processes named comm (such as "postgres") have
// used so far, read from /proc (Linux) in clock ticks of 10 ms; ok is false where there
// is none to read.
func Processes(comm string) (d time.Duration, ok bool) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, f := range stats {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(raw)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.HasSuffix(s[:i], "("+comm) || len(s) < i+2 {
			continue
		}
		fields := strings.Fields(s[i+2:])
		if len(fields) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		ticks += u + st
		ok = true
	}
	return time.Duration(ticks) * (time.Second / 100), ok // USER_HZ is 100 on Linux
}
