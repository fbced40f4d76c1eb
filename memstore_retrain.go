package retune

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/a6b40afc/retune/internal/check"
	"github.com/a6b40afc/retune/internal/codec"
)

// This file holds the memory storage's RetrainStore and TriggerStore; its DeliveryStore
// is in memstore_delivery.go.

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
	err := c.UnmarshalParts(r.params, r.values, r.metrics)
	return c, err
}

type memDecision struct {
	d        Decision // without evidence
	evidence []byte
}

func (r memDecision) decode() (Decision, error) {
	d := r.d
	if err := d.Evidence.UnmarshalBinary(r.evidence); err != nil {
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
	if err := c.ValidatePromotion(expect); err != nil {
		return Champion{}, err
	}
	if err := Events(events).Validate(); err != nil {
		return Champion{}, err
	}
	params, values, metrics, err := c.MarshalParts()
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
	before := len(r.delivery.rows)
	r.addEvents(events, now)
	if c.Source == "trial" {
		m.studyChange(c.Study, ChangePromotion, c.Trial, c.Version)
	}
	m.deliveryChanges(before)
	return row.decode()
}

// studyChange appends a change to the log of the study named name, if it exists. The
// caller holds m.retrain.mu; m.mu is taken after it (never the other way round).
func (m *memStore) studyChange(name, kind string, trial int, ref int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.byName[name]; ok {
		m.studies[id].change(kind, trial, 0, ref)
	}
}

// deliveryChanges records the deliveries from index from on as changes of the studies
// their events are about (the event data's "study"). The caller holds m.retrain.mu.
func (m *memStore) deliveryChanges(from int) {
	for _, row := range m.retrain.delivery.rows[from:] {
		m.deliveryChange(row.seq, row.d.ID)
	}
}

// deliveryChange records a change of delivery id, of event seq. The caller holds
// m.retrain.mu.
func (m *memStore) deliveryChange(seq, id int64) {
	if seq < 1 || int(seq) > len(m.retrain.events) {
		return
	}
	var data struct {
		Study string `json:"study"`
	}
	if json.Unmarshal(m.retrain.events[seq-1].Data, &data) == nil && data.Study != "" {
		m.studyChange(data.Study, ChangeDelivery, -1, id)
	}
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
	if err := d.Validate(); err != nil {
		return Decision{}, err
	}
	if err := Events(events).Validate(); err != nil {
		return Decision{}, err
	}
	evidence, err := d.Evidence.MarshalBinary()
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
	before := len(r.delivery.rows)
	r.addEvents(events, now)
	m.studyChange(d.Study, ChangeDecision, d.Candidate, d.ID)
	m.deliveryChanges(before)
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
	if err := q.Validate(); err != nil {
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
