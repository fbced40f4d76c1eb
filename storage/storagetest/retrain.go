package storagetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// The retraining tests: champions, decisions and the event outbox (retune.RetrainStore).

func retrainStore(t *testing.T, s retune.Storage) retune.RetrainStore {
	t.Helper()
	rs, ok := s.(retune.RetrainStore)
	if !ok {
		t.Fatalf("%T does not implement retune.RetrainStore", s)
	}
	return rs
}

func trialChampion(model string, trial int) retune.Champion {
	return retune.Champion{Model: model, Params: map[string]any{"x": trial}, Values: []float64{float64(trial)},
		Source: "trial", Study: "s", Trial: trial}
}

func event(id string) retune.Event {
	return retune.Event{ID: id, Type: retune.TypeChampionPromoted, Source: "retune/test"}
}

func decision(run string, version int64, candidate int) retune.Decision {
	return retune.Decision{Model: "m", Study: "s", RunID: run, ChampionVersion: version, Candidate: candidate,
		Reason: "better", Evidence: retune.Evidence{Method: "point", Direction: "minimize", Candidate: []float64{1}, Champion: []float64{2}, Improvement: 1}}
}

// eventIDs returns the IDs of every stored event, in outbox order.
func eventIDs(t *testing.T, rs retune.RetrainStore) []string {
	t.Helper()
	evs, err := rs.Events(ctxT(t), 0, 0)
	if err != nil {
		t.Fatalf("Events(0, 0) error: %v", err)
	}
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
		if i > 0 && e.Seq <= evs[i-1].Seq {
			t.Errorf("Events(0, 0): seq %d after %d, want increasing", e.Seq, evs[i-1].Seq)
		}
	}
	return ids
}

// testChampionCAS: of concurrent promoters with the same expected version exactly one
// wins; the losers get ErrVersionConflict and write nothing, their events included.
func testChampionCAS(t *testing.T, open Opener) {
	handles := []retune.RetrainStore{retrainStore(t, open(t)), retrainStore(t, open(t)), retrainStore(t, open(t))}
	rs := handles[0]
	ctx := ctxT(t)
	if _, err := rs.Champion(ctx, "m"); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Champion(no champion) error = %v, want ErrNotFound", err)
	}
	if h, err := rs.ChampionHistory(ctx, "m"); err != nil || len(h) != 0 {
		t.Errorf("ChampionHistory(no champion) = %v, %v, want empty", h, err)
	}
	const rounds, workers = 4, 6
	var wantEvents []string
	for expect := range int64(rounds) {
		type result struct {
			w   int
			c   retune.Champion
			err error
		}
		results := make(chan result, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				c, err := handles[w%len(handles)].PromoteChampion(t.Context(), trialChampion("m", w), expect,
					[]retune.Event{event(fmt.Sprintf("promote-%d-%d", expect, w))})
				results <- result{w, c, err}
			})
		}
		wg.Wait()
		close(results)
		winners := 0
		for r := range results {
			if r.err == nil {
				winners++
				wantEvents = append(wantEvents, fmt.Sprintf("promote-%d-%d", expect, r.w))
				if r.c.Version != expect+1 || r.c.Trial != r.w || r.c.Created.IsZero() || r.c.Created.Location() != time.UTC {
					t.Errorf("round %d: PromoteChampion = %+v, want version %d, trial %d, a UTC created time", expect, r.c, expect+1, r.w)
				}
				continue
			}
			if !errors.Is(r.err, retune.ErrVersionConflict) || !errors.Is(r.err, retune.ErrConflict) {
				t.Errorf("round %d: losing PromoteChampion error = %v, want ErrVersionConflict and ErrConflict", expect, r.err)
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d of %d promoters with expected version %d won, want exactly 1", expect, winners, workers, expect)
		}
	}
	hist, err := handles[1].ChampionHistory(ctx, "m")
	if err != nil || len(hist) != rounds {
		t.Fatalf("ChampionHistory = %d versions, %v, want %d", len(hist), err, rounds)
	}
	for i, c := range hist {
		if c.Version != int64(i+1) || c.Model != "m" || (i > 0 && c.Created.Before(hist[i-1].Created)) {
			t.Errorf("ChampionHistory()[%d] = version %d model %q created %v, want version %d of m, oldest first", i, c.Version, c.Model, c.Created, i+1)
		}
	}
	cur, err := handles[2].Champion(ctx, "m")
	if err != nil || cur.Version != rounds || !cur.Created.Equal(hist[rounds-1].Created) || cur.Trial != hist[rounds-1].Trial {
		t.Errorf("Champion(m) = %+v, %v, want the newest version %d", cur, err, rounds)
	}
	if got := eventIDs(t, rs); !reflect.DeepEqual(got, wantEvents) {
		t.Errorf("events = %v, want the winners' only, in order: %v", got, wantEvents)
	}
	for _, expect := range []int64{0, rounds - 1, rounds + 1, 100} {
		_, err := rs.PromoteChampion(ctx, trialChampion("m", 9), expect, []retune.Event{event(fmt.Sprint("stale-", expect))})
		if !errors.Is(err, retune.ErrVersionConflict) || !errors.Is(err, retune.ErrConflict) {
			t.Errorf("PromoteChampion(expect %d, current %d) error = %v, want ErrVersionConflict and ErrConflict", expect, rounds, err)
		}
	}
	if got := eventIDs(t, rs); len(got) != len(wantEvents) {
		t.Errorf("%d events after stale promotions, want %d", len(got), len(wantEvents))
	}
	if h, _ := rs.ChampionHistory(ctx, "m"); len(h) != rounds {
		t.Errorf("%d versions after stale promotions, want %d", len(h), rounds)
	}
	other, err := rs.PromoteChampion(ctx, trialChampion("other", 1), 0, nil)
	if err != nil || other.Version != 1 {
		t.Errorf("PromoteChampion(another model, expect 0) = version %d, %v, want 1", other.Version, err)
	}
}

