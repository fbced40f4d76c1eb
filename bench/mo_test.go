package bench

import (
	"context"
	"testing"
)

func TestMultiObjective(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, p := range []string{"zdt1", "zdt2"} {
		res, err := MultiObjective(ctx, p, "nsga2", 120, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hypervolume) != 2 || res.Mode != "mo" || res.Problem != p || res.TrialMs <= 0 {
			t.Fatalf("MultiObjective(%s) = %+v, want 2 hypervolumes", p, res)
		}
		// Random points of ZDT already dominate most of the box; nothing can exceed the
		// true front's 11.77 (ZDT1) or 11.43 (ZDT2).
		for i, hv := range res.Hypervolume {
			if hv < 7 || hv > 11.77 {
				t.Errorf("%s seed %d: hypervolume %v, want in [7, 11.77]", p, i, hv)
			}
		}
	}
	// The same seed gives the same run.
	a, _ := MultiObjective(ctx, "zdt1", "random", 50, 1)
	b, _ := MultiObjective(ctx, "zdt1", "random", 50, 1)
	if a.Hypervolume[0] != b.Hypervolume[0] {
		t.Errorf("two runs of seed 0: hypervolumes %v and %v, want equal", a.Hypervolume, b.Hypervolume)
	}
	if _, err := MultiObjective(ctx, "zdt3", "nsga2", 10, 1); err == nil {
		t.Errorf("MultiObjective(zdt3): no error")
	}
	if _, err := MultiObjective(ctx, "zdt1", "nope", 10, 1); err == nil {
		t.Errorf("MultiObjective with an unknown sampler: no error")
	}
}
