package retrain

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
)

// Scheduler defaults.
const (
	// DefaultTriggerPoll is how often a waiting Scheduler looks for triggers.
	DefaultTriggerPoll = 2 * time.Second
	// WarmBest is how many of the previous scheduled study's best trials WarmStart
	// enqueues.
	WarmBest = 3
)

// Scheduler re-tunes a model periodically and on demand: at once, then every Every
// (counted from its start) and whenever a trigger for the model is filed (retune trigger,
// retune.TriggerStore), it names a new study Base-<time> and runs it with RunFunc, one
// at a time. Runs never overlap: when a run outlasts the period, the next starts as soon
// as it ends and the periods it missed are skipped, not queued. A run that fails is
// reported (NoteFunc) and the schedule goes on.
type Scheduler struct {
	Store    retune.Storage // must also be a retune.TriggerStore
	Model    string
	Base     string         // the study file's name; scheduled studies are named after it
	Every    time.Duration  // > 0
	Location *time.Location // of the times in the studies' names; nil = UTC
	// RunFunc runs one scheduled study; triggers are those that started it (none for a
	// turn that came due). Its error is reported, not returned.
	RunFunc func(ctx context.Context, name string, triggers []retune.Trigger) error
	// NoteFunc receives a line for each turn and each failure; nil drops them.
	NoteFunc func(msg string)
	// NowFunc is the clock; nil = time.Now. TriggerPoll defaults to DefaultTriggerPoll.
	NowFunc     func() time.Time
	TriggerPoll time.Duration
	// After is when an earlier turn of this schedule started (a scheduler that takes over
	// from another one, as a new leader of retune serve does): the periods count from it,
	// and the first turn comes due a period after it, or at once if that has passed. Zero:
	// the first turn is at once.
	After time.Time
}

// Run runs the schedule until ctx is done, and returns ctx's error then.
func (sc *Scheduler) Run(ctx context.Context) error {
	ts, ok := sc.Store.(retune.TriggerStore)
	switch {
	case !ok:
		return fmt.Errorf("%w: this storage keeps no triggers", retune.ErrInvalid)
	case sc.Every <= 0:
		return fmt.Errorf("%w: schedule every %v: want a period > 0", retune.ErrInvalid, sc.Every)
	case sc.RunFunc == nil:
		return fmt.Errorf("%w: a Scheduler needs a RunFunc", retune.ErrInvalid)
	}
	loc := sc.Location
	if loc == nil {
		loc = time.UTC
	}
	begin := sc.now()
	due := begin
	if !sc.After.IsZero() && sc.After.Before(begin) {
		begin, due = sc.After, sc.After.Add(sc.Every)
		if due.Before(sc.now()) {
			due = sc.now() // a period has passed since that turn: at once
		}
	}
	for {
		triggers, err := sc.waitTurn(ctx, ts, due)
		if err != nil {
			return err
		}
		start := sc.now()
		name, err := ScheduledName(ctx, sc.Store, sc.Base, start.In(loc))
		if err != nil {
			sc.note("scheduled run: %v", err)
		} else {
			what := "scheduled"
			if len(triggers) > 0 {
				what = fmt.Sprintf("triggered (%s)", reasons(triggers))
			}
			sc.note("%s run of model %s: study %s", what, sc.Model, name)
			err := sc.RunFunc(ctx, name, triggers)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				sc.note("study %s: %v", name, err)
			}
		}
		// The next period after this run's start; one already past starts at once.
		due = begin.Add(sc.Every * (start.Sub(begin)/sc.Every + 1))
		if now := sc.now(); due.Before(now) {
			due = now
		}
	}
}

func (sc *Scheduler) now() time.Time {
	if sc.NowFunc != nil {
		return sc.NowFunc()
	}
	return time.Now()
}

func (sc *Scheduler) note(format string, args ...any) {
	if sc.NoteFunc != nil {
		sc.NoteFunc(fmt.Sprintf(format, args...))
	}
}

