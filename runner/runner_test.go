//go:build linux || darwin

package runner_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/runner"
)

var trainer string // path of the built testdata/trainer

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "retune-runner-test-")
	if err != nil {
		panic(err)
	}
	trainer = filepath.Join(dir, "trainer")
	if out, err := exec.Command("go", "build", "-o", trainer, "./testdata/trainer").CombinedOutput(); err != nil {
		panic(fmt.Sprintf("build trainer: %v\n%s", err, out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	// Every trial's readers and waiters must be gone once its Run has returned.
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// runOne runs cmd as a single trial of a fresh study and returns the stored trial.
func runOne(t *testing.T, cmd *runner.Command, cfg retune.Config, o retune.OptimizeOptions) (retune.FrozenTrial, retune.Result) {
	t.Helper()
	ctx := context.Background()
	if cfg.Name == "" {
		cfg.Name = "s"
	}
	s, err := retune.NewStudy(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Study = cfg.Name
	if cmd.Objectives == nil {
		cmd.Objectives = []string{"loss"}
	}
	o.Trials = 1
	res, err := s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
		x := tr.Float("x", 0, 1)
		v, err := cmd.Run(ctx, tr, map[string]any{"x": x})
		if err != nil {
			return 0, err
		}
		return v[0], nil
	}, o)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	ts, _ := s.Trials(ctx)
	return ts[0], res
}

func TestRunOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		state  retune.TrialState
		reason string // substring
	}{
		{"ok", []string{"-mode=ok", "-x={x}"}, retune.TrialComplete, ""},
		{"metrics file", []string{"-mode=file", "-x={x}"}, retune.TrialComplete, ""},
		{"exit status", []string{"-mode=fail"}, retune.TrialFail, "exited with status 3\nstderr tail:\nTraceback: CUDA out of memory"},
		{"killed by signal", []string{"-mode=crash"}, retune.TrialFail, "killed by signal killed"},
		{"nan objective", []string{"-mode=nan"}, retune.TrialFail, `objective metric "loss" is NaN`},
		{"missing objective", []string{"-mode=missing"}, retune.TrialFail, `"loss" was never reported (saw accuracy)`},
		{"overflowing objective", []string{"-mode=overflow"}, retune.TrialFail, `objective metric "loss" is +Inf`},
		{"objective on long lines", []string{"-mode=long lines"}, retune.TrialFail,
			`objective metric "loss" was never reported (saw accuracy; 2 lines over 1 MiB were skipped)`},
		{"garbage", []string{"-mode=garbage"}, retune.TrialComplete, ""},
		{"no newline", []string{"-mode=no newline", "-x={x}"}, retune.TrialComplete, ""},
		{"endless output", []string{"-mode=endless"}, retune.TrialComplete, ""},
		{"no such program", nil, retune.TrialFail, "start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{trainer}, tt.args...)
			if tt.args == nil {
				args = []string{"/nonexistent/trainer"}
			}
			cmd := &runner.Command{Args: args, LogDir: t.TempDir()}
			ft, _ := runOne(t, cmd, retune.Config{}, retune.OptimizeOptions{})
			if ft.State != tt.state || !strings.Contains(ft.Reason, tt.reason) {
				t.Fatalf("trial = %v %q, want %v with reason containing %q", ft.State, ft.Reason, tt.state, tt.reason)
			}
			if tt.state != retune.TrialComplete {
				return
			}
			x := ft.Params["x"].(float64)
			switch tt.name {
			case "ok":
				if ft.Value() != x || ft.Metrics["latency_ms"] != 12.5 || len(ft.Intermediate) != 5 || ft.Intermediate[2][0] != x+0.5 {
					t.Errorf("trial = value %v metrics %v intermediate %v, want value %v, latency 12.5, 5 steps", ft.Value(), ft.Metrics, ft.Intermediate, x)
				}
			case "metrics file":
				if ft.Value() != x || len(ft.Intermediate) != 5 {
					t.Errorf("trial = value %v intermediate %v, want %v from the metrics file", ft.Value(), ft.Intermediate, x)
				}
				if left, _ := filepath.Glob(filepath.Join(cmd.LogDir, "*", "*.metrics.jsonl")); len(left) != 0 {
					t.Errorf("metrics files left after the trial: %v", left)
				}
			case "no newline":
				if ft.Value() != x || len(ft.Intermediate) != 1 {
					t.Errorf("value %v intermediate %v, want %v from the last line and 1 step", ft.Value(), ft.Intermediate, x)
				}
			case "garbage":
				if ft.Value() != 0.25 || len(ft.Intermediate) != 0 {
					t.Errorf("value %v intermediate %v, want 0.25 and no steps", ft.Value(), ft.Intermediate)
				}
			case "endless output":
				info, err := os.Stat(ft.SystemAttrs["log"].(string))
				if err != nil || info.Size() > 2*runner.DefaultLogHead+runner.DefaultLogTail || info.Mode().Perm() != 0o600 {
					t.Errorf("log file %v (err %v): want at most head+tail bytes, mode 0600", info, err)
				}
				if ft.Value() != 1.5 {
					t.Errorf("value %v, want 1.5", ft.Value())
				}
			}
		})
	}
}