// testDecisionOnce: of concurrent recorders of one (RunID, ChampionVersion, Candidate)
// exactly one stores it; the others get the stored decision and ErrConflict and write
// nothing. Decisions lists newest first.
func testDecisionOnce(t *testing.T, open Opener) {
	handles := []retune.RetrainStore{retrainStore(t, open(t)), retrainStore(t, open(t))}
	rs := handles[0]
	ctx := ctxT(t)
	const workers = 8
	type result struct {
		w   int
		d   retune.Decision
		err error
	}
	results := make(chan result, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			d := decision("run-1", 3, 7)
			d.Reason = fmt.Sprint("worker ", w)
			got, err := handles[w%2].RecordDecision(t.Context(), d, []retune.Event{event(fmt.Sprint("decided-", w))})
			results <- result{w, got, err}
		})
	}
	wg.Wait()
	close(results)
	var won []result
	var lost []result
	for r := range results {
		switch {
		case r.err == nil:
			won = append(won, r)
		case errors.Is(r.err, retune.ErrConflict):
			lost = append(lost, r)
		default:
			t.Errorf("RecordDecision error = %v, want nil or ErrConflict", r.err)
		}
	}
	if len(won) != 1 {
		t.Fatalf("%d of %d recorders of one decision stored it, want exactly 1", len(won), workers)
	}
	win := won[0]
	if win.d.ID == 0 || win.d.Created.IsZero() || win.d.Created.Location() != time.UTC || win.d.Reason != fmt.Sprint("worker ", win.w) {
		t.Errorf("stored decision = %+v, want an ID, a UTC time and worker %d's reason", win.d, win.w)
	}
	for _, r := range lost {
		if r.d.ID != win.d.ID || r.d.Reason != win.d.Reason || !r.d.Created.Equal(win.d.Created) {
			t.Errorf("worker %d's duplicate returned %+v, want the stored decision %+v", r.w, r.d, win.d)
		}
	}
	if got, want := eventIDs(t, rs), []string{fmt.Sprint("decided-", win.w)}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %v, want the winner's only: %v", got, want)
	}
	// Each part of the key makes another decision.
	d2, err := rs.RecordDecision(ctx, decision("run-1", 4, 7), nil)
	if err != nil {
		t.Fatal(err)
	}
	d3, err := rs.RecordDecision(ctx, decision("run-1", 3, 8), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := decision("run-2", 3, 7)
	n.Model = "n"
	d4, err := rs.RecordDecision(ctx, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int64]bool{win.d.ID: true, d2.ID: true, d3.ID: true, d4.ID: true}
	if len(ids) != 4 {
		t.Errorf("decision IDs %d, %d, %d, %d: want distinct", win.d.ID, d2.ID, d3.ID, d4.ID)
	}
	listIDs := func(model string) []int64 {
		ds, err := handles[1].Decisions(ctx, model)
		if err != nil {
			t.Fatalf("Decisions(%q) error: %v", model, err)
		}
		out := make([]int64, len(ds))
		for i, d := range ds {
			out[i] = d.ID
		}
		return out
	}
	if got, want := listIDs("m"), []int64{d3.ID, d2.ID, win.d.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("Decisions(m) IDs = %v, want newest first %v", got, want)
	}
	if got, want := listIDs(""), []int64{d4.ID, d3.ID, d2.ID, win.d.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("Decisions(\"\") IDs = %v, want every model's, newest first %v", got, want)
	}
	if got := listIDs("none"); len(got) != 0 {
		t.Errorf("Decisions(none) = %v, want none", got)
	}
	for _, id := range []int64{0, -1, d4.ID + 1000} {
		if _, err := rs.Decision(ctx, id); !errors.Is(err, retune.ErrNotFound) {
			t.Errorf("Decision(%d) error = %v, want ErrNotFound", id, err)
		}
	}
	again, err := handles[1].RecordDecision(ctx, decision("run-1", 3, 7), []retune.Event{event("late")})
	if !errors.Is(err, retune.ErrConflict) || again.ID != win.d.ID {
		t.Errorf("RecordDecision(again) = ID %d, %v, want the stored ID %d and ErrConflict", again.ID, err, win.d.ID)
	}
	if got := eventIDs(t, rs); len(got) != 1 {
		t.Errorf("events after a duplicate decision: %v, want only the first", got)
	}
}

