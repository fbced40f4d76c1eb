package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
	"github.com/a6b40afc/retune/retrain"
	"github.com/a6b40afc/retune/runner"
	"github.com/a6b40afc/retune/storage"
	"github.com/a6b40afc/retune/storage/postgres"
)

func runRun(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("run")
	db := dbFlag(fs)
	dbRetry := fs.Duration("db-retry", postgres.DefaultRetryFor, "how long a PostgreSQL operation that fails for a transient reason (a server restart) is tried again before the run fails; 0 fails at once")
	logDir := fs.String("log-dir", "", "where trial logs go (default $RETUNE_LOG_DIR, the study file's log_dir, else retune-logs beside a SQLite file or in the working directory)")
	trials := fs.Int("trials", 0, "trials this run starts, >= 1 (default: until the study budget, the grid or the timeout ends)")
	timeout := fs.Duration("timeout", 0, "wall clock for this run (default: the study file's budget.timeout)")
	parallel := fs.Int("parallel", 0, "trainers at once (default: the study file's budget.parallel, else 1)")
	replace := fs.Bool("replace", false, "allow a resumed study to change its sampler or pruner (the change is recorded; seed and model never change)")
	grace := fs.Duration("kill-grace", runner.DefaultKillGrace, "time between SIGTERM and SIGKILL when a trainer is stopped")
	quiet := fs.Bool("quiet", false, "no progress output, only the summary")
	failFast := fs.Int("fail-fast", 5, "stop when this run's first N trials all fail with the same reason, leaving the budget unspent (0 = never)")
	usage := fs.Usage
	fs.Usage = func() { usage(); fmt.Fprint(fs.Output(), scheduleHelp) }
	drain := fs.Duration("drain", 10*time.Second, "at exit, how long to wait for the run's events to be delivered to the study file's notifiers (retune dispatch retries the rest)")
	every := fs.Duration("every", 0, "keep running: start a new study for the model every period, e.g. 24h (default: the study file's schedule.every; 0 runs once)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	cfg, err := config.Load(pos[0])
	if err != nil {
		return err
	}
	switch {
	case isSet(fs, "trials") && *trials == 0:
		return usagef("--trials 0: want at least 1, or leave the flag out to run until the study budget, the grid or the timeout ends")
	case *trials < 0 || *parallel < 0 || *timeout < 0 || *grace <= 0 || *failFast < 0:
		return usagef("--trials, --parallel, --timeout and --fail-fast must be >= 0 and --kill-grace > 0")
	case *every < 0:
		return usagef("--every must be > 0, or 0 to run once")
	case *drain < 0:
		return usagef("--drain must be >= 0")
	case *dbRetry < 0:
		return usagef("--db-retry must be >= 0")
	case *timeout == 0:
		*timeout = cfg.Budget.Timeout
	}
	if *parallel == 0 {
		*parallel = cfg.Budget.Parallel
	}
	if *trials == 0 && cfg.Budget.Trials == 0 && *timeout == 0 && cfg.SamplerSpec.Name != "grid" {
		return usagef("%s: nothing would stop this run: set budget.trials or budget.timeout in the study file, or pass --trials or --timeout", cfg.Path)
	}
	sched := cfg.Schedule
	if isSet(fs, "every") {
		sched = nil
		if *every > 0 {
			sched = &config.Schedule{Every: *every, Location: time.UTC}
			if cfg.Schedule != nil {
				sched.Location = cfg.Schedule.Location
			}
		}
	}
	o := runOptions{
		cfg: cfg, dsn: m.dsn(*db, cfg.Storage), trials: *trials, timeout: *timeout, parallel: *parallel,
		replace: *replace, grace: *grace, quiet: *quiet, failFast: *failFast,
	}
	o.logs = m.logDir(*logDir, cfg.LogDir, o.dsn)
	retry := *dbRetry
	if retry == 0 {
		retry = -1 // no retries, not the default
	}
	store, err := m.openOptions(ctx, o.dsn, storage.Options{RetryFor: retry})
	if err != nil {
		return err
	}
	defer store.Close()
	o.disp, err = m.startDispatcher(ctx, store, cfg)
	if err != nil {
		return err
	}
	defer m.stopDispatcher(ctx, o.disp, *drain)
	if sched != nil {
		return m.schedule(ctx, store, o, *sched)
	}
	return m.runStudy(ctx, store, o, nil)
}

// isSet reports whether the flag was given.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// runOptions are one run's settings, from its flags, the environment and the study file.
type runOptions struct {
	cfg      *config.Study
	dsn      string
	logs     string // the log directory
	trials   int
	timeout  time.Duration
	parallel int
	replace  bool
	failFast int
	grace    time.Duration
	quiet    bool
	disp     *runDispatcher // delivers events to the study file's notifiers; nil if none
}

// prepareFunc readies a study that runStudy opened, before its trials start; it returns
// labels of trials by number, set as each one's "warm_start" user attribute when it runs.
type prepareFunc func(ctx context.Context, study *retune.Study) (map[int]string, error)

// runStudy is one run of a study: it creates or resumes the study, runs the trainer as
// its trials, prints the summary and, with a retrain section, decides. prepare, if not
// nil, is called with the study before any trial starts.
func (m *Main) runStudy(ctx context.Context, store retune.Storage, o runOptions, prepare prepareFunc) error {
	cfg := o.cfg
	study, err := cfg.NewStudy(ctx, store, o.replace)
	if err != nil {
		return err
	}
	if !o.quiet {
		fmt.Fprintf(m.Stderr, "retune: study %s: sampler %s\n", cfg.Name, cfg.SamplerNote())
	}
	if len(cfg.Constraints) > 0 && cfg.SamplerSpec.Name == "cmaes" {
		fmt.Fprintln(m.Stderr, "retune: warning: sampler cmaes ignores the constraints: it proposes as if every trial were feasible (best still picks feasible trials only); tpe, gp, nsga2 and auto use them")
	}
	var labels map[int]string
	if prepare != nil {
		if labels, err = prepare(ctx, study); err != nil {
			return err
		}
	}
	cmd := &runner.Command{
		Args: cfg.Command, Dir: cfg.Dir, Objectives: cfg.Metrics(), Study: cfg.Name,
		LogDir: o.logs, Secrets: cfg.Secrets(), KillGrace: o.grace,
		StepKeys:    cfg.StepKeys,
		Absent:      cfg.Absent(),
		ExpectSteps: cfg.PrunerSpec.Name != "" && cfg.PrunerSpec.Name != "none",
		WarnFunc:    func(msg string) { fmt.Fprintln(m.Stderr, "retune: warning:", msg) },
		LogErrorFunc: func(err error) {
			fmt.Fprintf(m.Stderr, "retune: warning: %s; the trials go on, their logs cut short (is the disk full?)\n", errText(err))
		},
	}
	keys := make([]string, 0, len(cfg.Env))
	for k := range cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+cfg.Env[k])
	}
	if err := cmd.Check(); err != nil {
		return usagef("%s: %v", cfg.Path, err)
	}
	if n, err := runner.RecoverOrphans(ctx, study, o.grace); err != nil {
		return fmt.Errorf("recover trials of a stopped run: %w", err)
	} else if n > 0 {
		fmt.Fprintf(m.Stderr, "retune: re-enqueued %d trial(s) left running by a stopped retune\n", n)
	}

	dec, err := m.decider(cfg, store, study, cmd)
	if err != nil {
		return err
	}
	if dec != nil {
		dec.c.Notify, dec.kick = cfg.Notify, o.disp.kick
	}
	pr := newProgress(m, study, o.quiet, o.trials, cfg.Budget.Trials, o.timeout)
	opts := retune.OptimizeOptions{
		Trials: o.trials, Timeout: o.timeout, Parallel: o.parallel, TrialTimeout: cfg.Budget.TrialTimeout, FailFast: o.failFast,
		CancelGrace: o.grace + 2*time.Second, RequeueInterrupted: true,
		Callbacks: []func(context.Context, *retune.Study, retune.FrozenTrial){func(cbCtx context.Context, _ *retune.Study, t retune.FrozenTrial) {
			if pr.finished(t) && dec != nil && cfg.Retrain.EachBest && cbCtx.Err() == nil {
				if err := dec.decide(cbCtx); err != nil {
					fmt.Fprintln(m.Stderr, "retune:", errText(err))
				}
			}
		}},
	}
	pr.start()
	res, err := study.OptimizeMulti(ctx, func(ctx context.Context, t *retune.Trial) ([]float64, error) {
		if l, ok := labels[t.Number()]; ok {
			t.SetUserAttr("warm_start", l)
		}
		params := cfg.Suggest(t)
		if err := t.Err(); err != nil {
			return nil, err
		}
		pr.running.Add(1)
		defer pr.running.Add(-1)
		return cmd.Run(ctx, t, params)
	}, opts)
	cmd.Wait() // no trainer outlives the run
	pr.stop()
	bg := context.WithoutCancel(ctx)
	if err != nil {
		return err
	}
	m.summary(bg, study, res, o.logs, o.dsn)
	if dec != nil && ctx.Err() == nil && !cfg.Retrain.EachBest && res.Completed > 0 {
		if err := dec.decide(ctx); err != nil {
			return err
		}
	}
	if err := retrain.RecordCompleted(bg, study, res, cfg.Notify); err != nil {
		return err
	}
	o.disp.kick()
	switch {
	case ctx.Err() != nil:
		return errInterrupted
	case res.Stop == retune.FailedAlike:
		first := ""
		if ts, err := study.Trials(bg); err == nil && len(ts) > 0 {
			for _, t := range ts {
				if t.State == retune.TrialFail && !t.Interrupted() {
					first = t.Reason
				}
			}
		}
		return fmt.Errorf("%w: this run's first %d trials all failed alike, so it stopped with the rest of the budget unspent; fix the command or its environment (see `retune trials %s --state FAIL` and the logs in %s) and run again. The last failure:\n%s",
			errAllFailed, o.failFast, cfg.Name, o.logs, first)
	case res.Started > res.Interrupted && res.Failed == res.Started:
		return fmt.Errorf("%w: %d of %d (see `retune trials %s --state FAIL` and the logs in %s)", errAllFailed, res.Failed, res.Started, cfg.Name, o.logs)
	}
	return nil
}

