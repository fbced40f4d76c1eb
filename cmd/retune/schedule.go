package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
)

// triggerPoll is how often a waiting scheduler looks for triggers (`retune trigger`).
const triggerPoll = 2 * time.Second

// warmBest is how many of the previous scheduled study's best trials a scheduled study
// starts with.
const warmBest = 3

// scheduleHelp ends `retune run -h`.
const scheduleHelp = `
Scheduled re-tuning (--every, or schedule: {every: 24h} in the study file; --every 0 runs
once): retune run keeps running and starts a new study for the model at once and then every
period (counted from its start), named NAME-<time> (20261126T183000Z; in schedule.timezone
if set, else UTC). Each new study first runs the model's champion's params and the 3 best
trials of the previous scheduled study (enqueued, user attribute warm_start; they count
toward budget.trials), then runs like a single run: budget, parallel, retraining decision.
Runs never overlap: when a run outlasts the period, the next starts as soon as it ends and
the periods it missed are skipped, not queued. Between runs the scheduler looks for
triggers (retune trigger MODEL) every 2s and starts a run at once when there is one; a
trigger filed during a run starts one right after it. Ctrl-C stops the scheduler and its
running trainers (exit 130).
`

// schedule re-tunes o.cfg's model every sc.Every (and on triggers) until ctx is done,
// one new study at a time. A run that fails is reported and the schedule goes on.
func (m *Main) schedule(ctx context.Context, store retune.Storage, o runOptions, sc config.Schedule) error {
	ts, ok := store.(retune.TriggerStore)
	if !ok {
		return fmt.Errorf("%w: this storage keeps no triggers", retune.ErrInvalid)
	}
	base := o.cfg
	begin := time.Now()
	due := begin
	fmt.Fprintf(m.Stderr, "retune: re-tuning model %s every %v (triggers: retune trigger %s)\n", base.Model, sc.Every, base.Model)
	for {
		triggers, err := m.waitTurn(ctx, ts, base.Model, due)
		if err != nil {
			return errInterrupted
		}
		start := time.Now()
		name, err := scheduledName(ctx, store, base.Name, start.In(sc.Location))
		if err != nil {
			fmt.Fprintf(m.Stderr, "retune: scheduled run: %s\n", errText(err))
		} else {
			cfg := *base
			cfg.Name = name
			run := o
			run.cfg = &cfg
			var reasons []string
			for _, t := range triggers {
				reasons = append(reasons, t.Reason)
			}
			what := "scheduled"
			if len(triggers) > 0 {
				what = fmt.Sprintf("triggered (%s)", strings.Join(reasons, "; "))
			}
			fmt.Fprintf(m.Stderr, "retune: %s run of model %s: study %s\n", what, base.Model, name)
			err = m.runStudy(ctx, store, run, func(ctx context.Context, s *retune.Study) (map[int]string, error) {
				return m.warmStart(ctx, store, base, s, triggers)
			})
			if ctx.Err() != nil {
				return errInterrupted
			}
			if err != nil {
				fmt.Fprintf(m.Stderr, "retune: study %s: %s\n", name, errText(err))
			}
		}
		// The next period after this run's start; one already past starts at once.
		due = begin.Add(sc.Every * (start.Sub(begin)/sc.Every + 1))
		if now := time.Now(); due.Before(now) {
			due = now
		}
	}
}

