package server

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// TestRetriesOfBothWays: a trial page finds the trials that re-run a trial the same way
// whether it reads every trial (small studies) or looks among the finished and running
// ones (large studies): a running re-run, then a finished one.
func TestRetriesOfBothWays(t *testing.T) {
	store := retune.NewMemoryStorage()
	s, err := New(Options{Storage: store, NoAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec, err := store.CreateStudy(ctx, retune.StudyRecord{Name: "r", Directions: []retune.Direction{retune.Minimize},
		Sampler: retune.Spec{Name: "random"}, Budget: retune.Budget{Retries: 2}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := store.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: rec.ID, Kind: retune.KindSearch, Holder: "w", LeaseTTL: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		n, err := store.ExpireLeases(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lease did not expire")
		}
		time.Sleep(time.Millisecond)
	}
	retry, err := store.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: rec.ID, Kind: retune.KindSearch, Holder: "w", LeaseTTL: time.Hour, ClaimOnly: true})
	if err != nil || retry.RetryOf != first.Number {
		t.Fatalf("claiming the re-run = %+v, %v", retry, err)
	}
	req := httptest.NewRequest("GET", "/studies/r/trials/0", nil)
	check := func(when string) {
		t.Helper()
		for _, scan := range []int{10_000, 0} {
			lineageScan = scan
			got, err := s.retriesOf(req, rec, first.Number)
			if err != nil || !slices.Equal(got, []int{retry.Number}) {
				t.Errorf("%s, reading every trial up to %d: retries of %d = %v, %v; want [%d]", when, scan, first.Number, got, err, retry.Number)
			}
		}
		lineageScan = 10_000
	}
	check("re-run running")
	if _, err := store.Finish(ctx, retune.FinishRequest{Ref: retune.TrialRef{StudyID: rec.ID, Number: retry.Number, Epoch: retry.Lease.Epoch},
		State: retune.TrialComplete, Values: []float64{1}}); err != nil {
		t.Fatal(err)
	}
	check("re-run finished")
}