// progress shows the run: a live line on a terminal, a line per trial otherwise.
type progress struct {
	m       *Main
	study   *retune.Study
	quiet   bool
	limit   int // trials this run may start, if known
	timeout time.Duration
	begin   time.Time
	running atomic.Int64

	mu                             sync.Mutex
	done, complete, pruned, failed int
	infeasible                     int                 // of complete
	best                           *retune.FrozenTrial // the best feasible
	stopc                          chan struct{}
	wg                             sync.WaitGroup
	dirs                           []retune.Direction
}

func newProgress(m *Main, s *retune.Study, quiet bool, runTrials, budget int, timeout time.Duration) *progress {
	limit := runTrials
	if limit == 0 && budget > 0 {
		limit = budget - startedSoFar(s)
	}
	return &progress{m: m, study: s, quiet: quiet, limit: limit, timeout: timeout, dirs: s.Directions()}
}

func startedSoFar(s *retune.Study) int {
	ts, err := s.Trials(context.Background())
	if err != nil {
		return 0
	}
	n := 0
	for _, t := range ts {
		if t.Kind == retune.KindSearch && t.State != retune.TrialWaiting && !t.Interrupted() {
			n++
		}
	}
	return n
}

func (p *progress) start() {
	p.begin = time.Now()
	if p.quiet || !p.m.IsTerminal {
		return
	}
	p.stopc = make(chan struct{})
	p.wg.Go(func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stopc:
				fmt.Fprint(p.m.Stderr, "\r\033[K")
				return
			case <-tick.C:
				fmt.Fprint(p.m.Stderr, "\r\033[K"+p.line())
			}
		}
	})
}

