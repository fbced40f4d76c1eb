package retune_test

import (
	"context"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/random"
)

// annotating samples at random and tells which trial number it saw.
type annotating struct{ retune.Sampler }

func (annotating) Annotate(req *retune.SampleRequest) map[string]any {
	return map[string]any{"test.saw": req.Trial.Number, "test.history": len(req.Trials)}
}

// TestAnnotator: an Annotator's description of each search trial is stored among the
// trial's system attributes.
func TestAnnotator(t *testing.T) {
	s := newStudy(t, retune.Config{Sampler: annotating{random.New()}})
	_, err := s.Optimize(t.Context(), func(_ context.Context, tr *retune.Trial) (float64, error) {
		return tr.Float("x", 0, 1), nil
	}, retune.OptimizeOptions{Trials: 3})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := s.Trials(t.Context())
	if err != nil || len(ts) != 3 {
		t.Fatalf("trials = %d, %v", len(ts), err)
	}
	for i, tr := range ts {
		if tr.SystemAttrs["test.saw"] != float64(tr.Number) || tr.SystemAttrs["test.history"] != float64(i) {
			t.Errorf("trial %d system attrs %v, want test.saw %d and test.history %d", tr.Number, tr.SystemAttrs, tr.Number, i)
		}
	}
}
