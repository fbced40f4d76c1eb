package server_test

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain/notify"
	"github.com/a6b40afc/retune/server"
)

// lockedBuffer is a notifier's output, read while it is written.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLeaderDecidesOnce: two replicas on one database, each a candidate for leading.
// A study driven through the API with a retrain policy gets its decision once its budget
// is spent — exactly one, whichever replica leads — and the retraining event reaches the
// notifier once. When the leader stops, the other replica takes over and decides the
// next study.
func TestLeaderDecidesOnce(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "retune.db")
	outs := []*lockedBuffer{{}, {}}
	var envs []*env
	var stops []context.CancelFunc
	for i := range 2 {
		e := newEnvOn(t, openSQLite(t, db), func(o *server.Options) {
			o.Retrain, o.LeaderTTL, o.DecidePoll = true, 600*time.Millisecond, 50*time.Millisecond
			o.Notifiers = map[string]notify.Notifier{"audit": &notify.Log{W: outs[i]}}
		})
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		e.server.Background(ctx)
		envs, stops = append(envs, e), append(stops, cancel)
	}
	leaderOf := func() int {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			n, who := 0, -1
			for i, e := range envs {
				if e.server.IsLeader() {
					n, who = n+1, i
				}
			}
			if n == 1 {
				return who
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("no single leader within 30s")
		return -1
	}
	runStudy := func(e *env, name string) {
		def := definition(name, 3)
		def["retrain"] = map[string]any{"min_improvement": 0}
		if r := e.do("admin", "POST", "/api/v1/studies", map[string]any{"definition": def}); r.status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, r.status, r.body)
		}
		for i := range 3 {
			e.tellValue(name, e.ask(name), float64(3-i))
		}
	}
	decisions := func(model string) []retune.Decision {
		ds, err := envs[0].store.(retune.RetrainStore).Decisions(t.Context(), model)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	waitDecision := func(model string) retune.Decision {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if ds := decisions(model); len(ds) > 0 {
				return ds[0]
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no decision for %s within 30s", model)
		return retune.Decision{}
	}
	delivered := func(study string) int { // retraining events of the study's decisions
		return strings.Count(outs[0].String()+outs[1].String(), `"run":"serve/`+study+`"`)
	}

	first := leaderOf()
	runStudy(envs[1-first], "first") // through the replica that does not lead
	d := waitDecision("first")
	if !d.Improved || d.RunID != "serve/first" || d.Candidate != 2 {
		t.Errorf("decision = %+v, want improved (no champion), run serve/first, candidate trial 2", d)
	}
	waitFor(t, func() bool { return delivered("first") >= 1 }, "the event delivered")

	stops[first]() // the leader stops; the other takes over once the term runs out
	waitFor(t, func() bool { return !envs[first].server.IsLeader() && envs[1-first].server.IsLeader() }, "the other replica leads")
	runStudy(envs[first], "second")
	d2 := waitDecision("second")
	waitFor(t, func() bool { return delivered("second") >= 1 }, "the second event delivered")
	time.Sleep(300 * time.Millisecond) // several more passes: nothing is decided or sent twice
	if n := len(decisions("first")) + len(decisions("second")); n != 2 {
		t.Errorf("%d decisions, want 2", n)
	}
	if n, m := delivered("first"), delivered("second"); n != 1 || m != 1 || d2.ID == d.ID {
		t.Errorf("events delivered %d and %d times, want once each:\n%s%s", n, m, outs[0], outs[1])
	}
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 30s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLeaderConfirmsThroughClients: with confirmation repeats in the policy and a
// champion with params, the leader enqueues the repeats; a client asks them (kind
// confirm), gets the candidate's or the champion's params with the repeat and its seed
// (the same for both sides of a repeat), tells them, and the decision compares them.
func TestLeaderConfirmsThroughClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *server.Options) {
		o.Retrain, o.LeaderTTL, o.DecidePoll = true, 3*time.Second, 50*time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.server.Background(ctx)
	champ := map[string]any{"lr": 0.01, "layers": 2, "opt": "adam"}
	if r := e.do("admin", "POST", "/api/v1/models/conf/champion", map[string]any{"params": champ, "values": []any{5}}); r.status != http.StatusCreated {
		t.Fatalf("set champion: %d %s", r.status, r.body)
	}
	def := definition("conf", 3)
	def["retrain"] = map[string]any{"min_improvement": 0, "confirm": map[string]any{"repeats": 3}}
	if r := e.do("admin", "POST", "/api/v1/studies", map[string]any{"definition": def}); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	for i := range 3 {
		e.tellValue("conf", e.ask("conf"), float64(3-i))
	}
	type confirmAsk struct {
		asked
		Kind, Confirm, Seed string
		Repeat              *int
	}
	seeds := map[int]string{}
	roles := map[string]int{}
	for done := 0; done < 6; {
		r := e.do("run", "POST", "/api/v1/studies/conf/trials", map[string]any{"kind": "confirm"})
		if r.status == http.StatusNotFound { // not enqueued yet
			time.Sleep(20 * time.Millisecond)
			continue
		}
		var a confirmAsk
		r.decode(t, &a)
		if r.status != http.StatusCreated || a.Kind != "confirm" || a.Repeat == nil || a.Seed == "" {
			t.Fatalf("confirm ask: %d %s", r.status, r.body)
		}
		if prev, ok := seeds[*a.Repeat]; ok && prev != a.Seed {
			t.Errorf("repeat %d has seeds %s and %s: both sides of a repeat share one", *a.Repeat, prev, a.Seed)
		}
		seeds[*a.Repeat] = a.Seed
		roles[a.Confirm]++
		v := 4.0 + 0.1*float64(*a.Repeat) // the candidate measures 1 better than the champion
		if a.Confirm == "champion" {
			if a.Params["opt"] != "adam" || a.Params["layers"] != float64(2) {
				t.Errorf("champion repeat has params %v", a.Params)
			}
			v += 1
		}
		e.tellValue("conf", a.asked, v)
		done++
	}
	if roles["candidate"] != 3 || roles["champion"] != 3 || len(seeds) != 3 {
		t.Errorf("roles %v, seeds %v: want 3 repeats of each side", roles, seeds)
	}
	var d retune.Decision
	waitFor(t, func() bool {
		ds, err := e.store.(retune.RetrainStore).Decisions(t.Context(), "conf")
		if err != nil || len(ds) == 0 {
			return false
		}
		d = ds[0]
		return true
	}, "the decision after the repeats")
	if !d.Improved || d.Evidence.Method == "point" || len(d.Evidence.Candidate) != 3 || len(d.Evidence.Champion) != 3 {
		t.Errorf("decision = %+v, want improved on 3 paired repeats", d)
	}
	if r := e.do("run", "POST", "/api/v1/studies/conf/trials", map[string]any{"kind": "confirm"}); r.status != http.StatusNotFound {
		t.Errorf("a seventh confirm ask: %d %s, want 404 (none waits)", r.status, r.body)
	}
}

// TestLeaderSchedules: a study created from a definition with a schedule section is the
// base of scheduled runs: the leader creates BASE-<time> at once (a scheduled run, warm-
// started), decides it once its clients have spent its budget, and starts the next run
// when the model gets a trigger.
func TestLeaderSchedules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *server.Options) {
		o.Retrain, o.LeaderTTL, o.DecidePoll = true, 3*time.Second, 50*time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.server.Background(ctx)
	def := definition("nightly", 2)
	def["retrain"] = map[string]any{"min_improvement": 0}
	def["schedule"] = map[string]any{"every": "24h"}
	if r := e.do("admin", "POST", "/api/v1/studies", map[string]any{"definition": def}); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	scheduled := func() []string {
		sums, err := e.store.Studies(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range sums {
			if s.UserAttrs["schedule"] == "nightly" {
				out = append(out, s.Name)
			}
		}
		return out
	}
	waitFor(t, func() bool { return len(scheduled()) == 1 }, "the first scheduled run")
	first := scheduled()[0]
	if !strings.HasPrefix(first, "nightly-") {
		t.Fatalf("scheduled study %q, want nightly-<time>", first)
	}
	for i := range 2 {
		e.tellValue(first, e.ask(first), float64(i))
	}
	waitFor(t, func() bool {
		ds, _ := e.store.(retune.RetrainStore).Decisions(t.Context(), "nightly")
		return len(ds) == 1 && ds[0].Study == first
	}, "the scheduled run's decision")
	if r := e.do("run", "POST", "/api/v1/models/nightly/triggers", map[string]any{"reason": "drift"}); r.status != http.StatusCreated {
		t.Fatalf("trigger: %d %s", r.status, r.body)
	}
	waitFor(t, func() bool { return len(scheduled()) == 2 }, "the triggered run")
	sums, _ := e.store.Studies(t.Context())
	for _, s := range sums {
		if s.Name != first && s.UserAttrs["schedule"] == "nightly" && s.UserAttrs["trigger_reason"] != "drift" {
			t.Errorf("triggered run %s has user attributes %v, want trigger_reason drift", s.Name, s.UserAttrs)
		}
	}
}

// TestLeaderLeavesRunDecisions: a study whose budget a `retune run` spent and decided
// (any run id but the leader's) is not decided again by the leader.
func TestLeaderLeavesRunDecisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *server.Options) {
		o.Retrain, o.LeaderTTL, o.DecidePoll = true, 3*time.Second, 50*time.Millisecond
	})
	def := definition("byrun", 2)
	def["retrain"] = map[string]any{"min_improvement": 0}
	if r := e.do("admin", "POST", "/api/v1/studies", map[string]any{"definition": def}); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	for i := range 2 {
		e.tellValue("byrun", e.ask("byrun"), float64(i))
	}
	rs := e.store.(retune.RetrainStore)
	if _, err := rs.RecordDecision(t.Context(), retune.Decision{Model: "byrun", Study: "byrun", RunID: "run-of-retune-run", Candidate: 0,
		Improved: true, Reason: "first", Evidence: retune.Evidence{Method: "point", Direction: "minimize", Candidate: []float64{0}}}, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.server.Background(ctx)
	waitFor(t, e.server.IsLeader, "leadership")
	time.Sleep(300 * time.Millisecond) // several passes
	if ds, err := rs.Decisions(t.Context(), "byrun"); err != nil || len(ds) != 1 {
		t.Errorf("decisions = %d, %v; want only the run's", len(ds), err)
	}
}