func (p *progress) stop() {
	if p.stopc != nil {
		close(p.stopc)
		p.wg.Wait()
	}
}

func (p *progress) line() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	el := time.Since(p.begin).Round(time.Second)
	s := fmt.Sprintf("%d done · %d running · %d pruned · %d failed", p.complete, p.running.Load(), p.pruned, p.failed)
	if p.infeasible > 0 {
		s += fmt.Sprintf(" · %d infeasible", p.infeasible)
	}
	if p.best != nil {
		s += fmt.Sprintf(" · best %s (#%d)", fmtValues(p.best.Values), p.best.Number)
	}
	s += " · " + el.String()
	if eta := p.eta(el); eta > 0 {
		s += " · ETA " + eta.Round(time.Second).String()
	}
	return s
}

func (p *progress) eta(el time.Duration) time.Duration {
	var eta time.Duration
	if p.limit > 0 && p.done > 0 {
		eta = el / time.Duration(p.done) * time.Duration(max(0, p.limit-p.done))
	}
	if p.timeout > 0 {
		if left := p.timeout - el; eta == 0 || left < eta {
			eta = left
		}
	}
	return eta
}

// finished records a finished trial and reports whether it is the run's new best.
func (p *progress) finished(t retune.FrozenTrial) (newBest bool) {
	p.mu.Lock()
	p.done++
	switch t.State {
	case retune.TrialComplete:
		p.complete++
		if !t.Feasible() {
			p.infeasible++
		} else if len(p.dirs) == 1 && (p.best == nil || p.dirs[0].Better(t.Values[0], p.best.Values[0])) {
			p.best, newBest = &t, true
		}
	case retune.TrialPruned:
		p.pruned++
	case retune.TrialFail:
		p.failed++
	}
	p.mu.Unlock()
	if p.quiet || p.m.IsTerminal {
		return newBest
	}
	line := fmt.Sprintf("trial %d %s", t.Number, t.State)
	if len(t.Values) > 0 {
		line += " " + fmtValues(t.Values)
	}
	line += " (" + duration(t) + ")"
	if t.State == retune.TrialComplete && !t.Feasible() {
		line += " infeasible: " + p.violated(t)
	}
	if t.Reason != "" {
		first, _, _ := strings.Cut(t.Reason, "\n")
		line += ": " + first
	}
	fmt.Fprintln(p.m.Stderr, line)
	return newBest
}

