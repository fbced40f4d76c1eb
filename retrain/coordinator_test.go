package retrain_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain"
	"github.com/a6b40afc/retune/sampler/random"
)

// tuned runs a study whose objective is x plus seeded noise (maximized) and returns it.
func tuned(t *testing.T, store retune.Storage, name string, shift float64) *retune.Study {
	t.Helper()
	ctx := context.Background()
	s, err := retune.NewStudy(ctx, retune.Config{Name: name, Model: "m", Direction: retune.Maximize, Storage: store, Sampler: random.New(), Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
		x := tr.Float("x", 0, 1)
		tr.SetMetric("latency_ms", 10+x)
		return x + shift, nil
	}, retune.OptimizeOptions{Trials: 20})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// repeat measures params with noise from the repeat's seed: x + shift for the candidate.
func repeat(shift float64) retrain.RepeatFunc {
	return func(ctx context.Context, tr *retune.Trial, params map[string]any, i int, seed uint64) ([]float64, error) {
		x, _ := params["x"].(float64)
		if n, ok := params["x"].(json.Number); ok {
			x, _ = n.Float64()
		}
		r := rand.New(rand.NewPCG(seed, uint64(tr.Number())))
		tr.SetMetric("latency_ms", 10+x)
		return []float64{x + shift + 0.01*r.NormFloat64()}, nil
	}
}

func store(t *testing.T) retrain.Store {
	t.Helper()
	return retune.NewMemoryStorage().(retrain.Store)
}

func TestDecideFirstAndPoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store(t)
	s := tuned(t, st, "first", 0)
	c := &retrain.Coordinator{Store: st}
	d, err := c.Decide(ctx, s, "run-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Improved || d.ChampionVersion != 0 || !strings.Contains(d.Reason, "no champion") || d.ID == 0 {
		t.Fatalf("first decision = %+v, want improved against no champion", d)
	}
	events, _ := st.Events(ctx, 0, 0)
	if len(events) != 1 || events[0].Type != retune.TypeRetrainingRequired {
		t.Fatalf("events = %+v, want one retraining.required", events)
	}
	again, err := c.Decide(ctx, s, "run-1", nil)
	if err != nil || again.ID != d.ID {
		t.Errorf("deciding the same run again = %+v, %v; want the stored decision %d", again, err, d.ID)
	}
	champ, err := retrain.Promote(ctx, st, d.ID, retrain.PromoteOptions{Values: []float64{0.9}, Metrics: map[string]float64{"latency_ms": 10.5}})
	if err != nil || champ.Version != 1 || champ.Source != "trial" || champ.Trial != d.Candidate {
		t.Fatalf("Promote = %+v, %v", champ, err)
	}
	if _, err := retrain.Promote(ctx, st, d.ID, retrain.PromoteOptions{}); !errors.Is(err, retune.ErrVersionConflict) {
		t.Errorf("promoting the same decision twice: %v, want ErrVersionConflict", err)
	}
	// A second study, no better than the champion's recorded 0.9 + margin: point comparison says no.
	c.Policy = retrain.Policy{MinImprovement: 0.2}
	s2 := tuned(t, st, "second", 0)
	d2, err := c.Decide(ctx, s2, "run-2", nil)
	if err != nil || d2.Improved || d2.ChampionVersion != 1 || d2.Evidence.Method != "point" || !strings.Contains(d2.Reason, "point comparison") {
		t.Errorf("second decision = %+v, %v; want not improved by point comparison against version 1", d2, err)
	}
	if events, _ := st.Events(ctx, 0, 0); len(events) != 2 {
		t.Errorf("%d events, want 2 (required, promoted): a decision that found nothing announces nothing", len(events))
	}
}