// testEventsOrdered: a reader following the outbox with Events(after) sees every event
// exactly once, in increasing seq, while writers on several handles promote champions
// and record decisions.
func testEventsOrdered(t *testing.T, open Opener) {
	handles := []retune.RetrainStore{retrainStore(t, open(t)), retrainStore(t, open(t))}
	reader := handles[1]
	var after int64
	seen := map[string]int{}
	read := func(limit int) []retune.StoredEvent {
		evs, err := reader.Events(t.Context(), after, limit)
		if err != nil {
			t.Errorf("Events(%d, %d) error: %v", after, limit, err)
			return nil
		}
		if limit > 0 && len(evs) > limit {
			t.Errorf("Events(%d, %d) returned %d events", after, limit, len(evs))
		}
		for _, e := range evs {
			if e.Seq <= after {
				t.Errorf("Events(%d) returned seq %d", after, e.Seq)
			}
			after = e.Seq
			seen[e.ID]++
		}
		return evs
	}
	if evs := read(0); len(evs) != 0 {
		t.Errorf("Events on an empty outbox = %v, want none", evs)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				read(3)
			}
		}
	})
	const workers, each = 4, 10
	var writers sync.WaitGroup
	for w := range workers {
		rs := handles[w%2]
		writers.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				var err error
				if i%2 == 0 {
					_, err = rs.RecordDecision(t.Context(), decision(id, 0, i), []retune.Event{event(id + "-a"), event(id + "-b")})
				} else {
					_, err = rs.PromoteChampion(t.Context(), trialChampion(fmt.Sprint("model-", w), i), int64(i/2), []retune.Event{event(id + "-a"), event(id + "-b")})
				}
				if err != nil {
					t.Errorf("writer %d, write %d: %v", w, i, err)
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	for len(read(5)) > 0 {
	}
	if len(seen) != workers*each*2 {
		t.Errorf("reader saw %d distinct events, want %d", len(seen), workers*each*2)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s seen %d times, want once", id, n)
		}
	}
	if evs := read(0); len(evs) != 0 {
		t.Errorf("Events(after the last) = %d events, want none", len(evs))
	}
	if evs, err := reader.Events(t.Context(), after+100, 0); err != nil || len(evs) != 0 {
		t.Errorf("Events(beyond the end) = %v, %v, want none", evs, err)
	}
	for _, a := range [][2]int{{-1, 0}, {0, -1}} {
		if _, err := reader.Events(t.Context(), int64(a[0]), a[1]); !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("Events(%d, %d) error = %v, want ErrInvalid", a[0], a[1], err)
		}
	}
}

