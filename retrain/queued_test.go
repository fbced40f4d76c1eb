package retrain_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain"
)

// TestDecideQueued: the repeats are enqueued once however often DecideQueued is called;
// it stays pending until every repeat has finished; a repeat that failed makes the
// decision "no decision possible"; without a champion it decides at once on points.
func TestDecideQueued(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store(t)
	first := tuned(t, st, "q0", 0)
	c := &retrain.Coordinator{Store: st, Policy: retrain.Policy{Repeats: 2}}
	out, pending, err := c.DecideQueued(ctx, first, "run-0")
	if err != nil || pending || !out.Improved || out.Evidence.Method != "point" {
		t.Fatalf("no champion: %+v pending %v, %v; want an improved point decision at once", out.Decision, pending, err)
	}
	if _, err := st.PromoteChampion(ctx, retune.Champion{Model: "m", Source: "manual", Trial: -1, Params: map[string]any{"x": 0.5}, Values: []float64{0.5}}, 0, nil); err != nil {
		t.Fatal(err)
	}
	s := tuned(t, st, "q1", 0.1)
	for range 2 {
		if _, pending, err := c.DecideQueued(ctx, s, "run-1"); err != nil || !pending {
			t.Fatalf("DecideQueued before the repeats ran: pending %v, %v", pending, err)
		}
	}
	for i := range 4 {
		tr, err := s.AskConfirm(ctx)
		if err != nil {
			t.Fatalf("repeat %d: %v", i, err)
		}
		if _, pending, _ := c.DecideQueued(ctx, s, "run-1"); !pending {
			t.Fatal("decided while a repeat runs")
		}
		if i == 3 {
			if err := s.TellState(ctx, tr, retune.TrialFail, errors.New("out of memory")); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := s.Tell(ctx, tr, 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AskConfirm(ctx); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("a fifth repeat: %v, want ErrNotFound (4 were enqueued, once)", err)
	}
	out, pending, err = c.DecideQueued(ctx, s, "run-1")
	if err != nil || pending || out.Improved || !strings.Contains(out.Reason, "out of memory") {
		t.Errorf("after a failed repeat: %+v pending %v, %v; want no decision possible, naming the failure", out.Decision, pending, err)
	}
}
