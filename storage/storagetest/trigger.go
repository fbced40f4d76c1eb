package storagetest

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/a6b40afc/retune"
)

// The trigger tests: requests to re-tune a model (retune.TriggerStore).

func triggerStore(t *testing.T, s retune.Storage) retune.TriggerStore {
	t.Helper()
	ts, ok := s.(retune.TriggerStore)
	if !ok {
		t.Fatalf("%T does not implement retune.TriggerStore", s)
	}
	return ts
}

// testTriggersOnce: triggers come back oldest first with their reasons, per model, and
// of concurrent consumers on several handles each pending trigger reaches exactly one.
func testTriggersOnce(t *testing.T, open Opener) {
	handles := []retune.TriggerStore{triggerStore(t, open(t)), triggerStore(t, open(t)), triggerStore(t, open(t))}
	ts := handles[0]
	ctx := ctxT(t)
	if got, err := ts.ConsumeTriggers(ctx, "m"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("ConsumeTriggers(none pending) = %#v, %v, want an empty list", got, err)
	}
	first, err := ts.RequestRetune(ctx, "m", "drift: PSI 0.31 on age")
	if err != nil {
		t.Fatal(err)
	}
	second, err := handles[1].RequestRetune(ctx, "m", "")
	if err != nil || second <= first {
		t.Fatalf("RequestRetune (second) = %d, %v, want an ID above %d", second, err, first)
	}
	if _, err := ts.RequestRetune(ctx, "other", "elsewhere"); err != nil {
		t.Fatal(err)
	}
	got, err := handles[2].ConsumeTriggers(ctx, "m")
	if err != nil || len(got) != 2 || got[0].ID != first || got[1].ID != second ||
		got[0].Model != "m" || got[0].Reason != "drift: PSI 0.31 on age" || got[1].Reason != "" ||
		got[0].Created.IsZero() || got[0].Consumed.Before(got[0].Created) || got[0].Created.Location().String() != "UTC" {
		t.Fatalf("ConsumeTriggers(m) = %+v, %v, want triggers %d and %d with their reasons and times", got, err, first, second)
	}
	if got, err := ts.ConsumeTriggers(ctx, "m"); err != nil || len(got) != 0 {
		t.Errorf("ConsumeTriggers(m) again = %+v, %v, want none: each trigger is consumed once", got, err)
	}
	if got, err := ts.ConsumeTriggers(ctx, "other"); err != nil || len(got) != 1 || got[0].Reason != "elsewhere" {
		t.Errorf("ConsumeTriggers(other) = %+v, %v, want its one trigger", got, err)
	}
	// Concurrent requests and consumers: every trigger is consumed exactly once.
	const rounds, workers = 5, 6
	seen := map[int64]int{}
	var mu sync.Mutex
	for range rounds {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				h := handles[w%len(handles)]
				if w%2 == 0 {
					if _, err := h.RequestRetune(ctx, "race", "r"); err != nil {
						t.Errorf("RequestRetune: %v", err)
					}
				}
				got, err := h.ConsumeTriggers(ctx, "race")
				if err != nil {
					t.Errorf("ConsumeTriggers: %v", err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, tr := range got {
					seen[tr.ID]++
				}
			})
		}
		wg.Wait()
	}
	rest, err := ts.ConsumeTriggers(ctx, "race")
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range rest {
		seen[tr.ID]++
	}
	if len(seen) != rounds*workers/2 {
		t.Errorf("%d distinct triggers consumed, want %d", len(seen), rounds*workers/2)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("trigger %d consumed %d times, want once", id, n)
		}
	}
}

// testTriggerInvalid: bad models and reasons are rejected with ErrInvalid and stored not.
func testTriggerInvalid(t *testing.T, open Opener) {
	ts := triggerStore(t, open(t))
	ctx := ctxT(t)
	for _, tc := range []struct{ name, model, reason, says string }{
		{"empty model", "", "r", "model name is empty"},
		{"spaced model", " m", "r", "leading or trailing space"},
		{"long reason", "m", strings.Repeat("r", retune.MaxReasonLen+1), "want at most"},
		{"NUL in reason", "m", "a\x00b", "without NUL"},
		{"invalid UTF-8 reason", "m", "\xff", "valid UTF-8"},
	} {
		if _, err := ts.RequestRetune(ctx, tc.model, tc.reason); !errors.Is(err, retune.ErrInvalid) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("RequestRetune(%s) error = %v, want ErrInvalid saying %q", tc.name, err, tc.says)
		}
	}
	if got, err := ts.ConsumeTriggers(ctx, "m"); err != nil || len(got) != 0 {
		t.Errorf("ConsumeTriggers after rejected requests = %+v, %v, want none", got, err)
	}
}
