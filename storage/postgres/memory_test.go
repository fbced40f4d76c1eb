package postgres

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/storage/memory"
)

// TestMatchesMemory runs one script of writes against the memory storage and this one and
// compares what they store, field by field (times only for being set or not).
func TestMatchesMemory(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	stores := map[string]retune.Storage{"memory": memory.New(), "postgres": openStore(t, dsn, schema)}
	trials := map[string][]retune.FrozenTrial{}
	sums := map[string][]retune.StudySummary{}
	for name, s := range stores {
		trials[name], sums[name] = runScript(t, s)
	}
	want, got := trials["memory"], trials["postgres"]
	if len(got) != len(want) {
		t.Fatalf("postgres has %d trials, memory %d", len(got), len(want))
	}
	for i := range want {
		w, g := normalize(want[i]), normalize(got[i])
		if !reflect.DeepEqual(g, w) {
			t.Errorf("trial %d:\npostgres %#v\nmemory   %#v", i, g, w)
		}
	}
	for i := range sums["memory"] {
		w, g := sums["memory"][i], sums["postgres"][i]
		w.ID, w.Created, g.ID, g.Created = 0, time.Time{}, 0, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("study summary %d:\npostgres %#v\nmemory   %#v", i, g, w)
		}
	}
}

// normalize replaces times by whether they are set, NaN by a marker and fixed params by
// their text, so that reflect.DeepEqual compares the rest.
func normalize(ft retune.FrozenTrial) retune.FrozenTrial {
	set := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return time.Unix(1, 0).UTC()
	}
	ft.Start, ft.End, ft.Lease.Expires = set(ft.Start), set(ft.End), set(ft.Lease.Expires)
	nan := func(v []float64) []float64 {
		if v == nil {
			return nil
		}
		out := make([]float64, len(v))
		for i, x := range v {
			if math.IsNaN(x) {
				x = -12345
			}
			out[i] = x
		}
		return out
	}
	ft.Values = nan(ft.Values)
	if ft.Fixed != nil {
		// The memory storage keeps a lease-expiry retry's fixed params as Go values
		// (float64, int64) where every other path, and every database, decodes them as
		// json.Number; compare their text.
		fixed := make(map[string]any, len(ft.Fixed))
		for k, v := range ft.Fixed {
			fixed[k] = fmt.Sprint(v)
		}
		ft.Fixed = fixed
	}
	if ft.Intermediate != nil {
		inter := make(map[int64][]float64, len(ft.Intermediate))
		for k, v := range ft.Intermediate {
			inter[k] = nan(v)
		}
		ft.Intermediate = inter
	}
	if ft.Metrics != nil {
		m := make(map[string]float64, len(ft.Metrics))
		for k, v := range ft.Metrics {
			if math.IsNaN(v) {
				v = -12345
			}
			m[k] = v
		}
		ft.Metrics = m
	}
	return ft
}

