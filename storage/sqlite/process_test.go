package sqlite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/random"
)

// The cross-process tests re-run this test binary as helper processes: TestHelperProcess
// with envRole set plays the role named there against the database at envDB.
const (
	envRole = "RETUNE_SQLITE_HELPER_ROLE"
	envDB   = "RETUNE_SQLITE_HELPER_DB"
)

// helper returns a command running this test binary as a helper process in role.
func helper(t *testing.T, role, path string) *exec.Cmd {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envRole+"="+role, envDB+"="+path)
	cmd.Stderr = &tailWriter{max: 4 << 10}
	return cmd
}

// tailWriter keeps the last max bytes written to it, for error messages.
type tailWriter struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if len(w.b) > w.max {
		w.b = w.b[len(w.b)-w.max:]
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
}

// TestHelperProcess is not a test: it is the body of the helper processes.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(envRole)
	if role == "" {
		t.Skip("helper process of the cross-process tests; runs only when they start it")
	}
	// A helper never outlives its test by much, even if the parent is killed.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	switch role {
	case "budget":
		err = helperBudget(ctx, os.Getenv(envDB))
	case "durable":
		err = helperDurable(ctx, os.Getenv(envDB))
	default:
		err = fmt.Errorf("unknown helper role %q", role)
	}
	if err != nil {
		t.Fatalf("helper %s: %v", role, err)
	}
}

const budgetStudy = "shared-budget"

// helperBudget runs the library loop on the shared study until its budget is spent,
// printing "trial N" for each trial it ran and "started N" at the end.
func helperBudget(ctx context.Context, path string) error {
	s, err := Open(ctx, path)
	if err != nil {
		return err
	}
	defer s.Close()
	study, err := retune.NewStudy(ctx, retune.Config{
		Name: budgetStudy, Storage: s, Sampler: random.New(), Seed: 11,
		Budget: retune.Budget{Trials: 100},
	})
	if err != nil {
		return err
	}
	var mu sync.Mutex
	res, err := study.Optimize(ctx, func(_ context.Context, t *retune.Trial) (float64, error) {
		x := t.Float("x", -5, 5)
		return x * x, nil
	}, retune.OptimizeOptions{Parallel: 2, Callbacks: []func(context.Context, *retune.Study, retune.FrozenTrial){
		func(_ context.Context, _ *retune.Study, ft retune.FrozenTrial) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Printf("trial %d\n", ft.Number)
		},
	}})
	if err != nil {
		return err
	}
	if res.Stop != retune.BudgetExhausted {
		return fmt.Errorf("optimize stopped: %v, want %v", res.Stop, retune.BudgetExhausted)
	}
	fmt.Printf("started %d\n", res.Started)
	return nil
}

