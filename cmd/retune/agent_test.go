package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
	"github.com/a6b40afc/retune/storage/sqlite"
)

// TestAgent: a `retune agent` process with two slots runs a study of a `retune serve`
// to its budget — exactly 10 outcomes, dense numbers, logs stored with the trials, the
// trainer's steps reported — and its trainers never see the token. A second agent, given
// a study file whose search space differs from the server's, refuses to start.
func TestAgent(t *testing.T) {
	t.Parallel()
	body := `name: remote
command: ["/bin/sh", "-c", "env > env-$RETUNE_TRIAL.txt; echo step=1 loss=$0; echo step=2 loss=$0; echo loss=$0", "{x}"]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
sampler: {name: random}
seed: 5
budget: {trials: 10}
`
	a := newAgentSetup(t, body)
	dir, db, file, store, token := a.dir, a.db, a.file, a.store, a.token
	base := a.base
	agent := func(file string) (string, error) {
		cmd := exec.Command(retuneBin, "agent", "--server", base, "--slots", "2", "--idle-exit", "1s", "--poll", "100ms", file)
		cmd.Env = append(os.Environ(), "RETUNE_TOKEN="+token)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := agent(file); err != nil {
		t.Fatalf("agent: %v\n%s", err, out)
	} else if !strings.Contains(out, "ran 10 trials (10 complete") {
		t.Errorf("agent output:\n%s", out)
	}
	rec, err := store.Study(context.Background(), "remote")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := store.Trials(context.Background(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	var nums []int
	for _, tr := range ts {
		if tr.State != retune.TrialComplete || len(tr.Intermediate) != 2 {
			t.Errorf("trial %d: %v, intermediate %v", tr.Number, tr.State, tr.Intermediate)
		}
		if l, err := store.TrialLog(context.Background(), rec.ID, tr.Number); err != nil || !strings.Contains(string(l.Head), "step=1 loss=") {
			t.Errorf("trial %d log: %q, %v", tr.Number, l.Head, err)
		}
		env, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("env-%d.txt", tr.Number)))
		if err != nil || strings.Contains(string(env), "RETUNE_TOKEN") || strings.Contains(string(env), token) {
			t.Errorf("trial %d: the trainer's environment has the token (or is missing: %v)", tr.Number, err)
		}
		nums = append(nums, tr.Number)
	}
	sort.Ints(nums)
	if len(nums) != 10 || nums[0] != 0 || nums[9] != 9 {
		t.Errorf("trial numbers %v, want 0..9", nums)
	}
	if out := mustCLI(t, "agents", "--db", db); !strings.Contains(out, "remote") || !strings.Contains(out, "  2  ") {
		t.Errorf("retune agents:\n%s\nwant the agent with its 2 slots on study remote", out)
	}
	other := filepath.Join(dir, "other.yaml")
	if err := os.WriteFile(other, []byte(strings.Replace(body, "high: 1}", "high: 2}", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := agent(other); err == nil || !strings.Contains(out, "differs from the server's study") || !strings.Contains(out, "x: float[0, 1] → float[0, 2]") {
		t.Errorf("agent with another search space: %v\n%s", err, out)
	}
}

// TestAgentStop: a stop requested through the API reaches the agent at its next
// heartbeat; the trainer's whole process group (a background child too) is stopped and
// the trial ends PRUNED.
func TestAgentStop(t *testing.T) {
	t.Parallel()
	body := `name: stoppable
command: ["/bin/sh", "-c", "sleep 60 & echo $$ > pgid; echo started > started; sleep 60; echo loss=1"]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
budget: {trials: 5}
`
	a := newAgentSetup(t, body, "--lease-ttl", "1s")
	dir, file, store, study, token, b := a.dir, a.file, a.store, a.study, a.token, a.serve
	base := a.base
	cmd := exec.Command(retuneBin, "agent", "--server", base, "--max-trials", "1", "--kill-grace", "1s", file)
	cmd.Env = append(os.Environ(), "RETUNE_TOKEN="+token)
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the trainer to start", 30*time.Second, b, func() bool { _, err := os.Stat(filepath.Join(dir, "started")); return err == nil })
	if err := study.RequestStop(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("agent: %v\n%s", err, out.String())
	}
	ft, err := store.Trial(context.Background(), study.Record().ID, 0)
	if err != nil || ft.State != retune.TrialPruned {
		t.Errorf("trial 0 = %v, %v; want PRUNED\n%s", ft.State, err, out.String())
	}
	raw, err := os.ReadFile(filepath.Join(dir, "pgid"))
	var pgid int
	if _, serr := fmt.Sscan(string(raw), &pgid); err != nil || serr != nil || pgid <= 1 {
		t.Fatalf("the trainer's group id: %q, %v", raw, err)
	}
	waitFor(t, "the stopped trainer's process group to go", 30*time.Second, b, func() bool { return syscall.Kill(-pgid, 0) != nil })
}

// TestAgentSpool: a result the server cannot take (it is down) waits in the agent's
// spool; killed with SIGKILL meanwhile, the agent loses nothing: the next agent started
// on the spool delivers it once the server is back, and the trial is COMPLETE.
func TestAgentSpool(t *testing.T) {
	t.Parallel()
	body := `name: spooled
command: ["/bin/sh", "-c", "touch started; while [ ! -e go ]; do sleep 0.05; done; echo loss=0.5"]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
budget: {trials: 1}
`
	a := newAgentSetup(t, body, "--lease-ttl", "10m")
	dir, db, file, store, study, token, b := a.dir, a.db, a.file, a.store, a.study, a.token, a.serve
	addr := strings.TrimPrefix(a.base, "http://")
	start := func() (*exec.Cmd, *strings.Builder) {
		cmd := exec.Command(retuneBin, "agent", "--server", "http://"+addr, "--idle-exit", "1s", "--poll", "100ms", file)
		cmd.Env = append(os.Environ(), "RETUNE_TOKEN="+token)
		cmd.Dir = dir
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	first, out := start()
	waitFor(t, "the trainer to start", 30*time.Second, b, func() bool { _, err := os.Stat(filepath.Join(dir, "started")); return err == nil })
	b.stop(t) // the server goes down while the trial runs
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(dir, "retune-logs", "spool")
	waitFor(t, "the result in the spool", 30*time.Second, b, func() bool {
		m, _ := filepath.Glob(filepath.Join(spool, "*.tell.json"))
		return len(m) == 1
	})
	first.Process.Kill() // SIGKILL: the spool is all that is left of the result
	first.Wait()
	b2 := startCLI(t, "serve", "--db", db, "--addr", addr, "--lease-ttl", "10m")
	waitURL(t, b2)
	second, out2 := start()
	if err := second.Wait(); err != nil {
		t.Fatalf("second agent: %v\n%s", err, out2.String())
	}
	ft, err := store.Trial(context.Background(), study.Record().ID, 0)
	if err != nil || ft.State != retune.TrialComplete || len(ft.Values) != 1 || ft.Values[0] != 0.5 {
		t.Fatalf("trial 0 = %v %v, %v; want COMPLETE 0.5\nfirst agent:\n%s\nsecond:\n%s", ft.State, ft.Values, err, out.String(), out2.String())
	}
	if m, _ := filepath.Glob(filepath.Join(spool, "*.tell.json")); len(m) != 0 || !strings.Contains(out2.String(), "spooled result delivered") {
		t.Errorf("spool after delivery: %v\n%s", m, out2.String())
	}
}

// TestAgentsKill9: three agents with two slots each run a study with a budget of 60; one
// is killed with SIGKILL mid-run. Its running trials' leases expire and their places go
// to new trials run by the others: exactly 60 complete, numbers dense, nothing left
// running, and every other trial an interruption (lease expired).
func TestAgentsKill9(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: no agent processes")
	}
	body := `name: many
command: ["/bin/sh", "-c", "sleep 0.1; echo loss=$0", "{x}"]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
sampler: {name: random}
budget: {trials: 60}
`
	a := newAgentSetup(t, body, "--lease-ttl", "2s")
	b := a.serve
	agents, outs := a.startAgents(t, 3, nil, "--server", a.base)
	complete := func() int {
		n := 0
		for _, tr := range a.trials(t) {
			if tr.State == retune.TrialComplete {
				n++
			}
		}
		return n
	}
	waitFor(t, "10 trials complete", 60*time.Second, b, func() bool { return complete() >= 10 })
	agents[0].Process.Kill()
	agents[0].Wait()
	for i, a := range agents[1:] {
		if err := a.Wait(); err != nil {
			t.Fatalf("agent %d: %v\n%s", i+1, err, outs[i+1].String())
		}
	}
	done, expired := 0, 0
	for i, tr := range a.trials(t) {
		switch {
		case tr.Number != i:
			t.Errorf("trial %d has number %d: numbers must be dense", i, tr.Number)
		case tr.State == retune.TrialComplete:
			done++
		case tr.State == retune.TrialFail && tr.Reason == retune.ReasonLeaseExpired:
			expired++
		default:
			t.Errorf("trial %d is %v %q", tr.Number, tr.State, tr.Reason)
		}
	}
	if done != 60 {
		t.Errorf("%d complete trials (and %d expired), want exactly 60\nagents:\n%s\n%s", done, expired, outs[1].String(), outs[2].String())
	}
	t.Logf("60 complete, %d interrupted by the kill", expired)
}

// TestAgentStopsOrphans: an agent killed with SIGKILL leaves its trainer running; the next
// agent started on the same spool stops that trainer's process group before it works.
func TestAgentStopsOrphans(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("stopping orphans checks their environment in /proc: Linux only")
	}
	body := `name: orphans
command: ["/bin/sh", "-c", "touch started; sleep 120; echo loss=1"]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
budget: {trials: 1}
`
	a := newAgentSetup(t, body)
	dir, file, token, b := a.dir, a.file, a.token, a.serve
	base := a.base
	agent := func() *exec.Cmd {
		cmd := exec.Command(retuneBin, "agent", "--server", base, "--idle-exit", "500ms", "--poll", "100ms", "--kill-grace", "1s", file)
		cmd.Env = append(os.Environ(), "RETUNE_TOKEN="+token)
		cmd.Dir = dir
		return cmd
	}
	first := agent()
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	var pgid int
	waitFor(t, "the trainer's process group recorded", 30*time.Second, b, func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "retune-logs", "spool", "running", "*.pgid"))
		if len(m) != 1 {
			return false
		}
		raw, _ := os.ReadFile(m[0])
		_, err := fmt.Sscan(string(raw), &pgid)
		return err == nil && pgid > 1
	})
	first.Process.Kill()
	first.Wait()
	if err := syscall.Kill(-pgid, 0); err != nil {
		t.Fatalf("the orphaned trainer's group %d is gone already: %v", pgid, err)
	}
	if out, err := agent().CombinedOutput(); err != nil || !strings.Contains(string(out), "stopped the trainer an earlier agent left running") {
		t.Errorf("second agent: %v\n%s", err, out)
	}
	waitFor(t, "the orphan's group to go", 30*time.Second, b, func() bool { return syscall.Kill(-pgid, 0) != nil })
}

