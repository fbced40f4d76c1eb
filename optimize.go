package retune

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Objective is a single-objective function to optimize. It asks t for params and returns
// the value. Returning an error makes the trial FAIL (or PRUNED for an error wrapping
// ErrPruned); a NaN value makes it FAIL; a panic is recovered and makes it FAIL.
type Objective func(ctx context.Context, t *Trial) (float64, error)

// MultiObjective is Objective for several objectives: one value per direction.
type MultiObjective func(ctx context.Context, t *Trial) ([]float64, error)

// OptimizeOptions controls one Optimize call. Zero values are the documented defaults.
type OptimizeOptions struct {
	// Trials is how many trials this call runs, exactly, across its workers (fewer only if
	// another stop comes first). 0 = until the study budget, the grid, Timeout or ctx ends.
	Trials int
	// Timeout is the wall clock for this call: new trials stop and running ones are
	// cancelled (they end FAIL). 0 = none.
	Timeout time.Duration
	// Parallel is the number of concurrent workers; default 1.
	Parallel int
	// TrialTimeout cancels a trial's ctx after this long; the trial ends FAIL. 0 = none.
	TrialTimeout time.Duration
	// StopOnError stops the run at the first objective error (after recording the trial as
	// FAIL) and returns that error. Default: record and go on.
	StopOnError bool
	// FailFast stops the run (Result.Stop FailedAlike) when the first FailFast trials of
	// this call to finish all failed with the same reason (its first line): a broken
	// command or environment fails every trial alike, and would otherwise spend the whole
	// budget. Interrupted trials do not count; one that completes or is pruned turns the
	// check off. 0 = never.
	FailFast int
	// RequeueInterrupted enqueues the params of every trial of this call that was
	// interrupted (cancellation, Timeout) again when the call ends, so the next call runs
	// them first (Result.Requeued); an interrupted trial gives its place in Budget.Trials
	// back, so the re-run takes it.
	RequeueInterrupted bool
	// Callbacks are called after each trial of this run finishes, one at a time.
	Callbacks []func(ctx context.Context, s *Study, t FrozenTrial)
	// ObserverTimeout bounds each observer call; default 30s.
	ObserverTimeout time.Duration
	// CancelGrace is how long a trial whose ctx ended (timeout, cancellation) may take to
	// return before it is settled FAIL without its result and its goroutine abandoned;
	// default 100ms. Raise it for objectives that need time to stop (child processes).
	CancelGrace time.Duration
}

// Result says what an Optimize call did.
type Result struct {
	// Best is the study's best trial after the run (single objective), or its Pareto front.
	Best []FrozenTrial
	// Counts of the trials this call started and how they ended. Interrupted counts the
	// Failed trials that were interrupted (FrozenTrial.Interrupted): they are no outcome
	// and do not count against Budget.Trials.
	Started, Completed, Pruned, Failed, Interrupted int
	// Requeued counts the interrupted trials whose params were enqueued again
	// (OptimizeOptions.RequeueInterrupted).
	Requeued int
	Stop     StopReason
	// ObserverErrors are the errors (and timeouts, and panics) of observers.
	ObserverErrors []error
	// Abandoned counts objective and observer calls that were still running when they were
	// settled at their deadline: their goroutines were left to finish on their own.
	Abandoned int
	Elapsed   time.Duration
}

// Cancellation causes, so trial reasons and stop reasons tell them apart.
var (
	errTrialTimeout = errors.New("trial timeout")
	errRunTimeout   = errors.New("study run timeout")
)

// settleGrace is how long a trial whose ctx was cancelled may take to return before it is
// settled without its result and its goroutine abandoned.
const settleGrace = 100 * time.Millisecond

// Optimize runs obj as trials of a single-objective study until a stop (see
// OptimizeOptions). Running out of trials, budget, grid or time, and cancellation of ctx,
// are not errors: Result.Stop says which happened, and running trials cut short end FAIL
// ("interrupted", "trial timeout" …) so the study stays consistent. The error is non-nil
// only for a storage failure, or an objective error with StopOnError. When the run's best
// trial beats the baseline, observers are called once, after the run.
func (s *Study) Optimize(ctx context.Context, obj Objective, o OptimizeOptions) (Result, error) {
	if len(s.rec.Directions) != 1 {
		return Result{}, fmt.Errorf("%w: Optimize needs a single objective; this study has %d (use OptimizeMulti)", ErrInvalid, len(s.rec.Directions))
	}
	return s.optimize(ctx, func(ctx context.Context, t *Trial) ([]float64, error) {
		v, err := obj(ctx, t)
		return []float64{v}, err
	}, o)
}