// allSet fails if a field of the struct v is zero: the round trip must cover every field.
func allSet(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() {
			t.Errorf("the test's %s leaves %s unset: set every field so that the round trip covers it", rv.Type().Name(), rv.Type().Field(i).Name)
		}
	}
}

// testRetrainRoundTrip: every field of champions, decisions and events reads back as
// written, from the write and from every read, on every handle.
func testRetrainRoundTrip(t *testing.T, open Opener) {
	rs, other := retrainStore(t, open(t)), retrainStore(t, open(t))
	ctx := ctxT(t)
	lb, pb, ub := -0.25, -0.5, math.Inf(-1)
	full := retune.Evidence{
		Method: "paired", Analysis: "both", Direction: "maximize", PairedBound: &pb, UnpairedBound: &ub, Bound: "unpaired", RepeatOf: 3,
		Candidate: []float64{0.9, 0.1 + 0.2, math.Inf(1)}, Champion: []float64{0.8, 5e-324, math.Inf(-1)},
		Repeats: 3, Differences: []float64{0.1, -1e300, math.Inf(1)}, Improvement: 0.075, LowerBound: &lb,
		Level: 0.95, Margin: 0.005, MinImprovement: 0.001, MinRelative: 0.01, Cooldown: 12*time.Hour + 1500*time.Microsecond,
		Notify: []string{"retrain-hook", "bus"},
		Guardrails: []retune.GuardrailResult{
			{Metric: "latency_ms", Candidate: 12.5, Champion: 11, Regression: 0.1364, MaxRegression: 0.1, OK: true},
			{Metric: "memory \"mb\"", Candidate: math.Inf(1), Champion: -3, Regression: math.Inf(-1), MaxRegression: 0.2},
		},
	}
	allSet(t, full)
	allSet(t, full.Guardrails[0])
	point := retune.Evidence{Method: "point", Direction: "minimize", Candidate: []float64{-1}, Champion: []float64{0}, Improvement: 1, Margin: 0}
	d1 := retune.Decision{Model: "digits", Study: "digits-hgb", RunID: "run-é", ChampionVersion: 2, Candidate: 41,
		Improved: true, Reason: "lower bound 0.01 > margin 0.005\nline two", Evidence: full}
	d2 := retune.Decision{Model: "digits", Study: "digits-hgb", RunID: "run-é", ChampionVersion: 2, Candidate: 42, Evidence: point}

	ev1 := retune.Event{ID: "ev-1", Type: retune.TypeRetrainingRequired, Source: "retune/model/digits", Subject: "study/digits-hgb/trial/41",
		Time: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 2*3600)), Data: json.RawMessage(`{"big": 9007199254740993, "s": "é\u0000", "inf": "inf"}`), Notify: []string{"retrain-hook", "bus.1"}}
	allSet(t, ev1)
	ev2 := retune.Event{ID: "ev-2", Type: retune.TypeStudyCompleted, Source: "retune/study/digits-hgb"}
	before := time.Now().Add(-time.Minute)
	got1, err := rs.RecordDecision(ctx, d1, []retune.Event{ev1, ev2})
	if err != nil {
		t.Fatalf("RecordDecision error: %v", err)
	}
	got2, err := rs.RecordDecision(ctx, d2, nil)
	if err != nil {
		t.Fatalf("RecordDecision error: %v", err)
	}
	checkDecision := func(from string, got, want retune.Decision, stored retune.Decision) {
		t.Helper()
		if got.ID != stored.ID || !got.Created.Equal(stored.Created) || got.Created.Location() != time.UTC {
			t.Errorf("%s: ID %d created %v, want %d and %v in UTC", from, got.ID, got.Created, stored.ID, stored.Created)
		}
		got.ID, got.Created, want.ID, want.Created = 0, time.Time{}, 0, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %+v\nwant %+v", from, got, want)
		}
	}
	if got1.Created.Before(before) || got1.Created.After(time.Now().Add(time.Minute)) {
		t.Errorf("decision created %v, want about now", got1.Created)
	}
	allSet(t, got1)
	checkDecision("RecordDecision(full)", got1, d1, got1)
	checkDecision("RecordDecision(point)", got2, d2, got2)
	for _, s := range []retune.RetrainStore{rs, other} {
		g, err := s.Decision(ctx, got1.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkDecision("Decision(full)", g, d1, got1)
		g, err = s.Decision(ctx, got2.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkDecision("Decision(point)", g, d2, got2)
		list, err := s.Decisions(ctx, "digits")
		if err != nil || len(list) != 2 {
			t.Fatalf("Decisions(digits) = %d, %v, want 2", len(list), err)
		}
		checkDecision("Decisions()[0]", list[0], d2, got2)
		checkDecision("Decisions()[1]", list[1], d1, got1)
	}

	champ := retune.Champion{Model: "digits",
		Params: map[string]any{"big": int64(1<<53 + 1), "neg": int64(-(1 << 62) - 3), "lr": 0.1, "tiny": 5e-324,
			"loss": "log_loss", "warm": true, "layers": []any{64, 32}, "opt": map[string]any{"beta": 0.9}},
		Values:  []float64{math.Inf(-1), math.Inf(1), 0.1 + 0.2},
		Metrics: map[string]float64{"latency_ms": 12.5, "inf": math.Inf(1)},
		Source:  "trial", Study: "digits-hgb", Trial: 41, Decision: got1.ID,
	}
	wantParams := map[string]any{"big": json.Number("9007199254740993"), "neg": json.Number("-4611686018427387907"),
		"lr": json.Number("0.1"), "tiny": json.Number("5e-324"), "loss": "log_loss", "warm": true,
		"layers": []any{json.Number("64"), json.Number("32")}, "opt": map[string]any{"beta": json.Number("0.9")}}
	manual := retune.Champion{Model: "digits", Source: "manual", Trial: -1}
	c1, err := rs.PromoteChampion(ctx, manual, 0, nil)
	if err != nil {
		t.Fatalf("PromoteChampion(manual) error: %v", err)
	}
	ev3 := retune.Event{ID: "ev-3", Type: retune.TypeChampionPromoted, Source: "retune/model/digits", Data: json.RawMessage(`[1, 2.50, null]`)}
	c2, err := rs.PromoteChampion(ctx, champ, 1, []retune.Event{ev3})
	if err != nil {
		t.Fatalf("PromoteChampion(trial) error: %v", err)
	}
	checkChampion := func(from string, got, want, stored retune.Champion) {
		t.Helper()
		if !got.Created.Equal(stored.Created) || got.Created.Location() != time.UTC || got.Created.IsZero() {
			t.Errorf("%s: created %v, want %v in UTC", from, got.Created, stored.Created)
		}
		got.Created, want.Created = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v\nwant %#v", from, got, want)
		}
	}
	wantManual := manual
	wantManual.Version = 1
	wantChamp := champ
	wantChamp.Version, wantChamp.Params = 2, wantParams
	checkChampion("PromoteChampion(manual)", c1, wantManual, c1)
	checkChampion("PromoteChampion(trial)", c2, wantChamp, c2)
	allSet(t, c2)
	for _, s := range []retune.RetrainStore{rs, other} {
		cur, err := s.Champion(ctx, "digits")
		if err != nil {
			t.Fatal(err)
		}
		checkChampion("Champion", cur, wantChamp, c2)
		hist, err := s.ChampionHistory(ctx, "digits")
		if err != nil || len(hist) != 2 {
			t.Fatalf("ChampionHistory = %d, %v, want 2", len(hist), err)
		}
		checkChampion("ChampionHistory()[0]", hist[0], wantManual, c1)
		checkChampion("ChampionHistory()[1]", hist[1], wantChamp, c2)
	}

	for _, s := range []retune.RetrainStore{rs, other} {
		evs, err := s.Events(ctx, 0, 0)
		if err != nil || len(evs) != 3 {
			t.Fatalf("Events = %d, %v, want 3", len(evs), err)
		}
		want1 := ev1
		want1.Time = time.Date(2024, 5, 6, 5, 8, 9, 123456000, time.UTC)
		for i, want := range []retune.Event{want1, ev2, ev3} {
			got := evs[i].Event
			if got.Time.Location() != time.UTC {
				t.Errorf("event %s time %v, want UTC", got.ID, got.Time)
			}
			switch want.ID {
			case "ev-2":
				if !got.Time.Equal(got1.Created) {
					t.Errorf("event %s written without a time has %v, want the decision's time %v", got.ID, got.Time, got1.Created)
				}
				want.Time = got.Time
			case "ev-3":
				if !got.Time.Equal(c2.Created) {
					t.Errorf("event %s written without a time has %v, want the champion's time %v", got.ID, got.Time, c2.Created)
				}
				want.Time = got.Time
			}
			if !got.Time.Equal(want.Time) {
				t.Errorf("event %s time %v, want %v", got.ID, got.Time, want.Time)
			}
			got.Time, want.Time = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Events()[%d] = %+v (data %s)\nwant %+v (data %s)", i, got, got.Data, want, want.Data)
			}
		}
		if evs[0].Seq >= evs[1].Seq || evs[1].Seq >= evs[2].Seq {
			t.Errorf("event seqs %d, %d, %d: want increasing in write order", evs[0].Seq, evs[1].Seq, evs[2].Seq)
		}
		page, err := s.Events(ctx, evs[0].Seq, 1)
		if err != nil || len(page) != 1 || page[0].ID != "ev-2" || page[0].Seq != evs[1].Seq {
			t.Errorf("Events(after the first, 1) = %+v, %v, want ev-2 alone", page, err)
		}
	}

	// Metrics and guardrail numbers keep NaN, as a trial's metrics do.
	nanChamp := trialChampion("nan", 1)
	nanChamp.Metrics = map[string]float64{"m": math.NaN()}
	if _, err := rs.PromoteChampion(ctx, nanChamp, 0, nil); err != nil {
		t.Fatalf("PromoteChampion(NaN metric) error: %v", err)
	}
	if c, err := other.Champion(ctx, "nan"); err != nil || len(c.Metrics) != 1 || !math.IsNaN(c.Metrics["m"]) {
		t.Errorf("Champion(NaN metric) metrics = %v, %v, want m NaN", c.Metrics, err)
	}
	nan := decision("run-nan", 0, 1)
	nan.Evidence.Guardrails = []retune.GuardrailResult{{Metric: "m", Candidate: math.NaN(), Champion: 1, Regression: math.NaN()}}
	gn, err := rs.RecordDecision(ctx, nan, nil)
	if err != nil {
		t.Fatalf("RecordDecision(NaN guardrail) error: %v", err)
	}
	if g, err := other.Decision(ctx, gn.ID); err != nil || len(g.Evidence.Guardrails) != 1 || !math.IsNaN(g.Evidence.Guardrails[0].Candidate) || !math.IsNaN(g.Evidence.Guardrails[0].Regression) {
		t.Errorf("Decision(NaN guardrail) = %+v, %v, want NaN kept", g.Evidence.Guardrails, err)
	}
}