// agentSetup is what an agent test works with: a study file (body) in a fresh folder, its
// study created with its definition in a SQLite database there, a run token, and a
// `retune serve` on the database.
type agentSetup struct {
	dir, db, file, token, base string
	store                      *sqlite.Store
	study                      *retune.Study
	serve                      *background
}

// startAgents starts n agents with two slots each on the setup's study, agent i with its
// own spool (spool-i) and args; wrap, if not nil, gives the command line that runs agent
// i's (a network namespace).
func (a *agentSetup) startAgents(t *testing.T, n int, wrap func(i int, argv []string) []string, args ...string) ([]*exec.Cmd, []*strings.Builder) {
	t.Helper()
	var agents []*exec.Cmd
	var outs []*strings.Builder
	for i := range n {
		argv := append([]string{retuneBin, "agent", "--slots", "2", "--idle-exit", "5s", "--poll", "100ms",
			"--spool", filepath.Join(a.dir, fmt.Sprintf("spool-%d", i))}, args...)
		argv = append(argv, a.file)
		if wrap != nil {
			argv = wrap(i, argv)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "RETUNE_TOKEN="+a.token)
		cmd.Dir = a.dir
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		agents, outs = append(agents, cmd), append(outs, out)
	}
	return agents, outs
}

// trials reads every trial of the setup's study.
func (a *agentSetup) trials(t *testing.T) []retune.FrozenTrial {
	t.Helper()
	ts, err := a.store.Trials(context.Background(), a.study.Record().ID)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// newAgentSetup sets up body's study and serves it with serveArgs added to retune serve's.
func newAgentSetup(t *testing.T, body string, serveArgs ...string) *agentSetup {
	t.Helper()
	a := &agentSetup{dir: t.TempDir()}
	a.db, a.file = filepath.Join(a.dir, "retune.db"), filepath.Join(a.dir, "study.yaml")
	if err := os.WriteFile(a.file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(a.file)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(context.Background(), a.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	a.store = store
	if a.study, err = cfg.NewStudy(context.Background(), store, false); err != nil {
		t.Fatal(err)
	}
	a.token = strings.TrimSpace(mustCLI(t, "tokens", "create", "--db", a.db, "--name", "agent", "--scope", "run"))
	a.serve = startCLI(t, append([]string{"serve", "--db", a.db, "--addr", "127.0.0.1:0"}, serveArgs...)...)
	a.base = strings.TrimSuffix(waitURL(t, a.serve), "/api/v1")
	return a
}

// TestAgentsOutage: three agents with two slots each run a study with a budget of 60 while
// the server is down for longer than the agents' lease. Meanwhile the trials that were
// running finish (their results wait in the spools) and their leases are expired, as a
// replica that stayed up would expire them. When the server is back every finished result
// arrives, once: each trainer run that finished is either a COMPLETE search trial (told in
// time, or revived by a late tell) or a late record of its trial, never both; exactly 60
// search outcomes count; numbers are dense; nothing is left running or spooled.
func TestAgentsOutage(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: no agent processes")
	}
	body := `name: outage
command: ["/bin/sh", "-c", "echo step=1 loss=$0; sleep 0.4; echo $0 > results/$RETUNE_TRIAL.$$; echo loss=$0", "{x}"]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
sampler: {name: random}
budget: {trials: 60, retries: 1}
`
	a := newAgentSetup(t, body, "--lease-min", "100ms")
	dir, db, store, study, b := a.dir, a.db, a.store, a.study, a.serve
	addr := strings.TrimPrefix(a.base, "http://")
	if err := os.Mkdir(filepath.Join(dir, "results"), 0o700); err != nil {
		t.Fatal(err)
	}
	agents, outs := a.startAgents(t, 3, nil, "--server", "http://"+addr, "--lease", "1s")
	trials := func() []retune.FrozenTrial { return a.trials(t) }
	count := func(state retune.TrialState) int {
		n := 0
		for _, tr := range trials() {
			if tr.State == state && tr.Kind == retune.KindSearch {
				n++
			}
		}
		return n
	}
	waitFor(t, "10 trials complete and some running", 60*time.Second, b, func() bool {
		return count(retune.TrialComplete) >= 10 && count(retune.TrialRunning) > 0
	})
	b.stop(t) // the server goes down with trials running
	var running []retune.FrozenTrial
	for _, tr := range trials() {
		if tr.State == retune.TrialRunning {
			running = append(running, tr)
		}
	}
	// Their leases run out, and they are expired as another replica would expire them.
	waitFor(t, "the running trials' leases to run out", 60*time.Second, b, func() bool {
		for _, tr := range running {
			if ft, err := store.Trial(context.Background(), study.Record().ID, tr.Number); err == nil && ft.State == retune.TrialRunning && time.Until(ft.Lease.Expires) > -200*time.Millisecond {
				return false
			}
		}
		return true
	})
	expired, err := store.ExpireLeases(context.Background(), study.Record().ID)
	if err != nil || expired == 0 {
		t.Fatalf("ExpireLeases during the outage = %d, %v; want the running trials expired", expired, err)
	}
	b2 := startCLI(t, "serve", "--db", db, "--addr", addr, "--lease-min", "100ms")
	waitURL(t, b2)
	for i, ag := range agents {
		if err := ag.Wait(); err != nil {
			t.Fatalf("agent %d: %v\n%s", i, err, outs[i].String())
		}
	}

	ts := trials()
	search, late := map[int]bool{}, map[int]bool{}
	revived, records := 0, 0
	for i, tr := range ts {
		switch {
		case tr.Number != i:
			t.Errorf("trial %d has number %d: numbers must be dense", i, tr.Number)
		case tr.Kind == retune.KindLate:
			of, _ := tr.LateOf()
			if late[of] || tr.State != retune.TrialComplete {
				t.Errorf("late record %d of trial %d: %v (a second one, or not COMPLETE)", tr.Number, of, tr.State)
			}
			late[of] = true
			records++
		case tr.State == retune.TrialComplete:
			search[tr.Number] = true
			if tr.Late() {
				revived++
			}
		case tr.Interrupted():
		default:
			t.Errorf("trial %d is %v %q", tr.Number, tr.State, tr.Reason)
		}
	}
	if len(search) != 60 {
		t.Errorf("%d COMPLETE search trials, want exactly the budget, 60", len(search))
	}
	if revived+records == 0 {
		t.Errorf("no late tell: the %d trials expired during the outage all lost their results", expired)
	}
	// Every finished trainer run's result is stored exactly once.
	files, _ := filepath.Glob(filepath.Join(dir, "results", "*"))
	ran := map[int]int{}
	for _, f := range files {
		var n, pid int
		if _, err := fmt.Sscanf(filepath.Base(f), "%d.%d", &n, &pid); err != nil {
			t.Fatalf("result file %s: %v", f, err)
		}
		ran[n]++
	}
	for n, k := range ran {
		switch {
		case k != 1:
			t.Errorf("trial %d ran %d times", n, k)
		case search[n] == late[n]:
			t.Errorf("trial %d's result is stored %v as the trial and %v as a late record: want exactly one", n, search[n], late[n])
		}
	}
	if len(ran) != len(search)+len(late) {
		t.Errorf("%d trainer runs finished; %d search results and %d late records stored", len(ran), len(search), len(late))
	}
	for i := range agents {
		if m, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("spool-%d", i), "*.json")); len(m) != 0 {
			t.Errorf("agent %d's spool still holds %v", i, m)
		}
		if m, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("spool-%d", i), "refused", "*")); len(m) != 0 {
			t.Errorf("agent %d's server refused results: %v\n%s", i, m, outs[i].String())
		}
	}
	t.Logf("%d trials expired in the outage: %d revived by late tells, %d kept as late records", expired, revived, records)
}