// A relative LogDir is relative to retune's working directory while the trainer runs in
// Dir: the metrics file and the log path the trainer and the trial get are absolute.
func TestRelativeLogDir(t *testing.T) {
	t.Parallel()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "a", "b", "c") // rel means another folder from here
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := &runner.Command{Args: []string{trainer, "-mode=file", "-x={x}"}, Dir: dir, LogDir: rel}
	ft, _ := runOne(t, cmd, retune.Config{}, retune.OptimizeOptions{})
	if ft.State != retune.TrialComplete || len(ft.Intermediate) != 5 {
		t.Fatalf("trial = %v %q with %d steps, want COMPLETE with 5 steps from the metrics file", ft.State, ft.Reason, len(ft.Intermediate))
	}
	log, _ := ft.SystemAttrs["log"].(string)
	if _, err := os.Stat(log); err != nil || !filepath.IsAbs(log) {
		t.Errorf("log attribute %q (stat: %v), want the absolute path of the log", log, err)
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("RETUNE_DB", "postgres://secret@db/x")
	t.Setenv("RETUNE_WEBHOOK_SECRET", "whsec_x")
	t.Setenv("MY_SECRET", "hidden")
	cmd := &runner.Command{Args: []string{trainer, "-mode=env"}, Secrets: []string{"MY_SECRET"}, Objectives: []string{"loss"}}
	ft, _ := runOne(t, cmd, retune.Config{}, retune.OptimizeOptions{})
	if ft.State != retune.TrialComplete {
		t.Fatalf("trial %v %q", ft.State, ft.Reason)
	}
	if ft.Metrics["secret"] != 0 || ft.Metrics["trial"] != 0 || ft.Metrics["params"] != 1 || ft.Value() != ft.Params["x"] {
		t.Errorf("child saw %v (value %v, x %v): want no secret, trial 0, 1 param, loss = x", ft.Metrics, ft.Value(), ft.Params["x"])
	}
}

func TestTrialTimeoutKillsStubbornTrainer(t *testing.T) {
	t.Parallel()
	cmd := &runner.Command{Args: []string{trainer, "-mode=stubborn"}, KillGrace: 300 * time.Millisecond}
	start := time.Now()
	ft, _ := runOne(t, cmd, retune.Config{}, retune.OptimizeOptions{TrialTimeout: 300 * time.Millisecond, CancelGrace: 2 * time.Second})
	if ft.State != retune.TrialFail || !strings.Contains(ft.Reason, "trial timeout: no result within 300ms: trainer stopped") {
		t.Errorf("trial = %v %q, want FAIL trial timeout", ft.State, ft.Reason)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v to stop a trainer ignoring SIGTERM with a 300ms grace", el)
	}
	pgid := int(ft.SystemAttrs["pgid"].(float64))
	if syscall.Kill(-pgid, 0) == nil {
		t.Errorf("process group %d still alive", pgid)
	}
}

// gatedStore is a storage whose reports wait until gate is closed, as a busy database
// would make them.
type gatedStore struct {
	retune.Storage
	gate chan struct{}
}

func (g *gatedStore) Report(ctx context.Context, ref retune.TrialRef, step int64, values []float64) error {
	<-g.gate
	return g.Storage.Report(ctx, ref, step, values)
}