// testRetrainInvalid: invalid champions, decisions and events are rejected with an error
// naming the problem, and write nothing.
func testRetrainInvalid(t *testing.T, open Opener) {
	rs := retrainStore(t, open(t))
	ctx := ctxT(t)
	if _, err := rs.PromoteChampion(ctx, trialChampion("m", 1), 0, []retune.Event{event("taken")}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.RecordDecision(ctx, decision("run", 1, 1), []retune.Event{event("taken-too")}); err != nil {
		t.Fatal(err)
	}
	champ := func(mod func(*retune.Champion)) retune.Champion {
		c := trialChampion("m", 2)
		mod(&c)
		return c
	}
	for _, tc := range []struct {
		name, says string
		c          retune.Champion
		expect     int64
	}{
		{"empty model", "model name is empty", champ(func(c *retune.Champion) { c.Model = "" }), 1},
		{"long model", "want at most", champ(func(c *retune.Champion) { c.Model = strings.Repeat("m", retune.MaxNameLen+1) }), 1},
		{"negative expect", "expected version -1", champ(func(*retune.Champion) {}), -1},
		{"NaN value", "NaN", champ(func(c *retune.Champion) { c.Values = []float64{1, math.NaN()} }), 1},
		{"unencodable param", "not JSON-encodable", champ(func(c *retune.Champion) { c.Params = map[string]any{"f": func() {}} }), 1},
		{"infinite param", "not JSON-encodable", champ(func(c *retune.Champion) { c.Params = map[string]any{"f": math.Inf(1)} }), 1},
		{"bad param name", "param name", champ(func(c *retune.Champion) { c.Params = map[string]any{" x": 1} }), 1},
		{"huge params", "bytes of JSON", champ(func(c *retune.Champion) { c.Params = map[string]any{"x": strings.Repeat("x", retune.MaxAttrValueLen)} }), 1},
		{"bad metric name", "metric name", champ(func(c *retune.Champion) { c.Metrics = map[string]float64{"": 1} }), 1},
		{"unknown source", `want "trial" or "manual"`, champ(func(c *retune.Champion) { c.Source = "auto" }), 1},
		{"trial source without study", "study name is empty", champ(func(c *retune.Champion) { c.Study = "" }), 1},
		{"trial source, negative trial", "trial number -1", champ(func(c *retune.Champion) { c.Trial = -1 }), 1},
		{"manual with a trial", "want -1", champ(func(c *retune.Champion) { c.Source = "manual" }), 1},
		{"negative decision", "decision -2", champ(func(c *retune.Champion) { c.Decision = -2 }), 1},
	} {
		_, err := rs.PromoteChampion(ctx, tc.c, tc.expect, []retune.Event{event("never")})
		if !errors.Is(err, retune.ErrInvalid) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("PromoteChampion(%s) error = %v, want ErrInvalid saying %q", tc.name, err, tc.says)
		}
	}
	dec := func(mod func(*retune.Decision)) retune.Decision {
		d := decision("run-x", 1, 2)
		mod(&d)
		return d
	}
	for _, tc := range []struct {
		name, says string
		d          retune.Decision
	}{
		{"empty model", "model name is empty", dec(func(d *retune.Decision) { d.Model = "" })},
		{"empty study", "study name is empty", dec(func(d *retune.Decision) { d.Study = "" })},
		{"empty run ID", "run ID is empty", dec(func(d *retune.Decision) { d.RunID = "" })},
		{"unprintable run ID", "unprintable", dec(func(d *retune.Decision) { d.RunID = "a\x00b" })},
		{"negative champion version", "champion version -1", dec(func(d *retune.Decision) { d.ChampionVersion = -1 })},
		{"negative candidate", "candidate trial -1", dec(func(d *retune.Decision) { d.Candidate = -1 })},
		{"long reason", "want at most", dec(func(d *retune.Decision) { d.Reason = strings.Repeat("r", retune.MaxReasonLen+1) })},
		{"NUL in reason", "without NUL", dec(func(d *retune.Decision) { d.Reason = "a\x00b" })},
		{"invalid UTF-8 reason", "valid UTF-8", dec(func(d *retune.Decision) { d.Reason = "a\xffb" })},
		{"NaN improvement", "evidence improvement is NaN", dec(func(d *retune.Decision) { d.Evidence.Improvement = math.NaN() })},
		{"NaN candidate value", "evidence candidate is NaN", dec(func(d *retune.Decision) { d.Evidence.Candidate = []float64{math.NaN()} })},
		{"NaN lower bound", "evidence lower_bound is NaN", dec(func(d *retune.Decision) { nan := math.NaN(); d.Evidence.LowerBound = &nan })},
		{"NaN unpaired bound", "evidence unpaired_bound is NaN", dec(func(d *retune.Decision) { nan := math.NaN(); d.Evidence.UnpairedBound = &nan })},
		{"negative cooldown", "evidence cooldown -1s", dec(func(d *retune.Decision) { d.Evidence.Cooldown = -time.Second })},
		{"huge evidence", "bytes of JSON", dec(func(d *retune.Decision) {
			d.Evidence.Guardrails = []retune.GuardrailResult{{Metric: strings.Repeat("g", retune.MaxAttrValueLen)}}
		})},
	} {
		_, err := rs.RecordDecision(ctx, tc.d, []retune.Event{event("never")})
		if !errors.Is(err, retune.ErrInvalid) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("RecordDecision(%s) error = %v, want ErrInvalid saying %q", tc.name, err, tc.says)
		}
	}
	ev := func(mod func(*retune.Event)) []retune.Event {
		e := event("new")
		mod(&e)
		return []retune.Event{e}
	}
	for _, tc := range []struct {
		name, says string
		events     []retune.Event
		want       error
	}{
		{"empty ID", "ID is empty", ev(func(e *retune.Event) { e.ID = "" }), retune.ErrInvalid},
		{"long ID", "want at most 1024", ev(func(e *retune.Event) { e.ID = strings.Repeat("i", 1025) }), retune.ErrInvalid},
		{"long source", "want at most 1024", ev(func(e *retune.Event) { e.Source = strings.Repeat("s", 1025) }), retune.ErrInvalid},
		{"unprintable ID", "unprintable", ev(func(e *retune.Event) { e.ID = "a\nb" }), retune.ErrInvalid},
		{"empty type", "type is empty", ev(func(e *retune.Event) { e.Type = "" }), retune.ErrInvalid},
		{"empty source", "source is empty", ev(func(e *retune.Event) { e.Source = "" }), retune.ErrInvalid},
		{"NUL in subject", "unprintable", ev(func(e *retune.Event) { e.Subject = "a\x00" }), retune.ErrInvalid},
		{"invalid data", "not valid JSON", ev(func(e *retune.Event) { e.Data = json.RawMessage(`{"a":`) }), retune.ErrInvalid},
		{"invalid UTF-8 data", "not valid JSON", ev(func(e *retune.Event) { e.Data = json.RawMessage("\"\xff\"") }), retune.ErrInvalid},
		{"huge data", "want at most", ev(func(e *retune.Event) {
			e.Data = json.RawMessage(`"` + strings.Repeat("d", retune.MaxAttrValueLen) + `"`)
		}), retune.ErrInvalid},
		{"ancient time", "years 1900 to 2199", ev(func(e *retune.Event) { e.Time = time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC) }), retune.ErrInvalid},
		{"far time", "years 1900 to 2199", ev(func(e *retune.Event) { e.Time = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }), retune.ErrInvalid},
		{"ID twice", "given twice", []retune.Event{event("twice"), event("twice")}, retune.ErrConflict},
		{"stored ID", "stored already", []retune.Event{event("fresh"), event("taken")}, retune.ErrConflict},
		{"ID stored by a decision", "stored already", []retune.Event{event("taken-too")}, retune.ErrConflict},
	} {
		_, err := rs.PromoteChampion(ctx, trialChampion("m", 3), 1, tc.events)
		if !errors.Is(err, tc.want) || errors.Is(err, retune.ErrVersionConflict) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("PromoteChampion(event %s) error = %v, want %v saying %q", tc.name, err, tc.want, tc.says)
		}
		_, err = rs.RecordDecision(ctx, decision("run-y", 1, 3), tc.events)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("RecordDecision(event %s) error = %v, want %v saying %q", tc.name, err, tc.want, tc.says)
		}
	}
	if h, err := rs.ChampionHistory(ctx, "m"); err != nil || len(h) != 1 {
		t.Errorf("after rejected promotions the model has %d versions (%v), want 1", len(h), err)
	}
	if ds, err := rs.Decisions(ctx, ""); err != nil || len(ds) != 1 {
		t.Errorf("after rejected decisions %d are stored (%v), want 1", len(ds), err)
	}
	if got, want := eventIDs(t, rs), []string{"taken", "taken-too"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events after rejected writes = %v, want %v", got, want)
	}
	// After all that, version 2 is still the next one.
	if c, err := rs.PromoteChampion(ctx, trialChampion("m", 3), 1, []retune.Event{event("fresh")}); err != nil || c.Version != 2 {
		t.Errorf("PromoteChampion(expect 1) = version %d, %v, want 2", c.Version, err)
	}
}

