package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
	"github.com/a6b40afc/retune/retrain/notify"
)

// stringList collects a repeated string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// idList is a flag of notifier IDs, repeatable and comma-separated ("-x a,b" = "-x a -x
// b"); set tells an explicit empty list ("-x ”") from an absent flag.
type idList struct {
	ids []string
	set bool
}

func (l *idList) String() string { return strings.Join(l.ids, ",") }

func (l *idList) Set(v string) error {
	l.set = true
	for _, id := range strings.Split(v, ",") {
		if id = strings.TrimSpace(id); id != "" {
			l.ids = append(l.ids, id)
		}
	}
	return nil
}

func runDispatch(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("dispatch")
	db := dbFlag(fs)
	var configs stringList
	fs.Var(&configs, "config", "a study file or a file with a notifiers section; repeat for several (required)")
	lease := fs.Duration("lease", notify.DefaultLease, "how long a claimed delivery is reserved; after a crash it is attempted again once this passes")
	poll := fs.Duration("poll", notify.DefaultPoll, "how often to look for due deliveries")
	parallel := fs.Int("parallel", notify.DefaultParallel, "attempts in flight per notifier")
	verbose := fs.Bool("v", false, "log every delivery, not only failures")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if len(configs) == 0 {
		return usagef("dispatch: want --config FILE naming the notifiers to deliver to")
	}
	if *lease <= 0 || *poll <= 0 || *parallel <= 0 {
		return usagef("dispatch: --lease, --poll and --parallel must be > 0")
	}
	ns, secretEnv, err := config.LoadNotifiers(configs...)
	if err != nil {
		return err
	}
	if len(ns) == 0 {
		return usagef("dispatch: %s define no notifiers", strings.Join(configs, ", "))
	}
	built, closeAll, err := config.BuildNotifiers(ns, secretEnv...)
	if err != nil {
		return err
	}
	defer closeAll()
	store, err := m.open(ctx, m.dsn(*db, ""))
	if err != nil {
		return err
	}
	defer store.Close()
	ds, ok := store.(retune.DeliveryStore)
	if !ok {
		return fmt.Errorf("%w: this storage keeps no deliveries", retune.ErrInvalid)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	d := &notify.Dispatcher{Store: ds, Notifiers: built, Lease: *lease, Poll: *poll, Parallel: *parallel, Schedule: m.retrySchedule,
		Logger: slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: level}))}
	if err := d.Check(ctx); err != nil {
		return err
	}
	ids := make([]string, 0, len(ns))
	for _, n := range ns {
		ids = append(ids, n.ID+" ("+n.Type+")")
	}
	fmt.Fprintf(m.Stderr, "retune dispatch: delivering to %s; stop with Ctrl-C or SIGTERM\n", strings.Join(ids, ", "))
	m.warnUnknownNotifiers(ctx, ds, built)
	return d.Run(ctx) // returns nil when ctx ends: a daemon stopped on purpose
}

// warnUnknownNotifiers says which notifiers have pending deliveries that no file given to
// this dispatcher defines: they wait for a dispatcher that knows them.
func (m *Main) warnUnknownNotifiers(ctx context.Context, ds retune.DeliveryStore, known map[string]notify.Notifier) {
	pending, err := ds.Deliveries(ctx, retune.DeliveryFilter{State: retune.DeliveryPending})
	if err != nil {
		return
	}
	count := map[string]int{}
	for _, p := range pending {
		if _, ok := known[p.Notifier]; !ok {
			count[p.Notifier]++
		}
	}
	for _, id := range slices.Sorted(maps.Keys(count)) {
		fmt.Fprintf(m.Stderr, "retune dispatch: %d pending deliveries are for notifier %q, which these files do not define; they wait for a dispatcher that does\n", count[id], id)
	}
}

// runDispatcher is the dispatcher inside `retune run`: it delivers the study's events
// while the run goes on.
type runDispatcher struct {
	d      *notify.Dispatcher
	cancel context.CancelFunc
	done   chan struct{}
	close  func() error
	path   string // the study file
}

// startDispatcher starts delivering to the study file's notifiers; it returns nil when the
// file defines none.
func (m *Main) startDispatcher(ctx context.Context, store retune.Storage, cfg *config.Study) (*runDispatcher, error) {
	if len(cfg.Notifiers) == 0 {
		return nil, nil
	}
	ds, ok := store.(retune.DeliveryStore)
	if !ok {
		return nil, fmt.Errorf("%w: this storage keeps no deliveries", retune.ErrInvalid)
	}
	built, closeAll, err := config.BuildNotifiers(cfg.Notifiers, cfg.SecretEnv...)
	if err != nil {
		return nil, err
	}
	d := &notify.Dispatcher{Store: ds, Notifiers: built, Schedule: m.retrySchedule,
		Logger: slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := d.Check(ctx); err != nil {
		_ = closeAll()
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &runDispatcher{d: d, cancel: cancel, done: make(chan struct{}), close: closeAll, path: cfg.Path}
	go func() {
		defer close(r.done)
		if err := d.Run(rctx); err != nil { // Check has seen the configuration: not expected
			fmt.Fprintln(m.Stderr, "retune: event dispatcher:", errText(err))
		}
	}()
	return r, nil
}

// kick makes the dispatcher deliver new events now.
func (r *runDispatcher) kick() {
	if r != nil {
		r.d.Kick()
	}
}

// stop ends the dispatcher, after up to wait delivering what is due and what comes due in
// that time (retries included), and says what is left pending.
func (m *Main) stopDispatcher(ctx context.Context, r *runDispatcher, wait time.Duration) {
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
	defer r.close()
	if wait > 0 {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
		_ = r.d.Flush(fctx)
		cancel()
	}
	pending, err := r.d.Store.Deliveries(context.WithoutCancel(ctx), retune.DeliveryFilter{State: retune.DeliveryPending})
	if err != nil || len(pending) == 0 {
		return
	}
	n := 0
	for _, p := range pending {
		if _, ours := r.d.Notifiers[p.Notifier]; ours {
			n++
		}
	}
	if n > 0 {
		fmt.Fprintf(m.Stderr, "retune: %d event deliveries are pending (see `retune events list --state pending`); `retune dispatch --config %s` keeps retrying them\n",
			n, r.path)
	}
}
