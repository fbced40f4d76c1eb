package retune_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/auto"
	"github.com/a6b40afc/retune/sampler/grid"
	"github.com/a6b40afc/retune/sampler/random"
)

func TestNewStudyConfigErrors(t *testing.T) {
	t.Parallel()
	store := retune.NewMemoryStorage()
	tests := []struct {
		name string
		cfg  retune.Config
		want string
	}{
		{"both directions", retune.Config{Direction: retune.Maximize, Directions: []retune.Direction{retune.Minimize}}, "set one"},
		{"bad direction", retune.Config{Direction: 7}, "want Minimize or Maximize"},
		{"metrics count", retune.Config{Metrics: []string{"a", "b"}}, "one name per objective"},
		{"metric twice", retune.Config{Directions: []retune.Direction{0, 0}, Metrics: []string{"a", "a"}}, "given twice"},
		{"negative budget", retune.Config{Budget: retune.Budget{Trials: -1}}, "want trials and retries >= 0"},
		{"bad name", retune.Config{Name: " padded", Storage: store}, "leading or trailing space"},
		{"constraint without bound", retune.Config{Constraints: []retune.Constraint{{Metric: "mem"}}}, `constraint 0: retune: invalid: constraint on "mem" has no bound: give max, min or both`},
		{"constraint min above max", retune.Config{Constraints: []retune.Constraint{{Metric: "mem", Min: ptr(2.0), Max: ptr(1.0)}}}, "min 2 above max 1"},
		{"constraint NaN bound", retune.Config{Constraints: []retune.Constraint{retune.AtMost("mem", math.NaN())}}, "want a finite number"},
		{"constraint bad metric", retune.Config{Constraints: []retune.Constraint{retune.AtMost("", 1)}}, "constraint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := retune.NewStudy(context.Background(), tt.cfg)
			if !errors.Is(err, retune.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewStudy error = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func TestResume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	cfg := retune.Config{Name: "r", Storage: store, Sampler: random.New(), Seed: 9}
	s := newStudy(t, cfg)
	if _, err := s.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) { return t.Float("x", 0, 1), nil }, retune.OptimizeOptions{Trials: 5}); err != nil {
		t.Fatal(err)
	}
	// Same config: resumes with its history.
	again := newStudy(t, retune.Config{Name: "r", Storage: store, Sampler: random.New()})
	if again.Seed() != 9 || len(trials(t, again)) != 5 {
		t.Errorf("resumed study: seed %d, %d trials; want 9 and 5", again.Seed(), len(trials(t, again)))
	}
	best, err := again.Best(ctx)
	if err != nil || best.Value() > 1 {
		t.Errorf("Best after resume = %v, %v", best.Value(), err)
	}
	conflicts := []struct {
		name string
		cfg  retune.Config
		want string
	}{
		{"direction", retune.Config{Name: "r", Storage: store, Sampler: random.New(), Direction: retune.Maximize}, "directions cannot change"},
		{"sampler", retune.Config{Name: "r", Storage: store, Sampler: grid.New(map[string][]any{"x": {0.5}})}, "replace it explicitly"},
		{"seed", retune.Config{Name: "r", Storage: store, Sampler: random.New(), Seed: 10}, "keeps its seed"},
		{"model", retune.Config{Name: "r", Storage: store, Sampler: random.New(), Model: "other"}, "keeps its model"},
	}
	for _, c := range conflicts {
		if _, err := retune.NewStudy(ctx, c.cfg); !errors.Is(err, retune.ErrConflict) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("resume with another %s: error = %v, want ErrConflict containing %q", c.name, err, c.want)
		}
		// As Config.Replace documents: the seed and the model stay even with Replace.
		if c.name == "seed" || c.name == "model" {
			c.cfg.Replace = true
			if _, err := retune.NewStudy(ctx, c.cfg); !errors.Is(err, retune.ErrConflict) || !strings.Contains(err.Error(), "even with Replace") {
				t.Errorf("resume with another %s and Replace: error = %v, want ErrConflict saying it stays even with Replace", c.name, err)
			}
		}
	}
	// With Replace the change is allowed and recorded.
	rep := newStudy(t, retune.Config{Name: "r", Storage: store, Sampler: grid.New(map[string][]any{"x": {0.5}}), Replace: true})
	rec, _ := store.Study(ctx, "r")
	if rec.Sampler.Name != "grid" || !strings.Contains(stringify(rec.SystemAttrs["changes"]), "sampler") {
		t.Errorf("after replace: sampler %q, changes %v", rec.Sampler.Name, rec.SystemAttrs["changes"])
	}
	if res, err := rep.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) { return t.Float("x", 0, 1), nil }, retune.OptimizeOptions{}); err != nil || res.Completed != 1 || res.Stop != retune.GridExhausted {
		t.Errorf("grid after replace = %+v, %v", res, err)
	}
}

