//go:build !unix

// Package cputime reads CPU time used so far, for benchmarks that report CPU per
// operation beside wall time (which varies more on shared cores).
package cputime

import "time"

// Self is the CPU time this process has used so far; ok is false: not read here.
func Self() (time.Duration, bool) { return 0, false }

// Processes is the CPU time of the processes named comm; ok is false: not read here.
func Processes(comm string) (time.Duration, bool) { return 0, false }
