package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/storage/storagetest"
)

// openT opens a Store on path and closes it when the test ends.
func openT(t *testing.T, path string, o Options) *Store {
	t.Helper()
	s, err := OpenOptions(t.Context(), path, o)
	if err != nil {
		t.Fatalf("OpenOptions(%s) error: %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close(%s) error: %v", path, err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Opener {
		path := filepath.Join(t.TempDir(), "retune.db")
		return func(t *testing.T) retune.Storage { return openT(t, path, Options{}) }
	})
}

func newDB(t *testing.T) string { return filepath.Join(t.TempDir(), "retune.db") }

func TestMigrations(t *testing.T) {
	ctx := t.Context()
	path := newDB(t)
	if _, err := OpenOptions(ctx, path, Options{NoMigrate: true}); !errors.Is(err, retune.ErrConflict) || !strings.Contains(err.Error(), "schema version 0 is older") {
		t.Errorf("OpenOptions(fresh file, NoMigrate) error = %v, want ErrConflict saying version 0 is older", err)
	}
	if err := Migrate(ctx, path); err != nil {
		t.Fatalf("Migrate(fresh) error: %v", err)
	}
	applied := func() map[int]int64 {
		s := openT(t, path, Options{NoMigrate: true})
		rows, err := s.r.QueryContext(ctx, `SELECT version, applied_at FROM schema_migrations`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int]int64{}
		for rows.Next() {
			var v int
			var at int64
			if err := rows.Scan(&v, &at); err != nil {
				t.Fatal(err)
			}
			out[v] = at
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	first := applied()
	if len(first) != SchemaVersion || first[SchemaVersion] == 0 {
		t.Fatalf("schema_migrations = %v, want versions 1..%d with times", first, SchemaVersion)
	}
	openT(t, path, Options{}) // reopening migrates nothing
	if err := Migrate(ctx, path); err != nil {
		t.Fatalf("Migrate(current) error: %v", err)
	}
	if again := applied(); !reflect.DeepEqual(again, first) {
		t.Errorf("schema_migrations after reopening = %v, want unchanged %v", again, first)
	}

	s := openT(t, path, Options{})
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("database schema version %d is newer than this retune (knows up to %d): upgrade retune", SchemaVersion+1, SchemaVersion)
	for name, err := range map[string]error{
		"Open":                   second(Open(ctx, path)),
		"OpenOptions(NoMigrate)": second(OpenOptions(ctx, path, Options{NoMigrate: true})),
		"Migrate":                Migrate(ctx, path),
	} {
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, retune.ErrConflict) {
			t.Errorf("%s(newer database) error = %v, want ErrConflict with %q", name, err, want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestMigrationFailure: a failing migration names its version and leaves the database at
// the version before it, with nothing of the failed migration applied.
func TestMigrationFailure(t *testing.T) {
	ctx := t.Context()
	path := newDB(t)
	w, err := openWriter(ctx, path, Options{BusyTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ms := append(slices.Clip(migrations), migration{version: SchemaVersion + 1, name: "0099_broken.sql",
		sql: `CREATE TABLE half (x INTEGER); CREATE TABL oops (y INTEGER);`})
	err = migrate(ctx, w, ms, true)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d (0099_broken.sql)", SchemaVersion+1)) {
		t.Fatalf("migrate(broken) error = %v, want it to name migration %d", err, SchemaVersion+1)
	}
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	v, err := schemaVersion(ctx, tx)
	if err != nil || v != SchemaVersion {
		t.Errorf("schema version after the failed migration = %d, %v, want %d", v, err, SchemaVersion)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'half'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("table of the failed migration exists (%d, %v): its transaction was not rolled back", n, err)
	}
}

func TestLoadMigrations(t *testing.T) {
	if len(migrations) != SchemaVersion {
		t.Errorf("%d embedded migrations, SchemaVersion %d", len(migrations), SchemaVersion)
	}
	for _, tc := range []struct {
		name  string
		files []string
	}{
		{"gap", []string{"0001_init.sql", "0003_later.sql"}},
		{"bad name", []string{"0001_init.sql", "2_x.sql"}},
		{"duplicate", []string{"0001_init.sql", "0001_again.sql"}},
	} {
		fsys := fstest.MapFS{}
		for _, f := range tc.files {
			fsys["migration/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
		}
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("loadMigrations(%s: %v) = nil error, want one", tc.name, tc.files)
		}
	}
}

// TestQueryPlans: the queries of Ask and Tell find their rows through an index and never
// read the trials table (or its index) from one end to the other, so their cost does not
// grow with the study's history.
func TestQueryPlans(t *testing.T) {
	s := openT(t, newDB(t), Options{})
	findByID, findByIDArgs := findEventsQuery(retune.EventQuery{ID: "e"})
	findPage, findPageArgs := findEventsQuery(retune.EventQuery{Before: 10, State: retune.DeliveryDead, Notifier: "n", Limit: 50})
	for _, tc := range []struct {
		name  string
		query string
		args  []any
		index string // must appear in the plan
	}{
		{"claim", qClaim, []any{1, 0, 0}, "trials_state"},
		{"create", qCreate, []any{1, 0, 0}, "trials_state"},
		{"fence finish", qFenceFinish, []any{1, 1}, "sqlite_autoindex_trials_1"},
		{"fence", qFence, []any{1, 1}, "sqlite_autoindex_trials_1"},
		{"finished since", selFinishedSince.trials("t.finish_seq"), []any{1, 0}, "trials_finish"},
		{"finished since, intermediate", selFinishedSince.intermediate(), []any{1, 0}, "trials_finish"},
		{"running", selRunning.trials("t.number"), []any{1}, "trials_state"},
		{"running, intermediate", selRunning.intermediate(), []any{1}, "trials_state"},
		{"running except", selRunningExcept.trials("t.number"), []any{1, "[1]"}, "trials_state"},
		{"running except, intermediate", selRunningExcept.intermediate(), []any{1, "[1]"}, "trials_state"},
		{"expired", qExpiredExists, []any{1, 0}, "trials_state"},
		{"one trial", selID.trials("t.id"), []any{1}, "INTEGER PRIMARY KEY"},
		{"one trial, intermediate", selID.intermediate(), []any{1}, "INTEGER PRIMARY KEY"},
		{"trial by number", selNumber.trials("t.number"), []any{1, 1}, "sqlite_autoindex_trials_1"},
		{"champion", qChampion, []any{"m"}, "PRIMARY KEY (model=?)"},
		{"champion version", qChampionVersion, []any{"m"}, "PRIMARY KEY (model=?)"},
		{"champion history", qChampionHistory, []any{"m"}, "PRIMARY KEY (model=?)"},
		{"decision by key", qDecisionByKey, []any{"r", 0, 0}, "sqlite_autoindex_decisions_1"},
		{"decisions of a model", qDecisionsOf, []any{"m"}, "decisions_model"},
		{"event by ID", qEventExists, []any{"e"}, "sqlite_autoindex_events_1"},
		{"events after", qEventsAfter, []any{0, -1}, "INTEGER PRIMARY KEY"},
		{"pending triggers", qTriggersPending, []any{"m"}, "triggers_pending"},
		{"find event by ID", findByID, findByIDArgs, "sqlite_autoindex_events_1"},
		{"find events before, by delivery", findPage, findPageArgs, "sqlite_autoindex_deliveries_1"},
	} {
		rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tc.query, tc.args...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "\n")
		t.Logf("%s:\n%s", tc.name, all)
		for _, line := range plan {
			// Scanning a json_each argument (a list of numbers given to the query) is fine.
			if strings.HasPrefix(line, "SCAN") && line != "SCAN CONSTANT ROW" && !strings.HasPrefix(line, "SCAN json_each VIRTUAL TABLE") {
				t.Errorf("%s: plan scans a table:\n%s", tc.name, all)
			}
		}
		if (tc.name == "claim" || tc.name == "create" || tc.name == "finished since") && strings.Contains(all, "TEMP B-TREE") {
			t.Errorf("%s: plan sorts instead of reading the index in order:\n%s", tc.name, all)
		}
		if !strings.Contains(all, tc.index) {
			t.Errorf("%s: plan does not use %s:\n%s", tc.name, tc.index, all)
		}
	}
}

func TestPragmas(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		o          Options
		sync       int
		busy       int
		checkpoint int
	}{
		{Options{}, 1, 10000, 10000},
		{Options{Synchronous: SyncFull, BusyTimeout: 1500 * time.Millisecond, CheckpointPages: 1000}, 2, 1500, 1000},
	} {
		s := openT(t, newDB(t), tc.o)
		pragma := func(db *sql.DB, name string) any {
			var v any
			if err := db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
				t.Fatalf("PRAGMA %s: %v", name, err)
			}
			return fmt.Sprint(v)
		}
		for db, want := range map[*sql.DB]map[string]string{
			s.w: {"journal_mode": "wal", "synchronous": fmt.Sprint(tc.sync), "foreign_keys": "1", "busy_timeout": fmt.Sprint(tc.busy), "query_only": "0",
				"wal_autocheckpoint": fmt.Sprint(tc.checkpoint)},
			s.r: {"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": fmt.Sprint(tc.busy), "query_only": "1"},
		} {
			for name, v := range want {
				if got := pragma(db, name); got != v {
					t.Errorf("options %+v: PRAGMA %s = %v, want %v", tc.o, name, got, v)
				}
			}
		}
		if _, err := s.r.ExecContext(ctx, `DELETE FROM studies`); err == nil {
			t.Errorf("a reader connection could write")
		}
	}
}

func TestOpenInvalid(t *testing.T) {
	for _, tc := range []struct {
		path string
		o    Options
	}{
		{"", Options{}},
		{":memory:", Options{}},
		{filepath.Join(t.TempDir(), "x.db"), Options{Synchronous: 7}},
		{filepath.Join(t.TempDir(), "x.db"), Options{BusyTimeout: -1}},
		{filepath.Join(t.TempDir(), "x.db"), Options{Readers: -1}},
		{filepath.Join(t.TempDir(), "x.db"), Options{CheckpointPages: -1}},
	} {
		if _, err := OpenOptions(t.Context(), tc.path, tc.o); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("OpenOptions(%q, %+v) error = %v, want ErrInvalid", tc.path, tc.o, err)
		}
	}
}

// TestPathCharacters: a path with characters that mean something in a URI opens that file.
func TestPathCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b?c#d%20e")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "r&x=1.db")
	s := openT(t, path, Options{})
	if _, err := s.CreateStudy(t.Context(), retune.StudyRecord{Name: "p", Directions: []retune.Direction{retune.Minimize}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file %q: %v", path, err)
	}
	if _, err := openT(t, path, Options{}).Study(t.Context(), "p"); err != nil {
		t.Errorf("reopened Study(p) error: %v", err)
	}
}

func newStudy(t *testing.T, s *Store, name string, mod func(*retune.StudyRecord)) retune.StudyRecord {
	t.Helper()
	rec := retune.StudyRecord{Name: name, Directions: []retune.Direction{retune.Minimize}, Model: name}
	if mod != nil {
		mod(&rec)
	}
	rec, err := s.CreateStudy(t.Context(), rec)
	if err != nil {
		t.Fatalf("CreateStudy(%q) error: %v", name, err)
	}
	return rec
}

func create(t *testing.T, s *Store, studyID int64, ttl time.Duration) retune.FrozenTrial {
	t.Helper()
	ft, err := s.CreateTrial(t.Context(), retune.CreateTrialRequest{StudyID: studyID, Holder: "h", LeaseTTL: ttl})
	if err != nil {
		t.Fatalf("CreateTrial error: %v", err)
	}
	return ft
}

func ref(studyID int64, ft retune.FrozenTrial) retune.TrialRef {
	return retune.TrialRef{StudyID: studyID, Number: ft.Number, Epoch: ft.Lease.Epoch}
}

// TestRejectedWrites: a write that fails validation, or fails inside its transaction,
// changes nothing already stored, not even the study's counters.
func TestRejectedWrites(t *testing.T) {
	ctx := t.Context()
	s := openT(t, newDB(t), Options{})
	st := newStudy(t, s, "rej", func(r *retune.StudyRecord) { r.UserAttrs = map[string]any{"k": "v"} })
	ft := create(t, s, st.ID, time.Minute)
	r := ref(st.ID, ft)
	x := map[string]retune.Distribution{"x": retune.FloatDistribution{Low: 0, High: 1}}
	if err := s.Update(ctx, retune.TrialUpdate{Ref: r, Params: map[string]any{"x": 0.5}, Distributions: x, UserAttrs: map[string]any{"a": "b"}}); err != nil {
		t.Fatal(err)
	}
	before, err := s.Trial(ctx, st.ID, ft.Number)
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Update(param outside)": s.Update(ctx, retune.TrialUpdate{Ref: r, Params: map[string]any{"x": 2.0}, Distributions: x}),
		"Update(bad distribution)": s.Update(ctx, retune.TrialUpdate{Ref: r, Params: map[string]any{"y": 2.0},
			Distributions: map[string]retune.Distribution{"y": retune.FloatDistribution{Low: 3, High: 1}}}),
		"Update(bad attr)":           s.Update(ctx, retune.TrialUpdate{Ref: r, UserAttrs: map[string]any{"a": "c", " bad": 1}}),
		"Report(step -1)":            s.Report(ctx, r, -1, []float64{1}),
		"CreateTrial(bad system)":    second(s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, LeaseTTL: time.Minute, System: map[string]any{"f": func() {}}})),
		"CreateTrial(bad fixed)":     second(s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, LeaseTTL: time.Minute, Fixed: map[string]any{"": 1}})),
		"CreateTrial(bad kind)":      second(s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Kind: 9, LeaseTTL: time.Minute})),
		"Enqueue(second bad)":        second(s.Enqueue(ctx, retune.EnqueueRequest{StudyID: st.ID, Params: []map[string]any{{"x": 1}, {"x": func() {}}}})),
		"UpdateStudy(bad attr)":      s.UpdateStudy(ctx, st.ID, retune.StudyUpdate{UserAttrs: map[string]any{"k": nil, "": 1}, Budget: &retune.Budget{Trials: 1}}),
		"CreateStudy(bad attr)":      second(s.CreateStudy(ctx, retune.StudyRecord{Name: "other", UserAttrs: map[string]any{"x\x01": 1}})),
		"CreateStudy(bad direction)": second(s.CreateStudy(ctx, retune.StudyRecord{Name: "other", Directions: []retune.Direction{retune.Maximize, 3}})),
		"Finish(long reason)":        second(s.Finish(ctx, retune.FinishRequest{Ref: r, State: retune.TrialFail, Reason: strings.Repeat("r", retune.MaxReasonLen+1)})),
	} {
		if !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("%s error = %v, want ErrInvalid", name, err)
		}
	}
	after, err := s.Trial(ctx, st.ID, ft.Number)
	if err != nil || !reflect.DeepEqual(after, before) {
		t.Errorf("trial after rejected writes = %+v, %v, want %+v", after, err, before)
	}
	trials, err := s.Trials(ctx, st.ID)
	if err != nil || len(trials) != 1 {
		t.Errorf("Trials = %d, %v, want only the one trial", len(trials), err)
	}
	if got, err := s.Study(ctx, "rej"); err != nil || got.Budget.Trials != 0 || got.UserAttrs["k"] != "v" {
		t.Errorf("study after rejected update = %+v, %v, want budget 0 and k=v", got, err)
	}
	if _, err := s.Study(ctx, "other"); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("rejected CreateStudy stored the study (error %v)", err)
	}
	if next := create(t, s, st.ID, time.Minute); next.Number != 1 {
		t.Errorf("next trial number = %d, want 1: a rejected write used a number", next.Number)
	}
}

