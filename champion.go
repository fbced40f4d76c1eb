package retune

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrVersionConflict is returned (wrapping ErrConflict) when a champion promotion's
// expected version is no longer the model's current one: someone promoted first.
var ErrVersionConflict = errors.New("retune: champion version changed")

// Champion is a model's configuration in production, one version of its lineage.
type Champion struct {
	Model   string
	Version int64 // 1, 2, … in promotion order
	Params  map[string]any
	Values  []float64          // its objective values when it was promoted
	Metrics map[string]float64 // other metrics (guardrails)
	// Source is "trial" (promoted from a study's trial) or "manual" (set by hand).
	Source   string
	Study    string // the study of the source trial
	Trial    int    // the source trial's number, -1 for a manual champion
	Decision int64  // the decision that led to it, 0 if none
	Created  time.Time
}

// Decision is an immutable record of one comparison of a candidate with a champion.
type Decision struct {
	ID    int64
	Model string
	Study string
	// RunID identifies the run that decided; with ChampionVersion and Candidate it makes a
	// decision unique, so a retried run does not decide twice.
	RunID           string
	ChampionVersion int64 // 0 when the model had no champion (a baseline value instead)
	Candidate       int   // the candidate trial's number
	Improved        bool
	Reason          string
	Evidence        Evidence
	Created         time.Time
}

// Evidence is what a decision saw.
type Evidence struct {
	// Method is "point" (best value against the champion's recorded value) or "paired"
	// (confirmation repeats of both, repeat i of each run with the same seed).
	Method string `json:"method"`
	// Analysis is how paired repeats were compared: "both", "paired" or "unpaired" (see
	// package retrain); empty for a point comparison, and in decisions recorded before
	// analyses had names, which were "paired".
	Analysis  string    `json:"analysis,omitempty"`
	Direction string    `json:"direction"`
	Candidate []float64 `json:"candidate"`          // the candidate's values (search value, or its repeats)
	Champion  []float64 `json:"champion,omitempty"` // the champion's recorded value, or its repeats
	Repeats   int       `json:"repeats,omitempty"`
	// Differences are candidate − champion per repeat, signed so that positive is better.
	Differences []float64 `json:"differences,omitempty"`
	Improvement float64   `json:"improvement"`           // point: the difference; paired: the mean difference
	LowerBound  *float64  `json:"lower_bound,omitempty"` // paired: one-sided lower confidence bound at Level
	Level       float64   `json:"level,omitempty"`
	// PairedBound and UnpairedBound are the bounds the analysis computed (with analysis
	// "both", each at level 1 − (1 − Level)/2; LowerBound is the larger).
	PairedBound    *float64          `json:"paired_bound,omitempty"`
	UnpairedBound  *float64          `json:"unpaired_bound,omitempty"`
	Margin         float64           `json:"margin"` // the improvement required (absolute, after relative margins)
	MinImprovement float64           `json:"min_improvement,omitempty"`
	MinRelative    float64           `json:"min_relative_improvement,omitempty"`
	Guardrails     []GuardrailResult `json:"guardrails,omitempty"`
	// Cooldown is the policy's least time between two promotions of the model: promoting
	// this decision's candidate sooner after the current champion was made is refused
	// unless forced. 0 = none.
	Cooldown time.Duration `json:"cooldown,omitempty"`
	// Notify names the notifiers the decision's event was for; the event of promoting its
	// candidate names them too, unless the promotion names others.
	Notify []string `json:"notify,omitempty"`
}

// GuardrailResult is one guardrail metric's check.
type GuardrailResult struct {
	Metric        string  `json:"metric"`
	Candidate     float64 `json:"candidate"`
	Champion      float64 `json:"champion"`
	Regression    float64 `json:"regression"` // relative change in the bad direction
	MaxRegression float64 `json:"max_regression"`
	OK            bool    `json:"ok"`
}