func TestDecideConfirmed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store(t)
	if _, err := retrain.SetChampion(ctx, st, "m", map[string]any{"x": 0.5}, []float64{0.5}, map[string]float64{"latency_ms": 10.5}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		shift      float64 // how much better the candidate truly is
		guard      float64
		want       bool
		wantReason string
	}{
		{"real improvement", 1, 1, true, "confirmed"},
		{"noise only", 0, 1, false, "not confirmed"},
		{"guardrail", 1, 0.01, false, "guardrail latency_ms"},
	}
	for i, tt := range tests {
		s := tuned(t, st, tt.name, 0)
		c := &retrain.Coordinator{Store: st, Policy: retrain.Policy{Repeats: 5, Guardrails: []retrain.Guardrail{{Metric: "latency_ms", MaxRegression: tt.guard}}}}
		best, _ := s.Best(ctx)
		run := func(ctx context.Context, tr *retune.Trial, params map[string]any, r int, seed uint64) ([]float64, error) {
			if x, ok := params["x"].(float64); ok && x == best.Params["x"] { // the candidate
				return repeat(tt.shift-x+0.5)(ctx, tr, params, r, seed) // true value 0.5 + shift
			}
			return repeat(0)(ctx, tr, params, r, seed) // the champion: 0.5
		}
		d, err := c.Decide(ctx, s, "run-"+tt.name, run)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if d.Improved != tt.want || !strings.Contains(d.Reason, tt.wantReason) || d.Evidence.Method != "paired" || d.Evidence.Repeats != 5 {
			t.Errorf("%s: decision %v %q (method %s), want %v containing %q", tt.name, d.Improved, d.Reason, d.Evidence.Method, tt.want, tt.wantReason)
		}
		if e := d.Evidence; e.Analysis != retrain.AnalysisBoth || e.PairedBound == nil || e.UnpairedBound == nil || *e.LowerBound != max(*e.PairedBound, *e.UnpairedBound) {
			t.Errorf("%s: evidence analysis %q, bounds %v %v %v: want both, the lower bound the larger", tt.name, e.Analysis, e.PairedBound, e.UnpairedBound, e.LowerBound)
		}
		ts, _ := s.Trials(ctx)
		confirms := 0
		for _, ft := range ts {
			if ft.Kind == retune.KindConfirm {
				confirms++
			}
		}
		if confirms != 10 {
			t.Errorf("%s: %d confirmation trials, want 10", tt.name, confirms)
		}
		if b, _ := s.Best(ctx); b.Number != best.Number {
			t.Errorf("%s: confirmation trials changed Best from %d to %d", tt.name, best.Number, b.Number)
		}
		_ = i
	}
}