// OptimizeMulti is Optimize for several objectives. Observers are not called: a study with
// several objectives has a front, not a best (Result.Best holds it).
func (s *Study) OptimizeMulti(ctx context.Context, obj MultiObjective, o OptimizeOptions) (Result, error) {
	return s.optimize(ctx, obj, o)
}

type outcome struct {
	values []float64
	err    error
}

type runState struct {
	mu          sync.Mutex
	res         Result
	alike       failStreak
	interrupted []FrozenTrial
	stopped     bool
	err         error
	completed   map[int]bool
	abandoned   atomic.Int64
	cbMu        sync.Mutex
}

func (r *runState) stop(reason StopReason, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped {
		r.stopped, r.res.Stop, r.err = true, reason, err
	}
}

func (r *runState) isStopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

func (s *Study) optimize(ctx context.Context, run MultiObjective, o OptimizeOptions) (Result, error) {
	start := time.Now()
	switch {
	case o.Trials < 0:
		return Result{}, fmt.Errorf("%w: Trials %d: want >= 0", ErrInvalid, o.Trials)
	case o.Parallel < 0:
		return Result{}, fmt.Errorf("%w: Parallel %d: want >= 1 (or 0 for 1)", ErrInvalid, o.Parallel)
	case o.Timeout < 0 || o.TrialTimeout < 0 || o.ObserverTimeout < 0 || o.CancelGrace < 0:
		return Result{}, fmt.Errorf("%w: negative timeout: want >= 0 (0 = none)", ErrInvalid)
	}
	par := max(1, o.Parallel)
	defer s.pinRenewer()()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.Timeout > 0 {
		var cancelT context.CancelFunc
		runCtx, cancelT = context.WithTimeoutCause(runCtx, o.Timeout, errRunTimeout)
		defer cancelT()
	}
	st := &runState{completed: make(map[int]bool)}
	var slots atomic.Int64
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			for runCtx.Err() == nil && !st.isStopped() {
				if o.Trials > 0 && slots.Add(1) > int64(o.Trials) {
					st.stop(TrialsDone, nil)
					return
				}
				t, err := s.Ask(runCtx)
				if err != nil {
					slots.Add(-1)
					switch {
					case errors.Is(err, ErrBudgetExhausted):
						st.stop(BudgetExhausted, nil)
					case errors.Is(err, ErrGridExhausted):
						st.stop(GridExhausted, nil)
					case runCtx.Err() != nil:
					default:
						st.stop(Error, err)
					}
					return
				}
				st.mu.Lock()
				st.res.Started++
				st.mu.Unlock()
				ft, err := s.runTrial(ctx, runCtx, t, run, o, st)
				if err != nil {
					st.stop(Error, err)
					if !ft.State.Finished() { // nothing was recorded
						return
					}
				}
				st.mu.Lock()
				switch ft.State {
				case TrialComplete:
					st.res.Completed++
					st.completed[ft.Number] = true
				case TrialPruned:
					st.res.Pruned++
				case TrialFail:
					st.res.Failed++
					if ft.Interrupted() {
						st.res.Interrupted++
						st.interrupted = append(st.interrupted, ft)
					}
				}
				failedAlike := o.FailFast > 0 && st.alike.add(ft) >= o.FailFast
				st.mu.Unlock()
				if failedAlike {
					st.stop(FailedAlike, nil)
				}
				if len(o.Callbacks) > 0 {
					st.cbMu.Lock()
					for _, cb := range o.Callbacks {
						cb(ctx, s, ft)
					}
					st.cbMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if !st.isStopped() {
		if errors.Is(context.Cause(runCtx), errRunTimeout) {
			st.stop(Timeout, nil)
		} else {
			st.stop(Canceled, nil)
		}
	}
	bctx := context.WithoutCancel(ctx)
	if o.RequeueInterrupted {
		sort.Slice(st.interrupted, func(i, j int) bool { return st.interrupted[i].Number < st.interrupted[j].Number })
		for _, ft := range st.interrupted {
			if err := s.Enqueue(bctx, ft.RetryParams()); err != nil {
				if st.err == nil {
					st.err = fmt.Errorf("enqueue interrupted trial %d again: %w", ft.Number, err)
				}
				break
			}
			st.res.Requeued++
		}
	}
	res := st.res
	best, err := s.BestTrials(bctx)
	if err != nil && st.err == nil {
		st.err = err
	}
	res.Best = best
	if len(s.rec.Directions) == 1 && len(best) == 1 && st.completed[best[0].Number] && s.beatsBaseline(best[0].Values[0]) {
		timeout := o.ObserverTimeout
		if timeout == 0 {
			timeout = 30 * time.Second
		}
		res.ObserverErrors = s.notify(bctx, best[0], timeout, &st.abandoned)
	}
	res.Abandoned = int(st.abandoned.Load())
	res.Elapsed = time.Since(start)
	return res, st.err
}

// failStreak follows the first outcomes of a run for OptimizeOptions.FailFast.
type failStreak struct {
	n      int    // trials that failed with reason
	reason string // first line of the first failure's reason
	broken bool   // an outcome other than that failure came: the check is off
}

// add records a finished trial and returns how many trials have failed alike so far.
func (f *failStreak) add(ft FrozenTrial) int {
	if f.broken {
		return 0
	}
	if ft.Interrupted() {
		return f.n
	}
	first, _, _ := strings.Cut(ft.Reason, "\n")
	switch {
	case ft.State != TrialFail:
		f.broken = true
	case f.n == 0:
		f.n, f.reason = 1, first
	case first == f.reason:
		f.n++
	default:
		f.broken = true
	}
	if f.broken {
		return 0
	}
	return f.n
}

// runTrial runs one trial and records how it ended. The returned error is a storage
// failure, or the objective's error with StopOnError.
func (s *Study) runTrial(ctx, runCtx context.Context, t *Trial, run MultiObjective, o OptimizeOptions, st *runState) (FrozenTrial, error) {
	tctx := runCtx
	if o.TrialTimeout > 0 {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeoutCause(runCtx, o.TrialTimeout, errTrialTimeout)
		defer cancel()
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- outcome{err: fmt.Errorf("objective panicked: %v\n%s", r, debug.Stack())}
			}
		}()
		v, err := run(tctx, t)
		done <- outcome{values: v, err: err}
	}()
	var out outcome
	select {
	case out = <-done:
	case <-tctx.Done():
		grace := o.CancelGrace
		if grace <= 0 {
			grace = settleGrace
		}
		select {
		case out = <-done:
		case <-time.After(grace):
			st.abandoned.Add(1)
			ft, err := s.settle(ctx, t, TrialFail, nil, cancelReason(tctx, o))
			return ft, err
		}
	}
	switch {
	case out.err != nil && errors.Is(out.err, ErrPruned):
		return s.settle(ctx, t, TrialPruned, nil, out.err)
	case out.err != nil && tctx.Err() != nil:
		reason := cancelReason(tctx, o)
		if msg := out.err.Error(); msg != context.Canceled.Error() && msg != context.DeadlineExceeded.Error() && msg != context.Cause(tctx).Error() {
			reason = fmt.Errorf("%w: %w", reason, out.err) // what the objective said while stopping
		}
		return s.settle(ctx, t, TrialFail, nil, reason)
	case out.err != nil:
		ft, err := s.settle(ctx, t, TrialFail, nil, out.err)
		if err == nil && o.StopOnError {
			err = fmt.Errorf("trial %d: %w", t.Number(), out.err)
		}
		return ft, err
	case t.Err() != nil:
		return s.settle(ctx, t, TrialFail, nil, t.Err())
	case len(out.values) != len(s.rec.Directions):
		return s.settle(ctx, t, TrialFail, nil, fmt.Errorf("objective returned %d values for %d objectives", len(out.values), len(s.rec.Directions)))
	}
	for _, v := range out.values {
		if math.IsNaN(v) {
			return s.settle(ctx, t, TrialFail, nil, errNaN)
		}
	}
	return s.settle(ctx, t, TrialComplete, out.values, nil)
}

// cancelReason names why a trial's ctx ended.
func cancelReason(tctx context.Context, o OptimizeOptions) error {
	switch cause := context.Cause(tctx); {
	case errors.Is(cause, errTrialTimeout):
		return fmt.Errorf("trial timeout: no result within %v", o.TrialTimeout)
	case errors.Is(cause, errRunTimeout):
		return interruption{fmt.Errorf("run timeout of %v reached", o.Timeout)}
	default:
		return interruption{cause}
	}
}
