package dbenc_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/dbenc"
)

func TestFinishInterrupted(t *testing.T) {
	t.Parallel()
	sys := map[string]any{"runner": "pid 7"}
	req := retune.FinishRequest{State: retune.TrialFail, Interrupted: true, SystemAttrs: sys}
	enc, err := dbenc.Finish(req)
	if err != nil {
		t.Fatalf("Finish(interrupted) error: %v", err)
	}
	if got := string(enc.SystemAttrs["interrupted"]); got != "true" {
		t.Errorf(`Finish(interrupted) system attribute "interrupted" = %q, want "true"`, got)
	}
	if _, ok := sys["interrupted"]; ok {
		t.Errorf("Finish(interrupted) modified the request's system attributes: %v", sys)
	}
}

func TestFinishInvalid(t *testing.T) {
	t.Parallel()
	for _, req := range []retune.FinishRequest{
		{State: retune.TrialRunning},
		{State: retune.TrialComplete},
		{State: retune.TrialPruned, Interrupted: true},
		{State: retune.TrialFail, Params: map[string]any{"x": 1.0}},
		{State: retune.TrialFail, UserAttrs: map[string]any{"": 1}},
	} {
		if _, err := dbenc.Finish(req); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("Finish(%+v) error = %v, want ErrInvalid", req, err)
		}
	}
}

func TestEnqueuedNamesTheTrial(t *testing.T) {
	t.Parallel()
	_, err := dbenc.Enqueued(retune.EnqueueRequest{Params: []map[string]any{{"x": 1}, {" bad": 2}}})
	if !errors.Is(err, retune.ErrInvalid) || !strings.HasPrefix(err.Error(), "enqueue trial 1: ") {
		t.Errorf("Enqueued(second trial invalid) error = %v, want ErrInvalid naming trial 1", err)
	}
}
