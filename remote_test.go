package retune_test

import (
	"context"
	"errors"
	"testing"

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
