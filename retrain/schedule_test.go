package retrain_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain"
	"github.com/a6b40afc/retune/storage/memory"
)

// TestScheduler: runs start at once and every period from the start, a trigger starts
// one at once, runs never overlap, and periods missed by a long run are skipped.
func TestScheduler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memory.New()
		ts := store.(retune.TriggerStore)
		t0 := time.Now()
		type run struct {
			at       time.Duration
			name     string
			triggers int
		}
		var runs []run
		ctx, cancel := context.WithCancel(context.Background())
		s := &retrain.Scheduler{
			Store: store, Model: "m", Base: "base", Every: time.Hour,
			RunFunc: func(ctx context.Context, name string, triggers []retune.Trigger) error {
				runs = append(runs, run{time.Since(t0), name, len(triggers)})
				if len(runs) == 3 {
					time.Sleep(150 * time.Minute) // outlasts two periods
				}
				if _, err := retune.NewStudy(ctx, retune.Config{Name: name, Storage: store}); err != nil {
					return err
				}
				return errors.New("the trainer failed") // reported; the schedule goes on
			},
		}
		var notes []string
		s.NoteFunc = func(msg string) { notes = append(notes, msg) }
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		time.Sleep(10 * time.Minute)
		if _, err := ts.RequestRetune(ctx, "m", "drift"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4*time.Hour + 30*time.Minute)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
		// A trigger is seen at the next poll; the rest are exact (the clock is synctest's).
		want := []time.Duration{0, 10 * time.Minute, time.Hour, 3*time.Hour + 30*time.Minute, 4 * time.Hour}
		var got []time.Duration
		for _, r := range runs {
			got = append(got, r.at)
		}
		ok := len(got) == len(want)
		for i := 0; ok && i < len(want); i++ {
			slack := time.Duration(0)
			if i == 1 {
				slack = retrain.DefaultTriggerPoll
			}
			ok = got[i] >= want[i] && got[i] <= want[i]+slack
		}
		if !ok {
			t.Errorf("runs at %v, want %v (the triggered one within a poll)", got, want)
		}
		if runs[1].triggers != 1 || runs[0].triggers != 0 || runs[2].triggers != 0 {
			t.Errorf("runs %+v: want only the second started by the trigger", runs)
		}
		if !strings.HasPrefix(runs[0].name, "base-") || runs[0].name == runs[1].name {
			t.Errorf("study names %q, %q", runs[0].name, runs[1].name)
		}
		if len(notes) == 0 || !strings.Contains(strings.Join(notes, "\n"), "the trainer failed") || !strings.Contains(notes[2], "triggered (drift) run of model m") {
			t.Errorf("notes:\n%s", strings.Join(notes, "\n"))
		}
	})
}

