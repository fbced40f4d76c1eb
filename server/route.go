package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
)

// route is one API operation.
type route struct {
	method, pattern string
	scope           Scope // ScopeNone: no token needed
	idempotent      bool  // accepts Idempotency-Key
	handle          func(*call) (int, any, error)
	doc             op   // its part of the OpenAPI document
	global          bool // spans every study: only tokens without a study pattern reach it
}

// call is one request to a route, authenticated and authorized.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	who  *principal
	body []byte // the request body, read in full (writes only)
}

// routes lists every operation of the API; the OpenAPI document is built from it.
func (s *Server) routes() []route {
	const v1 = "/api/v1"
	trialQuery := []param{
		{"state", "string", "only trials in this state: WAITING, RUNNING, COMPLETE, PRUNED or FAIL"},
		{"kind", "string", "only trials of this kind: search or confirm"},
		{"limit", "integer", "at most this many (1 to 1000, default 100)"},
		{"after", "integer", "only trials numbered above this (the next of the previous page)"},
		{"cursor", "integer", "the trials finished since this cursor, in finish order (0: all)"},
	}
	return []route{
		{"GET", v1 + "/openapi.json", ScopeNone, false, s.openAPIDoc, op{summary: "this document", answers: answer(200, "Document")}, false},
		{"GET", v1 + "/studies", ScopeRead, false, s.listStudies, op{summary: "list studies, by name",
			query:   []param{{"limit", "integer", "at most this many (1 to 1000, default 100)"}, {"after", "string", "only studies named after this"}},
			answers: answer(200, "StudyList")}, false},
		{"POST", v1 + "/studies", ScopeAdmin, false, s.createStudy, op{summary: "create a study from its definition, or resume it",
			req: "CreateStudyRequest", answers: map[int]string{200: "Study", 201: "Study"}}, false},
		{"GET", v1 + "/studies/{study}", ScopeRead, false, s.getStudy, op{summary: "a study with its counts and definition", answers: answer(200, "Study")}, false},
		{"DELETE", v1 + "/studies/{study}", ScopeAdmin, false, s.deleteStudy, op{summary: "delete a study and its trials", answers: answer(204, "")}, false},
		{"GET", v1 + "/studies/{study}/best", ScopeRead, false, s.best, op{summary: "the best trial, or the Pareto front", answers: answer(200, "Best")}, false},
		{"GET", v1 + "/studies/{study}/importance", ScopeRead, false, s.importanceOf, op{summary: "which params matter: fANOVA or PED-ANOVA, recomputed when the study has grown by 10%",
			query: []param{
				{"method", "string", "fanova (the default) or ped-anova"},
				{"objective", "string", "the objective, by metric name or index (required with several objectives)"},
			}, answers: answer(200, "Importance")}, false},
		{"GET", v1 + "/studies/{study}/events", ScopeRead, false, s.events, op{summary: "the study's changes as Server-Sent Events, live; resumable with Last-Event-ID",
			query:   []param{{"after", "integer", "start after this change (as Last-Event-ID does; the header wins)"}},
			headers: map[string]string{"Last-Event-ID": "the id of the last event received: the stream resumes after it"},
			answers: answer(200, eventStream)}, false},
		{"GET", v1 + "/studies/{study}/trials", ScopeRead, false, s.listTrials, op{summary: "list trials, by number or in finish order",
			query: trialQuery, answers: answer(200, "TrialList")}, false},
		{"POST", v1 + "/studies/{study}/trials", ScopeRun, true, s.ask, op{summary: "ask: start a trial and sample the declared params",
			req: "AskRequest", headers: idempotencyHeader, answers: answer(201, "AskResponse")}, false},
		{"POST", v1 + "/studies/{study}/trials/enqueue", ScopeRun, true, s.enqueue, op{summary: "enqueue a trial with fixed params",
			req: "EnqueueRequest", headers: idempotencyHeader, answers: answer(201, "EnqueueResponse")}, false},
		{"GET", v1 + "/studies/{study}/trials/{number}", ScopeRead, false, s.getTrial, op{summary: "a trial", answers: answer(200, "Trial")}, false},
		{"POST", v1 + "/studies/{study}/trials/{number}/tell", ScopeRun, true, s.tell, op{summary: "tell: finish a trial",
			about: "A tell under a lease that expired is a late tell: it revives the trial (system_attrs.late) if its re-run has not started and the budget has room, else it is stored as a trial of kind late; either way the answer is 200 with the stored trial.",
			req:   "TellRequest", headers: idempotencyHeader, answers: answer(200, "Trial")}, false},
		{"POST", v1 + "/studies/{study}/trials/{number}/report", ScopeRun, true, s.report, op{summary: "report an intermediate value; answers whether to prune",
			req: "ReportRequest", headers: idempotencyHeader, answers: answer(200, "ReportResponse")}, false},
		{"POST", v1 + "/studies/{study}/trials/{number}/heartbeat", ScopeRun, false, s.heartbeat, op{summary: "renew a trial's lease",
			req: "HeartbeatRequest", answers: answer(200, "Lease")}, false},
		{"GET", v1 + "/studies/{study}/trials/{number}/log", ScopeRead, false, s.trialLog, op{summary: "the head and tail of the trial's log, as its runner stored them",
			answers: answer(200, "TrialLog")}, false},
		{"PUT", v1 + "/studies/{study}/trials/{number}/log", ScopeRun, false, s.putTrialLog, op{summary: "store the head and tail of a running trial's log (an agent's)",
			req: "LogRequest", answers: answer(204, "")}, false},
		{"POST", v1 + "/studies/{study}/trials/{number}/stop", ScopeRun, false, s.stop, op{summary: "ask whoever runs the trial to stop it (it ends PRUNED); they learn of it at their next heartbeat or report",
			answers: answer(202, "Trial")}, false},
		{"POST", v1 + "/studies/{study}/trials/{number}/suggest", ScopeRun, true, s.suggest, op{summary: "suggest: draw one param of a running trial (define-by-run)",
			req: "SuggestRequest", headers: idempotencyHeader, answers: answer(200, "SuggestResponse")}, false},

		{"GET", v1 + "/models/{model}/champion", ScopeRead, false, s.champion, op{summary: "the model's champion", answers: answer(200, "Champion")}, false},
		{"POST", v1 + "/models/{model}/champion", ScopeAdmin, false, s.setChampion, op{summary: "set the model's champion by hand: the next version",
			req: "SetChampionRequest", answers: answer(201, "Champion")}, false},
		{"GET", v1 + "/models/{model}/champion/history", ScopeRead, false, s.championHistory, op{summary: "every version of the model's champion, oldest first",
			answers: answer(200, "ChampionList")}, false},
		{"GET", v1 + "/models/{model}/decisions", ScopeRead, false, s.listDecisions, op{summary: "the model's decisions, newest first",
			answers: answer(200, "DecisionList")}, false},
		{"GET", v1 + "/models/{model}/decisions/{decision}", ScopeRead, false, s.getDecision, op{summary: "a decision with its evidence",
			answers: answer(200, "Decision")}, false},
		{"POST", v1 + "/models/{model}/decisions/{decision}/promote", ScopeAdmin, true, s.promote, op{summary: "promote the decision's candidate: compare-and-set on the champion version",
			req: "PromoteRequest", headers: idempotencyHeader, answers: answer(201, "Champion")}, false},
		{"POST", v1 + "/models/{model}/triggers", ScopeRun, true, s.trigger, op{summary: "file a re-tune trigger for the model's scheduler",
			req: "TriggerRequest", headers: idempotencyHeader, answers: answer(201, "TriggerResponse")}, false},

		{"GET", v1 + "/events", ScopeRead, false, s.listEvents, op{summary: "events, newest first, with their deliveries",
			query: []param{
				{"state", "string", "only events with a delivery in this state: pending, delivered or dead"},
				{"notifier", "string", "only events for this notifier"},
				{"limit", "integer", "at most this many (1 to 1000, default 100)"},
				{"before", "integer", "only events with a sequence number below this (the next of the previous page)"},
			}, answers: answer(200, "EventList")}, true},
		{"GET", v1 + "/events/{event}", ScopeRead, false, s.getEvent, op{summary: "an event with its deliveries and their attempts",
			answers: answer(200, "Event")}, true},
		{"POST", v1 + "/events/{event}/redeliver", ScopeAdmin, false, s.redeliver, op{summary: "make an event's deliveries pending again",
			req: "RedeliverRequest", answers: answer(200, "RedeliverResponse")}, true},
		{"POST", v1 + "/agents", ScopeRun, false, s.recordAgent, op{summary: "an agent reports itself (retune agent does, every 15 s)",
			req: "AgentRequest", answers: answer(204, "")}, false},
		{"GET", v1 + "/agents", ScopeRead, false, s.listAgents, op{summary: "the agents seen recently, most recent contact first",
			query: []param{{"within", "string", "seen within this long (a duration; default 24h)"}}, answers: answer(200, "AgentList")}, true},
		{"GET", v1 + "/notifiers", ScopeRead, false, s.notifiers, op{summary: "the notifiers' health", answers: answer(200, "NotifierList")}, true},
		{"POST", v1 + "/notifiers/{notifier}/enable", ScopeAdmin, false, s.enableNotifier, op{summary: "enable a notifier, clearing its failure streak",
			req: "NotifierRequest", answers: answer(204, "")}, true},
		{"POST", v1 + "/notifiers/{notifier}/disable", ScopeAdmin, false, s.disableNotifier, op{summary: "disable a notifier, with a reason",
			req: "NotifierRequest", answers: answer(204, "")}, true},
	}
}

