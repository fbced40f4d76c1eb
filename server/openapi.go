package server

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// op documents one route in the OpenAPI document: its request body and query parameters
// (schemas by component name) and its answers.
type op struct {
	summary string
	about   string            // more than the summary, for the description ("" for none)
	req     string            // request body schema ("" for none)
	query   []param           // query parameters
	answers map[int]string    // status → response schema ("" for no content)
	headers map[string]string // request header → description
}

type param struct {
	name, typ, desc string
}

func answer(status int, schema string) map[int]string { return map[int]string{status: schema} }

// eventStream is the answer "schema" of the event stream: text/event-stream.
const eventStream = "(event stream)"

// idempotencyHeader documents the Idempotency-Key header of the routes that accept it.
var idempotencyHeader = map[string]string{
	"Idempotency-Key": "1 to 255 characters; a retry with the same key, token, route and body gets the first answer",
}

// openAPI builds the OpenAPI 3.1 document of routes.
func openAPI(routes []route) []byte {
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		item := paths[rt.pattern]
		if item == nil {
			item = map[string]any{}
			paths[rt.pattern] = item
		}
		item[strings.ToLower(rt.method)] = operation(rt)
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "retune",
			"version":     "1",
			"description": "Studies, trials, champions, decisions and events of a retune database. Errors are RFC 9457 problem details.",
		},
		"paths":    paths,
		"security": []any{map[string]any{"bearer": []any{}}},
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "a token of retune tokens create: rt_…"},
			},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("server: OpenAPI document: " + err.Error())
	}
	return b
}

// optionalBody are the request bodies whose every field is optional: the body may be
// left out (still with Content-Type application/json).
var optionalBody = map[string]bool{"AskRequest": true, "PromoteRequest": true, "TriggerRequest": true,
	"RedeliverRequest": true, "NotifierRequest": true}

// leaseSeconds is the lease a client may ask for on an ask and each heartbeat.
var leaseSeconds = map[string]any{"type": "number", "exclusiveMinimum": 0,
	"description": "the lease wanted, within the server's bounds (retune serve --lease-min, --lease-max); default the server's --lease-ttl"}

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

func operation(rt route) map[string]any {
	o := map[string]any{
		"operationId": operationID(rt),
		"summary":     rt.doc.summary,
		"description": "Needs a token of scope " + rt.scope.String() + ".",
	}
	if rt.scope == ScopeNone {
		o["security"] = []any{}
		o["description"] = "Needs no token."
	}
	if rt.doc.about != "" {
		o["description"] = rt.doc.about + " " + o["description"].(string)
	}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(rt.pattern, -1) {
		s := map[string]any{"type": "string", "minLength": 1}
		if m[1] == "number" || m[1] == "decision" {
			s = map[string]any{"type": "integer", "minimum": 0}
		}
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": s})
	}
	for _, q := range rt.doc.query {
		params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.desc, "schema": map[string]any{"type": q.typ}})
	}
	for h, desc := range rt.doc.headers {
		params = append(params, map[string]any{"name": h, "in": "header", "description": desc,
			"schema": map[string]any{"type": "string", "minLength": 1, "maxLength": 255}})
	}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if rt.doc.req != "" {
		o["requestBody"] = map[string]any{"required": !optionalBody[rt.doc.req], "content": jsonContent("application/json", rt.doc.req)}
	}
	resps := map[string]any{
		"default": map[string]any{"description": "a problem", "content": jsonContent("application/problem+json", "Problem")},
	}
	for status, schema := range rt.doc.answers {
		r := map[string]any{"description": http.StatusText(status)}
		switch schema {
		case "":
		case eventStream:
			r["content"] = map[string]any{"text/event-stream": map[string]any{"schema": map[string]any{"type": "string",
				"description": "events hello, trial.created, trial.started, trial.updated, trial.reported, trial.finished, decision, promotion, delivery (data: the change), resync and dropped"}}}
		default:
			r["content"] = jsonContent("application/json", schema)
		}
		resps[strconv.Itoa(status)] = r
	}
	o["responses"] = resps
	return o
}

