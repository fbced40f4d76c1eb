package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/server"
	"github.com/a6b40afc/retune/storage/postgres"
	"github.com/jackc/pgx/v5"
)

// TestReplicasExactBudget: two servers on one SQLite file (two handles, as two replicas)
// serve 8 clients; each trial is asked on one, reported and told on the other. The budget
// yields exactly its number of outcomes, numbered densely, none left RUNNING.
func TestReplicasExactBudget(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "retune.db")
	replicasExact(t, func() retune.Storage { return openSQLite(t, path) })
}

// TestReplicasExactBudgetPostgres is TestReplicasExactBudget on PostgreSQL (a schema of
// its own), when RETUNE_TEST_POSTGRES names a database.
func TestReplicasExactBudgetPostgres(t *testing.T) {
	t.Parallel()
	dsn := os.Getenv("RETUNE_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("RETUNE_TEST_POSTGRES is not set")
	}
	schema := fmt.Sprintf("retune_server_%d_%d", os.Getpid(), time.Now().UnixNano())
	replicasExact(t, func() retune.Storage {
		s, err := postgres.OpenOptions(t.Context(), dsn, postgres.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
	t.Cleanup(func() { dropSchema(t, dsn, schema) })
}

func replicasExact(t *testing.T, open func() retune.Storage) {
	a := newEnvOn(t, open(), nil)
	b := newEnvOn(t, open(), nil)
	b.tokens = a.tokens // the same database: the same tokens
	const budget = 40
	a.createStudy("exact", budget)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			first, second := a, b
			if w%2 == 1 {
				first, second = b, a
			}
			for {
				r := first.do("run", "POST", "/api/v1/studies/exact/trials", map[string]any{})
				if r.status == http.StatusConflict && contains(string(r.body), "budget-exhausted") {
					return
				}
				if r.status != http.StatusCreated {
					t.Errorf("ask: %d %s", r.status, r.body)
					return
				}
				var q asked
				r.decode(t, &q)
				base := fmt.Sprintf("/api/v1/studies/exact/trials/%d/", q.Number)
				if r := second.do("run", "POST", base+"report", map[string]any{"epoch": q.Epoch, "step": 0, "values": []any{1}}); r.status != 200 || string(r.body) != `{"prune":false}` {
					t.Errorf("report: %d %s", r.status, r.body)
				}
				if r := second.do("run", "POST", base+"heartbeat", map[string]any{"epoch": q.Epoch}); r.status != 200 {
					t.Errorf("heartbeat: %d %s", r.status, r.body)
				}
				if r := first.do("run", "POST", base+"tell", map[string]any{"epoch": q.Epoch, "values": []any{q.Params["lr"]}}); r.status != 200 {
					t.Errorf("tell: %d %s", r.status, r.body)
				}
			}
		})
	}
	wg.Wait()
	var list struct {
		Trials []struct {
			Number int    `json:"number"`
			State  string `json:"state"`
		} `json:"trials"`
		Next *int `json:"next"`
	}
	a.do("read", "GET", "/api/v1/studies/exact/trials?limit=1000", nil).decode(t, &list)
	if len(list.Trials) != budget || list.Next != nil {
		t.Fatalf("%d trials, want %d", len(list.Trials), budget)
	}
	for i, tr := range list.Trials {
		if tr.Number != i || tr.State != "COMPLETE" {
			t.Errorf("trial %d = %+v, want number %d COMPLETE", i, tr, i)
		}
	}
	// Pages by number, and the finish-order cursor.
	var page struct {
		Trials []struct{ Number int } `json:"trials"`
		Next   *int                   `json:"next"`
	}
	b.do("read", "GET", "/api/v1/studies/exact/trials?limit=15&after=9", nil).decode(t, &page)
	if len(page.Trials) != 15 || page.Trials[0].Number != 10 || page.Next == nil || *page.Next != 24 {
		t.Errorf("page after 9 = %d trials from %v, next %v; want 15 from 10, next 24", len(page.Trials), page.Trials, page.Next)
	}
	var inc struct {
		Trials []struct{ Number int } `json:"trials"`
		Cursor *int64                 `json:"cursor"`
	}
	b.do("read", "GET", "/api/v1/studies/exact/trials?cursor=0&state=COMPLETE", nil).decode(t, &inc)
	if len(inc.Trials) != budget || inc.Cursor == nil {
		t.Fatalf("since cursor 0: %d trials, cursor %v; want %d", len(inc.Trials), inc.Cursor, budget)
	}
	b.do("read", "GET", fmt.Sprintf("/api/v1/studies/exact/trials?cursor=%d", *inc.Cursor), nil).decode(t, &inc)
	if len(inc.Trials) != 0 {
		t.Errorf("since the last cursor: %d trials, want none", len(inc.Trials))
	}
	var best struct {
		Trials []struct{ Values []float64 } `json:"trials"`
	}
	a.do("read", "GET", "/api/v1/studies/exact/best", nil).decode(t, &best)
	if len(best.Trials) != 1 {
		t.Errorf("best = %+v, want one trial", best)
	}
}