// waitTurn waits until due or until the model has triggers, looking for them at once and
// then every TriggerPoll, and returns the triggers it consumed (none when due came). It
// fails only when ctx is done.
func (sc *Scheduler) waitTurn(ctx context.Context, ts retune.TriggerStore, due time.Time) ([]retune.Trigger, error) {
	poll := sc.TriggerPoll
	if poll <= 0 {
		poll = DefaultTriggerPoll
	}
	lastErr := ""
	for {
		trs, err := ts.ConsumeTriggers(ctx, sc.Model)
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			if err.Error() != lastErr { // a database that is down says so once, not every poll
				sc.note("look for triggers: %v", err)
				lastErr = err.Error()
			}
		case len(trs) > 0:
			return trs, nil
		}
		wait := due.Sub(sc.now())
		if wait <= 0 {
			return nil, nil
		}
		t := time.NewTimer(min(wait, poll))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func reasons(triggers []retune.Trigger) string {
	var out []string
	for _, t := range triggers {
		out = append(out, t.Reason)
	}
	return strings.Join(out, "; ")
}

// ScheduledName is the name of a study scheduled from base at t: base-<t>, with a -2,
// -3 … suffix if a study of that name exists (two runs within a second).
func ScheduledName(ctx context.Context, store retune.StudyStore, base string, t time.Time) (string, error) {
	stamp := t.Format("20060102T150405Z0700")
	name := base + "-" + stamp
	for i := 2; ; i++ {
		_, err := store.Study(ctx, name)
		if errors.Is(err, retune.ErrNotFound) {
			return name, retune.ValidateName("study", name)
		}
		if err != nil {
			return "", err
		}
		name = base + "-" + stamp + "-" + strconv.Itoa(i)
	}
}

// WarmStart says how to ready a new scheduled study.
type WarmStart struct {
	Model    string
	Schedule string           // the base study's name: scheduled studies have it as user attribute "schedule"
	Triggers []retune.Trigger // the triggers that started the run
	// FitFunc returns params as the study's search space holds them, a key that names
	// the configuration (for dropping duplicates), and whether they lie in the space.
	FitFunc func(params map[string]any) (fitted map[string]any, key string, ok bool)
}

// Ready records where study s comes from as user attributes (schedule; schedule_previous;
// trigger_reason) and enqueues the champion's params and the WarmBest best configurations
// of the previous scheduled study, each once and only if it fits the search space. It
// returns the enqueued trials' labels by number ("champion version 3", "trial 7 of X"),
// and the labels of the candidates that did not fit.
func (w WarmStart) Ready(ctx context.Context, s *retune.Study) (labels map[int]string, misfits []string, err error) {
	store := s.Storage()
	attrs := map[string]any{"schedule": w.Schedule}
	if len(w.Triggers) > 0 {
		attrs["trigger_reason"] = reasons(w.Triggers)
	}
	type warm struct {
		params map[string]any
		label  string
	}
	var cands []warm
	if rs, ok := store.(retune.RetrainStore); ok {
		c, err := rs.Champion(ctx, w.Model)
		switch {
		case err == nil && len(c.Params) > 0:
			cands = append(cands, warm{c.Params, fmt.Sprintf("champion version %d", c.Version)})
		case err != nil && !errors.Is(err, retune.ErrNotFound):
			return nil, nil, fmt.Errorf("warm start: %w", err)
		}
	}
	prev, best, err := w.previousBest(ctx, store, s.Name())
	if err != nil {
		return nil, nil, fmt.Errorf("warm start: %w", err)
	}
	if prev != "" {
		attrs["schedule_previous"] = prev
	}
	for _, t := range best {
		cands = append(cands, warm{t.Params, fmt.Sprintf("trial %d of %s", t.Number, prev)})
	}
	// One write for all three: whoever sees the study marked as scheduled (the leader of
	// retune serve looks for "schedule") sees its whole provenance.
	if err := s.SetUserAttrs(ctx, attrs); err != nil {
		return nil, nil, err
	}
	var params []map[string]any
	var enqueued []string
	seen := map[string]bool{}
	for _, c := range cands {
		p, key, ok := w.FitFunc(c.params)
		if !ok {
			misfits = append(misfits, c.label)
			continue
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		params = append(params, p)
		enqueued = append(enqueued, c.label)
	}
	if len(params) == 0 {
		return nil, misfits, nil
	}
	nums, err := store.Enqueue(ctx, retune.EnqueueRequest{StudyID: s.Record().ID, Kind: retune.KindSearch, Params: params})
	if err != nil {
		return nil, misfits, fmt.Errorf("warm start: %w", err)
	}
	labels = make(map[int]string, len(nums))
	for i, n := range nums {
		labels[n] = enqueued[i]
	}
	return labels, misfits, nil
}

// previousBest finds the newest other study scheduled from the same base for the same
// model that has COMPLETE search trials, and returns its name and up to WarmBest best
// trials ("" and none if there is no such study).
func (w WarmStart) previousBest(ctx context.Context, store retune.Storage, current string) (string, []retune.FrozenTrial, error) {
	sums, err := store.Studies(ctx)
	if err != nil {
		return "", nil, err
	}
	var prev []retune.StudyRecord
	for _, x := range sums {
		if x.Name != current && x.Model == w.Model && x.UserAttrs["schedule"] == w.Schedule && x.Complete > 0 {
			prev = append(prev, x.StudyRecord)
		}
	}
	sort.Slice(prev, func(i, j int) bool {
		if !prev[i].Created.Equal(prev[j].Created) {
			return prev[i].Created.After(prev[j].Created)
		}
		return prev[i].Name > prev[j].Name
	})
	for _, rec := range prev {
		ts, err := store.Trials(ctx, rec.ID)
		if err != nil {
			return "", nil, err
		}
		if top := Top(rec.Directions, ts, WarmBest); len(top) > 0 {
			return rec.Name, top, nil
		}
	}
	return "", nil, nil
}

// Top returns the n best feasible COMPLETE search trials of a single objective, best
// first, or the first n of the Pareto front (of feasible trials) with several.
func Top(dirs []retune.Direction, ts []retune.FrozenTrial, n int) []retune.FrozenTrial {
	var c []retune.FrozenTrial
	if len(dirs) != 1 {
		c = retune.BestOf(dirs, ts)
	} else {
		for _, t := range ts {
			if t.Kind == retune.KindSearch && t.State == retune.TrialComplete && t.Feasible() {
				c = append(c, t)
			}
		}
		sort.SliceStable(c, func(i, j int) bool { return dirs[0].Better(c[i].Values[0], c[j].Values[0]) })
	}
	if len(c) > n {
		c = c[:n]
	}
	return c
}