func operationID(rt route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.method))
	for _, part := range strings.Split(strings.TrimPrefix(rt.pattern, "/api/v1/"), "/") {
		part = strings.Trim(part, "{}")
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func jsonContent(mediaType, schema string) map[string]any {
	return map[string]any{mediaType: map[string]any{"schema": ref(schema)}}
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

// Schema builders.
func obj(required []string, props map[string]any) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// closed is obj without other properties: a request body (unknown fields are refused).
func closed(required []string, props map[string]any) map[string]any {
	o := obj(required, props)
	o["additionalProperties"] = false
	return o
}

func arr(items any) map[string]any { return map[string]any{"type": "array", "items": items} }

func typ(t string) map[string]any { return map[string]any{"type": t} }

func str(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }

func dateTime() map[string]any { return map[string]any{"type": "string", "format": "date-time"} }

func mapOf(v any) map[string]any { return map[string]any{"type": "object", "additionalProperties": v} }

var anyValue = map[string]any{}

// schemas are the components of the document: the JSON forms of api.go.
var schemas = map[string]any{
	"Float": map[string]any{
		"description": `a number, or "inf", "-inf" or "nan" (JSON has no infinities)`,
		"oneOf":       []any{typ("number"), map[string]any{"type": "string", "enum": []any{"inf", "+inf", "-inf", "nan"}}},
	},
	"Floats":   arr(ref("Float")),
	"Document": map[string]any{"type": "object", "description": "an OpenAPI 3.1 document"},
	"Problem": obj([]string{"type", "title", "status"}, map[string]any{
		"type": str("a URN naming the problem: urn:retune:problem:…"), "title": typ("string"), "status": typ("integer"),
		"detail": typ("string"), "instance": typ("string"), "request_id": typ("string"),
		"field": str("the request field at fault"), "valid": str("what the field accepts"),
	}),
	"Distribution": obj([]string{"type"}, map[string]any{
		"type": map[string]any{"type": "string", "enum": []any{"float", "int", "categorical"}},
		"low":  typ("number"), "high": typ("number"), "log": typ("boolean"), "step": typ("number"),
		"choices": arr(anyValue),
	}),
	"AgentRequest": closed([]string{"id", "study"}, map[string]any{
		"id": typ("string"), "host": typ("string"), "pid": typ("integer"), "study": typ("string"),
		"slots": typ("integer"), "running": typ("integer"),
	}),
	"AgentList": obj([]string{"agents"}, map[string]any{"agents": arr(obj([]string{"id", "host", "addr", "pid", "study", "slots", "running", "first_contact", "last_contact"}, map[string]any{
		"addr": map[string]any{"type": "string", "description": "the address the agent's last report came from, as the server saw it"},
		"id":   typ("string"), "host": typ("string"), "pid": typ("integer"), "study": typ("string"),
		"slots": typ("integer"), "running": typ("integer"), "first_contact": dateTime(), "last_contact": dateTime(),
	}))}),
	"TrialLog": obj([]string{"head", "tail", "size", "omitted", "time"}, map[string]any{
		"head": map[string]any{"type": "string", "description": "the log's first bytes (at most 64 KiB; invalid UTF-8 replaced)"},
		"tail": map[string]any{"type": "string", "description": "its last bytes after head (at most 64 KiB)"},
		"size": typ("integer"), "omitted": map[string]any{"type": "integer", "description": "bytes between head and tail that were not stored"},
		"time": dateTime(),
	}),
	"Lease": obj([]string{"epoch", "expires"}, map[string]any{"epoch": typ("integer"), "expires": dateTime(),
		"stop": map[string]any{"type": "boolean", "description": "the trial was asked to stop: end it and tell it PRUNED"}}),
	"Trial": obj([]string{"number", "kind", "state", "params", "distributions"}, map[string]any{
		"number": typ("integer"), "kind": map[string]any{"type": "string", "enum": []any{"search", "confirm", "late"},
			"description": "late: a result told after its lease expired and its re-run started, kept outside the budget (system_attrs.late_of names its trial)"},
		"state":         map[string]any{"type": "string", "enum": []any{"WAITING", "RUNNING", "COMPLETE", "PRUNED", "FAIL"}},
		"params":        mapOf(anyValue),
		"distributions": mapOf(ref("Distribution")),
		"values":        ref("Floats"), "metrics": mapOf(ref("Float")), "intermediate": mapOf(ref("Floats")),
		"feasible":    map[string]any{"type": "boolean", "description": "for a trial with constraint values: whether every one is <= 0"},
		"constraints": ref("Floats"),
		"user_attrs":  mapOf(anyValue), "system_attrs": mapOf(anyValue), "retry_of": typ("integer"),
		"reason": typ("string"), "lease": ref("Lease"), "start": dateTime(), "end": dateTime(),
	}),
	"TrialList": obj([]string{"trials"}, map[string]any{
		"trials": arr(ref("Trial")),
		"next":   map[string]any{"type": "integer", "description": "the after of the next page; absent on the last"},
		"cursor": map[string]any{"type": "integer", "description": "the cursor of the next call, when this one gave one"},
	}),
	"Best": obj([]string{"trials"}, map[string]any{"trials": arr(ref("Trial"))}),
	"Importance": obj([]string{"study", "objective_name", "computed_at_trials", "method", "objective", "used", "skipped", "params"}, map[string]any{
		"study": typ("string"), "objective_name": typ("string"), "seed": typ("integer"), "computed_at_trials": typ("integer"),
		"method": map[string]any{"type": "string", "enum": []any{"fanova", "ped-anova"}}, "objective": typ("integer"),
		"used": typ("integer"), "skipped": typ("integer"), "not_complete": typ("integer"), "non_finite": typ("integer"),
		"params": arr(obj([]string{"name", "importance"}, map[string]any{
			"name": typ("string"), "importance": typ("number"), "raw": typ("number"), "trials": typ("integer"),
		})),
		"interactions": arr(obj(nil, map[string]any{})),
	}),
	"Spec": obj([]string{"name"}, map[string]any{"name": typ("string"), "options": mapOf(anyValue)}),
	"Study": obj([]string{"name", "directions", "model", "seed", "sampler", "budget", "created", "trials"}, map[string]any{
		"name": typ("string"), "directions": arr(map[string]any{"type": "string", "enum": []any{"minimize", "maximize"}}),
		"metrics": arr(typ("string")), "model": typ("string"), "seed": str("a uint64 as a string"),
		"sampler": ref("Spec"), "pruner": ref("Spec"),
		"budget":  obj(nil, map[string]any{"trials": typ("integer"), "retries": typ("integer")}),
		"created": dateTime(),
		"trials": obj([]string{"waiting", "running", "complete", "pruned", "failed"}, map[string]any{
			"waiting": typ("integer"), "running": typ("integer"), "complete": typ("integer"), "pruned": typ("integer"), "failed": typ("integer"),
		}),
		"best": ref("Float"), "user_attrs": mapOf(anyValue),
		"definition": map[string]any{"type": "object", "description": "the study file's form, without command and notifiers"},
	}),
	"StudyList": obj([]string{"studies"}, map[string]any{
		"studies": arr(ref("Study")), "next": str("the after of the next page; absent on the last"),
	}),
	"CreateStudyRequest": closed([]string{"definition"}, map[string]any{
		"definition": map[string]any{"type": "object", "description": "the study file's form as JSON, without command and notifiers"},
		"replace":    map[string]any{"type": "boolean", "description": "replace the stored sampler, pruner and search space"},
	}),
	"AskRequest": closed(nil, map[string]any{
		"kind":          map[string]any{"type": "string", "enum": []any{"search", "confirm"}, "description": "confirm: claim a confirmation repeat the leader enqueued"},
		"lease_seconds": leaseSeconds,
		"space":         map[string]any{"type": "object", "additionalProperties": ref("Distribution"), "description": "params to draw with the trial beyond the declared ones (define-by-run in one round trip)"},
	}),
	"AskResponse": obj([]string{"number", "epoch", "params", "lease_expires", "lease_seconds"}, map[string]any{
		"number": typ("integer"), "epoch": typ("integer"), "params": mapOf(anyValue),
		"lease_expires": dateTime(), "lease_seconds": typ("number"),
		"kind":    map[string]any{"type": "string", "enum": []any{"confirm"}},
		"confirm": map[string]any{"type": "string", "enum": []any{"candidate", "champion"}},
		"repeat":  typ("integer"), "seed": map[string]any{"type": "string", "description": "RETUNE_SEED for the trainer (a uint64 in decimal)"},
	}),
	"TellRequest": closed([]string{"epoch"}, map[string]any{
		"epoch":      map[string]any{"type": "integer", "minimum": 1},
		"state":      map[string]any{"type": "string", "enum": []any{"COMPLETE", "PRUNED", "FAIL"}},
		"values":     ref("Floats"),
		"metrics":    mapOf(ref("Float")),
		"reason":     typ("string"),
		"user_attrs": map[string]any{"type": "object", "description": "user attributes set on the trial with its outcome"},
	}),
	"ReportRequest": closed([]string{"epoch"}, map[string]any{
		"epoch": map[string]any{"type": "integer", "minimum": 1}, "step": map[string]any{"type": "integer", "minimum": 0},
		"values": ref("Floats"),
		"steps": map[string]any{"type": "array", "description": "several steps at once, instead of step and values", "maxItems": 10000,
			"items": closed([]string{"step", "values"}, map[string]any{"step": map[string]any{"type": "integer", "minimum": 0}, "values": ref("Floats")})},
	}),
	"LogRequest": closed([]string{"epoch", "head", "tail", "size"}, map[string]any{
		"epoch": map[string]any{"type": "integer", "minimum": 1}, "head": typ("string"), "tail": typ("string"), "size": typ("integer"),
	}),
	"ReportResponse":   obj([]string{"prune"}, map[string]any{"prune": typ("boolean")}),
	"HeartbeatRequest": closed([]string{"epoch"}, map[string]any{"epoch": map[string]any{"type": "integer", "minimum": 1}, "lease_seconds": leaseSeconds}),
	"EnqueueRequest":   closed([]string{"params"}, map[string]any{"params": mapOf(anyValue)}),
	"EnqueueResponse":  obj([]string{"numbers"}, map[string]any{"numbers": arr(typ("integer"))}),
	"SuggestRequest": closed([]string{"epoch", "name", "distribution"}, map[string]any{
		"epoch": map[string]any{"type": "integer", "minimum": 1}, "name": typ("string"),
		"distribution": closed([]string{"type"}, map[string]any{
			"type": map[string]any{"type": "string", "enum": []any{"float", "int", "categorical"}},
			"low":  typ("number"), "high": typ("number"), "log": typ("boolean"), "step": typ("number"),
			"choices": arr(anyValue),
		}),
	}),
	"SuggestResponse": obj([]string{"name", "value"}, map[string]any{"name": typ("string"), "value": anyValue}),
	"Champion": obj([]string{"model", "version", "params", "values", "source", "created"}, map[string]any{
		"model": typ("string"), "version": typ("integer"), "params": mapOf(anyValue), "values": ref("Floats"),
		"metrics": mapOf(ref("Float")), "source": map[string]any{"type": "string", "enum": []any{"trial", "manual"}},
		"study": typ("string"), "trial": typ("integer"), "decision": typ("integer"), "created": dateTime(),
	}),
	"ChampionList": obj([]string{"champions"}, map[string]any{"champions": arr(ref("Champion"))}),
	"SetChampionRequest": closed([]string{"values"}, map[string]any{
		"params": mapOf(anyValue), "values": ref("Floats"), "metrics": mapOf(ref("Float")),
	}),
	"Decision": obj([]string{"id", "model", "study", "run", "champion_version", "candidate", "improved", "reason", "evidence", "created"}, map[string]any{
		"id": typ("integer"), "model": typ("string"), "study": typ("string"), "run": typ("string"),
		"champion_version": typ("integer"), "candidate": typ("integer"), "improved": typ("boolean"), "reason": typ("string"),
		"evidence": obj([]string{"method", "direction"}, map[string]any{"method": typ("string"), "direction": typ("string")}),
		"created":  dateTime(),
	}),
	"DecisionList": obj([]string{"decisions"}, map[string]any{"decisions": arr(ref("Decision"))}),
	"PromoteRequest": closed(nil, map[string]any{
		"values": ref("Floats"), "metrics": mapOf(ref("Float")), "force": typ("boolean"),
		"notify": map[string]any{"type": "array", "items": typ("string"), "description": "the notifiers of the champion-promoted event; default those of the decision's event"},
	}),
	"TriggerRequest":  closed(nil, map[string]any{"reason": typ("string")}),
	"TriggerResponse": obj([]string{"id"}, map[string]any{"id": typ("integer")}),
	"Attempt": obj([]string{"n", "started", "duration_ms", "status", "outcome"}, map[string]any{
		"n": typ("integer"), "started": dateTime(), "duration_ms": typ("number"), "status": typ("integer"),
		"outcome": typ("string"), "response": typ("string"), "error": typ("string"), "owner": typ("string"),
	}),
	"Delivery": obj([]string{"id", "notifier", "state", "attempts", "next_at", "created", "updated"}, map[string]any{
		"id": typ("integer"), "notifier": typ("string"),
		"state":    map[string]any{"type": "string", "enum": []any{"pending", "delivered", "dead"}},
		"attempts": typ("integer"), "next_at": dateTime(), "last_error": typ("string"), "created": dateTime(), "updated": dateTime(),
		"attempt_log": arr(ref("Attempt")),
	}),
	"Event": obj([]string{"seq", "id", "type", "source", "time", "notify", "deliveries"}, map[string]any{
		"seq": typ("integer"), "id": typ("string"), "type": typ("string"), "source": typ("string"), "subject": typ("string"),
		"time": dateTime(), "data": anyValue, "notify": arr(typ("string")), "deliveries": arr(ref("Delivery")),
	}),
	"EventList": obj([]string{"events"}, map[string]any{
		"events": arr(ref("Event")), "next": map[string]any{"type": "integer", "description": "the before of the next page; absent on the last"},
	}),
	"RedeliverRequest":  closed(nil, map[string]any{"notifiers": arr(typ("string"))}),
	"RedeliverResponse": obj([]string{"deliveries"}, map[string]any{"deliveries": arr(typ("integer"))}),
	"Notifier": obj([]string{"id", "enabled"}, map[string]any{
		"id": typ("string"), "enabled": typ("boolean"), "disabled": dateTime(), "reason": typ("string"),
		"last_success": dateTime(), "failing_since": dateTime(),
	}),
	"NotifierList":    obj([]string{"notifiers"}, map[string]any{"notifiers": arr(ref("Notifier"))}),
	"NotifierRequest": closed(nil, map[string]any{"reason": typ("string")}),
}