// openAPIDoc serves the OpenAPI document of the routes.
func (s *Server) openAPIDoc(c *call) (int, any, error) {
	if _, err := query(c.r); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, json.RawMessage(s.openapi), nil
}

// wrap authenticates, authorizes, reads the body of a write, applies the idempotency key
// and writes the handler's answer as JSON (or a problem).
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() {
			status := http.StatusOK
			if rec, ok := w.(*recorder); ok && rec.status != 0 {
				status = rec.status
			}
			s.metrics.observe(rt, status, time.Since(start))
		}()
		who, err := &principal{id: "anonymous", name: "anonymous"}, error(nil)
		if rt.scope > ScopeNone {
			who, err = s.authenticate(r)
		}
		if err == nil {
			err = authorize(who, rt, r)
		}
		c := &call{w: w, r: r, who: who}
		if err == nil && r.Method != http.MethodGet && r.Method != http.MethodDelete {
			c.body, err = readJSONBody(r)
		}
		if err != nil {
			writeProblem(w, r, s.log, err)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if !rt.idempotent || key == "" {
			s.answer(c, rt)
			return
		}
		s.idempotent(c, rt, key)
	})
}

// answer runs the route's handler and writes its answer; it returns what it wrote.
func (s *Server) answer(c *call, rt route) (int, []byte) {
	status, v, err := rt.handle(c)
	if err != nil {
		return writeProblem(c.w, c.r, s.log, err)
	}
	if status == 0 { // the handler wrote its answer itself (the event stream)
		return 0, nil
	}
	if name := c.r.PathValue("study"); name != "" && c.r.Method != http.MethodGet && status < 300 {
		s.kickName(name) // this replica changed the study: its stream need not wait for a poll
	}
	if status == http.StatusNoContent {
		c.w.Header().Set("Cache-Control", "no-store")
		c.w.WriteHeader(status)
		return status, nil
	}
	body, err := json.Marshal(v)
	if err != nil {
		return writeProblem(c.w, c.r, s.log, err)
	}
	writeRaw(c.w, status, "application/json", body)
	return status, body
}

