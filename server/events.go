package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/a6b40afc/retune"
)

// Events, their deliveries and the notifiers' health: the outbox, as retune events and
// retune notifiers show it. They span every study, so a token restricted to some studies
// does not reach them.

type attemptJSON struct {
	N          int       `json:"n"`
	Started    time.Time `json:"started"`
	DurationMS float64   `json:"duration_ms"`
	Status     int       `json:"status"`
	Outcome    string    `json:"outcome"`
	Response   string    `json:"response,omitempty"`
	Error      string    `json:"error,omitempty"`
	Owner      string    `json:"owner,omitempty"`
}

type deliveryJSON struct {
	ID        int64         `json:"id"`
	Notifier  string        `json:"notifier"`
	State     string        `json:"state"`
	Attempts  int           `json:"attempts"`
	NextAt    time.Time     `json:"next_at"`
	LastError string        `json:"last_error,omitempty"`
	Created   time.Time     `json:"created"`
	Updated   time.Time     `json:"updated"`
	Log       []attemptJSON `json:"attempt_log,omitempty"`
}

type eventJSON struct {
	Seq        int64           `json:"seq"`
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Source     string          `json:"source"`
	Subject    string          `json:"subject,omitempty"`
	Time       time.Time       `json:"time"`
	Data       json.RawMessage `json:"data,omitempty"`
	Notify     []string        `json:"notify"`
	Deliveries []deliveryJSON  `json:"deliveries"`
}

func eventOf(e retune.StoredEvent, dels []retune.Delivery, atts map[int64][]retune.DeliveryAttempt) eventJSON {
	j := eventJSON{Seq: e.Seq, ID: e.ID, Type: e.Type, Source: e.Source, Subject: e.Subject, Time: e.Time,
		Notify: e.Notify, Deliveries: []deliveryJSON{}}
	if j.Notify == nil {
		j.Notify = []string{}
	}
	if len(e.Data) > 0 && json.Valid(e.Data) {
		j.Data = e.Data
	}
	for _, d := range dels {
		dj := deliveryJSON{ID: d.ID, Notifier: d.Notifier, State: string(d.State), Attempts: d.Attempts, NextAt: d.NextAt,
			LastError: d.LastError, Created: d.Created, Updated: d.Updated}
		for _, a := range atts[d.ID] {
			dj.Log = append(dj.Log, attemptJSON{N: a.N, Started: a.Started, DurationMS: float64(a.Duration) / 1e6,
				Status: a.Status, Outcome: a.Outcome, Response: a.Response, Error: a.Error, Owner: a.Owner})
		}
		j.Deliveries = append(j.Deliveries, dj)
	}
	return j
}

// outbox is the storage as a store of events and deliveries.
func (s *Server) outbox() (retune.DeliveryStore, retune.EventStore, error) {
	ds, ok1 := s.store.(retune.DeliveryStore)
	es, ok2 := s.store.(retune.EventStore)
	if !ok1 || !ok2 {
		return nil, nil, fmt.Errorf("%w: storage %T keeps no events", retune.ErrInvalid, s.store)
	}
	return ds, es, nil
}

type eventList struct {
	Events []eventJSON `json:"events"`
	// Next is the "before" of the next (older) page; absent on the last page.
	Next *int64 `json:"next,omitempty"`
}

// listEvents lists events newest first, a page at a time, each with its deliveries.
func (s *Server) listEvents(c *call) (int, any, error) {
	q, err := query(c.r, "state", "notifier", "limit", "before")
	if err != nil {
		return 0, nil, err
	}
	limit, err := limitParam(q)
	if err != nil {
		return 0, nil, err
	}
	eq := retune.EventQuery{State: retune.DeliveryState(q["state"]), Notifier: q["notifier"], Limit: limit + 1}
	if eq.State != "" && !eq.State.Valid() {
		return 0, nil, &fieldError{Field: "state", Msg: strconv.Quote(q["state"]), Valid: "pending, delivered or dead", Status: 400}
	}
	if v, ok := q["before"]; ok {
		if eq.Before, err = strconv.ParseInt(v, 10, 64); err != nil || eq.Before < 1 {
			return 0, nil, &fieldError{Field: "before", Msg: strconv.Quote(v), Valid: "a sequence number (the next of the previous page)", Status: 400}
		}
	}
	ds, es, err := s.outbox()
	if err != nil {
		return 0, nil, err
	}
	ctx := c.r.Context()
	evs, err := es.FindEvents(ctx, eq)
	if err != nil {
		return 0, nil, err
	}
	out := eventList{Events: []eventJSON{}}
	if len(evs) > limit {
		evs = evs[:limit]
		next := evs[limit-1].Seq
		out.Next = &next
	}
	for _, ev := range evs {
		dels, err := ds.Deliveries(ctx, retune.DeliveryFilter{EventID: ev.ID})
		if err != nil {
			return 0, nil, err
		}
		slices.Reverse(dels) // oldest first
		out.Events = append(out.Events, eventOf(ev, dels, nil))
	}
	return http.StatusOK, out, nil
}

