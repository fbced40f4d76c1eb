package postgres

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
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// The cross-process tests re-run this test binary as helper processes: TestHelperProcess
// plays the role named by roleEnv against the schema and study the parent set up.
const (
	roleEnv   = "RETUNE_PG_HELPER_ROLE"
	dsnEnvKid = "RETUNE_PG_HELPER_DSN"
	schemaEnv = "RETUNE_PG_HELPER_SCHEMA"
	studyEnv  = "RETUNE_PG_HELPER_STUDY"
)

// helper is a running helper process and its output lines.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // closed at EOF
}

func startHelper(t *testing.T, role, dsn, schema string, studyID int64) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), roleEnv+"="+role, dsnEnvKid+"="+dsn, schemaEnv+"="+schema, studyEnv+"="+strconv.FormatInt(studyID, 10))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, stdin: stdin, lines: make(chan string, 1024)}
	go func() {
		defer close(h.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return h
}

// next returns the next output line with the prefix, skipping others; it fails the test
// at EOF or after a while.
func (h *helper) next(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-h.lines:
			if !ok {
				t.Fatalf("helper exited before printing %q", prefix)
			}
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				return rest
			}
		case <-timeout:
			t.Fatalf("helper printed no %q within 30s", prefix)
		}
	}
}

// TestHelperProcess is not a test: it is the body of the helper processes.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(roleEnv)
	if role == "" {
		t.Skip("the body of the cross-process tests' helper processes; runs only in them")
	}
	ctx := context.Background()
	studyID, _ := strconv.ParseInt(os.Getenv(studyEnv), 10, 64)
	s, err := OpenOptions(ctx, os.Getenv(dsnEnvKid), Options{Schema: os.Getenv(schemaEnv), NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stdin := bufio.NewScanner(os.Stdin)
	create := func(ttl time.Duration) retune.FrozenTrial {
		ft, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: studyID, Holder: fmt.Sprint(os.Getpid()), LeaseTTL: ttl})
		if err != nil && !errors.Is(err, retune.ErrBudgetExhausted) {
			t.Fatal(err)
		}
		if err != nil {
			return retune.FrozenTrial{Number: -1}
		}
		return ft
	}
	finish := func(ft retune.FrozenTrial) {
		if _, err := s.Finish(ctx, retune.FinishRequest{Ref: retune.TrialRef{StudyID: studyID, Number: ft.Number, Epoch: ft.Lease.Epoch},
			State: retune.TrialComplete, Values: []float64{float64(ft.Number)}}); err != nil {
			t.Fatal(err)
		}
	}
	switch role {
	case "budget": // start search trials until the budget is spent
		fmt.Println("ready")
		stdin.Scan()
		for {
			ft := create(time.Minute)
			if ft.Number < 0 {
				fmt.Println("exhausted")
				return
			}
			finish(ft)
			fmt.Printf("trial %d\n", ft.Number)
		}
	case "finish": // create and finish trials, reporting each once Finish returned
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; i < 10000 && time.Now().Before(deadline); i++ {
			ft := create(time.Minute)
			finish(ft)
			fmt.Printf("finished %d\n", ft.Number)
		}
	case "lease": // hold a trial without renewing, then try to renew when told
		ft := create(time.Minute)
		fmt.Printf("trial %d %d %s\n", ft.Number, ft.Lease.Epoch, ft.Lease.Expires.Format(time.RFC3339Nano))
		stdin.Scan()
		_, err := s.Heartbeat(ctx, retune.TrialRef{StudyID: studyID, Number: ft.Number, Epoch: ft.Lease.Epoch}, time.Minute)
		fmt.Printf("heartbeat %v\n", err)
	default:
		t.Fatalf("unknown helper role %q", role)
	}
}