// idempotent runs a route under an Idempotency-Key: the first request with the key runs
// and its answer is stored; a retry (same token, route and body) gets that answer.
func (s *Server) idempotent(c *call, rt route, key string) {
	if len(key) > 255 {
		writeProblem(c.w, c.r, s.log, &fieldError{Field: "Idempotency-Key", Msg: "too long", Valid: "1 to 255 characters", Status: 400})
		return
	}
	ctx := c.r.Context()
	k := sha256.Sum256([]byte(c.who.id + "\x00" + rt.method + " " + rt.pattern + "\x00" + key))
	fp := sha256.Sum256([]byte(c.r.Method + " " + c.r.URL.Path + "\x00" + string(c.body)))
	claim := retune.IdempotencyClaim{
		Key: hex.EncodeToString(k[:]), Fingerprint: hex.EncodeToString(fp[:]), Owner: requestID(ctx) + "/" + newID(),
		Lock: s.opts.IdempotencyLock, Keep: s.opts.IdempotencyKeep,
	}
	got, err := s.idem.ClaimIdempotencyKey(ctx, claim)
	switch {
	case errors.Is(err, retune.ErrInvalid):
		writeProblem(c.w, c.r, s.log, &fieldError{Field: "Idempotency-Key", Msg: "was used for another request", Valid: "a new key for each request", Status: 422})
		return
	case errors.Is(err, retune.ErrConflict):
		c.w.Header().Set("Retry-After", "1")
		writeProblem(c.w, c.r, s.log, errorf(http.StatusConflict, "request-in-progress", "a request with this Idempotency-Key is still running: retry later"))
		return
	case err != nil:
		writeProblem(c.w, c.r, s.log, err)
		return
	case !got.Claimed:
		c.w.Header().Set("Idempotent-Replayed", "true")
		ct := "application/json"
		if got.Status >= 400 {
			ct = "application/problem+json"
		}
		writeRaw(c.w, got.Status, ct, got.Body)
		return
	}
	status, body := s.answer(c, rt)
	actx := context.WithoutCancel(ctx)
	if status >= 500 { // not an answer: a retry runs it again
		_ = s.idem.ReleaseIdempotencyKey(actx, claim.Key, claim.Owner)
		return
	}
	if err := s.idem.CompleteIdempotencyKey(actx, claim.Key, claim.Owner, retune.IdempotentAnswer{Status: status, Body: body}); err != nil {
		s.log.WarnContext(ctx, "idempotency answer not stored", "request_id", requestID(ctx), "err", err)
	}
}

