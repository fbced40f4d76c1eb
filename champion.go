package retune

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/a6b40afc/retune/internal/check"
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
	PairedBound   *float64 `json:"paired_bound,omitempty"`
	UnpairedBound *float64 `json:"unpaired_bound,omitempty"`
	// Bound says which bound LowerBound is: "paired" or "unpaired" (with analysis "both",
	// the larger decided); empty for a point comparison and older decisions.
	Bound string `json:"bound,omitempty"`
	// RepeatOf is the decision that announced the same candidate against the same
	// champion version, when this one repeats it without a new event (0: none).
	RepeatOf       int64             `json:"repeat_of,omitempty"`
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

// Champion sources.
const (
	sourceTrial  = "trial"
	sourceManual = "manual"
)

// Event times a storage accepts: every backend can hold these.
var (
	minEventTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxEventTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ValidatePromotion checks a promotion of c over version expect as every storage does
// before writing it (see ChampionStore.PromoteChampion). c.Version and c.Created are set
// by the storage and not checked. Params must be JSON-encodable, at most MaxAttrValueLen
// bytes; values must not be NaN (±Inf is kept), while metrics may be, as a trial's may;
// the source must be "trial" (with the study's name and the trial's number) or "manual"
// (with Trial -1).
func (c Champion) ValidatePromotion(expect int64) error {
	if err := ValidateName("model", c.Model); err != nil {
		return fmt.Errorf("champion: %w", err)
	}
	what := fmt.Sprintf("champion of model %q", c.Model)
	if expect < 0 {
		return fmt.Errorf("%w: %s: expected version %d: want 0 (no champion yet) or the current version", ErrInvalid, what, expect)
	}
	switch c.Source {
	case sourceTrial:
		if err := ValidateName("study", c.Study); err != nil {
			return fmt.Errorf("%s from a trial: %w", what, err)
		}
		if c.Trial < 0 {
			return fmt.Errorf("%w: %s from a trial: trial number %d: want >= 0", ErrInvalid, what, c.Trial)
		}
	case sourceManual:
		if c.Study != "" {
			if err := ValidateName("study", c.Study); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
		if c.Trial != -1 {
			return fmt.Errorf("%w: %s: manual champion with trial %d: want -1", ErrInvalid, what, c.Trial)
		}
	default:
		return fmt.Errorf("%w: %s: source %q: want %q or %q", ErrInvalid, what, c.Source, sourceTrial, sourceManual)
	}
	if c.Decision < 0 {
		return fmt.Errorf("%w: %s: decision %d: want a decision ID, or 0 for none", ErrInvalid, what, c.Decision)
	}
	for i, v := range c.Values {
		if math.IsNaN(v) {
			return fmt.Errorf("%w: %s: value %d is NaN: want a number or ±Inf", ErrInvalid, what, i)
		}
	}
	for k := range c.Metrics {
		if err := ValidateName("metric", k); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if _, err := marshalChampionParams(what, c.Params); err != nil {
		return err
	}
	return nil
}

// Validate checks d as every storage does before recording it. ID and Created are set
// by the storage and not checked. The evidence's objective numbers (values, differences,
// improvement, bound, level and margins) must not be NaN; guardrail numbers, like
// metrics, may be. The cooldown must not be negative. The encoded evidence is at most
// MaxAttrValueLen bytes.
func (d Decision) Validate() error {
	if err := ValidateName("model", d.Model); err != nil {
		return fmt.Errorf("decision: %w", err)
	}
	if err := ValidateName("study", d.Study); err != nil {
		return fmt.Errorf("decision for model %q: %w", d.Model, err)
	}
	what := fmt.Sprintf("decision for model %q", d.Model)
	if err := check.Text(what+": run ID", d.RunID, MaxNameLen, true); err != nil {
		return err
	}
	if d.ChampionVersion < 0 {
		return fmt.Errorf("%w: %s: champion version %d: want >= 0 (0: no champion)", ErrInvalid, what, d.ChampionVersion)
	}
	if d.Candidate < 0 {
		return fmt.Errorf("%w: %s: candidate trial %d: want a trial number >= 0", ErrInvalid, what, d.Candidate)
	}
	if len(d.Reason) > MaxReasonLen {
		return fmt.Errorf("%w: %s: reason of %d bytes: want at most %d (see CutReason)", ErrInvalid, what, len(d.Reason), MaxReasonLen)
	}
	if !utf8.ValidString(d.Reason) || bytes.IndexByte([]byte(d.Reason), 0) >= 0 {
		return fmt.Errorf("%w: %s: reason %.40q…: want valid UTF-8 without NUL bytes", ErrInvalid, what, d.Reason)
	}
	e := d.Evidence
	opt := func(p *float64) []float64 {
		if p == nil {
			return nil
		}
		return []float64{*p}
	}
	for _, f := range []struct {
		name string
		vs   []float64
	}{
		{"candidate", e.Candidate}, {"champion", e.Champion}, {"differences", e.Differences},
		{"improvement", []float64{e.Improvement}}, {"lower_bound", opt(e.LowerBound)},
		{"paired_bound", opt(e.PairedBound)}, {"unpaired_bound", opt(e.UnpairedBound)}, {"level", []float64{e.Level}},
		{"margin", []float64{e.Margin}}, {"min_improvement", []float64{e.MinImprovement}},
		{"min_relative_improvement", []float64{e.MinRelative}},
	} {
		for _, v := range f.vs {
			if math.IsNaN(v) {
				return fmt.Errorf("%w: %s: evidence %s is NaN: want numbers or ±Inf", ErrInvalid, what, f.name)
			}
		}
	}
	if e.Cooldown < 0 {
		return fmt.Errorf("%w: %s: evidence cooldown %v: want a duration >= 0", ErrInvalid, what, e.Cooldown)
	}
	if _, err := marshalEvidence(what, e); err != nil {
		return err
	}
	return nil
}

// Events is a batch of events written together (see ChampionStore.PromoteChampion,
// DecisionStore.RecordDecision and DeliveryStore.AppendEvents).
type Events []Event

// Validate checks es as every storage does before writing them: each event needs an ID
// (unique among them; a duplicate is an error wrapping ErrConflict), a type and a source;
// these and the optional subject are printable text of at most 1024 bytes. Data, if any,
// must be valid UTF-8 JSON of at most MaxAttrValueLen bytes. A zero Time is set by the
// storage when it writes the event; any other must lie in years 1900 to 2199 and is
// stored to the microsecond, in UTC.
func (es Events) Validate() error {
	ids := make(map[string]bool, len(es))
	for i, e := range es {
		if err := check.Text(fmt.Sprintf("event %d: ID", i), e.ID, check.MaxText, true); err != nil {
			return err
		}
		what := fmt.Sprintf("event %q", e.ID)
		if ids[e.ID] {
			return fmt.Errorf("%s is given twice: want each ID once: %w", what, ErrConflict)
		}
		ids[e.ID] = true
		if err := check.Text(what+": type", e.Type, check.MaxText, true); err != nil {
			return err
		}
		if err := check.Text(what+": source", e.Source, check.MaxText, true); err != nil {
			return err
		}
		if err := check.Text(what+": subject", e.Subject, check.MaxText, false); err != nil {
			return err
		}
		if !e.Time.IsZero() && (e.Time.Before(minEventTime) || !e.Time.Before(maxEventTime)) {
			return fmt.Errorf("%w: %s: time %v: want the zero time (set when written) or one in years 1900 to 2199", ErrInvalid, what, e.Time)
		}
		if len(e.Data) > MaxAttrValueLen {
			return fmt.Errorf("%w: %s: data is %d bytes: want at most %d", ErrInvalid, what, len(e.Data), MaxAttrValueLen)
		}
		if len(e.Data) > 0 && (!json.Valid(e.Data) || !utf8.Valid(e.Data)) {
			return fmt.Errorf("%w: %s: data %.40q is not valid JSON: want a JSON value in UTF-8, or none", ErrInvalid, what, e.Data)
		}
		if err := check.Notifiers(what, e.Notify); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks q as every storage does before reading.
func (q EventQuery) Validate() error {
	switch {
	case q.Before < 0:
		return fmt.Errorf("%w: events before %d: want a sequence number >= 0 (0 = the newest)", ErrInvalid, q.Before)
	case q.Limit < 0:
		return fmt.Errorf("%w: events limit %d: want >= 0 (0 = no limit)", ErrInvalid, q.Limit)
	case q.State != "" && !q.State.Valid():
		return fmt.Errorf("%w: delivery state %q: want %q, %q or %q", ErrInvalid, q.State, DeliveryPending, DeliveryDelivered, DeliveryDead)
	}
	if q.Notifier != "" {
		if err := check.NotifierID(q.Notifier); err != nil {
			return err
		}
	}
	return nil
}
