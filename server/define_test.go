package server_test

import (
	"fmt"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain"
	"github.com/a6b40afc/retune/sampler/tpe"
)

// TestDefineByRun: a study without a declared space (created by library code) is asked
// through the API; each param is suggested by its own request, kept for the trial, and
// fenced by the lease epoch.
func TestDefineByRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	if _, err := retune.NewStudy(ctx, retune.Config{Name: "dbr", Storage: e.store, Sampler: tpe.New(tpe.Options{}), Seed: 3}); err != nil {
		t.Fatal(err)
	}
	for i := range 12 { // past TPE's startup trials
		a := e.ask("dbr")
		if len(a.Params) != 0 {
			t.Fatalf("ask without a declared space = %+v, want no params", a)
		}
		base := fmt.Sprintf("/api/v1/studies/dbr/trials/%d/", a.Number)
		suggest := func(name string, dist map[string]any) (int, any) {
			var out struct {
				Value any `json:"value"`
			}
			r := e.do("run", "POST", base+"suggest", map[string]any{"epoch": a.Epoch, "name": name, "distribution": dist})
			if r.status == 200 {
				r.decode(t, &out)
			}
			return r.status, out.Value
		}
		lrDist := map[string]any{"type": "float", "low": 0.001, "high": 0.1, "log": true}
		st, lr := suggest("lr", lrDist)
		if x, ok := lr.(float64); st != 200 || !ok || x < 0.001 || x > 0.1 {
			t.Fatalf("suggest lr = %d %v, want 200 and a value in [0.001, 0.1]", st, lr)
		}
		if st, again := suggest("lr", lrDist); st != 200 || again != lr {
			t.Errorf("suggest lr again = %d %v, want the same %v", st, again, lr)
		}
		if st, _ := suggest("lr", map[string]any{"type": "float", "low": 0, "high": 1}); st != 422 {
			t.Errorf("suggest lr with another distribution = %d, want 422", st)
		}
		if st, opt := suggest("opt", map[string]any{"type": "categorical", "choices": []any{"adam", "sgd"}}); st != 200 || opt != "adam" && opt != "sgd" {
			t.Errorf("suggest opt = %d %v", st, opt)
		}
		if st, n := suggest("layers", map[string]any{"type": "int", "low": 1, "high": 8, "step": 1}); st != 200 || n.(float64) < 1 || n.(float64) > 8 {
			t.Errorf("suggest layers = %d %v", st, n)
		}
		if st, _ := suggest("bad", map[string]any{"type": "int", "low": 1.5, "high": 8}); st != 422 {
			t.Errorf("suggest an int with low 1.5 = %d, want 422", st)
		}
		if r := e.do("run", "POST", base+"suggest", map[string]any{"epoch": a.Epoch + 1, "name": "y", "distribution": lrDist}); r.status != 409 {
			t.Errorf("suggest with a stale epoch = %d %s, want 409", r.status, r.body)
		}
		if r := e.do("run", "POST", base+"tell", map[string]any{"epoch": a.Epoch, "values": []any{lr.(float64) + float64(i)/100}}); r.status != 200 {
			t.Fatalf("tell = %d %s", r.status, r.body)
		}
		if st, _ := suggest("late", lrDist); st != 409 {
			t.Errorf("suggest after tell = %d, want 409", st)
		}
		var tr struct {
			Params map[string]any `json:"params"`
		}
		e.do("read", "GET", fmt.Sprintf("/api/v1/studies/dbr/trials/%d", a.Number), nil).decode(t, &tr)
		if len(tr.Params) != 3 || tr.Params["lr"] != lr {
			t.Errorf("stored params = %v, want lr %v, opt and layers", tr.Params, lr)
		}
	}
}

