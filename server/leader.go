package server

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
	"github.com/a6b40afc/retune/retrain"
	"github.com/a6b40afc/retune/retrain/notify"
)

// Retraining and delivery without `retune run`: with Options.Retrain, the replicas of a
// service elect one leader through the database (retune.LeaderStore, role "retrain"; a
// term lasts LeaderTTL and is renewed every third of it, so a leader that dies is replaced
// within about LeaderTTL). The leader
//
//   - decides, for every study whose stored definition has a retrain section (not
//     decide: each_best), once its budget is spent: budget.trials search trials finished
//     and none running or waiting. The decision's run is "serve/STUDY", so a
//     decision is recorded once per study, champion version and candidate however often
//     leaders change (the storage refuses a second). Confirmation repeats are enqueued as
//     trials of kind confirm for the study's clients and agents to run (ask with kind
//     confirm; retrain.Coordinator.DecideQueued), and the decision is recorded on the
//     first pass after they have all finished;
//   - re-tunes on schedule: for a study created from a definition with a schedule
//     section it creates BASE-<time> every period and when the model has a trigger, as
//     `retune run --every` does (schedulePass);
//   - delivers events to the notifiers of Options.Notifiers (retune serve --notifiers FILE)
//     with a notify.Dispatcher, whose claims keep every delivery to one attempt at a time
//     even while two replicas both think they lead (a term that ran out unnoticed).

// Leader defaults.
const (
	DefaultLeaderTTL  = 15 * time.Second
	DefaultDecidePoll = 2 * time.Second
	leaderRole        = "retrain"
)

// leader is this replica's view of the election.
type leader struct {
	mu      sync.Mutex
	leading bool
	decided map[string]bool // studies decided (or not to decide) this term
	warned  map[string]bool
	kick    func() // wakes the dispatcher, if any
}

// IsLeader reports whether this replica leads (decides and delivers) right now.
func (s *Server) IsLeader() bool {
	s.lead.mu.Lock()
	defer s.lead.mu.Unlock()
	return s.lead.leading
}

// elect runs for leadership until ctx ends: it renews its term every third of LeaderTTL,
// does the leader's work while it leads, stops it at once when a renewal fails, and
// releases the term when ctx ends.
func (s *Server) elect(ctx context.Context, ls retune.LeaderStore) {
	holder := leaderHolder()
	ttl := s.opts.LeaderTTL
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	var stop context.CancelFunc
	var done chan struct{}
	step := func() {
		if stop != nil {
			stop()
			<-done
			stop = nil
			s.setLeading(false)
			s.log.Info("leadership lost", "role", leaderRole, "holder", holder)
		}
	}
	for {
		ok, err := ls.AcquireLeadership(ctx, leaderRole, holder, ttl)
		switch {
		case err != nil || !ok:
			if err != nil && ctx.Err() == nil {
				s.log.Warn("leadership renewal failed", "err", err)
			}
			step()
		case stop == nil:
			lctx, cancel := context.WithCancel(ctx)
			stop, done = cancel, make(chan struct{})
			s.setLeading(true)
			s.log.Info("leading", "role", leaderRole, "holder", holder, "term", ttl)
			go func() {
				defer close(done)
				s.leaderWork(lctx)
			}()
		}
		select {
		case <-ctx.Done():
			step()
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = ls.ReleaseLeadership(rctx, leaderRole, holder)
			cancel()
			return
		case <-tick.C:
		}
	}
}

func (s *Server) setLeading(v bool) {
	s.lead.mu.Lock()
	defer s.lead.mu.Unlock()
	s.lead.leading = v
	s.lead.decided, s.lead.kick = map[string]bool{}, nil
}

// leaderHolder names this process in the leaders table.
func leaderHolder() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = crand.Read(b[:])
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:])
}

