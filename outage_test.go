package retune_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/a6b40afc/retune"
)

// flakyStore is a memory storage whose lease renewals fail while down, and which says it
// retries for retryFor (a retune.Retrier); it records the time Finish was given.
type flakyStore struct {
	retune.Storage
	down       atomic.Bool
	retryFor   time.Duration
	finishTime atomic.Int64 // time.Duration until the deadline of the last Finish
}

var errDown = errors.New("database down")

func (f *flakyStore) RetryFor() time.Duration { return f.retryFor }

func (f *flakyStore) Heartbeat(ctx context.Context, ref retune.TrialRef, ttl time.Duration) (time.Time, error) {
	if f.down.Load() {
		return time.Time{}, errDown
	}
	return f.Storage.Heartbeat(ctx, ref, ttl)
}

func (f *flakyStore) Update(ctx context.Context, upd retune.TrialUpdate) error {
	if f.down.Load() {
		return errDown
	}
	return f.Storage.Update(ctx, upd)
}

func (f *flakyStore) Finish(ctx context.Context, req retune.FinishRequest) (retune.FrozenTrial, error) {
	if dl, ok := ctx.Deadline(); ok {
		f.finishTime.Store(int64(time.Until(dl)))
	}
	return f.Storage.Finish(ctx, req)
}

// TestOutageKeepsOwnLeases: renewals that fail for longer than the lease TTL leave the
// trial running; the next Ask renews this study's own leases before it expires stale
// ones, so the trial still finishes. Time is synctest's.
func TestOutageKeepsOwnLeases(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		store := &flakyStore{Storage: retune.NewMemoryStorage()}
		s, err := retune.NewStudy(ctx, retune.Config{Name: "outage", Storage: store, LeaseTTL: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		first, err := s.Ask(ctx)
		if err != nil {
			t.Fatal(err)
		}
		store.down.Store(true)
		time.Sleep(10 * time.Second) // renewals fail; the stored lease expires
		store.down.Store(false)
		second, err := s.Ask(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Tell(ctx, first, 1); err != nil {
			t.Errorf("Tell(trial %d) after the outage: %v, want its result stored", first.Number(), err)
		}
		if err := s.Tell(ctx, second, 2); err != nil {
			t.Fatal(err)
		}
		for _, ft := range trials(t, s) {
			if ft.State != retune.TrialComplete {
				t.Errorf("trial %d is %v (%s), want COMPLETE", ft.Number, ft.State, ft.Reason)
			}
		}
	})
}

// TestFinishWaitsForRetrier: the write of a finished trial gets the storage's retry window
// on top of the library's own time.
func TestFinishWaitsForRetrier(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &flakyStore{Storage: retune.NewMemoryStorage(), retryFor: 10 * time.Minute}
	s, err := retune.NewStudy(ctx, retune.Config{Name: "finish", Storage: store})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := s.Ask(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tell(ctx, tr, 1); err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(store.finishTime.Load()); got <= store.retryFor {
		t.Errorf("Finish had %v, want more than the storage's retry window %v", got, store.retryFor)
	}
}