// violated says which of the study's constraints infeasible trial t breaks.
func (p *progress) violated(t retune.FrozenTrial) string {
	return violated(p.study.Constraints(), t)
}

// violated says which of cs (the study's constraints) t breaks: "memory_mb is 1500, want
// memory_mb <= 1000", or "memory_mb not reported"; for a violation of the trial's own
// constraint values (Trial.SetConstraints), its total.
func violated(cs []retune.Constraint, t retune.FrozenTrial) string {
	cv := t.Constraints()
	off := len(cv) - len(cs) // the study's values come last
	var out []string
	for i, c := range cs {
		if off+i < 0 || cv[off+i] <= 0 {
			continue
		}
		if m, ok := t.Metrics[c.Metric]; ok && !math.IsNaN(m) {
			out = append(out, fmt.Sprintf("%s is %s, want %s", c.Metric, fmtValue(m), c))
		} else {
			out = append(out, c.Metric+" not reported")
		}
	}
	if len(out) == 0 {
		return "constraint violation " + fmtValue(t.Violation())
	}
	return strings.Join(out, "; ")
}

// summary prints what the run did and the study's best trials.
func (m *Main) summary(ctx context.Context, s *retune.Study, res retune.Result, logs, dsn string) {
	w := m.Stdout
	interrupted := ""
	if res.Interrupted > 0 {
		interrupted = fmt.Sprintf(", %d interrupted", res.Interrupted)
	}
	fmt.Fprintf(w, "\nstudy %s: ran %d trials in %v (%d complete, %d pruned, %d failed%s); stopped: %v\n",
		s.Name(), res.Started, res.Elapsed.Round(time.Millisecond), res.Completed, res.Pruned, res.Failed-res.Interrupted, interrupted, res.Stop)
	if res.Requeued > 0 {
		fmt.Fprintf(w, "%d interrupted trial(s) were enqueued again and gave their places in the budget back: the next run of study %s starts with them\n", res.Requeued, s.Name())
	}
	ts, err := s.Trials(ctx)
	if err != nil {
		return
	}
	if cs := s.Constraints(); len(cs) > 0 {
		infeasible, complete := 0, 0
		for _, t := range ts {
			if t.Kind == retune.KindSearch && t.State == retune.TrialComplete {
				complete++
				if !t.Feasible() {
					infeasible++
				}
			}
		}
		names := make([]string, len(cs))
		for i, c := range cs {
			names[i] = c.String()
		}
		fmt.Fprintf(w, "%d of the study's %d complete trials are infeasible (constraints: %s); the best are feasible\n", infeasible, complete, strings.Join(names, ", "))
	}
	n := 5
	if len(s.Directions()) > 1 {
		n = len(ts) // the whole Pareto front
	}
	top := retrain.Top(s.Directions(), ts, n)
	if len(top) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "#\tVALUE\tDURATION\tPARAMS")
		for _, t := range top {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", t.Number, fmtValues(t.Values), duration(t), fmtParams(t.Params))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\ndatabase %s, logs in %s\n", storage.Redact(dsn), logs)
}

