package postgres

import (
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// TestChangeCounterTakenAtCommit: a trial's change records are written when its
// transaction commits (migration 18), so a transaction that changed a trial and has not
// committed does not hold the study's change counter: a create of another trial commits
// meanwhile, and the records come in commit order. Had the create needed the counter, it
// would wait for the open transaction, which commits only after it: lock_timeout turns that
// endless wait into an error. The timeout is generous because a commit also takes the
// server-wide lock that orders NOTIFY queues, which other tests' commits hold for moments.
func TestChangeCounterTakenAtCommit(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	s := openStore(t, dsn, schema)
	study := newStudyIn(t, s, "deferred", retune.Budget{}).ID
	ctx := t.Context()
	first, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: study, Holder: "a", LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_, head, err := s.Changes(ctx, study, 0, 100)
	if err != nil {
		t.Fatal(err)
	}

	open, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = open.Rollback(ctx) }()
	if _, err := open.Exec(ctx, `UPDATE trials SET user_attrs = '{"a":1}' WHERE study_id = $1 AND number = $2`, study, first.Number); err != nil {
		t.Fatal(err)
	}

	other, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Rollback(ctx) }()
	if _, err := other.Exec(ctx, `SET LOCAL lock_timeout = '10s'`); err != nil {
		t.Fatal(err)
	}
	var number int
	if err := other.QueryRow(ctx, `SELECT number FROM retune_create_trial($1, 0::smallint, 1, false, '{}', '{}', 'b', 60000000, 42)`, study).Scan(&number); err != nil {
		t.Fatalf("create beside an uncommitted trial update: %v", err)
	}
	if err := other.Commit(ctx); err != nil {
		t.Fatalf("commit of a create beside an uncommitted trial update: %v (waited for the change counter?)", err)
	}
	if err := open.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	changes, _, err := s.Changes(ctx, study, head, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Fatalf("changes after %d: %+v, want 2", head, changes)
	}
	if c := changes[0]; c.Kind != retune.ChangeTrialCreated || c.Trial != number || c.State != retune.TrialRunning {
		t.Errorf("first change = %+v, want trial %d created, running (it committed first)", c, number)
	}
	if c := changes[1]; c.Kind != retune.ChangeTrialUpdated || c.Trial != first.Number || c.Seq != changes[0].Seq+1 {
		t.Errorf("second change = %+v, want trial %d updated, seq %d", c, first.Number, changes[0].Seq+1)
	}
}
