package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// connectErr returns the error of a real connection attempt to a port nothing listens on.
func connectErr(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	conn, err := pgx.Connect(t.Context(), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?sslmode=disable&connect_timeout=5", addr.Port))
	if err == nil {
		conn.Close(t.Context())
		t.Fatalf("connected to 127.0.0.1:%d, which should be closed", addr.Port)
	}
	return err
}

func TestTransient(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return &pgconn.PgError{Severity: "FATAL", Code: code, Message: "m"} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"admin shutdown", pg("57P01"), true},
		{"crash shutdown", pg("57P02"), true},
		{"cannot connect now", pg("57P03"), true},
		{"serialization failure", pg("40001"), true},
		{"deadlock", pg("40P01"), true},
		{"connection failure", pg("08006"), true},
		{"too many connections", pg("53300"), true},
		{"wrapped by the store", dbErr("finish trial 3 of study id 1", pg("57P01")), true},
		{"connection refused", connectErr(t), true},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"refused errno", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"EOF", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), true},
		{"conn closed", fmt.Errorf("x: %w", pgconn.ErrConnClosed), true},
		{"unique violation", pg("23505"), false},
		{"syntax error", pg("42601"), false},
		{"invalid text", dbErr("create study", pg("22021")), false},
		{"conflict", fmt.Errorf("trial 3: %w", retune.ErrConflict), false},
		{"not found", retune.ErrNotFound, false},
		{"canceled", context.Canceled, false},
		{"deadline", fmt.Errorf("timeout: %w", context.DeadlineExceeded), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := transient(tt.err); got != tt.want {
				t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestRetryWindow: retries pace themselves within the window, from the first failure, and
// then give up naming the window and wrapping the last error. Time is synctest's.
func TestRetryWindow(t *testing.T) {
	t.Parallel()
	down := dbErr("finish trial 3 of study id 1", &pgconn.PgError{Severity: "FATAL", Code: "57P03", Message: "the database system is starting up"})
	tests := []struct {
		name      string
		window    time.Duration
		failures  int // then success
		err       error
		wantCalls int // 0: more than one
		wantErr   bool
	}{
		{"recovers", 3 * time.Second, 4, down, 5, false},
		{"outage outlasts the window", 3 * time.Second, 1 << 30, down, 0, true},
		{"not transient", 3 * time.Second, 1, fmt.Errorf("x: %w", retune.ErrConflict), 1, true},
		{"retries off", -1, 1, down, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s := &Store{retryFor: tt.window}
				calls := 0
				start := time.Now()
				err := s.retry(t.Context(), func(context.Context) error {
					calls++
					if calls <= tt.failures {
						return tt.err
					}
					return nil
				})
				if (err != nil) != tt.wantErr || (tt.wantCalls > 0 && calls != tt.wantCalls) || (tt.wantCalls == 0 && calls < 2) {
					t.Fatalf("retry = %v after %d calls, want error %v after %d calls (0: several)", err, calls, tt.wantErr, tt.wantCalls)
				}
				if err != nil && !errors.Is(err, tt.err) {
					t.Errorf("retry error %v does not wrap %v", err, tt.err)
				}
				if tt.name == "outage outlasts the window" {
					if el := time.Since(start); el != tt.window {
						t.Errorf("gave up after %v (synctest time), want the window %v", el, tt.window)
					}
					if !strings.Contains(err.Error(), "57P03") || !strings.Contains(err.Error(), "retried for 3s") {
						t.Errorf("error %q: want the database error and the retry window", err)
					}
				}
			})
		})
	}
}

// TestRetryWindowShared: the window opens when the database became unavailable, for
// every operation of the Store: once it has been down for the window, an operation gives
// up at its first failure, until one succeeds again.
func TestRetryWindowShared(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &Store{retryFor: 3 * time.Second}
		down := &pgconn.PgError{Code: "57P03"}
		calls := 0
		fail := func(context.Context) error { calls++; return down }
		if err := s.retry(t.Context(), fail); err == nil || calls < 2 {
			t.Fatalf("first operation: %v after %d calls, want an error after several", err, calls)
		}
		calls = 0
		if err := s.retry(t.Context(), fail); err == nil || calls != 1 {
			t.Errorf("second operation in the same outage: %v after %d calls, want an error after 1", err, calls)
		}
		if err := s.retry(t.Context(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		calls = 0
		if err := s.retry(t.Context(), fail); err == nil || calls < 2 {
			t.Errorf("operation after the database answered: %v after %d calls, want an error after several", err, calls)
		}
	})
}