func stringify(v any) string { return strings.TrimSpace(strings.ReplaceAll(fmtSprint(v), "\n", " ")) }

// A widened range keeps history; enqueued params are used as given.
func TestEnqueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStudy(t, retune.Config{})
	if err := s.Enqueue(ctx, map[string]any{"x": 0.25, "n": 3, "c": "b"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, map[string]any{"x": 7.0}); err != nil { // outside: the trial fails
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, map[string]any{"f": func() {}}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Enqueue(unencodable) error = %v, want ErrInvalid", err)
	}
	_, err := s.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		x := t.Float("x", 0, 1)
		n := t.Int("n", 1, 5)
		c := t.Categorical("c", "a", "b")
		if t.Number() == 0 && (x != 0.25 || n != 3 || c != "b") {
			return 0, errors.New("enqueued params not used")
		}
		return x, nil
	}, retune.OptimizeOptions{Trials: 3})
	if err != nil {
		t.Fatal(err)
	}
	ts := trials(t, s)
	if ts[0].State != retune.TrialComplete || ts[0].Fixed == nil {
		t.Errorf("enqueued trial = %v %q fixed %v, want COMPLETE with fixed params", ts[0].State, ts[0].Reason, ts[0].Fixed)
	}
	if ts[1].State != retune.TrialFail || !strings.Contains(ts[1].Reason, "enqueued value 7 is outside float[0, 1]") {
		t.Errorf("out-of-range enqueued trial = %v %q", ts[1].State, ts[1].Reason)
	}
}

// An open trial's lease is renewed by the library; a trial whose holder vanished is
// failed by any process touching the study, and retried when the budget allows.
func TestLeases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	cfg := retune.Config{Name: "l", Storage: store, LeaseTTL: 150 * time.Millisecond, Budget: retune.Budget{Retries: 1}}
	s := newStudy(t, cfg)
	tr, err := s.Ask(ctx)
	if err != nil {
		t.Fatal(err)
	}
	x := tr.Float("x", 0, 1)
	time.Sleep(600 * time.Millisecond) // four lease periods: renewed meanwhile
	if err := s.Tell(ctx, tr, x); err != nil {
		t.Fatalf("Tell after %v with a %v lease: %v", 600*time.Millisecond, cfg.LeaseTTL, err)
	}
	// A trial whose holder vanished: created straight in storage, never renewed.
	rec, _ := store.Study(ctx, "l")
	lost, err := store.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: rec.ID, Holder: "gone", LeaseTTL: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Update(ctx, retune.TrialUpdate{Ref: retune.TrialRef{StudyID: rec.ID, Number: lost.Number, Epoch: lost.Lease.Epoch},
		Params: map[string]any{"x": 0.75}, Distributions: map[string]retune.Distribution{"x": retune.FloatDistribution{Low: 0, High: 1}}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	other := newStudy(t, cfg)
	var retried []float64
	_, err = other.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		x := t.Float("x", 0, 1)
		retried = append(retried, x)
		return x, nil
	}, retune.OptimizeOptions{Trials: 1})
	if err != nil {
		t.Fatal(err)
	}
	ts := trials(t, other)
	if ts[lost.Number].State != retune.TrialFail || ts[lost.Number].Reason != retune.ReasonLeaseExpired {
		t.Errorf("vanished trial = %v %q, want FAIL lease expired", ts[lost.Number].State, ts[lost.Number].Reason)
	}
	if len(retried) != 1 || retried[0] != 0.75 || ts[len(ts)-1].RetryOf != lost.Number {
		t.Errorf("retry ran x=%v retry-of %d, want x=0.75 retrying %d", retried, ts[len(ts)-1].RetryOf, lost.Number)
	}
}

func TestAskTellErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStudy(t, retune.Config{})
	tr, _ := s.Ask(ctx)
	if err := s.Tell(ctx, tr, 1, 2); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Tell with 2 values for 1 objective: %v, want ErrInvalid", err)
	}
	if err := s.Tell(ctx, tr, 1); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("second Tell: %v, want ErrConflict", err)
	}
	tr, _ = s.Ask(ctx)
	if err := s.TellState(ctx, tr, retune.TrialComplete, nil); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("TellState(COMPLETE): %v, want ErrInvalid", err)
	}
	if err := s.TellState(ctx, tr, retune.TrialFail, errors.New("oom")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Best(ctx); !errors.Is(err, retune.ErrNotFound) {
		t.Errorf("Best with no completed trial: %v, want ErrNotFound", err)
	}
	if err := tr.Report(ctx, 1, 0.5); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("Report after finish: %v, want ErrConflict", err)
	}
}