// TestTrialErrors: fencing, validation against the stored space and the pruner's answer.
func TestTrialErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createStudy("errs", 0)
	q := e.ask("errs")
	base := fmt.Sprintf("/api/v1/studies/errs/trials/%d/", q.Number)
	for _, tc := range []struct {
		name, op string
		body     any
		status   int
		field    string
	}{
		{"stale epoch", "tell", map[string]any{"epoch": q.Epoch + 1, "values": []any{1}}, 409, ""},
		{"no epoch", "tell", map[string]any{"values": []any{1}}, 422, "epoch"},
		{"two values", "tell", map[string]any{"epoch": q.Epoch, "values": []any{1, 2}}, 422, "values"},
		{"bad state", "tell", map[string]any{"epoch": q.Epoch, "state": "DONE"}, 422, "state"},
		{"string value", "report", map[string]any{"epoch": q.Epoch, "step": 1, "values": []any{"x"}}, 400, "values"},
		{"no step", "report", map[string]any{"epoch": q.Epoch, "values": []any{1}}, 422, "step"},
		{"unknown field", "heartbeat", map[string]any{"epoch": q.Epoch, "lease": 3}, 400, "lease"},
	} {
		r := e.do("run", "POST", base+tc.op, tc.body)
		var p struct {
			Field, Type string
		}
		r.decode(t, &p)
		if r.status != tc.status || p.Field != tc.field || r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want %d naming field %q", tc.name, r.status, r.body, tc.status, tc.field)
		}
	}
	// The pruner (threshold, upper 10) answers at report; the client then tells PRUNED.
	if r := e.do("run", "POST", base+"report", map[string]any{"epoch": q.Epoch, "step": 3, "values": []any{"inf"}}); string(r.body) != `{"prune":true}` {
		t.Errorf("report(inf) = %d %s, want prune", r.status, r.body)
	}
	r := e.do("run", "POST", base+"tell", map[string]any{"epoch": q.Epoch, "state": "PRUNED"})
	if r.status != 200 || !contains(string(r.body), `"state":"PRUNED"`) || !contains(string(r.body), `"values":["inf"]`) {
		t.Errorf("tell PRUNED = %d %s", r.status, r.body)
	}
	// Enqueue is checked against the stored space; the next ask claims the trial.
	for _, tc := range []struct {
		params map[string]any
		field  string
	}{
		{map[string]any{"depth": 3}, "params.depth"},
		{map[string]any{"layers": 9}, "params.layers"},
		{map[string]any{"opt": "rmsprop"}, "params.opt"},
	} {
		r := e.do("run", "POST", "/api/v1/studies/errs/trials/enqueue", map[string]any{"params": tc.params})
		if r.status != 422 || !contains(string(r.body), `"field":"`+tc.field+`"`) || !contains(string(r.body), `"valid":`) {
			t.Errorf("enqueue %v = %d %s, want 422 naming %s and what is valid", tc.params, r.status, r.body, tc.field)
		}
	}
	r = e.do("run", "POST", "/api/v1/studies/errs/trials/enqueue", map[string]any{"params": map[string]any{"layers": 3, "opt": "sgd"}})
	if r.status != 201 {
		t.Fatalf("enqueue = %d %s", r.status, r.body)
	}
	if got := e.ask("errs"); got.Params["layers"] != 3.0 || got.Params["opt"] != "sgd" {
		t.Errorf("ask after enqueue = %+v, want layers 3 and opt sgd", got)
	}
	// A study created by library code has no definition: nothing to check an enqueue
	// against.
	ctx := t.Context()
	if _, err := retune.NewStudy(ctx, retune.Config{Name: "lib", Storage: e.store}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("run", "POST", "/api/v1/studies/lib/trials/enqueue", map[string]any{"params": map[string]any{"x": 1}}); r.status != 409 || !contains(string(r.body), "no-definition") {
		t.Errorf("enqueue on a study without definition = %d %s, want 409 no-definition", r.status, r.body)
	}
	if r := e.do("admin", "POST", "/api/v1/studies", map[string]any{"definition": map[string]any{"name": "x", "command": "rm -rf /"}}); r.status != 422 {
		t.Errorf("create with a command = %d %s, want 422", r.status, r.body)
	}
	if r := e.do("run", "GET", "/api/v1/studies/nope/trials/0", nil); r.status != 404 {
		t.Errorf("get in a missing study = %d %s, want 404", r.status, r.body)
	}

}

