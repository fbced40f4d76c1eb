package main

import (
	"context"
	"fmt"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
	"github.com/a6b40afc/retune/retrain"
)

// scheduleHelp ends `retune run -h`.
const scheduleHelp = `
Seeds: the study file's seed: makes a study's proposals repeatable; seed: 0 or none picks a
random seed and records it with the study (retune studies shows it), so a resumed study
keeps it.

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
// one new study at a time (retrain.Scheduler). A run that fails is reported and the
// schedule goes on.
func (m *Main) schedule(ctx context.Context, store retune.Storage, o runOptions, sc config.Schedule) error {
	base := o.cfg
	fmt.Fprintf(m.Stderr, "retune: re-tuning model %s every %v (triggers: retune trigger %s)\n", base.Model, sc.Every, base.Model)
	s := &retrain.Scheduler{
		Store: store, Model: base.Model, Base: base.Name, Every: sc.Every, Location: sc.Location,
		NoteFunc: func(msg string) { fmt.Fprintln(m.Stderr, "retune:", msg) },
		RunFunc: func(ctx context.Context, name string, triggers []retune.Trigger) error {
			cfg := *base
			cfg.Name = name
			run := o
			run.cfg = &cfg
			return m.runStudy(ctx, store, run, func(ctx context.Context, s *retune.Study) (map[int]string, error) {
				w := retrain.WarmStart{Model: base.Model, Schedule: base.Name, Triggers: triggers, FitFunc: base.Fit}
				labels, misfits, err := w.Ready(ctx, s)
				for _, l := range misfits {
					fmt.Fprintf(m.Stderr, "retune: warm start: %s lies outside the search space of %s: not enqueued\n", l, base.Path)
				}
				return labels, err
			})
		},
	}
	err := s.Run(ctx)
	if ctx.Err() != nil {
		return errInterrupted
	}
	return err
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
	fmt.Fprintf(m.Stdout, "trigger %d for model %s recorded: a scheduler of the model (retune run --every) starts a re-tune within %v of waiting, or after its current run\n", id, pos[0], retrain.DefaultTriggerPoll)
	return nil
}