func TestMultiObjective(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStudy(t, retune.Config{Directions: []retune.Direction{retune.Minimize, retune.Maximize}, Metrics: []string{"loss", "acc"}})
	values := [][]float64{{1, 1}, {2, 2}, {0.5, 0.5}, {3, 1}, {1, 1}, {0.5, 0.4}}
	res, err := s.OptimizeMulti(ctx, func(ctx context.Context, t *retune.Trial) ([]float64, error) {
		return values[t.Number()], nil
	}, retune.OptimizeOptions{Trials: len(values)})
	if err != nil {
		t.Fatal(err)
	}
	var front []int
	for _, ft := range res.Best {
		front = append(front, ft.Number)
	}
	if fmtSprint(front) != "[0 1 2]" {
		t.Errorf("Pareto front = %v, want [0 1 2]", front)
	}
	if _, err := s.Best(ctx); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Best on two objectives: %v, want ErrInvalid", err)
	}
	if _, err := s.Optimize(ctx, func(context.Context, *retune.Trial) (float64, error) { return 0, nil }, retune.OptimizeOptions{Trials: 1}); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Optimize on two objectives: %v, want ErrInvalid", err)
	}
}

func TestMetricsAndAttrs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	s := newStudy(t, retune.Config{Name: "m", Storage: store})
	tr, _ := s.Ask(ctx)
	tr.SetSystemAttr("host", "h1")
	tr.SetUserAttr("note", "first")
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	running, _ := store.Running(ctx, s.Record().ID)
	if len(running) != 1 || running[0].SystemAttrs["host"] != "h1" || running[0].UserAttrs["note"] != "first" {
		t.Errorf("after Flush the stored running trial is %+v, want host h1 and note first", running)
	}
	tr.SetMetric("latency_ms", 12.5)
	tr.SetMetric("size", math.Inf(1))
	if err := s.Tell(ctx, tr, 0.5); err != nil {
		t.Fatal(err)
	}
	ft := trials(t, s)[0]
	if ft.Metrics["latency_ms"] != 12.5 || !math.IsInf(ft.Metrics["size"], 1) || ft.SystemAttrs["host"] != "h1" {
		t.Errorf("finished trial metrics %v attrs %v", ft.Metrics, ft.SystemAttrs)
	}
	if err := tr.Flush(ctx); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("Flush after finish: %v, want ErrConflict", err)
	}
	tr, _ = s.Ask(ctx)
	tr.SetSystemAttr("bad", func() {})
	if err := s.Tell(ctx, tr, 1); !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Tell after an invalid attribute: %v, want ErrInvalid", err)
	}
}

// Processes creating the same unseeded study at once agree on the seed the winner chose.
func TestConcurrentCreateNoSeed(t *testing.T) {
	t.Parallel()
	store := &barrierStore{Storage: retune.NewMemoryStorage(), n: 8}
	store.cond = sync.NewCond(&store.mu)
	seeds := make(chan uint64, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			s, err := retune.NewStudy(context.Background(), retune.Config{Name: "race", Storage: store})
			if err != nil {
				t.Errorf("NewStudy: %v", err)
				return
			}
			seeds <- s.Seed()
		})
	}
	wg.Wait()
	close(seeds)
	first := uint64(0)
	for s := range seeds {
		if first == 0 {
			first = s
		}
		if s != first {
			t.Errorf("seeds %d and %d for one study", first, s)
		}
	}
}

// barrierStore holds every CreateStudy until n callers have arrived, so they all race.
type barrierStore struct {
	retune.Storage
	mu      sync.Mutex
	cond    *sync.Cond
	n, came int
}

func (b *barrierStore) CreateStudy(ctx context.Context, rec retune.StudyRecord) (retune.StudyRecord, error) {
	b.mu.Lock()
	b.came++
	for b.came < b.n {
		b.cond.Wait()
	}
	b.cond.Broadcast()
	b.mu.Unlock()
	return b.Storage.CreateStudy(ctx, rec)
}