// TestWarmStart: a scheduled study starts with the champion's params and the previous
// scheduled study's best trials, once each, when they fit the search space.
func TestWarmStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := memory.New()
	obj := func(ctx context.Context, t *retune.Trial) (float64, error) {
		x := t.Float("x", 0, 1)
		return (x - 0.3) * (x - 0.3), nil
	}
	prev, err := retune.NewStudy(ctx, retune.Config{Name: "base-1", Model: "m", Storage: store, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := prev.SetUserAttr(ctx, "schedule", "base"); err != nil {
		t.Fatal(err)
	}
	if _, err := prev.Optimize(ctx, obj, retune.OptimizeOptions{Trials: 6}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.(retune.RetrainStore).PromoteChampion(ctx, retune.Champion{Model: "m", Source: "manual", Trial: -1, Params: map[string]any{"x": 7.0}, Values: []float64{0.5}}, 0, nil); err != nil {
		t.Fatal(err)
	}
	next, err := retune.NewStudy(ctx, retune.Config{Name: "base-2", Model: "m", Storage: store, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	fit := func(p map[string]any) (map[string]any, string, bool) {
		x, ok := p["x"].(float64)
		return map[string]any{"x": x}, fmt.Sprint(x), ok && x >= 0 && x <= 1
	}
	w := retrain.WarmStart{Model: "m", Schedule: "base", Triggers: []retune.Trigger{{Reason: "drift"}}, FitFunc: fit}
	labels, misfits, err := w.Ready(ctx, next)
	if err != nil {
		t.Fatal(err)
	}
	if len(misfits) != 1 || misfits[0] != "champion version 1" {
		t.Errorf("misfits %v, want the champion (x = 7 lies outside [0, 1])", misfits)
	}
	if len(labels) != retrain.WarmBest {
		t.Errorf("labels %v, want the %d best of base-1", labels, retrain.WarmBest)
	}
	for n, l := range labels {
		if !strings.HasPrefix(l, "trial ") || !strings.HasSuffix(l, " of base-1") || n > 2 {
			t.Errorf("trial %d: label %q", n, l)
		}
	}
	rec, _ := store.Study(ctx, "base-2")
	if rec.UserAttrs["schedule"] != "base" || rec.UserAttrs["schedule_previous"] != "base-1" || rec.UserAttrs["trigger_reason"] != "drift" {
		t.Errorf("user attrs %v", rec.UserAttrs)
	}
}

// attrWrites wraps a store and records the user attributes of each study update.
type attrWrites struct {
	retune.Storage
	writes []map[string]any
}

func (a *attrWrites) UpdateStudy(ctx context.Context, id int64, upd retune.StudyUpdate) error {
	if len(upd.UserAttrs) > 0 {
		a.writes = append(a.writes, upd.UserAttrs)
	}
	return a.Storage.UpdateStudy(ctx, id, upd)
}

// TestWarmStartProvenanceAtOnce: a scheduled study's schedule, schedule_previous and
// trigger_reason arrive in one write, so no reader sees the study marked as scheduled
// without the rest (the leader of retune serve did, between separate writes).
func TestWarmStartProvenanceAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &attrWrites{Storage: memory.New()}
	prev, err := retune.NewStudy(ctx, retune.Config{Name: "base-1", Model: "m", Storage: store, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := prev.SetUserAttr(ctx, "schedule", "base"); err != nil {
		t.Fatal(err)
	}
	obj := func(ctx context.Context, t *retune.Trial) (float64, error) { return t.Float("x", 0, 1), nil }
	if _, err := prev.Optimize(ctx, obj, retune.OptimizeOptions{Trials: 2}); err != nil {
		t.Fatal(err)
	}
	next, err := retune.NewStudy(ctx, retune.Config{Name: "base-2", Model: "m", Storage: store, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	store.writes = nil
	w := retrain.WarmStart{Model: "m", Schedule: "base", Triggers: []retune.Trigger{{Reason: "drift"}, {Reason: "manual"}},
		FitFunc: func(p map[string]any) (map[string]any, string, bool) { return p, fmt.Sprint(p), true }}
	if _, _, err := w.Ready(ctx, next); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"schedule": "base", "schedule_previous": "base-1", "trigger_reason": "drift; manual"}
	if len(store.writes) != 1 || fmt.Sprint(store.writes[0]) != fmt.Sprint(want) {
		t.Errorf("user attribute writes %v, want one: %v", store.writes, want)
	}
}

// TestSchedulerAfter: a scheduler that takes over from another (After: the last turn's
// start) waits for the period to run out instead of starting at once, and one whose
// predecessor's period has passed starts at once; the periods count from that start.
func TestSchedulerAfter(t *testing.T) {
	for _, tc := range []struct {
		name          string
		after         time.Duration // before now
		first, second time.Duration // the turns, from now
	}{{"within the period", 20 * time.Minute, 40 * time.Minute, 100 * time.Minute}, {"period passed", 90 * time.Minute, 0, 30 * time.Minute}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := memory.New()
				t0 := time.Now()
				var at []time.Duration
				ctx, cancel := context.WithCancel(context.Background())
				s := &retrain.Scheduler{Store: store, Model: "m", Base: "base", Every: time.Hour, After: t0.Add(-tc.after),
					RunFunc: func(ctx context.Context, name string, _ []retune.Trigger) error {
						at = append(at, time.Since(t0))
						return nil
					}}
				done := make(chan error, 1)
				go func() { done <- s.Run(ctx) }()
				time.Sleep(tc.second + time.Minute)
				cancel()
				<-done
				if len(at) != 2 || at[0] != tc.first || at[1] != tc.second {
					t.Errorf("turns at %v, want %v and %v", at, tc.first, tc.second)
				}
			})
		})
	}
}