// decider makes the retraining decisions of a run whose study file has a retrain section.
type decider struct {
	m     *Main
	c     *retrain.Coordinator
	study *retune.Study
	cmd   *runner.Command
	runID string
	kick  func() // tells the dispatcher of a new event
}

func (m *Main) decider(cfg *config.Study, store retune.Storage, study *retune.Study, cmd *runner.Command) (*decider, error) {
	if cfg.Retrain == nil {
		return nil, nil
	}
	rs, ok := store.(retune.RetrainStore)
	if !ok {
		return nil, fmt.Errorf("%w: this storage keeps no champions", retune.ErrInvalid)
	}
	if len(cfg.Objectives) != 1 {
		return nil, usagef("%s: retrain: decisions need a single objective; the study has %d", cfg.Path, len(cfg.Objectives))
	}
	if err := cfg.Retrain.Policy.Validate(); err != nil {
		return nil, err
	}
	return &decider{m: m, c: &retrain.Coordinator{Store: rs, Policy: cfg.Retrain.Policy}, study: study, cmd: cmd, runID: retrain.NewEventID()}, nil
}

// decide compares the study's best with the champion, running confirmation repeats of both
// as trainer processes with RETUNE_REPEAT and RETUNE_SEED, and prints the decision.
func (d *decider) decide(ctx context.Context) error {
	repeat := func(ctx context.Context, t *retune.Trial, params map[string]any, i int, seed uint64) ([]float64, error) {
		return d.cmd.Run(ctx, t, params, "RETUNE_REPEAT="+strconv.Itoa(i), "RETUNE_SEED="+strconv.FormatUint(seed, 10))
	}
	dec, err := d.c.Decide(ctx, d.study, d.runID, repeat)
	if err != nil {
		return fmt.Errorf("retraining decision: %w", err)
	}
	verdict := "no retraining"
	if dec.Improved && d.kick != nil {
		d.kick()
	}
	if dec.Improved {
		verdict = "RETRAINING REQUIRED (event " + retune.TypeRetrainingRequired + " recorded)"
	}
	fmt.Fprintf(d.m.Stdout, "decision %d for model %s, trial %d against champion version %d: %s\n  %s\n",
		dec.ID, dec.Model, dec.Candidate, dec.ChampionVersion, verdict, dec.Reason)
	return nil
}
