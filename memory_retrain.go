package retune

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/a6b40afc/retune/internal/check"
	"github.com/a6b40afc/retune/internal/codec"
)

// This file holds the memory storage's RetrainStore and the validation and stored form of
// champions, decisions and events that every storage shares, so that each accepts and
// rejects the same writes and reads back the same values.
//
// Stored form: a champion's params are a JSON object read back with exact numbers
// (json.Number, as codec.UnmarshalFixed does), its values and metrics codec.MarshalFloats
// and codec.MarshalMetrics; a decision's evidence is MarshalEvidence; an event's data is kept
// byte for byte. Empty lists and maps read back as nil.

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

// CheckChampion validates a promotion of c over version expect as every storage does
// before writing it. c.Version and c.Created are set by the storage and not checked.
// Params must be JSON-encodable, at most MaxAttrValueLen bytes; values must not be NaN
// (±Inf is kept), while metrics may be, as a trial's may; the source must be "trial"
// (with the study's name and the trial's number) or "manual" (with Trial -1).
func CheckChampion(c Champion, expect int64) error {
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

func marshalChampionParams(what string, p map[string]any) ([]byte, error) {
	for k := range p {
		if err := ValidateName("param", k); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	if len(p) == 0 {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: params are not JSON-encodable (%v): want finite numbers, strings, bools, lists and objects", ErrInvalid, what, err)
	}
	if len(b) > MaxAttrValueLen {
		return nil, fmt.Errorf("%w: %s: params are %d bytes of JSON: want at most %d", ErrInvalid, what, len(b), MaxAttrValueLen)
	}
	return b, nil
}

// MarshalChampion returns the stored form of c's params, values and metrics. c should
// have passed CheckChampion.
func MarshalChampion(c Champion) (params, values, metrics []byte, err error) {
	params, err = marshalChampionParams(fmt.Sprintf("champion of model %q", c.Model), c.Params)
	if err != nil {
		return nil, nil, nil, err
	}
	return params, codec.MarshalFloats(c.Values), codec.MarshalMetrics(c.Metrics), nil
}

// UnmarshalChampion sets c's params, values and metrics from what MarshalChampion wrote.
// Param numbers come back as json.Number, exactly as written.
func UnmarshalChampion(c *Champion, params, values, metrics []byte) error {
	var err error
	wrap := func(err error) error {
		return fmt.Errorf("stored champion %d of model %q: %w", c.Version, c.Model, err)
	}
	if c.Params, err = codec.UnmarshalFixed(params); err != nil {
		return wrap(err)
	}
	if c.Values, err = codec.UnmarshalFloats(values); err != nil {
		return wrap(err)
	}
	if len(c.Values) == 0 {
		c.Values = nil
	}
	if c.Metrics, err = codec.UnmarshalMetrics(metrics); err != nil {
		return wrap(err)
	}
	return nil
}

// CheckDecision validates a decision as every storage does before recording it. ID and
// Created are set by the storage and not checked. The evidence's objective numbers
// (values, differences, improvement, bound, level and margins) must not be NaN; guardrail
// numbers, like metrics, may be. The cooldown must not be negative. The encoded evidence
// is at most MaxAttrValueLen bytes.
func CheckDecision(d Decision) error {
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

// storedEvidence is Evidence with numbers that keep ±Inf and NaN (as Float does).
type storedEvidence struct {
	Method         string            `json:"method"`
	Analysis       string            `json:"analysis,omitempty"`
	Direction      string            `json:"direction"`
	Candidate      []Float           `json:"candidate,omitempty"`
	Champion       []Float           `json:"champion,omitempty"`
	Repeats        int               `json:"repeats,omitempty"`
	Differences    []Float           `json:"differences,omitempty"`
	Improvement    Float             `json:"improvement"`
	LowerBound     *Float            `json:"lower_bound,omitempty"`
	Level          Float             `json:"level,omitempty"`
	PairedBound    *Float            `json:"paired_bound,omitempty"`
	UnpairedBound  *Float            `json:"unpaired_bound,omitempty"`
	Margin         Float             `json:"margin"`
	MinImprovement Float             `json:"min_improvement,omitempty"`
	MinRelative    Float             `json:"min_relative_improvement,omitempty"`
	Guardrails     []storedGuardrail `json:"guardrails,omitempty"`
	Cooldown       string            `json:"cooldown,omitempty"` // a time.Duration's String
	Notify         []string          `json:"notify,omitempty"`
}

type storedGuardrail struct {
	Metric        string `json:"metric"`
	Candidate     Float  `json:"candidate"`
	Champion      Float  `json:"champion"`
	Regression    Float  `json:"regression"`
	MaxRegression Float  `json:"max_regression"`
	OK            bool   `json:"ok"`
}

func toFloats(v []float64) []Float {
	if len(v) == 0 {
		return nil
	}
	out := make([]Float, len(v))
	for i, x := range v {
		out[i] = Float(x)
	}
	return out
}

func fromFloats(v []Float) []float64 {
	if len(v) == 0 {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func toFloatPtr(p *float64) *Float {
	if p == nil {
		return nil
	}
	f := Float(*p)
	return &f
}

func fromFloatPtr(p *Float) *float64 {
	if p == nil {
		return nil
	}
	f := float64(*p)
	return &f
}

// MarshalEvidence encodes evidence as the JSON object of Evidence's field tags, with
// ±Inf and NaN as the strings "inf", "-inf" and "nan".
func MarshalEvidence(e Evidence) ([]byte, error) {
	return marshalEvidence("evidence", e)
}

func marshalEvidence(what string, e Evidence) ([]byte, error) {
	s := storedEvidence{
		Method: e.Method, Analysis: e.Analysis, Direction: e.Direction,
		Candidate: toFloats(e.Candidate), Champion: toFloats(e.Champion), Repeats: e.Repeats,
		Differences: toFloats(e.Differences), Improvement: Float(e.Improvement),
		LowerBound: toFloatPtr(e.LowerBound), Level: Float(e.Level),
		PairedBound: toFloatPtr(e.PairedBound), UnpairedBound: toFloatPtr(e.UnpairedBound), Margin: Float(e.Margin),
		MinImprovement: Float(e.MinImprovement), MinRelative: Float(e.MinRelative), Notify: e.Notify,
	}
	if err := check.Notifiers(what, e.Notify); err != nil {
		return nil, err
	}
	if e.Cooldown != 0 {
		s.Cooldown = e.Cooldown.String()
	}
	for _, g := range e.Guardrails {
		s.Guardrails = append(s.Guardrails, storedGuardrail{
			Metric: g.Metric, Candidate: Float(g.Candidate), Champion: Float(g.Champion),
			Regression: Float(g.Regression), MaxRegression: Float(g.MaxRegression), OK: g.OK,
		})
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: evidence is not JSON-encodable: %v", ErrInvalid, what, err)
	}
	if len(b) > MaxAttrValueLen {
		return nil, fmt.Errorf("%w: %s: evidence is %d bytes of JSON: want at most %d", ErrInvalid, what, len(b), MaxAttrValueLen)
	}
	return b, nil
}

// UnmarshalEvidence decodes what MarshalEvidence wrote. Empty lists come back as nil.
func UnmarshalEvidence(b []byte) (Evidence, error) {
	var s storedEvidence
	if err := json.Unmarshal(b, &s); err != nil {
		return Evidence{}, fmt.Errorf("%w: evidence %.80s: %v", ErrInvalid, b, err)
	}
	e := Evidence{
		Method: s.Method, Analysis: s.Analysis, Direction: s.Direction,
		Candidate: fromFloats(s.Candidate), Champion: fromFloats(s.Champion), Repeats: s.Repeats,
		Differences: fromFloats(s.Differences), Improvement: float64(s.Improvement),
		LowerBound: fromFloatPtr(s.LowerBound), Level: float64(s.Level),
		PairedBound: fromFloatPtr(s.PairedBound), UnpairedBound: fromFloatPtr(s.UnpairedBound), Margin: float64(s.Margin),
		MinImprovement: float64(s.MinImprovement), MinRelative: float64(s.MinRelative),
	}
	if len(s.Notify) > 0 {
		e.Notify = s.Notify
	}
	if s.Cooldown != "" {
		d, err := time.ParseDuration(s.Cooldown)
		if err != nil {
			return Evidence{}, fmt.Errorf("%w: evidence cooldown %q: %v", ErrInvalid, s.Cooldown, err)
		}
		e.Cooldown = d
	}
	for _, g := range s.Guardrails {
		e.Guardrails = append(e.Guardrails, GuardrailResult{
			Metric: g.Metric, Candidate: float64(g.Candidate), Champion: float64(g.Champion),
			Regression: float64(g.Regression), MaxRegression: float64(g.MaxRegression), OK: g.OK,
		})
	}
	return e, nil
}

// CheckEvents validates events as every storage does before writing them: each needs an
// ID (unique among them; a duplicate is an error wrapping ErrConflict), a type and a
// source; these and the optional subject are printable text of at most 1024 bytes. Data,
// if any, must be valid UTF-8 JSON of at most MaxAttrValueLen bytes. A zero Time is set
// by the storage when it writes the event; any other must lie in years 1900 to 2199 and
// is stored to the microsecond, in UTC.
func CheckEvents(events []Event) error {
	ids := make(map[string]bool, len(events))
	for i, e := range events {
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

// memRetrain is the memory storage's RetrainStore state. Rows are kept in their stored
// form and decoded on every read, so reads match the databases' and share nothing.
type memRetrain struct {
	mu        sync.Mutex
	champions map[string][]memChampion // by model, oldest first
	decisions []memDecision            // ID i at index i-1
	byKey     map[decisionKey]int64
	events    []StoredEvent // sequence i at index i-1
	eventIDs  map[string]bool
	triggers  []Trigger // ID i at index i-1
	delivery  memDeliveries
}

type memChampion struct {
	c                       Champion // without params, values and metrics
	params, values, metrics []byte
}

func (r memChampion) decode() (Champion, error) {
	c := r.c
	return c, UnmarshalChampion(&c, r.params, r.values, r.metrics)
}

type memDecision struct {
	d        Decision // without evidence
	evidence []byte
}

func (r memDecision) decode() (Decision, error) {
	d := r.d
	var err error
	if d.Evidence, err = UnmarshalEvidence(r.evidence); err != nil {
		return Decision{}, fmt.Errorf("stored decision %d: %w", d.ID, err)
	}
	return d, nil
}

type decisionKey struct {
	run       string
	version   int64
	candidate int
}

var (
	_ RetrainStore = (*memStore)(nil)
	_ TriggerStore = (*memStore)(nil)
)

// Champion implements ChampionStore.
func (m *memStore) Champion(_ context.Context, model string) (Champion, error) {
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.champions[model]
	if len(h) == 0 {
		return Champion{}, fmt.Errorf("champion of model %q: %w", model, ErrNotFound)
	}
	return h[len(h)-1].decode()
}

// ChampionHistory implements ChampionStore.
func (m *memStore) ChampionHistory(_ context.Context, model string) ([]Champion, error) {
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.champions[model]
	out := make([]Champion, len(h))
	for i, row := range h {
		c, err := row.decode()
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// PromoteChampion implements ChampionStore.
func (m *memStore) PromoteChampion(_ context.Context, c Champion, expect int64, events []Event) (Champion, error) {
	if err := CheckChampion(c, expect); err != nil {
		return Champion{}, err
	}
	if err := CheckEvents(events); err != nil {
		return Champion{}, err
	}
	params, values, metrics, err := MarshalChampion(c)
	if err != nil {
		return Champion{}, err
	}
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.champions[c.Model]
	if cur := int64(len(h)); cur != expect {
		return Champion{}, versionConflict(c.Model, cur, expect)
	}
	if err := r.checkEventIDs(events); err != nil {
		return Champion{}, err
	}
	now := memNow()
	c.Version, c.Created = expect+1, now
	c.Params, c.Values, c.Metrics = nil, nil, nil
	row := memChampion{c: c, params: params, values: values, metrics: metrics}
	if r.champions == nil {
		r.champions = map[string][]memChampion{}
	}
	r.champions[c.Model] = append(h, row)
	r.addEvents(events, now)
	return row.decode()
}

// versionConflict is the error of a promotion that expected version expect of model's
// champion when cur is current.
func versionConflict(model string, cur, expect int64) error {
	return fmt.Errorf("promote champion of model %q: current version is %d, not the expected %d: %w: %w", model, cur, expect, ErrVersionConflict, ErrConflict)
}

// checkEventIDs fails if an event's ID is stored already.
func (r *memRetrain) checkEventIDs(events []Event) error {
	for _, e := range events {
		if r.eventIDs[e.ID] {
			return fmt.Errorf("event %q is stored already: want a new ID: %w", e.ID, ErrConflict)
		}
	}
	return nil
}

func (r *memRetrain) addEvents(events []Event, now time.Time) {
	if r.eventIDs == nil {
		r.eventIDs = map[string]bool{}
	}
	for _, e := range events {
		e.Time = codec.EventTime(e.Time, now)
		if len(e.Data) == 0 {
			e.Data = nil
		} else {
			e.Data = slices.Clone(e.Data)
		}
		e.Notify = slices.Clone(e.Notify)
		if len(e.Notify) == 0 {
			e.Notify = nil
		}
		se := StoredEvent{Seq: int64(len(r.events)) + 1, Event: e}
		r.events = append(r.events, se)
		r.eventIDs[e.ID] = true
		for _, n := range e.Notify {
			r.delivery.add(se.Seq, n, now)
		}
	}
}

// RecordDecision implements DecisionStore.
func (m *memStore) RecordDecision(_ context.Context, d Decision, events []Event) (Decision, error) {
	if err := CheckDecision(d); err != nil {
		return Decision{}, err
	}
	if err := CheckEvents(events); err != nil {
		return Decision{}, err
	}
	evidence, err := MarshalEvidence(d.Evidence)
	if err != nil {
		return Decision{}, err
	}
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	key := decisionKey{d.RunID, d.ChampionVersion, d.Candidate}
	if id, ok := r.byKey[key]; ok {
		stored, err := r.decisions[id-1].decode()
		if err != nil {
			return Decision{}, err
		}
		return stored, duplicateDecision(stored)
	}
	if err := r.checkEventIDs(events); err != nil {
		return Decision{}, err
	}
	now := memNow()
	d.ID, d.Created, d.Evidence = int64(len(r.decisions))+1, now, Evidence{}
	row := memDecision{d: d, evidence: evidence}
	r.decisions = append(r.decisions, row)
	if r.byKey == nil {
		r.byKey = map[decisionKey]int64{}
	}
	r.byKey[key] = d.ID
	r.addEvents(events, now)
	return row.decode()
}

// duplicateDecision is the error of recording a decision again.
func duplicateDecision(stored Decision) error {
	return fmt.Errorf("decision of run %q on champion version %d for candidate trial %d is recorded already (ID %d): %w",
		stored.RunID, stored.ChampionVersion, stored.Candidate, stored.ID, ErrConflict)
}

// Decision implements DecisionStore.
func (m *memStore) Decision(_ context.Context, id int64) (Decision, error) {
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	if id < 1 || id > int64(len(r.decisions)) {
		return Decision{}, fmt.Errorf("decision %d: %w", id, ErrNotFound)
	}
	return r.decisions[id-1].decode()
}

// Decisions implements DecisionStore.
func (m *memStore) Decisions(_ context.Context, model string) ([]Decision, error) {
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []Decision{}
	for i := len(r.decisions) - 1; i >= 0; i-- {
		if model != "" && r.decisions[i].d.Model != model {
			continue
		}
		d, err := r.decisions[i].decode()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Events implements EventStore.
func (m *memStore) Events(_ context.Context, after int64, limit int) ([]StoredEvent, error) {
	if err := check.EventsRead(after, limit); err != nil {
		return nil, err
	}
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.events[min(after, int64(len(r.events))):]
	if limit > 0 && len(evs) > limit {
		evs = evs[:limit]
	}
	out := make([]StoredEvent, len(evs))
	for i, e := range evs {
		out[i] = e.clone()
	}
	return out, nil
}

// FindEvents implements EventStore.
func (m *memStore) FindEvents(_ context.Context, q EventQuery) ([]StoredEvent, error) {
	if err := CheckEventQuery(q); err != nil {
		return nil, err
	}
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	var matching map[int64]bool // event seqs with a matching delivery
	if q.State != "" || q.Notifier != "" {
		matching = map[int64]bool{}
		for i := range r.delivery.rows {
			d := &r.delivery.rows[i]
			if (q.State == "" || d.d.State == q.State) && (q.Notifier == "" || d.d.Notifier == q.Notifier) {
				matching[d.seq] = true
			}
		}
	}
	end := int64(len(r.events))
	if q.Before > 0 {
		end = min(end, q.Before-1)
	}
	out := []StoredEvent{}
	for i := end - 1; i >= 0 && (q.Limit == 0 || len(out) < q.Limit); i-- {
		e := &r.events[i]
		if q.ID != "" && e.ID != q.ID || matching != nil && !matching[e.Seq] {
			continue
		}
		out = append(out, e.clone())
	}
	return out, nil
}

// CheckEventQuery validates an EventQuery as every storage does before reading.
func CheckEventQuery(q EventQuery) error {
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

// RequestRetune implements TriggerStore.
func (m *memStore) RequestRetune(_ context.Context, model, reason string) (int64, error) {
	if err := check.Trigger(model, reason); err != nil {
		return 0, err
	}
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	id := int64(len(r.triggers)) + 1
	r.triggers = append(r.triggers, Trigger{ID: id, Model: model, Reason: reason, Created: memNow()})
	return id, nil
}

// ConsumeTriggers implements TriggerStore.
func (m *memStore) ConsumeTriggers(_ context.Context, model string) ([]Trigger, error) {
	r := &m.retrain
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []Trigger{}
	now := memNow()
	for i := range r.triggers {
		if tr := &r.triggers[i]; tr.Model == model && tr.Consumed.IsZero() {
			tr.Consumed = now
			out = append(out, *tr)
		}
	}
	return out, nil
}