// TestRetryStopsWithContext: a cancelled context ends the pauses at once.
func TestRetryStopsWithContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &Store{retryFor: time.Hour}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		cause := &pgconn.PgError{Code: "57P01"}
		err := s.retry(ctx, func(context.Context) error { return cause })
		if !errors.Is(err, cause) {
			t.Fatalf("retry = %v, want %v", err, cause)
		}
		if ctx.Err() == nil {
			t.Errorf("retry returned before its context ended")
		}
	})
}

// loseCommit makes the next commit of s commit on the server while its reply is lost:
// once the transaction has committed, its connection is closed under the client.
func loseCommit(t *testing.T, s *Store, dsn string) *atomic.Bool {
	t.Helper()
	var armed atomic.Bool
	s.onCommit = func(c *pgconn.PgConn, xid string, sent bool) {
		if sent && armed.CompareAndSwap(true, false) {
			closeOnceTrue(t, c, dsn, "transaction "+xid+" committed", `SELECT coalesce(pg_xact_status($1::xid8) = 'committed', false)`, xid)
		}
	}
	trials := s.pool.Config().ConnConfig.RuntimeParams["search_path"] + ".trials"
	s.onCall = func(c *pgconn.PgConn, token int64, sent bool) {
		if sent && armed.CompareAndSwap(true, false) {
			closeOnceTrue(t, c, dsn, fmt.Sprint("write token ", token, " committed"), `SELECT count(*) = 1 FROM `+trials+` WHERE write_token = $1`, token)
		}
	}
	return &armed
}

// closeOnceTrue closes c once query, run on a connection of its own, returns true.
func closeOnceTrue(t *testing.T, c *pgconn.PgConn, dsn, what, query string, args ...any) {
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Errorf("connect: %v", err)
		return
	}
	defer conn.Close(context.Background())
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var ok bool
		if err := conn.QueryRow(context.Background(), query, args...).Scan(&ok); err != nil {
			t.Errorf("%s: %v", query, err)
			return
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: not after 20s", what)
			return
		}
	}
	_ = c.Conn().Close()
}

// abortCommit makes the next commit of s fail on the server: its session is terminated
// just before the COMMIT is sent.
func abortCommit(t *testing.T, s *Store, dsn string) *atomic.Bool {
	t.Helper()
	var armed atomic.Bool
	s.onCommit = func(c *pgconn.PgConn, xid string, sent bool) {
		if sent || !armed.CompareAndSwap(true, false) {
			return
		}
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Errorf("connect: %v", err)
			return
		}
		defer conn.Close(context.Background())
		var ok bool
		if err := conn.QueryRow(context.Background(), `SELECT pg_terminate_backend($1, 20000)`, int32(c.PID())).Scan(&ok); err != nil || !ok {
			t.Errorf("pg_terminate_backend = %v, %v", ok, err)
		}
	}
	s.onCall = func(c *pgconn.PgConn, _ int64, sent bool) { s.onCommit(c, "", sent) }
	return &armed
}