// TestRetryChain: a trial whose lease expires is retried Budget.Retries times, each retry
// linked to the one before, and each expiry is one finished trial in FinishedSince.
func TestRetryChain(t *testing.T) {
	ctx := t.Context()
	s := openT(t, newDB(t), Options{})
	st := newStudy(t, s, "retry", func(r *retune.StudyRecord) { r.Budget.Retries = 2 })
	ft := create(t, s, st.ID, -time.Second) // expired at once
	x := map[string]retune.Distribution{"x": retune.FloatDistribution{Low: 0, High: 1, Log: false}}
	if err := s.Update(ctx, retune.TrialUpdate{Ref: ref(st.ID, ft), Params: map[string]any{"x": 0.125}, Distributions: x}); err != nil {
		t.Fatal(err)
	}
	chain := []int{ft.Number}
	for i := range 3 {
		if n, err := s.ExpireLeases(ctx, st.ID); err != nil || n != 1 {
			t.Fatalf("ExpireLeases #%d = %d, %v, want 1", i, n, err)
		}
		if n, err := s.ExpireLeases(ctx, st.ID); err != nil || n != 0 {
			t.Fatalf("ExpireLeases #%d again = %d, %v, want 0", i, n, err)
		}
		next, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "h", LeaseTTL: -time.Second, ClaimOnly: true})
		if i == 2 {
			if !errors.Is(err, retune.ErrNotFound) {
				t.Errorf("claim after %d retries: %+v, %v, want ErrNotFound", i, next, err)
			}
			break
		}
		if err != nil {
			t.Fatalf("claim retry #%d: %v", i, err)
		}
		if next.RetryOf != chain[len(chain)-1] || fmt.Sprint(next.Fixed["x"]) != "0.125" || next.Lease.Epoch != 1 {
			t.Errorf("retry #%d = retry of %d, fixed %v, epoch %d, want retry of %d, x=0.125, epoch 1", i, next.RetryOf, next.Fixed, next.Lease.Epoch, chain[len(chain)-1])
		}
		chain = append(chain, next.Number)
	}
	fs, cursor, err := s.FinishedSince(ctx, st.ID, 0)
	if err != nil || cursor != 3 || len(fs) != 3 {
		t.Fatalf("FinishedSince = %d trials, cursor %d, %v, want 3 and 3", len(fs), cursor, err)
	}
	for i, ft := range fs {
		if ft.Number != chain[i] || ft.State != retune.TrialFail || ft.Reason != retune.ReasonLeaseExpired || ft.End.IsZero() {
			t.Errorf("finished[%d] = trial %d %v %q, want trial %d FAIL %q", i, ft.Number, ft.State, ft.Reason, chain[i], retune.ReasonLeaseExpired)
		}
	}
}