// waitTurn waits until due or until the model has triggers, looking for them at once and
// then every triggerPoll, and returns the triggers it consumed (none when due came). It
// fails only when ctx is done.
func (m *Main) waitTurn(ctx context.Context, ts retune.TriggerStore, model string, due time.Time) ([]retune.Trigger, error) {
	lastErr := ""
	for {
		trs, err := ts.ConsumeTriggers(ctx, model)
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			if err.Error() != lastErr { // a database that is down says so once, not every poll
				fmt.Fprintln(m.Stderr, "retune: look for triggers:", errText(err))
				lastErr = err.Error()
			}
		case len(trs) > 0:
			return trs, nil
		}
		wait := time.Until(due)
		if wait <= 0 {
			return nil, nil
		}
		t := time.NewTimer(min(wait, triggerPoll))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// scheduledName is the name of a scheduled study of base started at t: base-<t>, with a
// -2, -3 … suffix if a study of that name exists (two runs within a second).
func scheduledName(ctx context.Context, store retune.Storage, base string, t time.Time) (string, error) {
	name := base + "-" + t.Format("20060102T150405Z0700")
	for i := 2; ; i++ {
		_, err := store.Study(ctx, name)
		if errors.Is(err, retune.ErrNotFound) {
			return name, retune.ValidateName("study", name)
		}
		if err != nil {
			return "", err
		}
		name = base + "-" + t.Format("20060102T150405Z0700") + "-" + strconv.Itoa(i)
	}
}

// warmStart readies a new scheduled study: it records where it comes from as user
// attributes (schedule: the study file's name; schedule_previous; trigger_reason) and
// enqueues the champion's params and the best configurations of the previous scheduled
// study, each at most once and only if it lies in the file's search space. It returns
// the enqueued trials' labels by number.
func (m *Main) warmStart(ctx context.Context, store retune.Storage, base *config.Study, s *retune.Study, triggers []retune.Trigger) (map[int]string, error) {
	attrs := map[string]any{"schedule": base.Name}
	if len(triggers) > 0 {
		var reasons []string
		for _, t := range triggers {
			reasons = append(reasons, t.Reason)
		}
		attrs["trigger_reason"] = strings.Join(reasons, "; ")
	}
	type warm struct {
		params map[string]any
		label  string
	}
	var cands []warm
	if rs, ok := store.(retune.RetrainStore); ok {
		c, err := rs.Champion(ctx, base.Model)
		switch {
		case err == nil && len(c.Params) > 0:
			cands = append(cands, warm{c.Params, fmt.Sprintf("champion version %d", c.Version)})
		case err != nil && !errors.Is(err, retune.ErrNotFound):
			return nil, fmt.Errorf("warm start: %w", err)
		}
	}
	prev, best, err := previousBest(ctx, store, base, s.Name())
	if err != nil {
		return nil, fmt.Errorf("warm start: %w", err)
	}
	if prev != "" {
		attrs["schedule_previous"] = prev
	}
	for _, t := range best {
		cands = append(cands, warm{t.Params, fmt.Sprintf("trial %d of %s", t.Number, prev)})
	}
	for k, v := range attrs {
		if err := s.SetUserAttr(ctx, k, v); err != nil {
			return nil, err
		}
	}
	var params []map[string]any
	var labels []string
	seen := map[string]bool{}
	for _, c := range cands {
		p, key, ok := inSpace(base, c.params)
		if !ok {
			fmt.Fprintf(m.Stderr, "retune: warm start: %s lies outside the search space of %s: not enqueued\n", c.label, base.Path)
			continue
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		params = append(params, p)
		labels = append(labels, c.label)
	}
	if len(params) == 0 {
		return nil, nil
	}
	nums, err := store.Enqueue(ctx, retune.EnqueueRequest{StudyID: s.Record().ID, Kind: retune.KindSearch, Params: params})
	if err != nil {
		return nil, fmt.Errorf("warm start: %w", err)
	}
	out := make(map[int]string, len(nums))
	for i, n := range nums {
		out[n] = labels[i]
	}
	return out, nil
}

// previousBest finds the newest other study scheduled from the same study file for the
// same model that has COMPLETE search trials, and returns its name and up to warmBest
// best trials ("" and none if there is no such study).
func previousBest(ctx context.Context, store retune.Storage, base *config.Study, current string) (string, []retune.FrozenTrial, error) {
	sums, err := store.Studies(ctx)
	if err != nil {
		return "", nil, err
	}
	var prev []retune.StudyRecord
	for _, x := range sums {
		if x.Name != current && x.Model == base.Model && x.UserAttrs["schedule"] == base.Name && x.Complete > 0 {
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
		if top := topTrials(rec.Directions, ts, warmBest); len(top) > 0 {
			return rec.Name, top[:min(len(top), warmBest)], nil
		}
	}
	return "", nil, nil
}

// inSpace keeps the params the study file declares and reports whether each lies in its
// param's distribution; key identifies the configuration (for dropping duplicates).
func inSpace(cfg *config.Study, params map[string]any) (map[string]any, string, bool) {
	out := map[string]any{}
	var key strings.Builder
	for _, p := range cfg.Params {
		v, ok := params[p.Name]
		if !ok {
			continue
		}
		d := p.Distribution()
		x, ok := d.ToInternal(v)
		if !ok {
			return nil, "", false
		}
		out[p.Name] = d.ToExternal(x)
		fmt.Fprintf(&key, "%s=%v;", p.Name, x)
	}
	return out, key.String(), len(out) > 0
}

func runTrigger(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("trigger")
	db := dbFlag(fs)
	reason := fs.String("reason", "retune trigger", "why: recorded on the study the re-tune starts (user attribute trigger_reason)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	s, err := m.openExisting(ctx, m.dsn(*db, ""))
	if err != nil {
		return err
	}
	defer s.Close()
	ts, ok := s.(retune.TriggerStore)
	if !ok {
		return fmt.Errorf("%w: this storage keeps no triggers", retune.ErrInvalid)
	}
	id, err := ts.RequestRetune(ctx, pos[0], *reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "trigger %d for model %s recorded: a scheduler of the model (retune run --every) starts a re-tune within %v of waiting, or after its current run\n", id, pos[0], triggerPoll)
	return nil
}