// Two promoters of one decision: exactly one wins the compare-and-set.
func TestPromoteRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store(t)
	s := tuned(t, st, "race", 0)
	d, err := (&retrain.Coordinator{Store: st}).Decide(ctx, s, "r", nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for range 8 {
		wg.Go(func() {
			_, err := retrain.Promote(ctx, st, d.ID, retrain.PromoteOptions{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, retune.ErrVersionConflict):
				conflicts++
			default:
				t.Errorf("Promote: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != 7 {
		t.Errorf("%d wins and %d conflicts, want 1 and 7", wins, conflicts)
	}
	hist, _ := st.ChampionHistory(ctx, "m")
	if len(hist) != 1 {
		t.Errorf("history has %d versions, want 1", len(hist))
	}
}

// A decision records its policy's cooldown; promoting it within the cooldown of the
// current champion is refused unless forced, and a model without a champion has none.
func TestPromoteCooldown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store(t)
	c := &retrain.Coordinator{Store: st, Policy: retrain.Policy{Cooldown: time.Hour}}
	d1, err := c.Decide(ctx, tuned(t, st, "cool-1", 0), "run-1", nil)
	if err != nil || d1.Evidence.Cooldown != time.Hour {
		t.Fatalf("Decide = %+v, %v, want the cooldown in its evidence", d1, err)
	}
	if _, err := retrain.Promote(ctx, st, d1.ID, retrain.PromoteOptions{Values: []float64{-1}}); err != nil {
		t.Fatalf("first promotion: %v", err)
	}
	d2, err := c.Decide(ctx, tuned(t, st, "cool-2", 0), "run-2", nil)
	if err != nil || !d2.Improved {
		t.Fatalf("second decision = %+v, %v, want improved", d2, err)
	}
	_, err = retrain.Promote(ctx, st, d2.ID, retrain.PromoteOptions{})
	if !errors.Is(err, retrain.ErrCooldown) || !errors.Is(err, retune.ErrConflict) || errors.Is(err, retune.ErrVersionConflict) {
		t.Errorf("promotion within the cooldown: %v, want ErrCooldown and ErrConflict", err)
	}
	if champ, err := retrain.Promote(ctx, st, d2.ID, retrain.PromoteOptions{Force: true}); err != nil || champ.Version != 2 {
		t.Errorf("forced promotion = %+v, %v, want version 2", champ, err)
	}
	if err := (retrain.Policy{Cooldown: -time.Second}).Validate(); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Validate(negative cooldown) = %v, want ErrInvalid", err)
	}
}

// The study's observers hear of an improved decision; a decision that found nothing
// tells them nothing.
func TestDecideNotifiesObservers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store(t)
	s := tuned(t, st, "obs", 0)
	var got []int
	var mu sync.Mutex
	s.AddObserver(retune.ObserverFunc(func(ctx context.Context, best retune.FrozenTrial) error {
		mu.Lock()
		got = append(got, best.Number)
		mu.Unlock()
		return errors.New("pager down")
	}))
	out, err := (&retrain.Coordinator{Store: st}).Decide(ctx, s, "r1", nil)
	if err != nil || !out.Improved || len(got) != 1 || got[0] != out.Candidate || len(out.ObserverErrors) != 1 {
		t.Fatalf("improved decision: %+v, %v; observers saw %v", out, err, got)
	}
	if _, err := retrain.Promote(ctx, st, out.ID, retrain.PromoteOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err = (&retrain.Coordinator{Store: st, Policy: retrain.Policy{MinImprovement: 10}}).Decide(ctx, s, "r2", nil)
	if err != nil || out.Improved || len(got) != 1 {
		t.Errorf("unimproved decision: %+v, %v; observers saw %v", out, err, got)
	}
}

// TestDecideRepeatsCoalesce: deciding again for the same candidate params against the same
// champion version, within repeat_after, records a repeat of the first decision and emits
// no event; after repeat_after, after a promotion, or for other params, it announces.
func TestDecideRepeatsCoalesce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store(t)
	var shift time.Duration
	c := &retrain.Coordinator{Store: st, Policy: retrain.Policy{RepeatAfter: 6 * time.Hour},
		NowFunc: func() time.Time { return time.Now().Add(shift) }}
	events := func() int {
		t.Helper()
		evs, err := st.Events(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Type == retune.TypeRetrainingRequired {
				n++
			}
		}
		return n
	}
	// Scheduled studies: the same seed and objective give the same best params.
	first, err := c.Decide(ctx, tuned(t, st, "sched-1", 0), "run-1", nil)
	if err != nil || !first.Improved || first.Evidence.RepeatOf != 0 || events() != 1 {
		t.Fatalf("first decision = %+v, %v (%d events)", first, err, events())
	}
	again, err := c.Decide(ctx, tuned(t, st, "sched-2", 0), "run-2", nil)
	if err != nil || !again.Improved || again.Evidence.RepeatOf != first.ID || again.ID == first.ID || events() != 1 ||
		!strings.Contains(again.Reason, "no new event") {
		t.Fatalf("repeat decision = %+v, %v (%d events); want a repeat of %d and no new event", again, err, events(), first.ID)
	}
	stored, err := st.Decision(ctx, again.ID)
	if err != nil || stored.Evidence.RepeatOf != first.ID {
		t.Errorf("stored repeat = %+v, %v", stored.Evidence, err)
	}
	shift = 7 * time.Hour // past repeat_after: announce again, and that becomes the announcement
	late, err := c.Decide(ctx, tuned(t, st, "sched-3", 0), "run-3", nil)
	if err != nil || late.Evidence.RepeatOf != 0 || events() != 2 {
		t.Fatalf("decision after repeat_after = %+v, %v (%d events), want announced", late, err, events())
	}
	shift = 0                                                               // storage stamped that announcement with the real clock: measure from it
	other, err := c.Decide(ctx, tuned(t, st, "sched-4", 0.5), "run-4", nil) // same params, a better value: still the same candidate
	if err != nil || other.Evidence.RepeatOf != late.ID {
		t.Fatalf("same params again = %+v, %v, want a repeat of %d", other, err, late.ID)
	}
	if _, err := retrain.Promote(ctx, st, late.ID, retrain.PromoteOptions{}); err != nil {
		t.Fatal(err)
	}
	// After the promotion the champion version changed: the next improvement is news again.
	after, err := c.Decide(ctx, tuned(t, st, "sched-5", 2), "run-5", nil)
	if err != nil || after.ChampionVersion != 1 || after.Evidence.RepeatOf != 0 {
		t.Fatalf("decision against the promoted champion = %+v, %v", after, err)
	}
}
