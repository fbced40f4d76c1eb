package retune_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
)

// TestReopen: a trial asked and detached by one handle is reported on, renewed and told
// by another, fenced by its lease epoch, and counts against the budget exactly once.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	upper := 10.0
	open := func() *retune.Study {
		s, err := retune.NewStudy(ctx, retune.Config{
			Name: "remote", Storage: store, Seed: 1, Budget: retune.Budget{Trials: 2},
			Pruner: pruner.NewThreshold(pruner.ThresholdOptions{Upper: &upper}),
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(), open()
	tr, err := a.Ask(ctx)
	if err != nil {
		t.Fatal(err)
	}
	x := tr.Float("x", 0, 1)
	lease := tr.Lease()
	if err := tr.Detach(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Reopen(ctx, tr.Number(), lease.Epoch+1); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("Reopen(stale epoch) error = %v, want ErrConflict", err)
	}
	if _, err := b.Reopen(ctx, 99, lease.Epoch); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Reopen(no such trial) error = %v, want ErrNotFound", err)
	}
	if _, err := b.Heartbeat(ctx, tr.Number(), lease.Epoch); err != nil {
		t.Errorf("Heartbeat = %v", err)
	}
	r, err := b.Reopen(ctx, tr.Number(), lease.Epoch)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Float("x", 0, 1); got != x {
		t.Errorf("reopened Float(x) = %v, want the stored %v", got, x)
	}
	if err := r.Report(ctx, 0, 1); err != nil {
		t.Errorf("Report(1) = %v, want no prune", err)
	}
	r2, err := b.Reopen(ctx, tr.Number(), lease.Epoch)
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Report(ctx, 1, 20); !errors.Is(err, retune.ErrPruned) {
		t.Errorf("Report(20) = %v, want ErrPruned", err)
	}
	if err := b.TellState(ctx, r2, retune.TrialPruned, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Tell(ctx, r, 1); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("Tell on a finished trial = %v, want ErrConflict", err)
	}
	ft, err := b.Storage().Trial(ctx, a.Record().ID, tr.Number())
	if err != nil || ft.State != retune.TrialPruned || len(ft.Intermediate) != 2 || ft.Values[0] != 20 {
		t.Errorf("trial = %+v, %v, want PRUNED with 2 intermediate values and value 20", ft, err)
	}
	if _, err := b.Heartbeat(ctx, tr.Number(), lease.Epoch); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("Heartbeat(finished) = %v, want ErrConflict", err)
	}
	// A reopened trial draws a new param (define-by-run over requests) and keeps it;
	// storing it is fenced by the epoch.
	tr2, err := b.Ask(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr2.Detach(ctx); err != nil {
		t.Fatal(err)
	}
	r3, err := a.Reopen(ctx, tr2.Number(), tr2.Lease().Epoch)
	if err != nil {
		t.Fatal(err)
	}
	y := r3.Float("y", 0, 1)
	if err := r3.Flush(ctx); err != nil || r3.Err() != nil || y < 0 || y > 1 {
		t.Fatalf("reopened Float(y) = %v, flush %v, err %v; want a value in [0, 1] stored", y, err, r3.Err())
	}
	r4, err := b.Reopen(ctx, tr2.Number(), tr2.Lease().Epoch)
	if err != nil {
		t.Fatal(err)
	}
	if got := r4.Float("y", 0, 1); got != y {
		t.Errorf("Float(y) reopened again = %v, want the stored %v", got, y)
	}
	if err := a.Tell(ctx, r4, 1); err != nil {
		t.Errorf("Tell after a new suggest = %v", err)
	}
	r3.Int("z", 0, 9)
	if err := r3.Flush(ctx); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("Flush of a new param on a finished trial = %v, want ErrConflict", err)
	}
	if _, err := a.Ask(ctx); !errors.Is(err, retune.ErrBudgetExhausted) {
		t.Errorf("third Ask = %v, want ErrBudgetExhausted (budget 2)", err)
	}
}