func TestNotifyDirect(t *testing.T) {
	t.Parallel()
	s := newStudy(t, retune.Config{})
	var got []int
	var mu sync.Mutex
	for i := range 3 {
		s.AddObserver(retune.ObserverFunc(func(ctx context.Context, best retune.FrozenTrial) error {
			mu.Lock()
			got = append(got, best.Number*10+i)
			mu.Unlock()
			if i == 2 {
				return errors.New("down")
			}
			return nil
		}))
	}
	errs, abandoned := s.Notify(context.Background(), retune.FrozenTrial{Number: 4}, 0)
	if len(got) != 3 || len(errs) != 1 || abandoned != 0 || !strings.Contains(errs[0].Error(), "down") {
		t.Errorf("Notify: calls %v, errors %v, abandoned %d; want 3 calls and one error", got, errs, abandoned)
	}
}

// Trial.Suggest takes a distribution as data and draws what Float, Int and Choice draw
// for it; a nil distribution or a changed one is an error naming the param.
func TestTrialSuggest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStudy(t, retune.Config{Seed: 7})
	a, _ := s.Ask(ctx)
	fd := retune.FloatDistribution{Low: 1e-4, High: 1, Log: true}
	id := retune.IntDistribution{Low: 2, High: 10, Step: 2}
	cd := retune.CategoricalDistribution{Choices: []any{"x", "y", "z"}}
	got := []any{a.Suggest("lr", fd), a.Suggest("n", id), a.Suggest("kind", cd)}
	if err := a.Err(); err != nil {
		t.Fatal(err)
	}
	s2 := newStudy(t, retune.Config{Seed: 7})
	c, _ := s2.Ask(ctx)
	want := []any{c.Float("lr", 1e-4, 1, retune.Log), c.Int("n", 2, 10, retune.Step(2)), c.Categorical("kind", "x", "y", "z")}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Suggest draw %d = %v (%T), Float/Int/Categorical drew %v (%T)", i, got[i], got[i], want[i], want[i])
		}
	}
	if v := a.Suggest("n", id); v != got[1] {
		t.Errorf("asking n again = %v, want the value it has, %v", v, got[1])
	}
	if v := a.Suggest("other", nil); v != nil || !errors.Is(a.Err(), retune.ErrInvalid) || !strings.Contains(a.Err().Error(), `"other"`) {
		t.Errorf("Suggest with a nil distribution = %v, err %v; want nil and ErrInvalid naming the param", v, a.Err())
	}
	if err := s.TellState(ctx, a, retune.TrialFail, a.Err()); err != nil {
		t.Fatal(err)
	}
	if err := s2.Tell(ctx, c, 0); err != nil {
		t.Fatal(err)
	}
}

// An auto study stored before its rules had versions (a spec without rules) resumes with
// rules 1, and the latest rules conflict, naming the option that differs.
func TestResumeAutoRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	old := auto.New(auto.Options{Rules: 1})
	if _, ok := old.Spec().Options["rules"]; ok {
		t.Fatalf("rules 1 spec %v: want no rules, as stored before they had versions", old.Spec())
	}
	newStudy(t, retune.Config{Name: "a", Storage: store, Sampler: old, Seed: 3})
	newStudy(t, retune.Config{Name: "a", Storage: store, Sampler: auto.New(auto.Options{Rules: 1})})
	_, err := retune.NewStudy(ctx, retune.Config{Name: "a", Storage: store, Sampler: auto.New(auto.Options{})})
	if !errors.Is(err, retune.ErrConflict) || !strings.Contains(err.Error(), "options that differ: ") || !strings.Contains(err.Error(), fmt.Sprintf("rules (study: none, config: %d)", auto.LatestRules)) {
		t.Errorf("resume with the latest rules: %v, want ErrConflict naming rules", err)
	}
}

// TestSetUserAttrs: several attributes arrive together, and an invalid one means none is
// written.
func TestSetUserAttrs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	s := newStudy(t, retune.Config{Name: "attrs", Storage: store})
	if err := s.SetUserAttrs(ctx, map[string]any{"a": 1, "b": "two"}); err != nil {
		t.Fatal(err)
	}
	err := s.SetUserAttrs(ctx, map[string]any{"c": 3, "d": math.NaN()})
	if !errors.Is(err, retune.ErrInvalid) {
		t.Fatalf("SetUserAttrs with a NaN value = %v, want ErrInvalid", err)
	}
	rec, err := store.Study(ctx, "attrs")
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.UserAttrs; len(got) != 2 || got["b"] != "two" || got["c"] != nil {
		t.Errorf("user attrs %v, want a and b only", got)
	}
}