func (g *gatedStore) ReportMany(ctx context.Context, ref retune.TrialRef, steps []retune.StepValues) error {
	<-g.gate
	return g.Storage.(retune.BatchReporter).ReportMany(ctx, ref, steps)
}

// A trainer that reports a step per line is not held up while storage is busy: with every
// report waiting until the trainer has written all its lines (far more than a pipe holds),
// it still writes them all, and all are stored.
func TestBusyStorageDoesNotHoldTrainer(t *testing.T) {
	t.Parallel()
	const steps = 5000
	done := filepath.Join(t.TempDir(), "done")
	store := &gatedStore{Storage: retune.NewMemoryStorage(), gate: make(chan struct{})}
	var wroteAll atomic.Bool
	go func() {
		defer close(store.gate)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(done); err == nil {
				wroteAll.Store(true)
				return
			}
		}
	}()
	cmd := &runner.Command{Args: []string{trainer, "-mode=flood", "-steps=" + strconv.Itoa(steps), "-x={x}", "-done=" + done}}
	ft, _ := runOne(t, cmd, retune.Config{Storage: store}, retune.OptimizeOptions{})
	if !wroteAll.Load() {
		t.Errorf("the trainer did not write its %d lines within 30s while storage was busy", steps)
	}
	if ft.State != retune.TrialComplete || len(ft.Intermediate) != steps {
		t.Errorf("trial = %v %q with %d steps, want COMPLETE with %d", ft.State, ft.Reason, len(ft.Intermediate), steps)
	}
}

type alwaysPrune struct{}

func (alwaysPrune) Prune(context.Context, *retune.PruneRequest) (bool, error) { return true, nil }

// Pruning stops the whole process group: the trainer and the child it spawned.
func TestPruneKillsGroup(t *testing.T) {
	t.Parallel()
	pidfile := filepath.Join(t.TempDir(), "child.pid")
	cmd := &runner.Command{Args: []string{trainer, "-mode=spawn", "-steps=100", "-delay=50ms", "-pidfile=" + pidfile}, KillGrace: time.Second}
	ft, res := runOne(t, cmd, retune.Config{Pruner: alwaysPrune{}}, retune.OptimizeOptions{})
	if ft.State != retune.TrialPruned || res.Pruned != 1 || len(ft.Intermediate) != 1 {
		t.Fatalf("trial = %v %q intermediate %v, want PRUNED after step 1", ft.State, ft.Reason, ft.Intermediate)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(string(b))
	deadline := time.Now().Add(3 * time.Second)
	for syscall.Kill(child, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // the child may be a zombie for an instant
	}
	if err := syscall.Kill(child, 0); err == nil {
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child)); !strings.Contains(string(st), ") Z") {
			t.Errorf("grandchild %d survived pruning", child)
		}
	}
}

// Cancelling the run (Ctrl-C) stops the trainer; Wait returns once it is reaped.
func TestCancelStopsTrainer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	s, _ := retune.NewStudy(ctx, retune.Config{})
	cmd := &runner.Command{Args: []string{trainer, "-mode=sleep"}, Objectives: []string{"loss"}, Study: "s", KillGrace: time.Second}
	started := make(chan struct{})
	go func() {
		<-started
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	res, err := s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
		close(started)
		v, err := cmd.Run(ctx, tr, nil)
		if err != nil {
			return 0, err
		}
		return v[0], nil
	}, retune.OptimizeOptions{Trials: 1, CancelGrace: 5 * time.Second})
	cmd.Wait()
	if err != nil || res.Stop != retune.Canceled || res.Failed != 1 {
		t.Fatalf("Optimize = %+v, %v", res, err)
	}
	ts, _ := s.Trials(context.Background())
	if !strings.Contains(ts[0].Reason, "interrupted") {
		t.Errorf("reason %q, want interrupted", ts[0].Reason)
	}
	if pgid := int(ts[0].SystemAttrs["pgid"].(float64)); syscall.Kill(-pgid, 0) == nil {
		t.Errorf("trainer group %d alive after cancel", pgid)
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	got := runner.Expand([]string{"--lr={lr}", "{depth}", "--loss={loss}", `{"json": 1}`, "--svm_c={svm_c}", "{lr}{lr}", "--gamma={gamma}"},
		map[string]any{"lr": 1e-05, "depth": int64(7), "loss": "log_loss"}, map[string]string{"gamma": "none"})
	// svm_c is absent with no absent value: its argument goes; gamma takes its absent value.
	want := []string{"--lr=1e-05", "7", "--loss=log_loss", `{"json": 1}`, "1e-051e-05", "--gamma=none"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Expand = %q, want %q", got, want)
	}
	if p := runner.Placeholders([]string{"a={b}", "{c}{b}"}); fmt.Sprint(p) != "[b c]" {
		t.Errorf("Placeholders = %v", p)
	}
}

