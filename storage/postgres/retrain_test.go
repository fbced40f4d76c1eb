package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/jackc/pgx/v5"
)

// TestMigrateFromV1: a schema at version 1, with a study in it, migrates to SchemaVersion
// on Open; the study is kept and the retraining and trigger tables work.
func TestMigrateFromV1(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	pool, err := newPool(t.Context(), dsn, schema)
	if err != nil {
		t.Fatal(err)
	}
	err = migrate(t.Context(), pool, schema, knownMigrations()[:1])
	pool.Close()
	if err != nil {
		t.Fatalf("migrate to version 1: %v", err)
	}
	execSQL(t, dsn, fmt.Sprintf(`INSERT INTO %q.studies (name, directions, model, seed, sampler, pruner, created_at)
		VALUES ('old', '{0}', 'old', 1, '{"name":"random"}', '{"name":""}', now())`, schema))
	_, err = OpenOptions(t.Context(), dsn, Options{Schema: schema, NoMigrate: true})
	if !errors.Is(err, retune.ErrConflict) || !strings.Contains(err.Error(), fmt.Sprintf("schema version 1 is older than this retune (needs %d)", SchemaVersion)) {
		t.Errorf("OpenOptions(version 1, NoMigrate) error = %v, want ErrConflict saying version 1 is older", err)
	}
	s := openStore(t, dsn, schema)
	wantVersions(t, versions(t, dsn, schema), SchemaVersion)
	st, err := s.Study(t.Context(), "old")
	if err != nil || st.Model != "old" {
		t.Fatalf("Study(old) after migrating = %+v, %v, want it kept", st, err)
	}
	// Its finish counter moved to study_finish (version 5): trials still finish in order.
	for want := int64(1); want <= 2; want++ {
		ft, err := s.CreateTrial(t.Context(), retune.CreateTrialRequest{StudyID: st.ID, Holder: "h", LeaseTTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Finish(t.Context(), retune.FinishRequest{Ref: retune.TrialRef{StudyID: st.ID, Number: ft.Number, Epoch: ft.Lease.Epoch},
			State: retune.TrialComplete, Values: []float64{1}}); err != nil {
			t.Fatalf("Finish after migrating: %v", err)
		}
		if _, cursor, err := s.FinishedSince(t.Context(), st.ID, 0); err != nil || cursor != want {
			t.Errorf("FinishedSince after %d finishes: cursor %d, %v", want, cursor, err)
		}
	}
	c, err := s.PromoteChampion(t.Context(), retune.Champion{Model: "old", Source: "manual", Trial: -1}, 0,
		[]retune.Event{{ID: "e1", Type: retune.TypeChampionPromoted, Source: "retune/model/old"}})
	if err != nil || c.Version != 1 {
		t.Fatalf("PromoteChampion after migrating = %+v, %v, want version 1", c, err)
	}
	if evs, err := s.Events(t.Context(), 0, 0); err != nil || len(evs) != 1 || evs[0].ID != "e1" || evs[0].Seq != 1 {
		t.Errorf("Events after migrating = %+v, %v, want e1 at seq 1", evs, err)
	}
	if id, err := s.RequestRetune(t.Context(), "old", "drift"); err != nil || id != 1 {
		t.Errorf("RequestRetune after migrating = %d, %v, want 1", id, err)
	}
}

// TestEventsWaitForEarlierEvents: events take their seq under event_seq's row lock, so
// while another transaction holds it a promotion waits, and Events shows nothing in
// between; the outbox then reads in commit order.
func TestEventsWaitForEarlierEvents(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	s := openStore(t, dsn, schema)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, withParam(t, dsn, "search_path", schema))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	held, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback(context.Background()) //nolint:errcheck // committed below
	if _, err := held.Exec(ctx, `WITH n AS (UPDATE event_seq SET last = last + 1 RETURNING last)
		INSERT INTO events (seq, id, type, source, subject, time) SELECT n.last, 'held', 't', 's', '', now() FROM n`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.PromoteChampion(context.Background(), retune.Champion{Model: "m", Source: "manual", Trial: -1}, 0,
			[]retune.Event{{ID: "promoted", Type: retune.TypeChampionPromoted, Source: "retune/model/m"}})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("PromoteChampion returned (%v) while another transaction held the event sequence", err)
	case <-time.After(300 * time.Millisecond):
	}
	if evs, err := s.Events(ctx, 0, 0); err != nil || len(evs) != 0 {
		t.Errorf("Events during the held write = %+v, %v, want none", evs, err)
	}
	if err := held.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("PromoteChampion error: %v", err)
	}
	evs, err := s.Events(ctx, 0, 0)
	if err != nil || len(evs) != 2 || evs[0].ID != "held" || evs[0].Seq != 1 || evs[1].ID != "promoted" || evs[1].Seq != 2 {
		t.Errorf("Events after = %+v, %v, want held at seq 1, then promoted at seq 2", evs, err)
	}
}