func newStudyIn(t *testing.T, s *Store, name string, b retune.Budget) retune.StudyRecord {
	t.Helper()
	st, err := s.CreateStudy(t.Context(), retune.StudyRecord{Name: name, Directions: []retune.Direction{retune.Minimize}, Budget: b})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestProcessesShareBudget: four processes on one study with Budget.Trials 100 start
// exactly 100 search trials between them, numbered 0..99 each once.
func TestProcessesShareBudget(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	s := openStore(t, dsn, schema)
	st := newStudyIn(t, s, "budget", retune.Budget{Trials: 100})
	var hs []*helper
	for range 4 {
		hs = append(hs, startHelper(t, "budget", dsn, schema, st.ID))
	}
	for _, h := range hs {
		h.next(t, "ready")
	}
	for _, h := range hs { // start them together
		if _, err := io.WriteString(h.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var nums []int
	per := make([]int, len(hs))
	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Go(func() {
			for line := range h.lines {
				if rest, ok := strings.CutPrefix(line, "trial "); ok {
					n, _ := strconv.Atoi(rest)
					mu.Lock()
					nums = append(nums, n)
					per[i]++
					mu.Unlock()
				}
			}
			if err := h.cmd.Wait(); err != nil {
				t.Errorf("helper %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	t.Logf("trials per process: %v", per)
	sort.Ints(nums)
	if len(nums) != 100 {
		t.Fatalf("the processes started %d trials, want 100", len(nums))
	}
	for i, n := range nums {
		if n != i {
			t.Fatalf("trial numbers %v: want 0..99 each once", nums)
		}
	}
	if _, err := s.CreateTrial(t.Context(), retune.CreateTrialRequest{StudyID: st.ID, Holder: "parent", LeaseTTL: time.Minute}); !errors.Is(err, retune.ErrBudgetExhausted) {
		t.Errorf("CreateTrial after the budget: error = %v, want ErrBudgetExhausted", err)
	}
	sums, err := s.Studies(t.Context())
	if err != nil || len(sums) != 1 || sums[0].Complete != 100 || sums[0].Running != 0 {
		t.Errorf("Studies() = %+v, %v, want 100 complete trials", sums, err)
	}
}

// TestFinishSurvivesKill: a trial whose Finish returned is stored finished, even when its
// process is killed right after.
func TestFinishSurvivesKill(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	s := openStore(t, dsn, schema)
	st := newStudyIn(t, s, "kill", retune.Budget{})
	h := startHelper(t, "finish", dsn, schema, st.ID)
	var reported []int
	for len(reported) < 25 {
		n, err := strconv.Atoi(h.next(t, "finished "))
		if err != nil {
			t.Fatal(err)
		}
		reported = append(reported, n)
	}
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for line := range h.lines { // lines written before the kill
		if rest, ok := strings.CutPrefix(line, "finished "); ok {
			n, _ := strconv.Atoi(rest)
			reported = append(reported, n)
		}
	}
	if err := h.cmd.Wait(); err == nil {
		t.Fatal("helper exited cleanly: want it killed")
	}
	trials, err := s.Trials(t.Context(), st.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range reported {
		if n >= len(trials) || trials[n].State != retune.TrialComplete || trials[n].Value() != float64(n) {
			t.Errorf("reported trial %d is not stored COMPLETE with value %d", n, n)
		}
	}
	running := 0
	for i, ft := range trials {
		if ft.Number != i {
			t.Fatalf("trial numbers are not dense: trial %d at %d", ft.Number, i)
		}
		if ft.State == retune.TrialRunning {
			running++
		}
	}
	if running > 1 {
		t.Errorf("%d trials left RUNNING by one killed process, want at most 1", running)
	}
	t.Logf("%d trials reported, %d stored, %d left running", len(reported), len(trials), running)
}

// TestLeaseUsesDatabaseClock: lease expiry is written and judged by the database's clock.
// The test moves that clock (the test schema's clock_timestamp(), which the store's
// connections resolve before pg_catalog's) two minutes ahead of the client's; another
// process's one-minute lease then expires at once, though by the client's clock it has
// most of a minute left, and that process's next heartbeat is refused.
func TestLeaseUsesDatabaseClock(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	execSQL(t, dsn, fmt.Sprintf(`CREATE TABLE %[1]q.test_clock (skew interval NOT NULL);
		INSERT INTO %[1]q.test_clock VALUES ('0');
		CREATE FUNCTION %[1]q.clock_timestamp() RETURNS timestamptz LANGUAGE sql VOLATILE
			AS 'SELECT pg_catalog.clock_timestamp() + (SELECT skew FROM %[1]q.test_clock)'`, schema))
	dsn = withParam(t, dsn, "search_path", schema+", pg_catalog")
	s := openStore(t, dsn, "")
	st := newStudyIn(t, s, "lease", retune.Budget{Retries: 1})
	dbNow := func() time.Time {
		var now time.Time
		queryRow(t, dsn, `SELECT clock_timestamp()`, []any{&now})
		return now
	}

	before := dbNow()
	h := startHelper(t, "lease", dsn, "", st.ID)
	var number int
	var epoch int64
	var stamp string
	if _, err := fmt.Sscan(h.next(t, "trial "), &number, &epoch, &stamp); err != nil {
		t.Fatal(err)
	}
	after := dbNow()
	expires, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		t.Fatal(err)
	}
	if expires.Before(before.Add(time.Minute)) || expires.After(after.Add(time.Minute)) {
		t.Errorf("lease expires %v, want the database clock + 1m: between %v and %v", expires, before.Add(time.Minute), after.Add(time.Minute))
	}
	if n, err := s.ExpireLeases(t.Context(), st.ID); err != nil || n != 0 {
		t.Fatalf("ExpireLeases before the clock moved = %d, %v, want 0", n, err)
	}

	execSQL(t, dsn, `UPDATE test_clock SET skew = '2 minutes'`)
	if !time.Now().Before(expires) {
		t.Fatalf("the client's clock passed the lease's expiry %v: the test is too slow to show anything", expires)
	}
	if n, err := s.ExpireLeases(t.Context(), st.ID); err != nil || n != 1 {
		t.Fatalf("ExpireLeases with the database clock past the lease = %d, %v, want 1 (the client's clock still has %v left)", n, err, time.Until(expires))
	}
	ft, err := s.Trial(t.Context(), st.ID, number)
	if err != nil {
		t.Fatal(err)
	}
	if ft.State != retune.TrialFail || ft.Reason != retune.ReasonLeaseExpired || ft.End.Before(after.Add(2*time.Minute)) {
		t.Errorf("expired trial = %v %q ended %v, want FAIL %q ended by the database clock (after %v)", ft.State, ft.Reason, ft.End, retune.ReasonLeaseExpired, after.Add(2*time.Minute))
	}

	if _, err := io.WriteString(h.stdin, "heartbeat\n"); err != nil {
		t.Fatal(err)
	}
	if got := h.next(t, "heartbeat "); !strings.Contains(got, "FAIL, not RUNNING") || !strings.Contains(got, retune.ErrConflict.Error()) {
		t.Errorf("the expired holder's heartbeat: %s, want a conflict (trial is FAIL)", got)
	}
	if err := h.cmd.Wait(); err != nil {
		t.Errorf("helper: %v", err)
	}
	retry, err := s.CreateTrial(t.Context(), retune.CreateTrialRequest{StudyID: st.ID, Holder: "parent", LeaseTTL: time.Minute, ClaimOnly: true})
	if err != nil || retry.RetryOf != number {
		t.Errorf("claimed retry = retry of %d, %v, want a retry of trial %d", retry.RetryOf, err, number)
	}
	if want := dbNow().Add(time.Minute); retry.Lease.Expires.Before(want.Add(-5*time.Second)) || retry.Lease.Expires.After(want) {
		t.Errorf("retry's lease expires %v, want the (moved) database clock + 1m ≈ %v", retry.Lease.Expires, want)
	}
}
