package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain"
	"github.com/a6b40afc/retune/server"
)

// TestAuthMatrix calls every route with every scope, on a study inside and outside the
// token's study pattern (models are named like studies), and with no, a wrong and a
// revoked token: 401 without a valid token, 403 without the scope, outside the pattern or
// (with a pattern) on events and notifiers, which span every study; 2xx otherwise (the
// OpenAPI document needs no token).
func TestAuthMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var seq atomic.Int64
	fresh := func(prefix string) string {
		name := fmt.Sprintf("%s%d", prefix, seq.Add(1))
		e.createStudy(name, 0)
		return name
	}
	// Each case builds its request on study (set up as admin as needed).
	type build func(study string) (method, path string, body any)
	trialOp := func(op string, body func(a asked) any) build {
		return func(study string) (string, string, any) {
			a := e.ask(study)
			return "POST", fmt.Sprintf("/api/v1/studies/%s/trials/%d/%s", study, a.Number, op), body(a)
		}
	}
	cases := map[string]struct {
		scope server.Scope
		build build
	}{
		"GET /api/v1/openapi.json": {server.ScopeNone, func(string) (string, string, any) { return "GET", "/api/v1/openapi.json", nil }},
		"GET /api/v1/studies":      {server.ScopeRead, func(string) (string, string, any) { return "GET", "/api/v1/studies", nil }},
		"POST /api/v1/studies": {server.ScopeAdmin, func(study string) (string, string, any) {
			return "POST", "/api/v1/studies", map[string]any{"definition": definition(study, 0)}
		}},
		"GET /api/v1/studies/{study}": {server.ScopeRead, func(s string) (string, string, any) { return "GET", "/api/v1/studies/" + s, nil }},
		"DELETE /api/v1/studies/{study}": {server.ScopeAdmin, func(s string) (string, string, any) {
			return "DELETE", "/api/v1/studies/" + s, nil
		}},
		// A stream never ends: ask for one ahead of the study's changes, which an authorized
		// caller gets 400 for (TestEventStream covers the stream itself).
		"GET /api/v1/studies/{study}/events": {server.ScopeRead, func(s string) (string, string, any) {
			return "GET", "/api/v1/studies/" + s + "/events?after=999999", nil
		}},
		"GET /api/v1/studies/{study}/best": {server.ScopeRead, func(s string) (string, string, any) { return "GET", "/api/v1/studies/" + s + "/best", nil }},
		"GET /api/v1/studies/{study}/importance": {server.ScopeRead, func(s string) (string, string, any) {
			for i := range 3 { // importance needs finished trials
				a := e.ask(s)
				e.do("admin", "POST", fmt.Sprintf("/api/v1/studies/%s/trials/%d/tell", s, a.Number), map[string]any{"epoch": a.Epoch, "values": []any{float64(i)}})
			}
			return "GET", "/api/v1/studies/" + s + "/importance", nil
		}},
		"GET /api/v1/studies/{study}/trials": {server.ScopeRead, func(s string) (string, string, any) {
			return "GET", "/api/v1/studies/" + s + "/trials?state=COMPLETE&limit=5", nil
		}},
		"POST /api/v1/studies/{study}/trials": {server.ScopeRun, func(s string) (string, string, any) {
			return "POST", "/api/v1/studies/" + s + "/trials", map[string]any{}
		}},
		"POST /api/v1/studies/{study}/trials/enqueue": {server.ScopeRun, func(s string) (string, string, any) {
			return "POST", "/api/v1/studies/" + s + "/trials/enqueue", map[string]any{"params": map[string]any{"layers": 2}}
		}},
		"GET /api/v1/studies/{study}/trials/{number}": {server.ScopeRead, func(s string) (string, string, any) {
			a := e.ask(s)
			return "GET", fmt.Sprintf("/api/v1/studies/%s/trials/%d", s, a.Number), nil
		}},
		"POST /api/v1/studies/{study}/trials/{number}/tell": {server.ScopeRun, trialOp("tell", func(a asked) any {
			return map[string]any{"epoch": a.Epoch, "values": []any{1.5}}
		})},
		"POST /api/v1/studies/{study}/trials/{number}/report": {server.ScopeRun, trialOp("report", func(a asked) any {
			return map[string]any{"epoch": a.Epoch, "step": 1, "values": []any{1.5}}
		})},
		"PUT /api/v1/studies/{study}/trials/{number}/log": {server.ScopeRun, func(s string) (string, string, any) {
			a := e.ask(s)
			return "PUT", fmt.Sprintf("/api/v1/studies/%s/trials/%d/log", s, a.Number), map[string]any{"epoch": a.Epoch, "head": "hi\n", "tail": "", "size": 3}
		}},
		"GET /api/v1/studies/{study}/trials/{number}/log": {server.ScopeRead, func(s string) (string, string, any) {
			a := e.ask(s)
			rec, err := e.store.Study(t.Context(), s)
			if err != nil {
				t.Fatal(err)
			}
			ref := retune.TrialRef{StudyID: rec.ID, Number: a.Number, Epoch: a.Epoch}
			if err := e.store.(retune.LogStore).PutLog(t.Context(), ref, retune.TrialLog{Head: []byte("hi\n"), Size: 3}); err != nil {
				t.Fatal(err)
			}
			return "GET", fmt.Sprintf("/api/v1/studies/%s/trials/%d/log", s, a.Number), nil
		}},
		"POST /api/v1/agents": {server.ScopeRun, func(s string) (string, string, any) {
			return "POST", "/api/v1/agents", map[string]any{"id": "h/1/" + s, "host": "h", "pid": 1, "study": s, "slots": 2, "running": 1}
		}},
		"POST /api/v1/studies/{study}/trials/{number}/stop": {server.ScopeRun, trialOp("stop", func(asked) any { return map[string]any{} })},
		"POST /api/v1/studies/{study}/trials/{number}/heartbeat": {server.ScopeRun, trialOp("heartbeat", func(a asked) any {
			return map[string]any{"epoch": a.Epoch}
		})},
	}
	// The retraining records of the model named like the study, and events.
	ctx := t.Context()
	rs := e.store.(retrain.Store)
	withChampion := func(model string) {
		if _, err := retrain.SetChampion(ctx, rs, model, map[string]any{"lr": 0.01}, []float64{0.5}, nil); err != nil {
			t.Fatal(err)
		}
	}
	withDecision := func(model string) int64 {
		a := e.ask(model)
		if r := e.do("run", "POST", fmt.Sprintf("/api/v1/studies/%s/trials/%d/tell", model, a.Number), map[string]any{"epoch": a.Epoch, "values": []any{0.25}}); r.status != 200 {
			t.Fatalf("tell: %d %s", r.status, r.body)
		}
		d, err := rs.RecordDecision(ctx, retune.Decision{Model: model, Study: model, RunID: "run-" + model, Candidate: a.Number, Improved: true,
			Reason: "better", Evidence: retune.Evidence{Method: "point", Direction: "minimize", Candidate: []float64{0.25}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	withEvent := func() string {
		id := fmt.Sprintf("ev-%d", seq.Add(1))
		if err := e.store.(retune.DeliveryStore).AppendEvents(ctx, []retune.Event{{ID: id, Type: retune.TypeStudyCompleted, Source: "retune/test",
			Time: time.Now(), Data: []byte(`{"x":1}`), Notify: []string{"hook"}}}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	model := func(method, suffix string, body any, setup func(string)) build {
		return func(m string) (string, string, any) {
			if setup != nil {
				setup(m)
			}
			return method, "/api/v1/models/" + m + suffix, body
		}
	}
	decisionOp := func(method, suffix string, body any) build {
		return func(m string) (string, string, any) {
			return method, fmt.Sprintf("/api/v1/models/%s/decisions/%d%s", m, withDecision(m), suffix), body
		}
	}
	global := func(method string, path func() string, body any) build {
		return func(string) (string, string, any) { return method, path(), body }
	}
	cases["POST /api/v1/studies/{study}/trials/{number}/suggest"] = struct {
		scope server.Scope
		build build
	}{server.ScopeRun, trialOp("suggest", func(a asked) any {
		return map[string]any{"epoch": a.Epoch, "name": "momentum", "distribution": map[string]any{"type": "float", "low": 0, "high": 1}}
	})}
	for name, c := range map[string]struct {
		scope server.Scope
		build build
	}{
		"GET /api/v1/models/{model}/champion":                      {server.ScopeRead, model("GET", "/champion", nil, withChampion)},
		"POST /api/v1/models/{model}/champion":                     {server.ScopeAdmin, model("POST", "/champion", map[string]any{"params": map[string]any{"lr": 0.1}, "values": []any{0.4}}, nil)},
		"GET /api/v1/models/{model}/champion/history":              {server.ScopeRead, model("GET", "/champion/history", nil, withChampion)},
		"GET /api/v1/models/{model}/decisions":                     {server.ScopeRead, model("GET", "/decisions", nil, func(m string) { withDecision(m) })},
		"GET /api/v1/models/{model}/decisions/{decision}":          {server.ScopeRead, decisionOp("GET", "", nil)},
		"POST /api/v1/models/{model}/decisions/{decision}/promote": {server.ScopeAdmin, decisionOp("POST", "/promote", map[string]any{})},
		"POST /api/v1/models/{model}/triggers":                     {server.ScopeRun, model("POST", "/triggers", map[string]any{"reason": "drift"}, nil)},
		"GET /api/v1/events":                                       {server.ScopeRead, global("GET", func() string { withEvent(); return "/api/v1/events?limit=2" }, nil)},
		"GET /api/v1/events/{event}":                               {server.ScopeRead, global("GET", func() string { return "/api/v1/events/" + withEvent() }, nil)},
		"POST /api/v1/events/{event}/redeliver":                    {server.ScopeAdmin, global("POST", func() string { return "/api/v1/events/" + withEvent() + "/redeliver" }, map[string]any{})},
		"GET /api/v1/agents":                                       {server.ScopeRead, global("GET", func() string { return "/api/v1/agents" }, nil)},
		"GET /api/v1/notifiers":                                    {server.ScopeRead, global("GET", func() string { return "/api/v1/notifiers" }, nil)},
		"POST /api/v1/notifiers/{notifier}/enable":                 {server.ScopeAdmin, global("POST", func() string { return "/api/v1/notifiers/hook/enable" }, map[string]any{})},
		"POST /api/v1/notifiers/{notifier}/disable":                {server.ScopeAdmin, global("POST", func() string { return "/api/v1/notifiers/hook/disable" }, map[string]any{"reason": "test"})},
	} {
		cases[name] = c
	}
	srv, err := server.New(server.Options{Storage: e.store})
	if err != nil {
		t.Fatal(err)
	}
	routes := server.Routes(srv)
	for _, r := range routes {
		if _, ok := cases[r]; !ok {
			t.Errorf("route %s has no case in the auth matrix", r)
		}
	}
	for name, tc := range cases {
		if !slices.Contains(routes, name) {
			t.Errorf("case %s is no route", name)
		}
		for _, in := range []bool{true, false} {
			for _, tok := range []string{"", "bogus", "read", "run", "admin", "read-a", "run-a", "admin-a"} {
				prefix := "team-a-"
				if !in {
					prefix = "team-b-"
				}
				study := fresh(prefix)
				if name == "POST /api/v1/studies" {
					study = fmt.Sprintf("%snew%d", prefix, seq.Add(1)) // created by the call
				}
				method, path, body := tc.build(study)
				var r resp
				if tok == "bogus" {
					e.tokens["bogus"] = "rt_1_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
				}
				r = e.do(tok, method, path, body)
				scope := map[string]server.Scope{"read": server.ScopeRead, "run": server.ScopeRun, "admin": server.ScopeAdmin,
					"read-a": server.ScopeRead, "run-a": server.ScopeRun, "admin-a": server.ScopeAdmin}[tok]
				patterned := len(tok) > 2 && tok[len(tok)-2:] == "-a"
				var want string
				switch {
				case tc.scope == server.ScopeNone:
					want = "2xx"
				case tok == "" || tok == "bogus":
					want = "401"
				case scope < tc.scope:
					want = "403"
				case patterned && (strings.HasPrefix(name, "GET /api/v1/events") || strings.Contains(name, "/events/") || strings.Contains(name, "/notifiers") || name == "GET /api/v1/agents"):
					want = "403" // spans every study
				case patterned && !in && name != "GET /api/v1/studies":
					want = "403"
				default:
					want = "2xx"
				}
				if want == "2xx" && name == "GET /api/v1/studies/{study}/events" {
					want = "400"
				}
				got := fmt.Sprint(r.status)
				if r.status >= 200 && r.status < 300 {
					got = "2xx"
				}
				if got != want {
					t.Errorf("%s as %q on %s: %d %s, want %s", name, tok, study, r.status, r.body, want)
				}
			}
		}
	}
	// A revoked token is refused at once; /healthz and /readyz need none.
	if err := e.store.(retune.TokenStore).RevokeToken(t.Context(), readTokenName(t, e)); err != nil {
		t.Fatal(err)
	}
	if r := e.do("read", "GET", "/api/v1/studies", nil); r.status != http.StatusUnauthorized {
		t.Errorf("list with a revoked token: %d %s, want 401", r.status, r.body)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := e.do("", "GET", p, nil); r.status != http.StatusOK || string(r.body) != "ok\n" {
			t.Errorf("GET %s = %d %q, want 200 ok", p, r.status, r.body)
		}
	}
}

// readTokenName is the name of e's unrestricted read token.
func readTokenName(t *testing.T, e *env) string {
	toks, err := e.store.(retune.TokenStore).Tokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if tok.Scope == "read" && tok.Studies == "" {
			return tok.Name
		}
	}
	t.Fatal("no read token")
	return ""
}