// leaderWork is what the leader does until ctx ends: deliver events (when it has
// notifiers) and decide for the studies whose budget is spent.
func (s *Server) leaderWork(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	if ds, ok := s.store.(retune.DeliveryStore); ok && len(s.opts.Notifiers) > 0 {
		d := &notify.Dispatcher{Store: ds, Notifiers: s.opts.Notifiers, Logger: s.log.With("part", "dispatcher")}
		s.lead.mu.Lock()
		s.lead.kick = d.Kick
		s.lead.mu.Unlock()
		wg.Go(func() {
			if err := d.Run(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("dispatcher stopped", "err", err)
			}
		})
	}
	tick := time.NewTicker(s.opts.DecidePoll)
	defer tick.Stop()
	scheduled := map[string]bool{} // bases with a running Scheduler this term
	for {
		// One listing of the studies serves both passes.
		if sums, err := s.store.Studies(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("leader: listing studies failed; trying again", "err", err)
			}
		} else {
			s.decidePass(ctx, sums)
			s.schedulePass(ctx, sums, &wg, scheduled)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// decidePass decides for every study whose budget is spent and that has no decision yet
// this term (see the comment at the top of this file).
func (s *Server) decidePass(ctx context.Context, sums []retune.StudySummary) {
	rs, ok := s.store.(retune.RetrainStore)
	if !ok {
		return
	}
	for _, sum := range sums {
		if ctx.Err() != nil {
			return
		}
		if len(sum.Definition) == 0 || sum.Budget.Trials == 0 || sum.Complete+sum.Pruned+sum.Failed < sum.Budget.Trials || s.wasDecided(sum.Name) {
			continue
		}
		def, err := config.ParseDefinition("the stored definition of study "+sum.Name, sum.Definition)
		if err != nil || def.Retrain == nil || def.Retrain.EachBest || len(def.Objectives) != 1 {
			s.markDecided(sum.Name) // nothing to decide here, this term
			continue
		}
		if err := s.decideStudy(ctx, rs, sum, def); err != nil && ctx.Err() == nil {
			s.log.Warn("decision failed; retrying on the next pass", "study", sum.Name, "err", err)
		}
	}
}

// decideStudy decides for one study once its budget's search trials have all finished.
func (s *Server) decideStudy(ctx context.Context, rs retune.RetrainStore, sum retune.StudySummary, def *config.Study) error {
	ts, err := s.store.Trials(ctx, sum.ID)
	if err != nil {
		return err
	}
	done := 0
	for _, t := range ts {
		switch {
		case t.Kind != retune.KindSearch:
		case !t.State.Finished():
			return nil // a search trial waits or runs: the budget is not spent
		case !t.Interrupted():
			done++
		}
	}
	if done < sum.Budget.Trials {
		return nil
	}
	b, err := s.open(ctx, sum.Name)
	if err != nil {
		return err
	}
	if decided, err := decidedElsewhere(ctx, rs, b.study); err != nil || decided {
		if decided {
			s.markDecided(sum.Name) // `retune run` finished it and decided
		}
		return err
	}
	c := &retrain.Coordinator{Store: rs, Policy: def.Retrain.Policy, Notify: s.notifierIDs()}
	out, pending, err := c.DecideQueued(ctx, b.study, "serve/"+sum.Name)
	switch {
	case errors.Is(err, retune.ErrNotFound): // no (feasible) completed trial: nothing to decide
		s.markDecided(sum.Name)
		return nil
	case err != nil:
		return err
	case pending:
		if !s.warnedOnce(sum.Name) {
			s.log.Info("decision waits for its confirmation repeats: clients ask them with kind confirm",
				"study", sum.Name, "repeats", def.Retrain.Policy.Repeats)
		}
		return nil
	}
	s.markDecided(sum.Name)
	s.log.LogAttrs(ctx, slog.LevelInfo, "decision", slog.String("study", sum.Name), slog.String("model", out.Model),
		slog.Int64("decision", out.ID), slog.Bool("improved", out.Improved), slog.String("reason", out.Reason))
	s.lead.mu.Lock()
	kick := s.lead.kick
	s.lead.mu.Unlock()
	if kick != nil && out.Improved {
		kick()
	}
	return nil
}

func (s *Server) notifierIDs() []string {
	return slices.Sorted(maps.Keys(s.opts.Notifiers))
}

func (s *Server) wasDecided(name string) bool {
	s.lead.mu.Lock()
	defer s.lead.mu.Unlock()
	return s.lead.decided[name]
}

func (s *Server) markDecided(name string) {
	s.lead.mu.Lock()
	defer s.lead.mu.Unlock()
	if s.lead.decided != nil {
		s.lead.decided[name] = true
	}
}

func (s *Server) warnedOnce(name string) bool {
	s.lead.mu.Lock()
	defer s.lead.mu.Unlock()
	if s.lead.warned == nil {
		s.lead.warned = map[string]bool{}
	}
	w := s.lead.warned[name]
	s.lead.warned[name] = true
	return w
}

// scheduledStamp matches what retrain.ScheduledName puts after "BASE-".
var scheduledStamp = regexp.MustCompile(`^\d{8}T\d{6}(Z|[+-]\d{4})(-\d+)?$`)

// schedulePass starts a retrain.Scheduler, for the rest of this term, for every base study
// (created from a definition with a schedule section, itself not a scheduled run) that has
// none yet. Its turns create the study BASE-<time> from the base's definition, warm-start
// it (the champion's params, the best trials of the previous scheduled study) and wait for
// its decision, which decidePass makes once its clients have spent its budget. The periods
// count from the start of the base's newest scheduled study, so a new leader does not
// start a turn early.
func (s *Server) schedulePass(ctx context.Context, sums []retune.StudySummary, wg *sync.WaitGroup, scheduled map[string]bool) {
	// newest is the start of base's newest scheduled study: one marked as its run (user
	// attribute "schedule"), or named as one (BASE-<time>) in case a run was cut short
	// between its creation and its marking.
	newest := func(base string) time.Time {
		var t time.Time
		for _, sum := range sums {
			rest, named := strings.CutPrefix(sum.Name, base+"-")
			if (sum.UserAttrs["schedule"] == base || named && scheduledStamp.MatchString(rest)) && sum.Created.After(t) {
				t = sum.Created
			}
		}
		return t
	}
	for _, sum := range sums {
		if scheduled[sum.Name] || len(sum.Definition) == 0 || sum.UserAttrs["schedule"] != nil {
			continue
		}
		def, err := config.ParseDefinition("the stored definition of study "+sum.Name, sum.Definition)
		if err != nil || def.Schedule == nil {
			continue
		}
		scheduled[sum.Name] = true
		base := sum
		sc := &retrain.Scheduler{
			Store: s.store, Model: base.Model, Base: base.Name, Every: def.Schedule.Every, Location: def.Schedule.Location,
			After:    newest(base.Name),
			NoteFunc: func(msg string) { s.log.Info("schedule: " + msg) },
			RunFunc: func(ctx context.Context, name string, triggers []retune.Trigger) error {
				return s.scheduledRun(ctx, def, base.Name, name, triggers)
			},
		}
		wg.Go(func() { _ = sc.Run(ctx) })
	}
}

// scheduledRun creates and warm-starts the scheduled study name of base and waits until
// it is decided (or ctx ends).
func (s *Server) scheduledRun(ctx context.Context, baseDef *config.Study, base, name string, triggers []retune.Trigger) error {
	def := *baseDef
	def.Name, def.Schedule = name, nil // a scheduled run schedules nothing itself
	study, err := def.NewStudy(ctx, s.store, false)
	if err != nil {
		return err
	}
	w := retrain.WarmStart{Model: def.Model, Schedule: base, Triggers: triggers, FitFunc: def.Fit}
	if _, misfits, err := w.Ready(ctx, study); err != nil {
		return err
	} else if len(misfits) > 0 {
		s.log.Info("schedule: warm-start candidates outside the search space were not enqueued", "study", name, "misfits", misfits)
	}
	rs, ok := s.store.(retune.RetrainStore)
	if !ok || def.Retrain == nil {
		return nil
	}
	tick := time.NewTicker(s.opts.DecidePoll)
	defer tick.Stop()
	for {
		ds, err := rs.Decisions(ctx, def.Model)
		if err == nil && slices.ContainsFunc(ds, func(d retune.Decision) bool { return d.Study == name }) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// decidedElsewhere reports whether the study's best trial already has a decision against
// the model's current champion version, under any run: a `retune run` that finished the
// study decided it itself.
func decidedElsewhere(ctx context.Context, rs retune.RetrainStore, study *retune.Study) (bool, error) {
	best, err := study.Best(ctx)
	if err != nil {
		return false, nil // nothing to decide on: Decide says so
	}
	model := study.Record().Model
	version := int64(0)
	switch c, err := rs.Champion(ctx, model); {
	case err == nil:
		version = c.Version
	case !errors.Is(err, retune.ErrNotFound):
		return false, err
	}
	ds, err := rs.Decisions(ctx, model)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ds, func(d retune.Decision) bool {
		return d.Study == study.Name() && d.Candidate == best.Number && d.ChampionVersion == version && !strings.HasPrefix(d.RunID, "serve/")
	}), nil
}
