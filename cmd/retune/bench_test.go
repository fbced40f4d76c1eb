//go:build linux || darwin

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuSelf is this process's user+system CPU time, without its children.
func cpuSelf(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRunOverhead runs `retune run --parallel 1` in-process, one op being a run of 50
// trials of a trainer that only prints its final metrics, and reports per trial:
//
//	gap-ms/trial   from one trainer's exit to the next one's start, by the trainer's clock
//	               (the mean, and the median as gap-p50-ms/trial)
//	cpu-ms/trial   retune's own CPU time (getrusage RUSAGE_SELF: trainers excluded),
//	               opening the database and the study included
func BenchmarkRunOverhead(b *testing.B) {
	const trialsPerRun = 50
	dir := b.TempDir()
	var gaps []time.Duration
	var cpu time.Duration
	runs := 0
	for b.Loop() {
		runs++
		times := filepath.Join(dir, fmt.Sprintf("times-%d", runs))
		file := writeStudy(b, dir, fmt.Sprintf("study-%d.yaml", runs), "bench", []string{"-steps=0", "-times=" + times},
			"params:\n  x: {type: float, low: 0, high: 1}\n")
		db := filepath.Join(dir, fmt.Sprintf("r-%d.db", runs))
		before := cpuSelf(b)
		r := cli(b, nil, "run", file, "--db", db, "--trials", strconv.Itoa(trialsPerRun), "--parallel", "1")
		cpu += cpuSelf(b) - before
		if r.code != ExitOK {
			b.Fatalf("run: %v", r)
		}
		data, err := os.ReadFile(times)
		if err != nil {
			b.Fatal(err)
		}
		var spans [][2]int64 // trainer start, end (Unix ns)
		for line := range strings.Lines(string(data)) {
			var s [2]int64
			if _, err := fmt.Sscan(line, &s[0], &s[1]); err != nil {
				b.Fatalf("times line %q: %v", line, err)
			}
			spans = append(spans, s)
		}
		if len(spans) != trialsPerRun {
			b.Fatalf("%d trainer runs recorded, want %d", len(spans), trialsPerRun)
		}
		slices.SortFunc(spans, func(x, y [2]int64) int { return int(x[0] - y[0]) })
		for i := 1; i < len(spans); i++ {
			gaps = append(gaps, time.Duration(spans[i][0]-spans[i-1][1]))
		}
	}
	var sum time.Duration
	for _, g := range gaps {
		sum += g
	}
	slices.Sort(gaps)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(sum)/float64(len(gaps)), "gap-ms/trial")
	b.ReportMetric(ms(gaps[len(gaps)/2]), "gap-p50-ms/trial")
	b.ReportMetric(ms(cpu)/float64(runs*trialsPerRun), "cpu-ms/trial")
}