// readJSONBody reads the body of a write: Content-Type application/json, within the size
// limit.
func readJSONBody(r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, &fieldError{Field: "Content-Type", Msg: "writes take JSON", Valid: "application/json", Status: http.StatusUnsupportedMediaType}
	}
	return io.ReadAll(r.Body)
}

// validator is a request body that checks itself after decoding.
type validator interface{ Validate() error }

// decode decodes body into v strictly (unknown fields refused, one JSON value) and
// validates it.
func decode(body []byte, v validator) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return &fieldError{Field: "body", Msg: "more than one JSON value", Valid: "one JSON object", Status: 400}
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return &fieldError{Field: "body", Msg: "data after the JSON object", Valid: "one JSON object", Status: 400}
	}
	return v.Validate()
}

// jsonError names the field of a decoding error.
func jsonError(err error) error {
	var (
		te *json.UnmarshalTypeError
		se *json.SyntaxError
		fe *fieldError
	)
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		if te.Type == floatType {
			return &fieldError{Field: field, Msg: te.Value + " is not a number", Valid: `a number, "inf", "-inf" or "nan"`, Status: 400}
		}
		if lo, hi, ok := intRange(te.Type); ok && strings.HasPrefix(te.Value, "number ") {
			// A number that is fractional or out of range for an integer field.
			return &fieldError{Field: field, Msg: te.Value + " is not an integer in range", Valid: fmt.Sprintf("an integer from %s to %s", lo, hi), Status: 400}
		}
		return &fieldError{Field: field, Msg: "JSON " + te.Value + " is the wrong type", Valid: "a " + jsonType(te.Type.String()), Status: 400}
	case errors.As(err, &se):
		return &fieldError{Field: "body", Msg: "invalid JSON: " + se.Error(), Valid: "one JSON object", Status: 400}
	case errors.Is(err, io.EOF):
		return &fieldError{Field: "body", Msg: "empty", Valid: "one JSON object", Status: 400}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &fieldError{Field: strings.Trim(name, `"`), Msg: "unknown field", Valid: "only the fields the API documents", Status: 400}
	}
	return &fieldError{Field: "body", Msg: err.Error(), Valid: "one JSON object", Status: 400}
}

// intRange returns the bounds of an integer type, as text.
func intRange(t reflect.Type) (lo, hi string, ok bool) {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return strconv.FormatInt(-1<<(bits-1), 10), strconv.FormatInt(1<<(bits-1)-1, 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "0", strconv.FormatUint(1<<t.Bits()-1, 10), true
	}
	return "", "", false
}

func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "JSON array"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "struct"), strings.HasPrefix(goType, "server."):
		return "JSON object"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "number"
	case goType == "string":
		return "string"
	case goType == "bool":
		return "boolean"
	}
	return "value of the documented type"
}