func TestUnsupportedEmptyCommand(t *testing.T) {
	t.Parallel()
	s, _ := retune.NewStudy(context.Background(), retune.Config{})
	tr, _ := s.Ask(context.Background())
	_, err := (&runner.Command{}).Run(context.Background(), tr, nil)
	if !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("empty command: %v, want ErrInvalid", err)
	}
	_ = s.TellState(context.Background(), tr, retune.TrialFail, err)
}

// TestStopRequestStopsTrainer: a stop requested through another handle on the study's
// storage (as `retune serve`'s stop route does) reaches the running trial at its next
// lease renewal; the trainer's group is stopped and the trial ends PRUNED.
func TestStopRequestStopsTrainer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	s, err := retune.NewStudy(ctx, retune.Config{Storage: store, LeaseTTL: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	other, err := retune.NewStudy(ctx, retune.Config{Storage: store})
	if err != nil {
		t.Fatal(err)
	}
	cmd := &runner.Command{Args: []string{trainer, "-mode=sleep"}, Objectives: []string{"loss"}, Study: "study", KillGrace: time.Second}
	started := make(chan int, 1)
	go func() {
		n := <-started
		if err := other.RequestStop(ctx, n); err != nil {
			t.Error(err)
		}
	}()
	res, err := s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
		started <- tr.Number()
		v, err := cmd.Run(ctx, tr, nil)
		if err != nil {
			return 0, err
		}
		return v[0], nil
	}, retune.OptimizeOptions{Trials: 1})
	cmd.Wait()
	if err != nil || res.Pruned != 1 {
		t.Fatalf("Optimize = %+v, %v; want one PRUNED trial", res, err)
	}
	ts, _ := s.Trials(ctx)
	if ts[0].State != retune.TrialPruned || !ts[0].StopRequested() {
		t.Errorf("trial = %v %v", ts[0].State, ts[0].SystemAttrs)
	}
	if pgid := int(ts[0].SystemAttrs["pgid"].(float64)); syscall.Kill(-pgid, 0) == nil {
		t.Errorf("trainer group %d alive after the stop", pgid)
	}
}

// TestLogStored: the head and tail of a trial's log are stored with the trial; a log
// longer than both keeps its start and its end, and its size.
func TestLogStored(t *testing.T) {
	t.Parallel()
	store := retune.NewMemoryStorage()
	script := `echo first line; i=0; while [ $i -lt 20000 ]; do echo "line $i of the middle"; i=$((i+1)); done; echo last line; echo loss=1`
	cmd := &runner.Command{Args: []string{"/bin/sh", "-c", script}, LogDir: t.TempDir()}
	ft, _ := runOne(t, cmd, retune.Config{Storage: store}, retune.OptimizeOptions{})
	if ft.State != retune.TrialComplete {
		t.Fatalf("trial %v %q", ft.State, ft.Reason)
	}
	log, err := store.(retune.LogStore).TrialLog(context.Background(), 1, ft.Number)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(ft.SystemAttrs["log"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(log.Head), "first line\n") || !strings.HasSuffix(string(log.Tail), "last line\nloss=1\n") ||
		len(log.Head) != retune.MaxLogPart || len(log.Tail) != retune.MaxLogPart || log.Size != int64(len(file)) {
		t.Errorf("stored log: head %d bytes from %q, tail %d bytes to %q, size %d (file %d)",
			len(log.Head), log.Head[:min(20, len(log.Head))], len(log.Tail), log.Tail[max(0, len(log.Tail)-20):], log.Size, len(file))
	}
}
