package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/export"
	"github.com/a6b40afc/retune/retrain"
	"github.com/a6b40afc/retune/storage"
)

// lockedBuffer is a bytes.Buffer safe for a CLI writing in one goroutine and a test
// reading in another.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// background is a CLI running in-process in a goroutine until stop.
type background struct {
	stdout, stderr lockedBuffer
	cancel         context.CancelFunc
	done           chan int
}

func startCLI(t testing.TB, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	b := &background{cancel: cancel, done: make(chan int, 1)}
	m := &Main{Stdin: strings.NewReader(""), Stdout: &b.stdout, Stderr: &b.stderr, Getenv: func(string) string { return "" }}
	go func() { b.done <- m.Run(ctx, args) }()
	t.Cleanup(func() { b.stop(t) })
	return b
}

// stop cancels the CLI (as Ctrl-C does) and returns its exit code.
func (b *background) stop(t testing.TB) int {
	t.Helper()
	b.cancel()
	select {
	case code := <-b.done:
		b.done <- code
		return code
	case <-time.After(30 * time.Second):
		t.Fatalf("retune still running 30s after cancel:\n%s", b.stderr.String())
		return -1
	}
}

// scheduled is a scheduled study as the store has it.
type scheduled struct {
	rec    retune.StudyRecord
	trials []export.Trial
}

// scheduledStudies returns the studies of the schedule named base, oldest first.
func scheduledStudies(t *testing.T, db, base string) []scheduled {
	t.Helper()
	st, err := storage.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sums, err := st.Studies(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []scheduled
	for _, s := range sums {
		if s.UserAttrs["schedule"] == base {
			out = append(out, scheduled{rec: s.StudyRecord})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rec.Created.Before(out[j].rec.Created) })
	return out
}

// waitFor polls cond every 20ms until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, b *background, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v\nstdout:\n%s\nstderr:\n%s", what, timeout, b.stdout.String(), b.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var scheduledNameRx = regexp.MustCompile(`^sched-\d{8}T\d{6}Z(-\d+)?$`)

// A scheduler with a 1s period whose runs take longer: every study starts with the
// champion's params and the previous study's best, the runs never overlap, each decides,
// and cancelling it exits 130.
func TestScheduleWarmStartNoOverlap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	// Three trials of about 0.4s each: a run outlasts the 1s period.
	study := writeStudy(t, dir, "s.yaml", "sched", []string{"-delay=130ms"}, `model: m
params:
  x: {type: float, low: 0, high: 1}
budget: {trials: 3}
retrain: {min_improvement: 0.001}
`)
	mustCLI(t, "champion", "set", "m", "--param", "x=0.5", "--value", "0.05", "--db", db)
	b := startCLI(t, "run", study, "--every", "1s", "--db", db)
	waitFor(t, "a third scheduled study", 20*time.Second, b, func() bool {
		return len(scheduledStudies(t, db, "sched")) >= 3
	})
	if code := b.stop(t); code != ExitInterrupt {
		t.Errorf("exit code %d after cancelling the scheduler, want %d\n%s", code, ExitInterrupt, b.stderr.String())
	}
	ss := scheduledStudies(t, db, "sched")
	for i := range ss {
		ss[i].trials = trials(t, db, ss[i].rec.Name)
	}
	for i, s := range ss[:len(ss)-1] { // the last one was cancelled
		if !scheduledNameRx.MatchString(s.rec.Name) || s.rec.Model != "m" {
			t.Errorf("study %d is %q of model %q, want sched-<UTC time> of model m", i, s.rec.Name, s.rec.Model)
		}
		ts := s.trials
		if len(ts) < 3 || ts[0].Params["x"] != 0.5 || ts[0].UserAttrs["warm_start"] != "champion version 1" || ts[0].State != "COMPLETE" {
			t.Fatalf("study %s: first trial %+v, want the champion's x = 0.5, run first", s.rec.Name, ts[0])
		}
		if i == 0 {
			if _, ok := s.rec.UserAttrs["schedule_previous"]; ok || len(ts) != 3 || ts[1].UserAttrs["warm_start"] != nil {
				t.Errorf("first study %s: attrs %v, trials %+v; want only the champion enqueued", s.rec.Name, s.rec.UserAttrs, ts)
			}
			continue
		}
		// The previous study's best configurations, the champion's dropped as a duplicate.
		prev := ss[i-1]
		if s.rec.UserAttrs["schedule_previous"] != prev.rec.Name {
			t.Errorf("study %s: schedule_previous %v, want %s", s.rec.Name, s.rec.UserAttrs["schedule_previous"], prev.rec.Name)
		}
		var best []export.Trial
		for _, tr := range prev.trials {
			if tr.Kind == "search" && tr.State == "COMPLETE" {
				best = append(best, tr)
			}
		}
		sort.SliceStable(best, func(i, j int) bool { return best[i].Values[0] < best[j].Values[0] })
		var want []string
		for _, tr := range best[:min(len(best), 3)] {
			if tr.Params["x"] != 0.5 {
				want = append(want, fmt.Sprintf("trial %d of %s x=%v", tr.Number, prev.rec.Name, tr.Params["x"]))
			}
		}
		var got []string
		for _, tr := range ts[1:] {
			if l, ok := tr.UserAttrs["warm_start"].(string); ok {
				got = append(got, fmt.Sprintf("%s x=%v", l, tr.Params["x"]))
			}
		}
		if want = want[:min(len(want), 2)]; !slices.Equal(got, want) { // the budget of 3 runs 2 of them
			t.Errorf("study %s: warm-started trials %q, want the previous best %q", s.rec.Name, got, want)
		}
	}
	// No overlap: every trial of a study ends before any of the next one starts.
	for i := 1; i < len(ss); i++ {
		var lastEnd, firstStart time.Time
		for _, tr := range ss[i-1].trials {
			if tr.End != nil && tr.End.After(lastEnd) {
				lastEnd = *tr.End
			}
		}
		for _, tr := range ss[i].trials {
			if tr.Start != nil && (firstStart.IsZero() || tr.Start.Before(firstStart)) {
				firstStart = *tr.Start
			}
		}
		if !firstStart.IsZero() && firstStart.Before(lastEnd) { // a study cut short may have started none
			t.Errorf("study %s started a trial at %v, before %s's last ended at %v", ss[i].rec.Name, firstStart, ss[i-1].rec.Name, lastEnd)
		}
	}
	if n := strings.Count(b.stdout.String(), "decision "); n < len(ss)-1 {
		t.Errorf("%d decisions printed for %d finished runs:\n%s", n, len(ss)-1, b.stdout.String())
	}
}