func dropSchema(t testing.TB, dsn, schema string) {
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Logf("drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Logf("drop schema %s: %v", schema, err)
	}
}

// TestConstraintsOverAPI: a definition's constraints hold for trials told through the
// API: the metrics told decide feasibility, the trial says it, and best skips infeasible
// trials.
func TestConstraintsOverAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	def := definition("con", 0)
	def["constraints"] = []any{map[string]any{"metric": "memory_mb", "max": 1000}}
	if r := e.do("admin", "POST", "/api/v1/studies", map[string]any{"definition": def}); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var told []struct {
		Feasible    *bool `json:"feasible"`
		Constraints []any `json:"constraints"`
	}
	for _, c := range []struct{ loss, mem float64 }{{1, 2000}, {3, 500}, {2, 900}} {
		q := e.ask("con")
		r := e.do("run", "POST", fmt.Sprintf("/api/v1/studies/con/trials/%d/tell", q.Number),
			map[string]any{"epoch": q.Epoch, "values": []any{c.loss}, "metrics": map[string]any{"memory_mb": c.mem}})
		if r.status != 200 {
			t.Fatalf("tell: %d %s", r.status, r.body)
		}
		var tr struct {
			Feasible    *bool `json:"feasible"`
			Constraints []any `json:"constraints"`
		}
		r.decode(t, &tr)
		told = append(told, tr)
	}
	if told[0].Feasible == nil || *told[0].Feasible || !*told[1].Feasible || fmt.Sprint(told[0].Constraints) != "[1000]" {
		t.Errorf("told trials: %+v, want trial 0 infeasible by 1000, the others feasible", told)
	}
	r := e.do("read", "GET", "/api/v1/studies/con/best", nil)
	var best struct {
		Trials []struct{ Number int } `json:"trials"`
	}
	r.decode(t, &best)
	if r.status != 200 || len(best.Trials) != 1 || best.Trials[0].Number != 2 {
		t.Errorf("best = %d %s, want trial 2 (trial 0 is better but infeasible)", r.status, r.body)
	}
}

// TestStopOverAPI: a trial asked to stop hears it at its next heartbeat (stop: true) and
// at its next report (prune: true), and ends PRUNED; a finished trial cannot be stopped.
func TestStopOverAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createStudy("stop", 0)
	q := e.ask("stop")
	base := fmt.Sprintf("/api/v1/studies/stop/trials/%d/", q.Number)
	if r := e.do("run", "POST", base+"heartbeat", map[string]any{"epoch": q.Epoch}); r.status != 200 || contains(string(r.body), `"stop"`) {
		t.Fatalf("heartbeat before the stop: %d %s", r.status, r.body)
	}
	if r := e.do("run", "POST", base+"stop", map[string]any{}); r.status != 202 || !contains(string(r.body), `"stop_requested":true`) {
		t.Fatalf("stop: %d %s", r.status, r.body)
	}
	if r := e.do("run", "POST", base+"heartbeat", map[string]any{"epoch": q.Epoch}); r.status != 200 || !contains(string(r.body), `"stop":true`) {
		t.Errorf("heartbeat after the stop: %d %s, want stop: true", r.status, r.body)
	}
	if r := e.do("run", "POST", base+"report", map[string]any{"epoch": q.Epoch, "step": 1, "values": []any{0.5}}); string(r.body) != `{"prune":true}` {
		t.Errorf("report after the stop: %d %s, want prune", r.status, r.body)
	}
	if r := e.do("run", "POST", base+"tell", map[string]any{"epoch": q.Epoch, "state": "PRUNED"}); r.status != 200 || !contains(string(r.body), `"state":"PRUNED"`) {
		t.Errorf("tell PRUNED: %d %s", r.status, r.body)
	}
	if r := e.do("run", "POST", base+"stop", map[string]any{}); r.status != 409 {
		t.Errorf("stopping a finished trial: %d %s, want 409", r.status, r.body)
	}
}

