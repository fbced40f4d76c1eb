package dbenc_test

import (
	"encoding/json"
	"errors"
	"reflect"
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

// TestWholeIsMergedPatch: a patch merged key by key into an empty object, as the storages
// merge it, is the whole encoding, byte for byte.
func TestWholeIsMergedPatch(t *testing.T) {
	t.Parallel()
	params := map[string]any{"x": 0.5, "n": int64(3), "c": "b", "a<&>": 1e-300, "z": 2.5}
	dists := map[string]retune.Distribution{
		"x": retune.FloatDistribution{Low: 0, High: 1}, "n": retune.IntDistribution{Low: 0, High: 9, Step: 1},
		"c": retune.CategoricalDistribution{Choices: []any{"a", "b"}}, "a<&>": retune.FloatDistribution{Low: 0, High: 1},
		"z": retune.FloatDistribution{Low: 0, High: 5, Step: 0.5},
	}
	enc, err := dbenc.Finish(retune.FinishRequest{State: retune.TrialFail, Params: params, Distributions: dists})
	if err != nil {
		t.Fatal(err)
	}
	patch, err := enc.Params()
	if err != nil {
		t.Fatal(err)
	}
	merged, err := json.Marshal(patch)
	if err != nil {
		t.Fatal(err)
	}
	if string(merged) != string(enc.Whole.JSON) {
		t.Errorf("patch merged into {} = %s, want the whole encoding %s", merged, enc.Whole.JSON)
	}
	got, gotDists, err := retune.UnmarshalParams(enc.Whole.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, enc.Whole.Values) || !reflect.DeepEqual(gotDists, enc.Whole.Distributions) {
		t.Errorf("decoded whole = %v %v, want %v %v", enc.Whole.Values, enc.Whole.Distributions, got, gotDists)
	}
}