// TestLostCommit: a write whose COMMIT reaches the server but whose reply is lost reports
// what it did, neither a spurious conflict nor a second copy; one whose session dies
// before its COMMIT runs again.
func TestLostCommit(t *testing.T) {
	t.Parallel()
	type env struct {
		s     *Store
		study retune.StudyRecord
	}
	newTrial := func(t *testing.T, e env) retune.FrozenTrial {
		t.Helper()
		ft, err := e.s.CreateTrial(t.Context(), retune.CreateTrialRequest{StudyID: e.study.ID, Holder: "h", LeaseTTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return ft
	}
	finish := func(t *testing.T, e env, arm func()) {
		ft := newTrial(t, e)
		arm()
		got, err := e.s.Finish(t.Context(), retune.FinishRequest{
			Ref:   retune.TrialRef{StudyID: e.study.ID, Number: ft.Number, Epoch: ft.Lease.Epoch},
			State: retune.TrialComplete, Values: []float64{0.25}, UserAttrs: map[string]any{"k": "v"},
		})
		if err != nil || got.State != retune.TrialComplete || got.Values[0] != 0.25 || got.UserAttrs["k"] != "v" {
			t.Fatalf("Finish = %v %v %v, %v; want COMPLETE [0.25] {k:v}", got.State, got.Values, got.UserAttrs, err)
		}
		if fs, _, err := e.s.FinishedSince(t.Context(), e.study.ID, 0); err != nil || len(fs) != 1 {
			t.Errorf("FinishedSince = %d trials, %v; want 1", len(fs), err)
		}
	}
	create := func(t *testing.T, e env, arm func()) {
		arm()
		ft := newTrial(t, e)
		if ft.Number != 0 || ft.State != retune.TrialRunning || ft.Lease.Holder != "h" {
			t.Fatalf("CreateTrial = trial %d %v held by %q, want trial 0 RUNNING held by h", ft.Number, ft.State, ft.Lease.Holder)
		}
		if next := newTrial(t, e); next.Number != 1 {
			t.Errorf("next CreateTrial = trial %d, want 1", next.Number)
		}
	}
	tests := []struct {
		name  string
		abort bool // the session dies before COMMIT (else the reply to COMMIT is lost)
		run   func(t *testing.T, e env, arm func())
		want  int // trials in the study at the end
	}{
		{"finish", false, finish, 1},
		{"finish aborted", true, finish, 1},
		{"create trial", false, create, 2},
		{"create trial aborted", true, create, 2},
		{"claim", false, func(t *testing.T, e env, arm func()) {
			if _, err := e.s.Enqueue(t.Context(), retune.EnqueueRequest{StudyID: e.study.ID, Params: []map[string]any{{"x": 1.5}}}); err != nil {
				t.Fatal(err)
			}
			arm()
			ft := newTrial(t, e)
			if ft.Number != 0 || ft.State != retune.TrialRunning || fmt.Sprint(ft.Fixed["x"]) != "1.5" {
				t.Fatalf("CreateTrial = trial %d %v fixed %v, want trial 0 RUNNING fixed x=1.5", ft.Number, ft.State, ft.Fixed)
			}
		}, 1},
		{"enqueue", false, func(t *testing.T, e env, arm func()) {
			arm()
			nums, err := e.s.Enqueue(t.Context(), retune.EnqueueRequest{StudyID: e.study.ID, Params: []map[string]any{{"x": 1}, {"x": 2}}, OnceKey: "k"})
			if err != nil || len(nums) != 2 {
				t.Fatalf("Enqueue = %v, %v; want 2 numbers", nums, err)
			}
		}, 2},
		{"create study", false, func(t *testing.T, e env, arm func()) {
			arm()
			rec, err := e.s.CreateStudy(t.Context(), retune.StudyRecord{Name: "other", Directions: []retune.Direction{retune.Maximize}})
			if err != nil || rec.ID == 0 || rec.Name != "other" || rec.Created.IsZero() {
				t.Fatalf("CreateStudy = %+v, %v; want study other with its ID", rec, err)
			}
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dsn, schema := newSchema(t)
			s := openStore(t, dsn, schema)
			st, err := s.CreateStudy(t.Context(), retune.StudyRecord{Name: "lost", Directions: []retune.Direction{retune.Minimize}})
			if err != nil {
				t.Fatal(err)
			}
			var armed *atomic.Bool
			if tt.abort {
				armed = abortCommit(t, s, dsn)
			} else {
				armed = loseCommit(t, s, dsn)
			}
			tt.run(t, env{s, st}, func() { armed.Store(true) })
			if armed.Load() {
				t.Fatal("no commit was lost: the test did not test anything")
			}
			ts, err := s.Trials(t.Context(), st.ID)
			if err != nil || len(ts) != tt.want {
				t.Errorf("Trials = %d, %v; want %d", len(ts), err, tt.want)
			}
		})
	}
}
