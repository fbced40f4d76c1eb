// Package retune tunes hyperparameters and coordinates retraining.
//
// A Study runs trials — calls of a define-by-run objective that asks its Trial for
// parameters — under budgets, with a pluggable Sampler choosing the parameters and an
// optional Pruner stopping hopeless trials early. All state lives in a Storage (memory by
// default; SQLite and PostgreSQL in package storage), so a study can be resumed by name and
// shared by many processes. When a run's best trial beats the configured baseline, the
// study's Observers are notified.
//
// The root package holds the domain (studies, trials, distributions, directions, errors),
// the interfaces it consumes (Sampler, Pruner, Storage, Observer) and the ask → run → tell
// loop. It imports nothing else from this module but internal packages that import nothing
// of retune's (the sentinel errors' definitions, the stored form of plain values).
package retune

import (
	"errors"
	"fmt"

	"github.com/a6b40afc/retune/internal/errs"
)

// Sentinel errors. Match them with errors.Is: they are usually wrapped with context.
var (
	// ErrPruned is wrapped by the error Trial.Report returns when the trial should stop.
	// An objective that returns it (wrapped or not) ends its trial PRUNED.
	ErrPruned = errors.New("retune: trial pruned")
	// ErrNotFound ("retune: not found") is returned when a study, a trial or a best
	// trial does not exist.
	ErrNotFound = errs.ErrNotFound
	// ErrConflict ("retune: conflict") is returned when a write contradicts stored
	// state: finishing a finished trial, a stale lease, a study name that is taken, a
	// mismatched resume.
	ErrConflict = errs.ErrConflict
	// ErrBudgetExhausted is returned by Ask when the study's Budget.Trials have all started.
	ErrBudgetExhausted = errors.New("retune: study trial budget exhausted")
	// ErrGridExhausted is returned by Ask when an exhaustive sampler (grid) has no point left.
	ErrGridExhausted = errors.New("retune: grid exhausted")
	// ErrInvalid ("retune: invalid") is wrapped by every validation error: a bad
	// distribution, config or value.
	ErrInvalid = errs.ErrInvalid
	// ErrInterrupted is wrapped by the fail reason of a trial that its runner stopped
	// (cancellation, the run's timeout, a dead process) before the objective had an
	// outcome. Such a trial ends FAIL but gives its place in Budget.Trials back;
	// TellState(ctx, t, TrialFail, err) with an err wrapping it does the same.
	ErrInterrupted = errors.New("retune: trial interrupted")
)

// interruption is a fail reason that wraps ErrInterrupted; it reads "interrupted: why".
type interruption struct{ why error }

func (e interruption) Error() string   { return "interrupted: " + e.why.Error() }
func (e interruption) Unwrap() []error { return []error{ErrInterrupted, e.why} }

// Direction says whether an objective is minimized or maximized.
type Direction int8

// Directions. The zero value is Minimize.
const (
	Minimize Direction = iota
	Maximize
)

func (d Direction) String() string {
	switch d {
	case Minimize:
		return "minimize"
	case Maximize:
		return "maximize"
	}
	return fmt.Sprintf("Direction(%d)", int8(d))
}

// ParseDirection parses "minimize" or "maximize".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "minimize":
		return Minimize, nil
	case "maximize":
		return Maximize, nil
	}
	return 0, fmt.Errorf("%w: direction %q: want minimize or maximize", ErrInvalid, s)
}

// Better reports whether a is strictly better than b in direction d.
func (d Direction) Better(a, b float64) bool {
	if d == Maximize {
		return a > b
	}
	return a < b
}

// TrialState is the lifecycle state of a trial:
// WAITING → RUNNING → COMPLETE, PRUNED or FAIL. Finished trials never change.
type TrialState int8

// Trial states.
const (
	TrialWaiting TrialState = iota
	TrialRunning
	TrialComplete
	TrialPruned
	TrialFail
)

var stateNames = [...]string{"WAITING", "RUNNING", "COMPLETE", "PRUNED", "FAIL"}

func (s TrialState) String() string {
	if int(s) >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("TrialState(%d)", int8(s))
}

// ParseTrialState parses a state name as String prints it.
func ParseTrialState(s string) (TrialState, error) {
	for i, n := range stateNames {
		if n == s {
			return TrialState(i), nil
		}
	}
	return 0, fmt.Errorf("%w: trial state %q: want one of WAITING, RUNNING, COMPLETE, PRUNED, FAIL", ErrInvalid, s)
}

// Finished reports whether s is COMPLETE, PRUNED or FAIL.
func (s TrialState) Finished() bool { return s >= TrialComplete && s <= TrialFail }

// TrialKind separates search trials, which samplers, pruners and Best see, from
// confirmation trials, the repeats a retraining decision runs, and late records (results
// that arrived after their trial was re-run, see late.go), which they never see.
type TrialKind int8

// Trial kinds. The zero value is KindSearch.
const (
	KindSearch TrialKind = iota
	KindConfirm
	KindLate // made only by LateFinisher.FinishLate; never asked or enqueued
)

func (k TrialKind) String() string {
	switch k {
	case KindSearch:
		return "search"
	case KindConfirm:
		return "confirm"
	case KindLate:
		return "late"
	}
	return fmt.Sprintf("TrialKind(%d)", int8(k))
}

// ParseTrialKind parses "search", "confirm" or "late".
func ParseTrialKind(s string) (TrialKind, error) {
	switch s {
	case "search":
		return KindSearch, nil
	case "confirm":
		return KindConfirm, nil
	case "late":
		return KindLate, nil
	}
	return 0, fmt.Errorf("%w: trial kind %q: want search, confirm or late", ErrInvalid, s)
}

// StopReason says why Optimize stopped.
type StopReason int8

// Stop reasons.
const (
	TrialsDone      StopReason = iota // OptimizeOptions.Trials trials ran
	BudgetExhausted                   // the study's Budget.Trials have all started
	Timeout                           // OptimizeOptions.Timeout passed
	Canceled                          // the caller's context was cancelled
	GridExhausted                     // an exhaustive sampler ran every point
	Error                             // an error stopped the run (see the returned error)
	FailedAlike                       // the run's first trials all failed alike (OptimizeOptions.FailFast)
)

var stopNames = [...]string{"trials done", "budget exhausted", "timeout", "canceled", "grid exhausted", "error", "first trials failed alike"}

func (r StopReason) String() string {
	if int(r) >= 0 && int(r) < len(stopNames) {
		return stopNames[r]
	}
	return fmt.Sprintf("StopReason(%d)", int8(r))
}