// Event is a CloudEvents 1.0 record written to the outbox in the same transaction as what
// it announces. ID is stable forever: deliveries and redeliveries carry it.
type Event struct {
	ID      string
	Type    string // e.g. TypeRetrainingRequired
	Source  string // e.g. "retune/model/digits"
	Subject string
	Time    time.Time
	Data    json.RawMessage
	// Notify names the notifiers (IDs of the dispatchers' local configuration) the event
	// is for: storing the event stores one pending delivery to each.
	Notify []string
}

// Event types.
const (
	TypeRetrainingRequired = "dev.retune.retraining.required.v1"
	TypeChampionPromoted   = "dev.retune.champion.promoted.v1"
	TypeStudyCompleted     = "dev.retune.study.completed.v1"
)

// ChampionStore keeps champions per model, versioned.
type ChampionStore interface {
	// Champion returns the model's current champion, or an error wrapping ErrNotFound.
	Champion(ctx context.Context, model string) (Champion, error)
	// ChampionHistory returns every version of the model's champion, oldest first.
	ChampionHistory(ctx context.Context, model string) ([]Champion, error)
	// PromoteChampion makes c the model's next champion version if the current version is
	// expect (0: the model has none), writing events in the same transaction; otherwise it
	// returns an error wrapping ErrVersionConflict and ErrConflict and writes nothing.
	PromoteChampion(ctx context.Context, c Champion, expect int64, events []Event) (Champion, error)
}

// DecisionStore keeps retraining decisions.
type DecisionStore interface {
	// RecordDecision stores d with its events in one transaction and returns it with its ID
	// and time. A decision with the same (RunID, ChampionVersion, Candidate) as a stored one
	// is not stored again: the stored one is returned with an error wrapping ErrConflict.
	RecordDecision(ctx context.Context, d Decision, events []Event) (Decision, error)
	// Decision returns one decision by ID, or an error wrapping ErrNotFound.
	Decision(ctx context.Context, id int64) (Decision, error)
	// Decisions lists a model's decisions, newest first ("" = every model).
	Decisions(ctx context.Context, model string) ([]Decision, error)
}

// EventStore reads the outbox.
type EventStore interface {
	// Events lists stored events, oldest first, after the given event sequence (0 = all),
	// at most limit of them (0 = no limit), with each one's sequence number.
	Events(ctx context.Context, after int64, limit int) ([]StoredEvent, error)
	// FindEvents lists the events q selects, newest first: a page for people and tools
	// that look back, where Events is for readers that follow the outbox forward.
	FindEvents(ctx context.Context, q EventQuery) ([]StoredEvent, error)
}

// EventQuery selects events for FindEvents. Zero fields select everything.
type EventQuery struct {
	ID     string // only the event with this ID
	Before int64  // only events with a sequence number below this one: the next page
	// State and Notifier keep only events with a delivery in that state, to that notifier
	// (both: one delivery that matches both).
	State    DeliveryState
	Notifier string
	Limit    int // at most this many (0 = no limit)
}

// StoredEvent is an outbox event with its position in the outbox.
type StoredEvent struct {
	Seq int64
	Event
}

// Trigger is a request to re-tune a model now, as a drift detector (or `retune trigger`)
// files it; the scheduler re-tuning that model consumes it.
type Trigger struct {
	ID       int64
	Model    string
	Reason   string
	Created  time.Time
	Consumed time.Time // zero while pending
}

// TriggerStore queues requests to re-tune a model. Every Storage in this module
// implements it.
type TriggerStore interface {
	// RequestRetune stores a pending trigger for model and returns its ID. The reason is
	// text of at most MaxReasonLen bytes (valid UTF-8, no NUL bytes); it may be empty.
	RequestRetune(ctx context.Context, model, reason string) (int64, error)
	// ConsumeTriggers marks the model's pending triggers consumed and returns them, oldest
	// first (an empty list if none is pending). It is atomic: of concurrent callers, each
	// pending trigger is returned to exactly one.
	ConsumeTriggers(ctx context.Context, model string) ([]Trigger, error)
}

// RetrainStore is the storage of retraining coordination: champions, decisions and the
// event outbox. Every Storage in this module implements it; the retrain package finds it by
// type assertion.
type RetrainStore interface {
	ChampionStore
	DecisionStore
	EventStore
}