// testRetrainOutlivesStudy: deleting a study keeps the champions, decisions and events of
// its model.
func testRetrainOutlivesStudy(t *testing.T, open Opener) {
	s := open(t)
	rs := retrainStore(t, s)
	ctx := ctxT(t)
	st := newStudy(t, s, "s", func(r *retune.StudyRecord) { r.Model = "m" })
	d, err := rs.RecordDecision(ctx, decision("run", 0, 0), []retune.Event{event("decided")})
	if err != nil {
		t.Fatal(err)
	}
	c := trialChampion("m", 0)
	c.Decision = d.ID
	if _, err := rs.PromoteChampion(ctx, c, 0, []retune.Event{event("promoted")}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStudy(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := rs.Champion(ctx, "m"); err != nil || got.Study != "s" || got.Decision != d.ID {
		t.Errorf("Champion after deleting its study = %+v, %v, want it kept", got, err)
	}
	if got, err := rs.Decision(ctx, d.ID); err != nil || got.Study != "s" {
		t.Errorf("Decision after deleting its study = %+v, %v, want it kept", got, err)
	}
	if got := eventIDs(t, rs); !reflect.DeepEqual(got, []string{"decided", "promoted"}) {
		t.Errorf("events after deleting the study = %v, want both kept", got)
	}
}
