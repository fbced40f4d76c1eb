package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/a6b40afc/retune"
)

// versions returns the recorded migrations of schema in order.
func versions(t *testing.T, dsn, schema string) []int {
	t.Helper()
	var vs []int
	queryRow(t, dsn, fmt.Sprintf(`SELECT coalesce(array_agg(version ORDER BY version), '{}') FROM %q.schema_migrations`, schema), []any{&vs})
	return vs
}

func wantVersions(t *testing.T, got []int, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("recorded versions %v, want 1..%d each once", got, n)
	}
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("recorded versions %v, want 1..%d each once", got, n)
		}
	}
}

func TestMigrationFiles(t *testing.T) {
	ms := knownMigrations()
	if len(ms) == 0 || ms[0].version != 1 || ms[0].name != "init" {
		t.Fatalf("embedded migrations %v: want 1 (init) first", ms)
	}
	for _, tc := range []struct {
		name  string
		files []string
		want  string
	}{
		{"gap", []string{"0001_a.sql", "0003_c.sql"}, "want 2"},
		{"bad name", []string{"1_a.sql"}, "want NNNN_name.sql"},
		{"none", nil, "no migration files"},
	} {
		fsys := fstest.MapFS{}
		for _, f := range tc.files {
			fsys["migration/"+f] = &fstest.MapFile{Data: []byte("SELECT 1")}
		}
		if _, err := loadMigrations(fsys); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("loadMigrations(%s) error = %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// TestMigrateFresh: a fresh schema gets every version, once, and the tables work.
func TestMigrateFresh(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	openStore(t, dsn, schema)
	openStore(t, dsn, schema) // nothing left to apply
	wantVersions(t, versions(t, dsn, schema), len(knownMigrations()))
	var tables []string
	queryRow(t, dsn, `SELECT array_agg(table_name::text ORDER BY table_name) FROM information_schema.tables WHERE table_schema = $1`, []any{&tables}, schema)
	want := []string{"agents", "champions", "changes", "decisions", "deliveries", "delivery_attempts", "enqueue_keys", "event_seq", "events", "idempotency_keys", "leaders", "notifiers", "schema_migrations", "sessions", "studies", "study_changes", "study_finish", "tokens", "trial_intermediate", "trial_logs", "trials", "triggers"}
	if strings.Join(tables, " ") != strings.Join(want, " ") {
		t.Errorf("schema %s has tables %v, want %v", schema, tables, want)
	}
}

// TestMigrateCreatesSchema: Open with Options.Schema creates a missing schema.
func TestMigrateCreatesSchema(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	execSQL(t, dsn, fmt.Sprintf(`DROP SCHEMA %q`, schema)) // newSchema's cleanup drops it again
	openStore(t, dsn, schema)
	wantVersions(t, versions(t, dsn, schema), len(knownMigrations()))
}

// TestMigrateConcurrent: concurrent Migrate calls apply each version once, and all succeed.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	dsn = withParam(t, dsn, "search_path", schema)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() { errs <- Migrate(t.Context(), dsn) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Migrate error: %v", err)
		}
	}
	wantVersions(t, versions(t, dsn, schema), len(knownMigrations()))
}

// TestMigrateNewerRefused: a database migrated by a newer retune is refused, by Open,
// OpenOptions with NoMigrate and Migrate alike, with an error that says what to do.
func TestMigrateNewerRefused(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	openStore(t, dsn, schema)
	known := len(knownMigrations())
	execSQL(t, dsn, fmt.Sprintf(`INSERT INTO %q.schema_migrations (version) VALUES ($1)`, schema), known+5)
	want := fmt.Sprintf("database schema version %d is newer than this retune (knows up to %d): upgrade retune", known+5, known)
	for name, open := range map[string]func() error{
		"Open":      func() error { return second(OpenOptions(t.Context(), dsn, Options{Schema: schema})) },
		"NoMigrate": func() error { return second(OpenOptions(t.Context(), dsn, Options{Schema: schema, NoMigrate: true})) },
		"Migrate":   func() error { return Migrate(t.Context(), withParam(t, dsn, "search_path", schema)) },
	} {
		err := open()
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, retune.ErrConflict) {
			t.Errorf("%s on a newer schema: error = %v, want ErrConflict saying %q", name, err, want)
		}
	}
}

func second(s *Store, err error) error {
	if s != nil {
		_ = s.Close()
	}
	return err
}

// TestNoMigrateNeedsCurrentSchema: with NoMigrate, Open refuses a schema that is behind.
func TestNoMigrateNeedsCurrentSchema(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	_, err := OpenOptions(t.Context(), dsn, Options{Schema: schema, NoMigrate: true})
	want := fmt.Sprintf("database schema version 0 is older than this retune (needs %d)", len(knownMigrations()))
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, retune.ErrConflict) {
		t.Errorf("OpenOptions(NoMigrate) on an empty schema: error = %v, want ErrConflict saying %q", err, want)
	}
	openStore(t, dsn, schema)
	s, err := OpenOptions(t.Context(), dsn, Options{Schema: schema, NoMigrate: true})
	if err != nil {
		t.Fatalf("OpenOptions(NoMigrate) on a migrated schema: %v", err)
	}
	_ = s.Close()
}

// TestMigrationErrorNamesVersion: a failing migration is named in the error and rolled
// back whole; the versions before it stay applied.
func TestMigrationErrorNamesVersion(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	ms := []migration{
		{1, "one", `CREATE TABLE one (a int)`},
		{2, "two", `CREATE TABLE two (a int); SELECT no_such_column FROM one`},
	}
	pool, err := newPool(t.Context(), dsn, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	err = migrate(t.Context(), pool, schema, ms)
	if err == nil || !strings.Contains(err.Error(), "migration 2 (two)") {
		t.Fatalf("migrate error = %v, want one naming migration 2 (two)", err)
	}
	wantVersions(t, versions(t, dsn, schema), 1)
	var two bool
	queryRow(t, dsn, `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'two')`, []any{&two}, schema)
	if two {
		t.Error("the failed migration's table exists: want its transaction rolled back")
	}
}

// TestMigrateNeedsSchema: with no schema to migrate into, the error says so.
func TestMigrateNeedsSchema(t *testing.T) {
	t.Parallel()
	dsn := testDSN(t)
	err := Migrate(context.Background(), withParam(t, dsn, "search_path", "retune_no_such_schema"))
	if err == nil || !strings.Contains(err.Error(), "no schema of the search_path exists") || !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Migrate(missing schema) error = %v, want ErrInvalid saying no schema exists", err)
	}
}