// TestProcessesShareBudget: four processes running the library loop on one study with
// Budget.Trials = 100 start exactly 100 search trials, numbered 0..99.
func TestProcessesShareBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	t.Parallel()
	path := newDB(t) // the helpers race to create the schema and the study
	const procs = 4
	type result struct {
		trials  []int
		started int
		err     error
	}
	results := make(chan result, procs)
	for range procs {
		go func() {
			cmd := helper(t, "budget", path)
			out, err := cmd.Output()
			r := result{err: err}
			if err != nil {
				r.err = fmt.Errorf("%v; stderr:\n%s", err, cmd.Stderr)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if n, ok := strings.CutPrefix(line, "trial "); ok {
					v, _ := strconv.Atoi(n)
					r.trials = append(r.trials, v)
				}
				if n, ok := strings.CutPrefix(line, "started "); ok {
					r.started, _ = strconv.Atoi(n)
				}
			}
			results <- r
		}()
	}
	var all []int
	started := 0
	for range procs {
		r := <-results
		if r.err != nil {
			t.Errorf("helper process: %v", r.err)
			continue
		}
		if r.started != len(r.trials) {
			t.Errorf("a helper reports %d started trials but printed %d", r.started, len(r.trials))
		}
		t.Logf("a helper ran %d trials", len(r.trials))
		all = append(all, r.trials...)
		started += r.started
	}
	if t.Failed() {
		return
	}
	sort.Ints(all)
	if started != 100 || len(all) != 100 {
		t.Errorf("the processes started %d trials (%d printed), want 100", started, len(all))
	}
	for i, n := range all {
		if n != i {
			t.Fatalf("trial numbers %v: want 0..99 each once", all)
		}
	}
	s := openT(t, path, Options{})
	rec, err := s.Study(t.Context(), budgetStudy)
	if err != nil {
		t.Fatal(err)
	}
	trials, err := s.Trials(t.Context(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != 100 {
		t.Errorf("stored %d trials, want 100", len(trials))
	}
	for _, ft := range trials {
		if ft.State != retune.TrialComplete || ft.Kind != retune.KindSearch {
			t.Errorf("stored trial %d is %v %v, want a COMPLETE search trial", ft.Number, ft.Kind, ft.State)
		}
	}
}

const durableStudy = "durable"

// helperDurable creates and finishes trials as fast as it can, printing "trial N" to
// stdout as soon as Finish of trial N returned, until it is killed.
func helperDurable(ctx context.Context, path string) error {
	s, err := Open(ctx, path)
	if err != nil {
		return err
	}
	defer s.Close()
	rec, err := s.Study(ctx, durableStudy)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		ft, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: rec.ID, Holder: "child", LeaseTTL: time.Minute})
		if err != nil {
			return err
		}
		ref := retune.TrialRef{StudyID: rec.ID, Number: ft.Number, Epoch: ft.Lease.Epoch}
		if err := s.Report(ctx, ref, 1, []float64{float64(ft.Number)}); err != nil {
			return err
		}
		if _, err := s.Finish(ctx, retune.FinishRequest{Ref: ref, State: retune.TrialComplete, Values: []float64{durableValue(ft.Number)}}); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(os.Stdout, "trial %d\n", ft.Number); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func durableValue(n int) float64 { return float64(n)*1.5 + 0.25 }

// TestDurableAfterKill: every trial a process reported finished is stored finished after
// the process is killed with SIGKILL in the middle of its writes, and the database file
// passes SQLite's integrity check.
func TestDurableAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a process")
	}
	t.Parallel()
	path := newDB(t)
	s0 := openT(t, path, Options{})
	rec := newStudy(t, s0, durableStudy, nil)

	cmd := helper(t, "durable", path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var reported []int
	sc := bufio.NewScanner(stdout)
	for len(reported) < 40 && sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "trial "); ok {
			v, err := strconv.Atoi(n)
			if err != nil {
				t.Fatalf("helper printed %q", sc.Text())
			}
			reported = append(reported, v)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Lines already in the pipe were printed before the kill: they count too.
	rest, _ := io.ReadAll(stdout)
	for _, line := range strings.Split(string(rest), "\n") {
		if n, ok := strings.CutPrefix(line, "trial "); ok {
			if v, err := strconv.Atoi(n); err == nil {
				reported = append(reported, v)
			}
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper ended with %v, want killed by SIGKILL; stderr:\n%s", err, cmd.Stderr)
	}
	if len(reported) < 40 {
		t.Fatalf("helper reported %d finished trials before it was killed, want at least 40; stderr:\n%s", len(reported), cmd.Stderr)
	}

	s := openT(t, path, Options{})
	var check string
	if err := s.r.QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, %v, want ok", check, err)
	}
	for _, n := range reported {
		ft, err := s.Trial(t.Context(), rec.ID, n)
		if err != nil {
			t.Errorf("trial %d the helper reported finished: %v", n, err)
			continue
		}
		if ft.State != retune.TrialComplete || ft.Value() != durableValue(n) || len(ft.Intermediate[1]) != 1 {
			t.Errorf("trial %d = %v value %v intermediate %v, want COMPLETE with value %v and step 1", n, ft.State, ft.Value(), ft.Intermediate, durableValue(n))
		}
	}
	// The store is usable after the crash: the next trial gets the next number.
	trials, err := s.Trials(t.Context(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ft := create(t, s, rec.ID, time.Minute); ft.Number != len(trials) {
		t.Errorf("trial created after the crash has number %d, want %d", ft.Number, len(trials))
	}
}