// TestRetrainRoutes: a champion set by hand, a decision promoted through the API (the
// champion-promoted event then has a delivery), a trigger filed, the event read with its
// deliveries and redelivered, and a notifier disabled and enabled.
func TestRetrainRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createStudy("m", 0)
	if r := e.do("admin", "POST", "/api/v1/models/m/champion", map[string]any{"params": map[string]any{"lr": 0.05}, "values": []any{0.5}}); r.status != 201 || !contains(string(r.body), `"version":1`) {
		t.Fatalf("set champion = %d %s", r.status, r.body)
	}
	a := e.ask("m")
	e.do("run", "POST", fmt.Sprintf("/api/v1/studies/m/trials/%d/tell", a.Number), map[string]any{"epoch": a.Epoch, "values": []any{0.25}})
	d, err := e.store.(retrain.Store).RecordDecision(t.Context(), retune.Decision{Model: "m", Study: "m", RunID: "r1", ChampionVersion: 1, Candidate: a.Number,
		Improved: true, Reason: "better", Evidence: retune.Evidence{Method: "point", Direction: "minimize", Candidate: []float64{0.25}, Notify: []string{"hook"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("read", "GET", "/api/v1/models/m/decisions", nil); r.status != 200 || !contains(string(r.body), `"reason":"better"`) {
		t.Errorf("decisions = %d %s", r.status, r.body)
	}
	if r := e.do("read", "GET", fmt.Sprintf("/api/v1/models/other/decisions/%d", d.ID), nil); r.status != 404 {
		t.Errorf("decision of another model = %d %s, want 404", r.status, r.body)
	}
	promote := fmt.Sprintf("/api/v1/models/m/decisions/%d/promote", d.ID)
	if r := e.do("admin", "POST", promote, map[string]any{}); r.status != 201 || !contains(string(r.body), `"version":2`) {
		t.Fatalf("promote = %d %s", r.status, r.body)
	}
	if r := e.do("admin", "POST", promote, map[string]any{}); r.status != 409 {
		t.Errorf("promote again = %d %s, want 409 (the champion version moved on)", r.status, r.body)
	}
	var hist struct {
		Champions []struct {
			Version int64  `json:"version"`
			Source  string `json:"source"`
		} `json:"champions"`
	}
	e.do("read", "GET", "/api/v1/models/m/champion/history", nil).decode(t, &hist)
	if len(hist.Champions) != 2 || hist.Champions[1].Source != "trial" {
		t.Errorf("history = %+v, want a manual and a promoted version", hist)
	}
	if r := e.do("run", "POST", "/api/v1/models/m/triggers", map[string]any{"reason": "drift"}); r.status != 201 {
		t.Errorf("trigger = %d %s", r.status, r.body)
	}
	trig, err := e.store.(retune.TriggerStore).ConsumeTriggers(t.Context(), "m")
	if err != nil || len(trig) != 1 || trig[0].Reason != "drift" {
		t.Errorf("triggers = %+v, %v; want the one filed", trig, err)
	}
	var evs struct {
		Events []struct {
			ID         string `json:"id"`
			Type       string `json:"type"`
			Deliveries []struct {
				Notifier string `json:"notifier"`
			} `json:"deliveries"`
		} `json:"events"`
	}
	e.do("read", "GET", "/api/v1/events?notifier=hook", nil).decode(t, &evs)
	if len(evs.Events) != 1 || evs.Events[0].Type != retune.TypeChampionPromoted || len(evs.Events[0].Deliveries) != 1 {
		t.Fatalf("events for hook = %+v, want the promotion's", evs)
	}
	id := evs.Events[0].ID
	if r := e.do("read", "GET", "/api/v1/events/"+id, nil); r.status != 200 || !contains(string(r.body), `"notifier":"hook"`) {
		t.Errorf("event = %d %s", r.status, r.body)
	}
	if r := e.do("admin", "POST", "/api/v1/events/"+id+"/redeliver", map[string]any{"notifiers": []any{"hook", "audit"}}); r.status != 200 {
		t.Errorf("redeliver = %d %s", r.status, r.body)
	}
	if r := e.do("read", "GET", "/api/v1/events/nope", nil); r.status != 404 {
		t.Errorf("missing event = %d %s, want 404", r.status, r.body)
	}
	if r := e.do("admin", "POST", "/api/v1/notifiers/hook/disable", map[string]any{"reason": "maintenance"}); r.status != 204 {
		t.Errorf("disable = %d %s", r.status, r.body)
	}
	if r := e.do("read", "GET", "/api/v1/notifiers", nil); !contains(string(r.body), `"reason":"maintenance"`) || !contains(string(r.body), `"enabled":false`) {
		t.Errorf("notifiers after disable = %d %s", r.status, r.body)
	}
	if r := e.do("admin", "POST", "/api/v1/notifiers/hook/enable", map[string]any{}); r.status != 204 {
		t.Errorf("enable = %d %s", r.status, r.body)
	}
}

// TestDefineByRunSpace: a study created through the API with no declared params is asked
// with its whole space in one request; user attributes come with the tell.
func TestDefineByRunSpace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	def := definition("space", 0)
	def["params"] = map[string]any{}
	if r := e.do("admin", "POST", "/api/v1/studies", map[string]any{"definition": def}); r.status != 201 {
		t.Fatalf("create a study without declared params: %d %s", r.status, r.body)
	}
	space := map[string]any{
		"lr":  map[string]any{"type": "float", "low": 0.001, "high": 0.1, "log": true},
		"opt": map[string]any{"type": "categorical", "choices": []any{"adam", "sgd"}},
	}
	r := e.do("run", "POST", "/api/v1/studies/space/trials", map[string]any{"space": space})
	var a asked
	r.decode(t, &a)
	if lr, ok := a.Params["lr"].(float64); r.status != 201 || !ok || lr < 0.001 || lr > 0.1 || (a.Params["opt"] != "adam" && a.Params["opt"] != "sgd") {
		t.Fatalf("ask with a space: %d %s", r.status, r.body)
	}
	if r := e.do("run", "POST", "/api/v1/studies/space/trials", map[string]any{"space": map[string]any{"x": map[string]any{"type": "int", "low": 1.5, "high": 3}}}); r.status != 422 || !contains(string(r.body), `"field":"space.x"`) {
		t.Errorf("ask with an invalid space: %d %s, want 422 naming space.x", r.status, r.body)
	}
	if r := e.do("run", "POST", "/api/v1/studies/space/trials/enqueue", map[string]any{"params": map[string]any{"lr": 0.01, "opt": "sgd"}}); r.status != 201 {
		t.Fatalf("enqueue on a study without declared params: %d %s", r.status, r.body)
	}
	r = e.do("run", "POST", "/api/v1/studies/space/trials", map[string]any{"space": space})
	var fixed asked
	r.decode(t, &fixed)
	if r.status != 201 || fixed.Params["lr"] != 0.01 || fixed.Params["opt"] != "sgd" {
		t.Errorf("ask of the enqueued trial: %d %s, want lr 0.01 and opt sgd", r.status, r.body)
	}
	tell := fmt.Sprintf("/api/v1/studies/space/trials/%d/tell", a.Number)
	r = e.do("run", "POST", tell, map[string]any{"epoch": a.Epoch, "values": []any{0.5}, "user_attrs": map[string]any{"fold": 3, "note": "ok"}})
	if r.status != 200 || !contains(string(r.body), `"user_attrs":{"fold":3,"note":"ok"}`) || !contains(string(r.body), `"lr":`) {
		t.Errorf("tell with user attributes: %d %s", r.status, r.body)
	}
}
