package sqlite

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// TestMigrateV1ToV2: a database at version 1, with a study in it, migrates to version 2
// on Open; the study is kept and the retraining tables work.
func TestMigrateV1ToV2(t *testing.T) {
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
	if !errors.Is(err, retune.ErrConflict) || !strings.Contains(err.Error(), "schema version 1 is older than this retune (wants 2)") {
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
	if len(versions) != 2 || versions[0] != 1 || versions[1] != 2 {
		t.Errorf("schema_migrations versions = %v, want [1 2]", versions)
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
}