// With a long period, `retune trigger` starts a run (well before the period); two
// triggers filed together start one run that records both reasons.
func TestTrigger(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "t.db")
	study := writeStudy(t, dir, "t.yaml", "trig", nil, `model: tm
params:
  x: {type: float, low: 0, high: 1}
budget: {trials: 1}
`)
	b := startCLI(t, "run", study, "--every", "1h", "--db", db)
	waitFor(t, "the first run", 20*time.Second, b, func() bool { return strings.Contains(b.stdout.String(), "database ") })
	for _, reason := range []string{"drift in x", "PSI 0.3"} {
		if r := cli(t, nil, "trigger", "tm", "--reason", reason, "--db", db); r.code != ExitOK || !strings.Contains(r.stdout, "for model tm recorded") {
			t.Fatalf("trigger: %v", r)
		}
	}
	waitFor(t, "a triggered run", 30*time.Second, b, func() bool { return len(scheduledStudies(t, db, "trig")) == 2 })
	ss := scheduledStudies(t, db, "trig")
	if got := ss[1].rec.UserAttrs["trigger_reason"]; got != "drift in x; PSI 0.3" {
		t.Errorf("triggered study's trigger_reason = %v, want both reasons", got)
	}
	if _, ok := ss[0].rec.UserAttrs["trigger_reason"]; ok {
		t.Errorf("the first, scheduled run has a trigger_reason: %v", ss[0].rec.UserAttrs)
	}
	// Both triggers were consumed by that one run: no other starts.
	waitFor(t, "the triggered run's end", 20*time.Second, b, func() bool { return strings.Count(b.stdout.String(), "database ") == 2 })
	time.Sleep(retrain.DefaultTriggerPoll + 500*time.Millisecond) // a poll that would find a leftover trigger
	if n := len(scheduledStudies(t, db, "trig")); n != 2 {
		t.Errorf("%d scheduled studies, want 2: two triggers filed together start one run", n)
	}
	if code := b.stop(t); code != ExitInterrupt {
		t.Errorf("exit code %d, want %d", code, ExitInterrupt)
	}
	if r := cli(t, nil, "trigger", " bad", "--db", db); r.code != ExitUsage {
		t.Errorf("trigger with an invalid model: %v, want exit %d", r, ExitUsage)
	}
}

// A promotion within retrain.cooldown of the previous one is refused (exit 6) unless
// --force.
func TestPromoteCooldown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	body := `model: cm
params:
  x: {type: float, low: 0, high: 1}
seed: 2
budget: {trials: 3}
retrain: {cooldown: 12h}
`
	a := writeStudy(t, dir, "a.yaml", "ca", nil, body)
	if r := cli(t, nil, "run", a, "--db", db); r.code != ExitOK || !strings.Contains(r.stdout, "decision 1 for model cm") {
		t.Fatalf("first run: %v", r)
	}
	// No champion yet: no cooldown. The retrained model measured worse than the trial.
	if r := cli(t, nil, "champion", "promote", "cm", "--decision", "1", "--value", "10", "--db", db); r.code != ExitOK {
		t.Fatalf("first promotion: %v", r)
	}
	b := writeStudy(t, dir, "b.yaml", "cb", nil, body)
	if r := cli(t, nil, "run", b, "--db", db); r.code != ExitOK || !strings.Contains(r.stdout, "decision 2 for model cm, trial") || !strings.Contains(r.stdout, "RETRAINING REQUIRED") {
		t.Fatalf("second run: %v", r)
	}
	r := cli(t, nil, "champion", "promote", "cm", "--decision", "2", "--db", db)
	if r.code != ExitCooldown || !strings.Contains(r.stderr, "within the cooldown of 12h0m0s") || !strings.Contains(r.stderr, "--force") {
		t.Errorf("promotion within the cooldown: %v, want exit %d", r, ExitCooldown)
	}
	if r := cli(t, nil, "champion", "promote", "cm", "--decision", "2", "--force", "--db", db); r.code != ExitOK || !strings.Contains(r.stdout, "version 2") {
		t.Errorf("forced promotion: %v", r)
	}
}