func TestFinishedSinceCursor(t *testing.T) {
	ctx := t.Context()
	s := openT(t, newDB(t), Options{})
	st := newStudy(t, s, "cur", nil)
	for _, c := range []int64{-1, 1} {
		if _, got, err := s.FinishedSince(ctx, st.ID, c); !errors.Is(err, retune.ErrInvalid) || got != c {
			t.Errorf("FinishedSince(cursor %d) = cursor %d, error %v, want ErrInvalid", c, got, err)
		}
	}
	if _, _, err := s.FinishedSince(ctx, st.ID+100, 0); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("FinishedSince(missing study) error = %v, want ErrNotFound", err)
	}
	fs, c, err := s.FinishedSince(ctx, st.ID, 0)
	if err != nil || fs == nil || len(fs) != 0 || c != 0 {
		t.Errorf("FinishedSince(empty) = %v, %d, %v, want an empty slice and cursor 0", fs, c, err)
	}
}

// TestStudiesBest: the best value of a study is direction-aware and keeps ±Inf; pruned,
// failed and confirmation trials do not count.
func TestStudiesBest(t *testing.T) {
	ctx := t.Context()
	s := openT(t, newDB(t), Options{})
	finish := func(id int64, kind retune.TrialKind, state retune.TrialState, v float64) {
		ft, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: id, Kind: kind, Holder: "h", LeaseTTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Finish(ctx, retune.FinishRequest{Ref: ref(id, ft), State: state, Values: []float64{v}}); err != nil {
			t.Fatal(err)
		}
	}
	lo := newStudy(t, s, "lo", nil)
	finish(lo.ID, retune.KindSearch, retune.TrialComplete, 3)
	finish(lo.ID, retune.KindSearch, retune.TrialComplete, math.Inf(-1))
	hi := newStudy(t, s, "hi", func(r *retune.StudyRecord) { r.Directions = []retune.Direction{retune.Maximize} })
	finish(hi.ID, retune.KindSearch, retune.TrialComplete, 2)
	finish(hi.ID, retune.KindSearch, retune.TrialPruned, 50)
	finish(hi.ID, retune.KindConfirm, retune.TrialComplete, 40)
	finish(hi.ID, retune.KindSearch, retune.TrialComplete, math.Inf(1))
	finish(hi.ID, retune.KindSearch, retune.TrialComplete, 1)
	sums, err := s.Studies(ctx)
	if err != nil || len(sums) != 2 {
		t.Fatalf("Studies = %v, %v", sums, err)
	}
	if b := sums[0].Best; sums[0].Name != "hi" || b == nil || !math.IsInf(*b, 1) || sums[0].Complete != 4 || sums[0].Pruned != 1 {
		t.Errorf("Studies()[hi] = %+v, want best +Inf, 4 complete, 1 pruned", sums[0])
	}
	if b := sums[1].Best; b == nil || !math.IsInf(*b, -1) {
		t.Errorf("Studies()[lo].Best = %v, want -Inf", b)
	}
}

