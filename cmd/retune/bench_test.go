//go:build linux || darwin

package main

import (
	"fmt"
	"os"
	"os/exec"
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

// BenchmarkAgentGap compares, side by side in each op, the time from one trial's exit to
// the next one's start (by the trainer's clock) for `retune run --parallel 1` and for a
// `retune agent --slots 1` process working for a `retune serve` (both on SQLite), over
// 50 trials each. Run it with -benchtime=3x; it reports the medians and their ratio.
func BenchmarkAgentGap(b *testing.B) {
	const n = 50
	dir := b.TempDir()
	var runGaps, agentGaps []time.Duration
	for i := 0; b.Loop(); i++ {
		times := filepath.Join(dir, fmt.Sprintf("run-times-%d", i))
		file := writeStudy(b, dir, fmt.Sprintf("run-%d.yaml", i), "bench", []string{"-steps=0", "-times=" + times},
			"params:\n  x: {type: float, low: 0, high: 1}\n")
		if r := cli(b, nil, "run", file, "--db", filepath.Join(dir, fmt.Sprintf("run-%d.db", i)), "--trials", strconv.Itoa(n), "--parallel", "1"); r.code != ExitOK {
			b.Fatalf("run: %v", r)
		}
		runGaps = append(runGaps, trainerGaps(b, times, n)...)

		times = filepath.Join(dir, fmt.Sprintf("agent-times-%d", i))
		name := fmt.Sprintf("agent%d", i)
		file = writeStudy(b, dir, name+".yaml", name, []string{"-steps=0", "-times=" + times},
			fmt.Sprintf("params:\n  x: {type: float, low: 0, high: 1}\nbudget: {trials: %d}\n", n))
		db := filepath.Join(dir, name+".db")
		mustCLI(b, "run", file, "--db", db, "--trials", "1") // creates the study with its definition
		token := strings.TrimSpace(mustCLI(b, "tokens", "create", "--db", db, "--name", "a", "--scope", "run"))
		srv := startCLI(b, "serve", "--db", db, "--addr", "127.0.0.1:0")
		base := strings.TrimSuffix(waitURL(b, srv), "/api/v1")
		cmd := exec.Command(retuneBin, "agent", "--server", base, "--idle-exit", "500ms", "--poll", "100ms", file)
		cmd.Env = append(os.Environ(), "RETUNE_TOKEN="+token)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("agent: %v\n%s", err, out)
		}
		srv.stop(b)
		agentGaps = append(agentGaps, trainerGaps(b, times, n)[1:]...) // the first trial ran under retune run
	}
	med := func(g []time.Duration) float64 {
		slices.Sort(g)
		return float64(g[len(g)/2]) / float64(time.Millisecond)
	}
	b.ReportMetric(med(runGaps), "run-gap-p50-ms")
	b.ReportMetric(med(agentGaps), "agent-gap-p50-ms")
	b.ReportMetric(med(agentGaps)/med(runGaps), "ratio")
}

// trainerGaps reads a -times file of the test trainer (start and end per line, Unix ns)
// and returns the gaps from each trainer's end to the next one's start.
func trainerGaps(b *testing.B, path string, want int) []time.Duration {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var spans [][2]int64
	for line := range strings.Lines(string(data)) {
		var s [2]int64
		if _, err := fmt.Sscan(line, &s[0], &s[1]); err != nil {
			b.Fatalf("times line %q: %v", line, err)
		}
		spans = append(spans, s)
	}
	if len(spans) != want {
		b.Fatalf("%s: %d trainer runs, want %d", path, len(spans), want)
	}
	slices.SortFunc(spans, func(x, y [2]int64) int { return int(x[0] - y[0]) })
	var gaps []time.Duration
	for i := 1; i < len(spans); i++ {
		gaps = append(gaps, time.Duration(spans[i][0]-spans[i-1][1]))
	}
	return gaps
}