func runScript(t *testing.T, s retune.Storage) ([]retune.FrozenTrial, []retune.StudySummary) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.CreateStudy(ctx, retune.StudyRecord{
		Name: "script", Directions: []retune.Direction{retune.Maximize}, Metrics: []string{"acc"},
		Budget: retune.Budget{Trials: 50, Retries: 2}, UserAttrs: map[string]any{"k": nil, "v": 1.5},
	})
	must(err)
	_, err = s.CreateStudy(ctx, retune.StudyRecord{Name: "other", Directions: []retune.Direction{retune.Minimize, retune.Minimize}})
	must(err)
	_, err = s.Enqueue(ctx, retune.EnqueueRequest{StudyID: st.ID, Params: []map[string]any{{"x": 0.5, "n": int64(1) << 60}, nil}, OnceKey: "g"})
	must(err)
	_, err = s.Enqueue(ctx, retune.EnqueueRequest{StudyID: st.ID, Params: []map[string]any{{"x": 0.7}}, OnceKey: "g"})
	must(err)
	_, err = s.Enqueue(ctx, retune.EnqueueRequest{StudyID: st.ID, Kind: retune.KindConfirm, Params: []map[string]any{{"c": "b"}}})
	must(err)
	dists := map[string]retune.Distribution{
		"x": retune.FloatDistribution{Low: 0, High: 1},
		"n": retune.IntDistribution{Low: 0, High: math.MaxInt64},
		"c": retune.CategoricalDistribution{Choices: []any{"a", "b", 3.0, true}},
	}
	var running []retune.FrozenTrial
	for i := range 6 {
		req := retune.CreateTrialRequest{StudyID: st.ID, Holder: fmt.Sprint("h", i), LeaseTTL: time.Minute, System: map[string]any{"i": i, "gone": nil}}
		if i == 3 {
			req.Kind, req.Fixed = retune.KindConfirm, map[string]any{"c": true}
		}
		if i == 4 {
			req.LeaseTTL = -time.Second // expired at once
		}
		ft, err := s.CreateTrial(ctx, req)
		must(err)
		running = append(running, ft)
	}
	ref := func(ft retune.FrozenTrial) retune.TrialRef {
		return retune.TrialRef{StudyID: st.ID, Number: ft.Number, Epoch: ft.Lease.Epoch}
	}
	for i, ft := range running {
		must(s.Update(ctx, retune.TrialUpdate{Ref: ref(ft), Params: map[string]any{"x": 0.25 * float64(i%4), "c": 3.0}, Distributions: dists,
			UserAttrs: map[string]any{"a": []any{1.0, "x"}, "b": true}, SystemAttrs: map[string]any{"i": nil}}))
		must(s.Update(ctx, retune.TrialUpdate{Ref: ref(ft), Params: map[string]any{"n": int64(i) << 58}, Distributions: dists, UserAttrs: map[string]any{"b": nil}}))
		must(s.Report(ctx, ref(ft), int64(i), []float64{float64(i), math.NaN()}))
		must(s.Report(ctx, ref(ft), 0, []float64{math.Inf(1)}))
	}
	_, err = s.Finish(ctx, retune.FinishRequest{Ref: ref(running[0]), State: retune.TrialComplete, Values: []float64{2},
		Metrics: map[string]float64{"lat": 3, "bad": math.NaN()}, Params: map[string]any{"c": "a"}, Distributions: dists,
		UserAttrs: map[string]any{"z": "end"}, SystemAttrs: map[string]any{"s": 1}})
	must(err)
	_, err = s.Finish(ctx, retune.FinishRequest{Ref: ref(running[1]), State: retune.TrialPruned, Values: []float64{math.NaN()}})
	must(err)
	_, err = s.Finish(ctx, retune.FinishRequest{Ref: ref(running[2]), State: retune.TrialFail, Reason: "boom"})
	must(err)
	_, err = s.Finish(ctx, retune.FinishRequest{Ref: ref(running[5]), State: retune.TrialComplete, Values: []float64{math.Inf(1)}})
	must(err)
	n, err := s.ExpireLeases(ctx, st.ID)
	must(err)
	if n != 1 {
		t.Errorf("ExpireLeases = %d, want 1", n)
	}
	// Claim the retry with an expired lease again: a retry of a retry, then none.
	for range 3 {
		if _, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Holder: "r", LeaseTTL: -time.Second, ClaimOnly: true}); err != nil {
			break
		}
		_, err = s.ExpireLeases(ctx, st.ID)
		must(err)
	}
	for {
		_, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: st.ID, Kind: retune.KindConfirm, Holder: "c", LeaseTTL: time.Minute, ClaimOnly: true})
		if err != nil {
			break
		}
	}
	must(s.UpdateStudy(ctx, st.ID, retune.StudyUpdate{UserAttrs: map[string]any{"v": nil, "w": "x"}, SystemAttrs: map[string]any{"s": map[string]any{"q": 1}}}))
	all, err := s.Trials(ctx, st.ID)
	must(err)
	fs, cur, err := s.FinishedSince(ctx, st.ID, 0)
	must(err)
	if int(cur) != len(fs) {
		t.Errorf("FinishedSince cursor %d after %d trials", cur, len(fs))
	}
	all = append(all, fs...) // finish order must match too
	sums, err := s.Studies(ctx)
	must(err)
	return all, sums
}