// TestDeleteCascade: deleting a study removes its trials' intermediate values and its
// enqueue keys too, and a new study never reuses a deleted study's ID.
func TestDeleteCascade(t *testing.T) {
	ctx := t.Context()
	s := openT(t, newDB(t), Options{})
	st := newStudy(t, s, "del", nil)
	ft := create(t, s, st.ID, time.Minute)
	if err := s.Report(ctx, ref(st.ID, ft), 1, []float64{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, retune.EnqueueRequest{StudyID: st.ID, Params: []map[string]any{{"x": 1}}, OnceKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStudy(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStudy(ctx, st.ID); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("second DeleteStudy error = %v, want ErrNotFound", err)
	}
	for _, table := range []string{"trials", "intermediate", "enqueue_keys"} {
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s has %d rows after the delete (%v), want 0", table, n, err)
		}
	}
	again := newStudy(t, s, "del", nil)
	if again.ID == st.ID {
		t.Errorf("recreated study reuses ID %d", st.ID)
	}
	if err := s.Report(ctx, ref(st.ID, ft), 2, []float64{1}); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Report to a deleted study: error = %v, want ErrNotFound", err)
	}
}

// TestFilesArePrivate: the database and its -wal and -shm files hold trainers' output and
// decision evidence, so only their owner may read them.
func TestFilesArePrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "retune.db")
	s := openT(t, path, Options{})
	if _, err := s.CreateStudy(t.Context(), retune.StudyRecord{Name: "private", Directions: []retune.Direction{retune.Minimize}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(p), m)
		}
	}
}