// TestTrialLogOverAPI: an agent's upload of a trial's log head and tail (fenced by the
// lease) comes back with the number of bytes left out between them; a trial without a
// stored log is 404.
func TestTrialLogOverAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createStudy("logs", 0)
	q := e.ask("logs")
	path := fmt.Sprintf("/api/v1/studies/logs/trials/%d/log", q.Number)
	if r := e.do("read", "GET", path, nil); r.status != 404 {
		t.Errorf("log before any was stored: %d %s", r.status, r.body)
	}
	if r := e.do("run", "PUT", path, map[string]any{"epoch": q.Epoch, "head": "epoch=1 loss=0.5\n", "tail": "done\n", "size": 1000}); r.status != 204 {
		t.Fatalf("PUT log: %d %s", r.status, r.body)
	}
	if r := e.do("run", "PUT", path, map[string]any{"epoch": q.Epoch + 1, "head": "x", "tail": "", "size": 1}); r.status != 409 {
		t.Errorf("PUT log under a stale epoch: %d %s, want 409", r.status, r.body)
	}
	r := e.do("read", "GET", path, nil)
	var got struct {
		Head, Tail    string
		Size, Omitted int64
	}
	r.decode(t, &got)
	if r.status != 200 || got.Head != "epoch=1 loss=0.5\n" || got.Tail != "done\n" || got.Size != 1000 || got.Omitted != 1000-22 {
		t.Errorf("log = %d %s", r.status, r.body)
	}
}

// TestReportBatch: several steps in one report; the pruner sees each, and a malformed
// batch names the step at fault.
func TestReportBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createStudy("batch", 0)
	q := e.ask("batch")
	path := fmt.Sprintf("/api/v1/studies/batch/trials/%d/report", q.Number)
	r := e.do("run", "POST", path, map[string]any{"epoch": q.Epoch, "steps": []any{map[string]any{"step": 1, "values": []any{0.5}}, map[string]any{"step": 2, "values": []any{0.4}}}})
	if r.status != 200 || string(r.body) != `{"prune":false}` {
		t.Fatalf("batch report: %d %s", r.status, r.body)
	}
	got, err := e.store.Trial(t.Context(), 1, q.Number)
	if err != nil || len(got.Intermediate) != 2 {
		t.Errorf("intermediate after the batch = %v, %v", got.Intermediate, err)
	}
	r = e.do("run", "POST", path, map[string]any{"epoch": q.Epoch, "steps": []any{map[string]any{"step": 3, "values": []any{"inf"}}, map[string]any{"step": 4, "values": []any{1.0}}}})
	if string(r.body) != `{"prune":true}` { // the threshold pruner (upper 10) at step 3
		t.Errorf("batch with an inf: %d %s, want prune", r.status, r.body)
	}
	r = e.do("run", "POST", path, map[string]any{"epoch": q.Epoch, "steps": []any{map[string]any{"step": 5, "values": []any{1, 2}}}})
	if r.status != 422 || !contains(string(r.body), `"field":"steps[0].values"`) {
		t.Errorf("batch with two values: %d %s", r.status, r.body)
	}
}