// TestTellRemote: a trial asked in one place is told by number and epoch in one write;
// a NaN fails it as Tell does, a stale epoch is a conflict, PRUNED goes through Reopen.
func TestTellRemote(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStudy(t, retune.Config{Metrics: []string{"loss"}})
	ask := func() (int, int64) { return askDetached(t, s) }
	n, ep := ask()
	ft, err := s.TellRemote(ctx, n, ep, retune.TrialComplete, []float64{0.5}, map[string]float64{"acc": 0.9}, nil)
	if err != nil || ft.State != retune.TrialComplete || ft.Values[0] != 0.5 || ft.Metrics["acc"] != 0.9 || ft.Params["x"] == nil {
		t.Fatalf("TellRemote = %+v, %v, want COMPLETE 0.5 with acc and its params", ft, err)
	}
	if _, err := s.TellRemote(ctx, n, ep, retune.TrialComplete, []float64{0.5}, nil, nil); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("telling it again: %v, want ErrConflict", err)
	}
	n, ep = ask()
	if _, err := s.TellRemote(ctx, n, ep+1, retune.TrialComplete, []float64{1}, nil, nil); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("stale epoch: %v, want ErrConflict", err)
	}
	if ft, err := s.TellRemote(ctx, n, ep, retune.TrialComplete, []float64{math.NaN()}, nil, nil); err != nil || ft.State != retune.TrialFail {
		t.Errorf("NaN: %+v, %v, want FAIL", ft, err)
	}
	n, ep = ask()
	if _, err := s.TellRemote(ctx, n, ep, retune.TrialPruned, []float64{1, 2}, nil, nil); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("PRUNED with two values for one objective: %v, want ErrInvalid", err)
	}
	if ft, err := s.TellRemote(ctx, n, ep, retune.TrialFail, nil, nil, nil); err != nil || ft.State != retune.TrialFail || ft.Reason != "failed" {
		t.Errorf("FAIL: %+v, %v", ft, err)
	}
}

// askDetached asks a trial of s, draws x and detaches it, as a service does between
// requests; it returns the trial's number and lease epoch.
func askDetached(t *testing.T, s *retune.Study) (int, int64) {
	t.Helper()
	ctx := context.Background()
	tr, err := s.Ask(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tr.Float("x", 0, 1)
	if err := tr.Detach(ctx); err != nil {
		t.Fatal(err)
	}
	return tr.Number(), tr.Lease().Epoch
}

// TestLateTell: a tell whose lease expired while the trainer ran on is not lost. Before its
// re-run starts it revives the trial (which the study then reads as COMPLETE, once); after,
// it is kept as a late record that no best or sampler sees.
func TestLateTell(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStudy(t, retune.Config{Name: "late", Budget: retune.Budget{Trials: 4, Retries: 1}, LeaseTTL: 20 * time.Millisecond})
	ask := func() (int, int64) { return askDetached(t, s) }
	expire := func(n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			ft, err := s.Storage().Trial(ctx, s.Record().ID, n)
			if err != nil {
				t.Fatal(err)
			}
			if ft.State == retune.TrialFail {
				return
			}
			if _, err := s.Storage().ExpireLeases(ctx, s.Record().ID); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("trial %d never expired", n)
	}
	n, ep := ask()
	expire(n)
	if _, err := s.Best(ctx); !errors.Is(err, retune.ErrNotFound) { // the study reads the expiry
		t.Fatalf("Best before the late tell: %v, want ErrNotFound", err)
	}
	ft, err := s.TellRemote(ctx, n, ep, retune.TrialComplete, []float64{0.25}, nil, nil)
	if err != nil || ft.Number != n || ft.State != retune.TrialComplete || !ft.Late() {
		t.Fatalf("late TellRemote = #%d %v late=%v, %v; want trial %d revived COMPLETE", ft.Number, ft.State, ft.Late(), err, n)
	}
	best, err := s.Best(ctx)
	if err != nil || best.Number != n {
		t.Fatalf("Best after the revival = #%d, %v; want %d", best.Number, err, n)
	}

	// Expire the next trial and start its re-run: the late result becomes a record.
	m, ep2 := ask()
	expire(m)
	rerun, err := s.Ask(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rerun.Fixed()["x"] == nil {
		t.Fatalf("trial %d is not the re-run of %d", rerun.Number(), m)
	}
	rec, err := s.TellRemote(ctx, m, ep2, retune.TrialComplete, []float64{0.01}, nil, nil)
	if of, ok := rec.LateOf(); err != nil || rec.Kind != retune.KindLate || !ok || of != m {
		t.Fatalf("late TellRemote after the re-run started = %v late_of %d, %v; want a late record of %d", rec.Kind, of, err, m)
	}
	if best, err := s.Best(ctx); err != nil || best.Number != n {
		t.Errorf("Best = #%d, %v; the late record (0.01) must not count, want %d", best.Number, err, n)
	}
	if err := s.Tell(ctx, rerun, 0.5); err != nil {
		t.Fatal(err)
	}
}