// getEvent returns an event with its deliveries and every attempt of each.
func (s *Server) getEvent(c *call) (int, any, error) {
	if _, err := query(c.r); err != nil {
		return 0, nil, err
	}
	ds, es, err := s.outbox()
	if err != nil {
		return 0, nil, err
	}
	ctx := c.r.Context()
	id := c.r.PathValue("event")
	evs, err := es.FindEvents(ctx, retune.EventQuery{ID: id})
	if err != nil {
		return 0, nil, err
	}
	if len(evs) == 0 {
		return 0, nil, errorf(http.StatusNotFound, "not-found", "no event %q", id)
	}
	dels, err := ds.Deliveries(ctx, retune.DeliveryFilter{EventID: id})
	if err != nil {
		return 0, nil, err
	}
	slices.Reverse(dels)
	atts := map[int64][]retune.DeliveryAttempt{}
	for _, d := range dels {
		if atts[d.ID], err = ds.DeliveryAttempts(ctx, d.ID); err != nil {
			return 0, nil, err
		}
	}
	return http.StatusOK, eventOf(evs[0], dels, atts), nil
}

type redeliverRequest struct {
	Notifiers []string `json:"notifiers,omitempty"`
}

func (r *redeliverRequest) Validate() error { return nil }

type redeliverResponse struct {
	Deliveries []int64 `json:"deliveries"`
}

// redeliver makes an event's deliveries pending and due again (to the given notifiers, or
// all it has); a running dispatcher sends them.
func (s *Server) redeliver(c *call) (int, any, error) {
	var req redeliverRequest
	if err := decode(orEmpty(c.body), &req); err != nil {
		return 0, nil, err
	}
	ds, _, err := s.outbox()
	if err != nil {
		return 0, nil, err
	}
	id := c.r.PathValue("event")
	ids, err := ds.Redeliver(c.r.Context(), id, req.Notifiers)
	if err != nil {
		return 0, nil, err
	}
	if len(ids) == 0 {
		return 0, nil, invalid("notifiers", "the notifiers to deliver to", "event %q has no deliveries: name a notifier", id)
	}
	return http.StatusOK, redeliverResponse{Deliveries: ids}, nil
}

type notifierJSON struct {
	ID           string     `json:"id"`
	Enabled      bool       `json:"enabled"`
	Disabled     *time.Time `json:"disabled,omitempty"`
	Reason       string     `json:"reason,omitempty"`
	LastSuccess  *time.Time `json:"last_success,omitempty"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

type notifierList struct {
	Notifiers []notifierJSON `json:"notifiers"`
}

// notifiers lists the health of every notifier that has deliveries or a state.
func (s *Server) notifiers(c *call) (int, any, error) {
	if _, err := query(c.r); err != nil {
		return 0, nil, err
	}
	ds, _, err := s.outbox()
	if err != nil {
		return 0, nil, err
	}
	ns, err := ds.Notifiers(c.r.Context())
	if err != nil {
		return 0, nil, err
	}
	out := notifierList{Notifiers: []notifierJSON{}}
	for _, n := range ns {
		out.Notifiers = append(out.Notifiers, notifierJSON{ID: n.ID, Enabled: n.Disabled.IsZero(), Disabled: timePtr(n.Disabled),
			Reason: n.Reason, LastSuccess: timePtr(n.LastSuccess), FailingSince: timePtr(n.FailingSince)})
	}
	return http.StatusOK, out, nil
}

type notifierRequest struct {
	Reason string `json:"reason,omitempty"`
}

func (r *notifierRequest) Validate() error {
	if len(r.Reason) > retune.MaxReasonLen {
		return invalid("reason", fmt.Sprintf("at most %d bytes", retune.MaxReasonLen), "%d bytes", len(r.Reason))
	}
	return nil
}

func (s *Server) enableNotifier(c *call) (int, any, error)  { return s.setNotifier(c, true) }
func (s *Server) disableNotifier(c *call) (int, any, error) { return s.setNotifier(c, false) }

// setNotifier enables a notifier (clearing its failure streak) or disables it with a
// reason, as retune notifiers enable/disable do.
func (s *Server) setNotifier(c *call, enabled bool) (int, any, error) {
	var req notifierRequest
	if err := decode(orEmpty(c.body), &req); err != nil {
		return 0, nil, err
	}
	if enabled && req.Reason != "" {
		return 0, nil, invalid("reason", "no reason: only a disable has one", "given to enable")
	}
	if !enabled && req.Reason == "" {
		req.Reason = "disabled through the API"
	}
	ds, _, err := s.outbox()
	if err != nil {
		return 0, nil, err
	}
	if err := ds.SetNotifierEnabled(c.r.Context(), c.r.PathValue("notifier"), enabled, req.Reason); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// orEmpty is body, or {} when there is none: writes whose fields are all optional.
func orEmpty(body []byte) []byte {
	if len(bytes.TrimSpace(body)) == 0 {
		return []byte("{}")
	}
	return body
}