// TestLateTellOverAPI: a client chooses its lease within the server's bounds; a tell that
// arrives after its lease expired is answered 200 with the revived trial (its re-run still
// waiting) or, once the re-run started, with a trial of kind late; PRUNED late tells keep
// the last reported values.
func TestLateTellOverAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *server.Options) { o.MinLeaseTTL = 100 * time.Millisecond; o.MaxLeaseTTL = time.Minute })
	def := definition("late", 0)
	def["budget"] = map[string]any{"retries": 1}
	if r := e.do("admin", "POST", "/api/v1/studies", map[string]any{"definition": def}); r.status != http.StatusCreated {
		t.Fatalf("create study: %d %s", r.status, r.body)
	}
	for _, secs := range []any{0.01, 3600.0, "x"} {
		want := http.StatusUnprocessableEntity
		if secs == "x" {
			want = http.StatusBadRequest
		}
		if r := e.do("run", "POST", "/api/v1/studies/late/trials", map[string]any{"lease_seconds": secs}); r.status != want || (secs != "x" && !contains(string(r.body), "0.1 to 60 seconds")) {
			t.Errorf("ask with lease_seconds %v: %d %s, want %d naming the bounds", secs, r.status, r.body, want)
		}
	}
	ask := func() asked {
		t.Helper()
		r := e.do("run", "POST", "/api/v1/studies/late/trials", map[string]any{"lease_seconds": 0.2})
		var a struct {
			asked
			LeaseSeconds float64 `json:"lease_seconds"`
		}
		r.decode(t, &a)
		if r.status != http.StatusCreated || a.LeaseSeconds != 0.2 {
			t.Fatalf("ask with a lease of 0.2 s: %d %s", r.status, r.body)
		}
		return a.asked
	}
	path := func(q asked, what string) string {
		return fmt.Sprintf("/api/v1/studies/late/trials/%d/%s", q.Number, what)
	}
	rec := e.store.(retune.StudyStore)
	st, err := rec.Study(context.Background(), "late")
	if err != nil {
		t.Fatal(err)
	}
	expire := func(q asked) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			ft, err := e.store.Trial(context.Background(), st.ID, q.Number)
			if err != nil {
				t.Fatal(err)
			}
			if ft.State == retune.TrialFail {
				return
			}
			if _, err := e.store.ExpireLeases(context.Background(), st.ID); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("trial %d never expired", q.Number)
	}

	q := ask()
	if r := e.do("run", "POST", path(q, "heartbeat"), map[string]any{"epoch": q.Epoch, "lease_seconds": 0.2}); r.status != 200 {
		t.Fatalf("heartbeat with a lease: %d %s", r.status, r.body)
	}
	if r := e.do("run", "POST", path(q, "report"), map[string]any{"epoch": q.Epoch, "step": 1, "values": []any{0.75}}); r.status != 200 {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	expire(q)
	if r := e.do("run", "POST", path(q, "heartbeat"), map[string]any{"epoch": q.Epoch}); r.status != 409 {
		t.Errorf("heartbeat after expiry: %d %s, want 409", r.status, r.body)
	}
	r := e.do("run", "POST", path(q, "tell"), map[string]any{"epoch": q.Epoch, "state": "PRUNED"})
	if r.status != 200 || !contains(string(r.body), `"state":"PRUNED"`) || !contains(string(r.body), `"late":true`) || !contains(string(r.body), `"values":[0.75]`) {
		t.Errorf("late PRUNED tell before the re-run: %d %s, want the trial revived PRUNED with [0.75]", r.status, r.body)
	}

	q = ask()
	expire(q)
	rerun := ask() // claims the re-run
	r = e.do("run", "POST", path(q, "tell"), map[string]any{"epoch": q.Epoch, "values": []any{0.5}})
	var late struct {
		Number      int            `json:"number"`
		Kind        string         `json:"kind"`
		SystemAttrs map[string]any `json:"system_attrs"`
	}
	r.decode(t, &late)
	if r.status != 200 || late.Kind != "late" || late.SystemAttrs["late_of"] != float64(q.Number) || late.Number <= rerun.Number {
		t.Errorf("late tell after the re-run started: %d %s, want a trial of kind late of %d", r.status, r.body, q.Number)
	}
	if r := e.do("read", "GET", "/api/v1/studies/late/trials?kind=late", nil); r.status != 200 || !contains(string(r.body), `"kind":"late"`) {
		t.Errorf("listing kind=late: %d %s", r.status, r.body)
	}
}
