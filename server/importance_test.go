package server_test

import (
	"context"
	"math"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/random"
)

// TestImportanceRoute: the importance of a study's params over HTTP, by both methods; the
// answer is kept until the study has grown by 10%, then computed again.
func TestImportanceRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	s, err := retune.NewStudy(ctx, retune.Config{Name: "imp", Storage: e.store, Sampler: random.New(), Seed: 5, Metrics: []string{"loss"}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(n int) {
		t.Helper()
		_, err := s.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
			a, b := tr.Float("a", 0, 1), tr.Float("b", 0, 1)
			return 10*a + 0.1*b, nil // a matters, b hardly
		}, retune.OptimizeOptions{Trials: n})
		if err != nil {
			t.Fatal(err)
		}
	}
	run(60)
	type answer struct {
		ComputedAt int `json:"computed_at_trials"`
		Method     string
		Used       int
		Params     []struct {
			Name       string
			Importance float64
		}
	}
	get := func(query string) answer {
		t.Helper()
		r := e.do("read", "GET", "/api/v1/studies/imp/importance"+query, nil)
		if r.status != 200 {
			t.Fatalf("GET importance%s = %d %s", query, r.status, r.body)
		}
		var a answer
		r.decode(t, &a)
		return a
	}
	for _, q := range []string{"", "?method=ped-anova&objective=loss"} {
		a := get(q)
		if a.Used != 60 || a.ComputedAt != 60 || len(a.Params) != 2 || a.Params[0].Name != "a" || a.Params[0].Importance < 0.8 ||
			math.Abs(a.Params[0].Importance+a.Params[1].Importance-1) > 1e-9 {
			t.Errorf("importance%s = %+v, want a first over 60 trials", q, a)
		}
	}
	run(5) // 65 < 66: the kept answer stands
	if a := get(""); a.ComputedAt != 60 || a.Used != 60 {
		t.Errorf("after 5 more trials: computed at %d with %d used, want the answer kept from 60", a.ComputedAt, a.Used)
	}
	run(1) // 66: 10% more
	if a := get(""); a.ComputedAt != 66 || a.Used != 66 {
		t.Errorf("after 10%% more: computed at %d with %d used, want 66", a.ComputedAt, a.Used)
	}
	for q, want := range map[string]int{"?method=shap": 400, "?objective=speed": 400, "?seed=1": 400} {
		if r := e.do("read", "GET", "/api/v1/studies/imp/importance"+q, nil); r.status != want {
			t.Errorf("GET importance%s = %d %s, want %d", q, r.status, r.body, want)
		}
	}
	if r := e.do("read", "GET", "/api/v1/studies/nosuch/importance", nil); r.status != 404 {
		t.Errorf("importance of no study = %d, want 404", r.status)
	}
}
