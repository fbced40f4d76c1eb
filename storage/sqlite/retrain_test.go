package sqlite

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// TestMigrateFromV1: a database at version 1, with a study in it, migrates to
// SchemaVersion on Open; the study is kept and the retraining and trigger tables work.
func TestMigrateFromV1(t *testing.T) {
	ctx := t.Context()
	path := newDB(t)
	w, err := openWriter(ctx, path, Options{BusyTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, w, migrations[:1], true); err != nil {
		w.Close()
		t.Fatalf("migrate to version 1: %v", err)
	}
	_, err = w.ExecContext(ctx, `INSERT INTO studies (name, directions, metrics, model, seed, sampler, pruner,
		budget_trials, budget_retries, user_attrs, system_attrs, created)
		VALUES ('old', '["minimize"]', '[]', 'old', 1, '{"name":"random"}', '{"name":""}', 0, 0, '{}', '{}', 0)`)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenOptions(ctx, path, Options{NoMigrate: true})
	if !errors.Is(err, retune.ErrConflict) || !strings.Contains(err.Error(), fmt.Sprintf("schema version 1 is older than this retune (wants %d)", SchemaVersion)) {
		t.Errorf("OpenOptions(version 1, NoMigrate) error = %v, want ErrConflict saying version 1 is older", err)
	}
	s := openT(t, path, Options{})
	var versions []int
	rows, err := s.r.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	rows.Close()
	if len(versions) != SchemaVersion || versions[0] != 1 || versions[SchemaVersion-1] != SchemaVersion {
		t.Errorf("schema_migrations versions = %v, want 1 to %d", versions, SchemaVersion)
	}
	if st, err := s.Study(ctx, "old"); err != nil || st.Model != "old" {
		t.Errorf("Study(old) after migrating = %+v, %v, want it kept", st, err)
	}
	c, err := s.PromoteChampion(ctx, retune.Champion{Model: "old", Source: "manual", Trial: -1}, 0,
		[]retune.Event{{ID: "e1", Type: retune.TypeChampionPromoted, Source: "retune/model/old"}})
	if err != nil || c.Version != 1 {
		t.Fatalf("PromoteChampion after migrating = %+v, %v, want version 1", c, err)
	}
	if evs, err := s.Events(ctx, 0, 0); err != nil || len(evs) != 1 || evs[0].ID != "e1" {
		t.Errorf("Events after migrating = %+v, %v, want e1", evs, err)
	}
	if id, err := s.RequestRetune(ctx, "old", "drift"); err != nil || id != 1 {
		t.Errorf("RequestRetune after migrating = %d, %v, want 1", id, err)
	}
}
