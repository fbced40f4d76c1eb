package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/storage/storagetest"
	"github.com/jackc/pgx/v5"
)

const dsnEnv = "RETUNE_TEST_POSTGRES"

// testDSN returns the test server's DSN, or skips the test when none is configured.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skipf("%s is not set: set it to a PostgreSQL DSN (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests", dsnEnv)
	}
	return dsn
}

// newSchema creates an empty schema with a random name, dropped (with everything in it)
// when the test ends, and returns the server's DSN and the schema.
func newSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = testDSN(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema = "retune_test_" + hex.EncodeToString(b[:])
	execSQL(t, dsn, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return dsn, schema
}

// execSQL runs statements on a connection of its own.
func execSQL(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// queryRow reads one row on a connection of its own.
func queryRow(t testing.TB, dsn, sql string, dest []any, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// withParam returns dsn with a connection parameter set.
func withParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " " + key + "='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(value) + "'"
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", dsnEnv, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx takes a + literally
	return u.String()
}

// openStore opens a Store on schema, closed when the test ends.
func openStore(t testing.TB, dsn, schema string) *Store {
	t.Helper()
	s, err := OpenOptions(context.Background(), dsn, Options{Schema: schema})
	if err != nil {
		t.Fatalf("OpenOptions(schema %s) error: %v", schema, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	testDSN(t)
	storagetest.Run(t, func(t *testing.T) storagetest.Opener {
		dsn, schema := newSchema(t)
		return func(t *testing.T) retune.Storage { return openStore(t, dsn, schema) }
	})
}

// TestRejectedWritesChangeNothing: values PostgreSQL cannot hold in text are invalid
// input, and the transaction that carried them leaves no trace.
func TestRejectedWritesChangeNothing(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	s := openStore(t, dsn, schema)
	ctx := t.Context()
	st, err := s.CreateStudy(ctx, retune.StudyRecord{Name: "bad", Directions: []retune.Direction{retune.Minimize}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateStudy(ctx, retune.StudyRecord{Name: "m", Model: "nul\x00", Directions: []retune.Direction{retune.Minimize}}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("CreateStudy(model with NUL) error = %v, want ErrInvalid", err)
	}
	if _, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h\x00", LeaseTTL: time.Minute}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("CreateTrial(holder with NUL) error = %v, want ErrInvalid", err)
	}
	if nums, err := s.Enqueue(ctx, retune.EnqueueRequest{StudyID: st.ID, Params: []map[string]any{{"x": 1}}, OnceKey: "k\xff"}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Enqueue(invalid UTF-8 key) = %v, %v, want ErrInvalid", nums, err)
	}
	if _, err := s.Enqueue(ctx, retune.EnqueueRequest{StudyID: st.ID, Params: []map[string]any{{"x": 1}, {"bad name ": 2}}}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Enqueue(bad param name) error = %v, want ErrInvalid", err)
	}
	sums, err := s.Studies(ctx)
	if err != nil || len(sums) != 1 {
		t.Fatalf("Studies() = %v, %v, want the one study", sums, err)
	}
	if sum := sums[0]; sum.Waiting+sum.Running+sum.Complete+sum.Pruned+sum.Failed != 0 {
		t.Errorf("after rejected writes the study has trials: %+v", sum)
	}
	// The rejected writes used no number: the next trial is 0.
	ft, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h", LeaseTTL: time.Minute})
	if err != nil || ft.Number != 0 {
		t.Fatalf("CreateTrial = %d, %v, want trial 0", ft.Number, err)
	}
	ref := retune.TrialRef{StudyID: st.ID, Number: 0, Epoch: ft.Lease.Epoch}
	badLog := map[string]retune.Distribution{"x": retune.FloatDistribution{Low: 0, High: 1, Log: true}}
	if err := s.Update(ctx, retune.TrialUpdate{Ref: ref, Params: map[string]any{"x": 0.5}, Distributions: badLog}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Update(log distribution from 0) error = %v, want ErrInvalid", err)
	}
	if got, err := s.Trial(ctx, st.ID, 0); err != nil || got.Params != nil {
		t.Errorf("after a rejected Update the trial has params %v (%v), want none", got.Params, err)
	}
	// A fail reason is kept byte for byte, even when it is not text PostgreSQL accepts.
	reason := "exit 1: \x00\xff\xfe tail"
	got, err := s.Finish(ctx, retune.FinishRequest{Ref: ref, State: retune.TrialFail, Reason: reason})
	if err != nil || got.Reason != reason {
		t.Fatalf("Finish(FAIL, binary reason) = %q, %v, want %q", got.Reason, err, reason)
	}
	if again, err := s.Trial(ctx, st.ID, 0); err != nil || again.Reason != reason {
		t.Errorf("Trial(0).Reason = %q, %v, want %q", again.Reason, err, reason)
	}
}

// TestPrunedNaN: a PRUNED trial keeps NaN among its values, and ±Inf and NaN metrics read
// back as they were.
func TestPrunedNaN(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	s := openStore(t, dsn, schema)
	ctx := t.Context()
	st, err := s.CreateStudy(ctx, retune.StudyRecord{Name: "nan", Directions: []retune.Direction{retune.Minimize, retune.Maximize}})
	if err != nil {
		t.Fatal(err)
	}
	ft, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h", LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ref := retune.TrialRef{StudyID: st.ID, Number: ft.Number, Epoch: ft.Lease.Epoch}
	if _, err := s.Finish(ctx, retune.FinishRequest{Ref: ref, State: retune.TrialPruned, Values: []float64{math.NaN(), math.Inf(-1)}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Trial(ctx, st.ID, ft.Number)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Values) != 2 || !math.IsNaN(got.Values[0]) || !math.IsInf(got.Values[1], -1) {
		t.Errorf("PRUNED values = %v, want [NaN -Inf]", got.Values)
	}
}

// TestTimesUTC: times come back in UTC whatever the session's time zone.
func TestTimesUTC(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	s := openStore(t, withParam(t, dsn, "timezone", "Pacific/Kiritimati"), schema)
	ctx := t.Context()
	before := time.Now()
	st, err := s.CreateStudy(ctx, retune.StudyRecord{Name: "tz", Directions: []retune.Direction{retune.Minimize}})
	if err != nil {
		t.Fatal(err)
	}
	ft, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h", LeaseTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	for name, tm := range map[string]time.Time{"Created": st.Created, "Start": ft.Start, "Lease.Expires": ft.Lease.Expires.Add(-time.Hour)} {
		if tm.Location() != time.UTC {
			t.Errorf("%s = %v, want UTC", name, tm)
		}
		if tm.Before(before.Add(-time.Second)) || tm.After(after.Add(time.Second)) {
			t.Errorf("%s = %v, want between %v and %v", name, tm, before, after)
		}
	}
}

// TestFinishWaitsForEarlierFinish: a finish takes its sequence number under the study's
// finish counter row lock, so while another transaction holds it, Finish waits, and
// FinishedSince shows nothing in between, while creating a trial (which locks the study
// row) goes ahead; the held transaction rolls back and leaves no gap.
func TestFinishWaitsForEarlierFinish(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	s := openStore(t, dsn, schema)
	ctx := t.Context()
	st, err := s.CreateStudy(ctx, retune.StudyRecord{Name: "order", Directions: []retune.Direction{retune.Minimize}})
	if err != nil {
		t.Fatal(err)
	}
	ft, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h", LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, withParam(t, dsn, "search_path", schema))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	held, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := held.Exec(ctx, `UPDATE study_finish SET finish_seq = finish_seq + 1 WHERE study_id = $1`, st.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Finish(context.Background(), retune.FinishRequest{Ref: retune.TrialRef{StudyID: st.ID, Number: ft.Number, Epoch: ft.Lease.Epoch}, State: retune.TrialComplete, Values: []float64{1}})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Finish returned (%v) while another transaction held the study's finish sequence", err)
	case <-time.After(300 * time.Millisecond):
	}
	if fs, cur, err := s.FinishedSince(ctx, st.ID, 0); err != nil || len(fs) != 0 || cur != 0 {
		t.Errorf("FinishedSince during the held finish = %d trials, cursor %d, %v; want none, 0", len(fs), cur, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	other, err := s.CreateTrial(cctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h2", LeaseTTL: time.Minute})
	cancel()
	if err != nil || other.Number != ft.Number+1 {
		t.Errorf("CreateTrial during the held finish = %d, %v; want trial %d at once (creating does not lock the finish counter)", other.Number, err, ft.Number+1)
	}
	if err := held.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Finish error: %v", err)
	}
	fs, cur, err := s.FinishedSince(ctx, st.ID, 0)
	if err != nil || len(fs) != 1 || cur != 1 || fs[0].Number != ft.Number {
		t.Errorf("FinishedSince after = %d trials, cursor %d, %v; want trial %d, cursor 1", len(fs), cur, err, ft.Number)
	}
}

// TestFinishAfterWritesElsewhere: a Store finishes a trial in one round trip by merging
// into the objects it last wrote; when another Store has changed them since, the finish
// must merge into what is stored instead, losing neither side's writes.
func TestFinishAfterWritesElsewhere(t *testing.T) {
	dsn, schema := newSchema(t)
	a, b := openStore(t, dsn, schema), openStore(t, dsn, schema)
	ctx := t.Context()
	st, err := a.CreateStudy(ctx, retune.StudyRecord{Name: "two", Directions: []retune.Direction{retune.Minimize}})
	if err != nil {
		t.Fatal(err)
	}
	ft, err := a.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "a", LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ref := retune.TrialRef{StudyID: st.ID, Number: ft.Number, Epoch: ft.Lease.Epoch}
	if err := b.Update(ctx, retune.TrialUpdate{Ref: ref, UserAttrs: map[string]any{"from": "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.RequestStop(ctx, st.ID, ft.Number); err != nil {
		t.Fatal(err)
	}
	got, err := a.Finish(ctx, retune.FinishRequest{Ref: ref, State: retune.TrialComplete, Values: []float64{1},
		UserAttrs: map[string]any{"from a": true}})
	if err != nil {
		t.Fatal(err)
	}
	read, err := a.Trial(ctx, st.ID, ft.Number)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []retune.FrozenTrial{got, read} {
		if tr.State != retune.TrialComplete || tr.UserAttrs["from"] != "b" || tr.UserAttrs["from a"] != true {
			t.Errorf("finished trial: %v, user attributes %v; want COMPLETE with from=b and from a=true", tr.State, tr.UserAttrs)
		}
		if fmt.Sprint(tr.SystemAttrs) != fmt.Sprint(read.SystemAttrs) || len(read.SystemAttrs) == 0 {
			t.Errorf("system attributes %v, stored %v; want the stop request kept", tr.SystemAttrs, read.SystemAttrs)
		}
	}
	// Its own writes a Store merges into without reading: an update, then the finish.
	ft2, err := a.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "a", LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ref2 := retune.TrialRef{StudyID: st.ID, Number: ft2.Number, Epoch: ft2.Lease.Epoch}
	if err := a.Update(ctx, retune.TrialUpdate{Ref: ref2, UserAttrs: map[string]any{"k": 1.0}}); err != nil {
		t.Fatal(err)
	}
	got2, err := a.Finish(ctx, retune.FinishRequest{Ref: ref2, State: retune.TrialPruned, Values: []float64{2}, UserAttrs: map[string]any{"k2": 2.0}})
	if err != nil || got2.UserAttrs["k"] != 1.0 || got2.UserAttrs["k2"] != 2.0 {
		t.Errorf("Finish after Update = %v, %v; want both attributes", got2.UserAttrs, err)
	}
}
