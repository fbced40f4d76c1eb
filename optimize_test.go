package retune_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/grid"
	"github.com/a6b40afc/retune/sampler/random"
)

func newStudy(t *testing.T, cfg retune.Config) *retune.Study {
	t.Helper()
	s, err := retune.NewStudy(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewStudy(%+v) error: %v", cfg, err)
	}
	return s
}

func trials(t *testing.T, s *retune.Study) []retune.FrozenTrial {
	t.Helper()
	ts, err := s.Trials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// The seed design's first test: a grid over {0,1,2,3}² finds (3,3).
func TestGridFindsOptimum(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := grid.New(map[string][]any{"x": {0, 1, 2, 3}, "y": {0, 1, 2, 3}})
	s := newStudy(t, retune.Config{Direction: retune.Maximize, Sampler: g})
	res, err := s.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		x, y := float64(t.Int("x", 0, 3)), float64(t.Int("y", 0, 3))
		return -(x-3)*(x-3) - (y-3)*(y-3), nil
	}, retune.OptimizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stop != retune.GridExhausted || res.Completed != 16 {
		t.Errorf("Optimize = stop %v, completed %d, want grid exhausted after 16", res.Stop, res.Completed)
	}
	best := res.Best[0]
	if best.Params["x"] != int64(3) || best.Params["y"] != int64(3) || best.Value() != 0 {
		t.Errorf("best = %v (%v), want x=3 y=3 value 0", best.Params, best.Value())
	}
}

// The seed design's second test: a single observer is notified exactly once.
func TestObserverNotifiedOnce(t *testing.T) {
	t.Parallel()
	base := 10.0
	s := newStudy(t, retune.Config{Baseline: &base, Seed: 1})
	var calls atomic.Int32
	var got retune.FrozenTrial
	s.AddObserver(retune.ObserverFunc(func(ctx context.Context, best retune.FrozenTrial) error {
		calls.Add(1)
		got = best
		return nil
	}))
	res, err := s.Optimize(context.Background(), func(ctx context.Context, t *retune.Trial) (float64, error) {
		return t.Float("x", 0, 5), nil
	}, retune.OptimizeOptions{Trials: 20, Parallel: 4})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Fatalf("observer called %d times, want 1", calls.Load())
	}
	if got.Number != res.Best[0].Number || got.Value() >= base {
		t.Errorf("observer got trial %d (%v), want the best %d below %v", got.Number, got.Value(), res.Best[0].Number, base)
	}
}

func TestObserverBaseline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		dir      retune.Direction
		baseline *float64
		value    float64
		want     int32
	}{
		{"min beats", retune.Minimize, ptr(1.0), 0.5, 1},
		{"min ties", retune.Minimize, ptr(1.0), 1.0, 0},
		{"min worse", retune.Minimize, ptr(1.0), 2.0, 0},
		{"max beats", retune.Maximize, ptr(1.0), 2.0, 1},
		{"max worse", retune.Maximize, ptr(1.0), 0.5, 0},
		{"no baseline", retune.Minimize, nil, 7, 1},
		{"inf beats", retune.Maximize, ptr(1.0), math.Inf(1), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStudy(t, retune.Config{Direction: tt.dir, Baseline: tt.baseline})
			var calls atomic.Int32
			s.AddObserver(retune.ObserverFunc(func(context.Context, retune.FrozenTrial) error { calls.Add(1); return nil }))
			if _, err := s.Optimize(context.Background(), func(context.Context, *retune.Trial) (float64, error) { return tt.value, nil }, retune.OptimizeOptions{Trials: 1}); err != nil {
				t.Fatal(err)
			}
			if calls.Load() != tt.want {
				t.Errorf("value %v vs baseline %v (%v): %d calls, want %d", tt.value, tt.baseline, tt.dir, calls.Load(), tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// A second run whose best is still the first run's best does not notify again.
func TestObserverOnlyOnImprovement(t *testing.T) {
	t.Parallel()
	s := newStudy(t, retune.Config{})
	var calls atomic.Int32
	s.AddObserver(retune.ObserverFunc(func(context.Context, retune.FrozenTrial) error { calls.Add(1); return nil }))
	values := []float64{1, 5}
	for _, v := range values {
		if _, err := s.Optimize(context.Background(), func(context.Context, *retune.Trial) (float64, error) { return v, nil }, retune.OptimizeOptions{Trials: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("observer called %d times over a run that improved and one that did not, want 1", calls.Load())
	}
}

// Slow, failing, panicking and context-ignoring observers neither block nor break the others.
func TestObserverFailures(t *testing.T) {
	t.Parallel()
	s := newStudy(t, retune.Config{})
	release := make(chan struct{})
	var ignored sync.WaitGroup
	var good atomic.Int32
	s.AddObserver(retune.ObserverFunc(func(context.Context, retune.FrozenTrial) error { return errors.New("webhook down") }))
	s.AddObserver(retune.ObserverFunc(func(context.Context, retune.FrozenTrial) error { panic("boom") }))
	s.AddObserver(retune.ObserverFunc(func(ctx context.Context, _ retune.FrozenTrial) error {
		<-ctx.Done() // slow but polite
		return ctx.Err()
	}))
	ignored.Add(1)
	s.AddObserver(retune.ObserverFunc(func(context.Context, retune.FrozenTrial) error {
		defer ignored.Done()
		<-release // ignores its context entirely
		return nil
	}))
	s.AddObserver(retune.ObserverFunc(func(context.Context, retune.FrozenTrial) error { good.Add(1); return nil }))
	start := time.Now()
	res, err := s.Optimize(context.Background(), func(context.Context, *retune.Trial) (float64, error) { return 1, nil },
		retune.OptimizeOptions{Trials: 1, ObserverTimeout: 200 * time.Millisecond})
	elapsed := time.Since(start)
	close(release)
	ignored.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if good.Load() != 1 {
		t.Errorf("the healthy observer was called %d times, want 1", good.Load())
	}
	if len(res.ObserverErrors) != 4 || res.Abandoned != 1 {
		t.Errorf("ObserverErrors = %v (%d), Abandoned = %d, want 4 errors and 1 abandoned", res.ObserverErrors, len(res.ObserverErrors), res.Abandoned)
	}
	joined := fmt.Sprint(res.ObserverErrors)
	for _, want := range []string{"webhook down", "panicked: boom", "no answer within 200ms"} {
		if !strings.Contains(joined, want) {
			t.Errorf("ObserverErrors %v lack %q", joined, want)
		}
	}
	if elapsed > 5*time.Second {
		t.Errorf("Optimize took %v with a 200ms observer timeout", elapsed)
	}
}

func TestObjectiveFailures(t *testing.T) {
	t.Parallel()
	s := newStudy(t, retune.Config{Seed: 5})
	res, err := s.Optimize(context.Background(), func(ctx context.Context, t *retune.Trial) (float64, error) {
		x := t.Float("x", 0, 1)
		switch t.Number() % 5 {
		case 0:
			return 0, errors.New("diverged")
		case 1:
			panic("index out of range")
		case 2:
			return math.NaN(), nil
		case 3:
			return math.Inf(-1), nil
		}
		return x, nil
	}, retune.OptimizeOptions{Trials: 10, Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Started != 10 || res.Failed != 6 || res.Completed != 4 || res.Stop != retune.TrialsDone {
		t.Errorf("Result = %+v, want 10 started, 6 failed, 4 completed, trials done", res)
	}
	for _, ft := range trials(t, s) {
		var want string
		switch ft.Number % 5 {
		case 0:
			want = "diverged"
		case 1:
			want = "objective panicked: index out of range"
		case 2:
			want = "objective returned NaN"
		case 3:
			if ft.State != retune.TrialComplete || !math.IsInf(ft.Value(), -1) {
				t.Errorf("trial %d = %v %v, want COMPLETE -Inf", ft.Number, ft.State, ft.Values)
			}
			continue
		default:
			continue
		}
		if ft.State != retune.TrialFail || !strings.Contains(ft.Reason, want) {
			t.Errorf("trial %d = %v %q, want FAIL containing %q", ft.Number, ft.State, ft.Reason, want)
		}
	}
	if best := res.Best[0]; !math.IsInf(best.Value(), -1) {
		t.Errorf("best = %v, want -Inf", best.Value())
	}
}

func TestStopOnError(t *testing.T) {
	t.Parallel()
	s := newStudy(t, retune.Config{})
	boom := errors.New("boom")
	res, err := s.Optimize(context.Background(), func(ctx context.Context, t *retune.Trial) (float64, error) {
		if t.Number() == 2 {
			return 0, boom
		}
		return 1, nil
	}, retune.OptimizeOptions{Trials: 10, StopOnError: true})
	if !errors.Is(err, boom) || res.Stop != retune.Error || res.Started != 3 || res.Failed != 1 {
		t.Errorf("Optimize = %+v, %v, want error boom after 3 trials", res, err)
	}
}

func TestFailFast(t *testing.T) {
	t.Parallel()
	broken := errors.New(`start "trian.py": no such file`)
	tests := []struct {
		name      string
		obj       func(n int) (float64, error)
		stop      retune.StopReason
		completed int
	}{
		{"alike", func(int) (float64, error) { return 0, broken }, retune.FailedAlike, 0},
		{"different reasons", func(n int) (float64, error) { return 0, fmt.Errorf("diverged at step %d", n) }, retune.BudgetExhausted, 0},
		{"one success", func(n int) (float64, error) {
			if n == 3 {
				return 1, nil
			}
			return 0, broken
		}, retune.BudgetExhausted, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStudy(t, retune.Config{Budget: retune.Budget{Trials: 20}})
			res, err := s.Optimize(t.Context(), func(ctx context.Context, t *retune.Trial) (float64, error) {
				return tt.obj(t.Number())
			}, retune.OptimizeOptions{FailFast: 5})
			if err != nil || res.Stop != tt.stop || res.Completed != tt.completed {
				t.Fatalf("Optimize = %+v, %v, want stop %v with %d complete", res, err, tt.stop, tt.completed)
			}
			if tt.stop == retune.FailedAlike && res.Started != 5 {
				t.Errorf("started %d trials, want 5: the rest of the budget unspent", res.Started)
			}
			if tt.stop == retune.BudgetExhausted && res.Started != 20 {
				t.Errorf("started %d trials, want the budget of 20", res.Started)
			}
		})
	}
}

func TestTrialTimeout(t *testing.T) {
	t.Parallel()
	s := newStudy(t, retune.Config{})
	var stuck sync.WaitGroup
	stuck.Add(1)
	release := make(chan struct{})
	res, err := s.Optimize(context.Background(), func(ctx context.Context, t *retune.Trial) (float64, error) {
		switch t.Number() {
		case 0: // polite: returns when cancelled
			<-ctx.Done()
			return 0, ctx.Err()
		case 1: // ignores its context
			defer stuck.Done()
			<-release
			return 5, nil
		}
		return 1, nil
	}, retune.OptimizeOptions{Trials: 3, TrialTimeout: 100 * time.Millisecond})
	close(release)
	stuck.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 2 || res.Completed != 1 || res.Abandoned != 1 {
		t.Errorf("Result = %+v, want 2 failed, 1 completed, 1 abandoned", res)
	}
	for _, ft := range trials(t, s)[:2] {
		if ft.State != retune.TrialFail || !strings.Contains(ft.Reason, "trial timeout") {
			t.Errorf("trial %d = %v %q, want FAIL trial timeout", ft.Number, ft.State, ft.Reason)
		}
	}
}

func TestRunTimeout(t *testing.T) {
	t.Parallel()
	s := newStudy(t, retune.Config{})
	start := time.Now()
	res, err := s.Optimize(context.Background(), func(ctx context.Context, t *retune.Trial) (float64, error) {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(30 * time.Millisecond):
			return 1, nil
		}
	}, retune.OptimizeOptions{Timeout: 200 * time.Millisecond, Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stop != retune.Timeout || res.Completed == 0 || time.Since(start) > 3*time.Second {
		t.Errorf("Result = %+v after %v, want a timeout stop with some completed trials", res, time.Since(start))
	}
	for _, ft := range trials(t, s) {
		if !ft.State.Finished() {
			t.Errorf("trial %d left %v after the run", ft.Number, ft.State)
		}
		if ft.State == retune.TrialFail && !strings.Contains(ft.Reason, "run timeout") {
			t.Errorf("trial %d reason %q, want the run timeout", ft.Number, ft.Reason)
		}
	}
}

// Cancelling the context leaves a consistent study: running trials FAIL "interrupted",
// completed ones are kept, nothing is left RUNNING.
func TestCancel(t *testing.T) {
	t.Parallel()
	s := newStudy(t, retune.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	var done atomic.Int32
	res, err := s.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		if done.Add(1) == 5 {
			cancel()
		}
		if t.Number() >= 4 {
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return 1, nil
	}, retune.OptimizeOptions{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stop != retune.Canceled || res.Completed != 4 || res.Failed != 1 {
		t.Errorf("Result = %+v, want canceled with 4 completed and 1 failed", res)
	}
	ts := trials(t, s)
	if len(ts) != 5 || ts[4].State != retune.TrialFail || !strings.Contains(ts[4].Reason, "interrupted") {
		t.Errorf("trials = %+v, want trial 4 FAIL interrupted", ts)
	}
}

// OptimizeOptions.Trials is exact across 8 workers, and Budget.Trials exact across two
// studies sharing one storage.
func TestExactBudgets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	obj := func(ctx context.Context, t *retune.Trial) (float64, error) {
		time.Sleep(time.Millisecond)
		return t.Float("x", 0, 1), nil
	}
	s := newStudy(t, retune.Config{})
	res, err := s.Optimize(ctx, obj, retune.OptimizeOptions{Trials: 37, Parallel: 8})
	if err != nil || res.Started != 37 || len(trials(t, s)) != 37 || res.Stop != retune.TrialsDone {
		t.Errorf("Optimize(Trials 37, Parallel 8) = %+v, %v, %d stored; want exactly 37", res, err, len(trials(t, s)))
	}

	store := retune.NewMemoryStorage()
	cfg := retune.Config{Name: "shared", Storage: store, Budget: retune.Budget{Trials: 50}}
	a, b := newStudy(t, cfg), newStudy(t, cfg)
	var wg sync.WaitGroup
	results := make([]retune.Result, 2)
	for i, st := range []*retune.Study{a, b} {
		wg.Go(func() {
			r, err := st.Optimize(ctx, obj, retune.OptimizeOptions{Parallel: 8})
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		})
	}
	wg.Wait()
	if n := results[0].Started + results[1].Started; n != 50 || len(trials(t, a)) != 50 {
		t.Errorf("two studies with a shared budget of 50 started %d (%d stored)", n, len(trials(t, a)))
	}
	for _, r := range results {
		if r.Stop != retune.BudgetExhausted {
			t.Errorf("stop = %v, want budget exhausted", r.Stop)
		}
	}
	// A resumed study with the same budget starts nothing more.
	c := newStudy(t, cfg)
	if r, err := c.Optimize(ctx, obj, retune.OptimizeOptions{Trials: 5}); err != nil || r.Started != 0 || r.Stop != retune.BudgetExhausted {
		t.Errorf("resumed over budget: %+v, %v", r, err)
	}
}

// Parallel grid workers on two study handles run each point exactly once.
func TestParallelGridNoDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	values := map[string][]any{"a": {1, 2, 3, 4, 5}, "b": {"x", "y", "z"}, "c": {0.5, 1.5}}
	cfg := func() retune.Config {
		return retune.Config{Name: "g", Storage: store, Sampler: grid.New(values)}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	obj := func(ctx context.Context, t *retune.Trial) (float64, error) {
		k := fmt.Sprint(t.Int("a", 1, 5), t.Categorical("b", "x", "y", "z"), t.Float("c", 0, 2))
		mu.Lock()
		seen[k]++
		mu.Unlock()
		return 0, nil
	}
	var wg sync.WaitGroup
	for range 2 {
		s := newStudy(t, cfg())
		wg.Go(func() {
			r, err := s.Optimize(ctx, obj, retune.OptimizeOptions{Parallel: 8})
			if err != nil || r.Stop != retune.GridExhausted {
				t.Errorf("Optimize = %+v, %v, want grid exhausted", r, err)
			}
		})
	}
	wg.Wait()
	if len(seen) != 30 {
		t.Errorf("ran %d distinct points, want 30", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("point %s ran %d times", k, n)
		}
	}
}

func TestGridInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values map[string][]any
		want   string
	}{
		{"empty", map[string][]any{}, "no params"},
		{"no values", map[string][]any{"x": {}}, `"x" has no values`},
		{"duplicate", map[string][]any{"x": {1, 1}}, "appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := retune.NewStudy(context.Background(), retune.Config{Sampler: grid.New(tt.values)})
			if !errors.Is(err, retune.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewStudy(grid %v) error = %v, want ErrInvalid containing %q", tt.values, err, tt.want)
			}
		})
	}
	s := newStudy(t, retune.Config{Sampler: grid.New(map[string][]any{"x": {1}})})
	r, _ := s.Optimize(context.Background(), func(ctx context.Context, t *retune.Trial) (float64, error) {
		return t.Float("y", 0, 1), nil
	}, retune.OptimizeOptions{})
	if ts := trials(t, s); r.Failed != 1 || !strings.Contains(ts[0].Reason, `param "y" has no listed values`) {
		t.Errorf("a param outside the grid: %+v, reason %q", r, ts[0].Reason)
	}
}

// A seeded study gives trial n the same params with 1 or 8 workers.
func TestSeedReproducibleAcrossWorkers(t *testing.T) {
	t.Parallel()
	params := func(parallel int) map[int]string {
		s := newStudy(t, retune.Config{Seed: 42, Sampler: random.New()})
		_, err := s.Optimize(context.Background(), func(ctx context.Context, t *retune.Trial) (float64, error) {
			x := t.Float("x", -5, 5)
			t.Int("n", 1, 1000, retune.Log)
			t.Categorical("kind", "a", "b", "c")
			t.Float("s", 0, 1, retune.Step(0.1))
			return x, nil
		}, retune.OptimizeOptions{Trials: 40, Parallel: parallel})
		if err != nil {
			t.Fatal(err)
		}
		out := map[int]string{}
		for _, ft := range trials(t, s) {
			out[ft.Number] = fmt.Sprint(ft.Params)
		}
		return out
	}
	one, eight := params(1), params(8)
	if len(one) != 40 {
		t.Fatalf("%d trials, want 40", len(one))
	}
	for n, p := range one {
		if eight[n] != p {
			t.Errorf("trial %d: %s with 1 worker, %s with 8", n, p, eight[n])
		}
	}
	other := newStudy(t, retune.Config{Seed: 43})
	tr, _ := other.Ask(context.Background())
	if x := tr.Float("x", -5, 5); fmt.Sprint(x) == "" || strings.Contains(one[0], fmt.Sprint(x)) {
		t.Errorf("seed 43 drew the same x as seed 42: %v", x)
	}
	_ = other.Tell(context.Background(), tr, 0)
}

// A subscriber that never reads cannot block the loop.
func TestSubscriberNeverReads(t *testing.T) {
	t.Parallel()
	s := newStudy(t, retune.Config{})
	ch, stop := s.Subscribe(2)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = s.Optimize(context.Background(), func(context.Context, *retune.Trial) (float64, error) { return 1, nil }, retune.OptimizeOptions{Trials: 200, Parallel: 4})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Optimize blocked behind a subscriber that never reads")
	}
	if len(ch) != 2 || s.Dropped() != 198 {
		t.Errorf("buffered %d, dropped %d, want 2 and 198", len(ch), s.Dropped())
	}
	stop()
	stop() // idempotent
	n := 0
	for range ch {
		n++
	}
	if n != 2 {
		t.Errorf("drained %d after stop, want 2", n)
	}
}

func TestSubscriberReceives(t *testing.T) {
	t.Parallel()
	s := newStudy(t, retune.Config{})
	ch, stop := s.Subscribe(100)
	_, err := s.Optimize(context.Background(), func(ctx context.Context, t *retune.Trial) (float64, error) {
		return float64(t.Number()), nil
	}, retune.OptimizeOptions{Trials: 10})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	var got []int
	for ft := range ch {
		got = append(got, ft.Number)
	}
	if fmt.Sprint(got) != "[0 1 2 3 4 5 6 7 8 9]" {
		t.Errorf("subscriber got %v, want trials 0..9", got)
	}
}

func TestPruned(t *testing.T) {
	t.Parallel()
	s := newStudy(t, retune.Config{Pruner: pruneAfter(3)})
	res, err := s.Optimize(context.Background(), func(ctx context.Context, t *retune.Trial) (float64, error) {
		for step := int64(1); step <= 10; step++ {
			if err := t.Report(ctx, step, float64(step)/10); err != nil {
				return 0, err
			}
		}
		return 1, nil
	}, retune.OptimizeOptions{Trials: 2})
	if err != nil || res.Pruned != 2 {
		t.Fatalf("Optimize = %+v, %v, want 2 pruned", res, err)
	}
	ft := trials(t, s)[0]
	if ft.State != retune.TrialPruned || len(ft.Intermediate) != 3 || ft.Value() != 0.3 || !strings.Contains(ft.Reason, "pruned at step 3") {
		t.Errorf("pruned trial = %v values %v intermediate %v reason %q, want PRUNED at step 3 with value 0.3", ft.State, ft.Values, ft.Intermediate, ft.Reason)
	}
}

// ReportMany stores every step, then asks the pruner about each step in turn as if it had
// been reported alone: the trial it judges has the values up to that step only.
func TestReportMany(t *testing.T) {
	t.Parallel()
	var seen []string // step: the steps the judged trial has
	p := pruneFunc(func(req *retune.PruneRequest) bool {
		steps := slices.Sorted(maps.Keys(req.Trial.Intermediate))
		seen = append(seen, fmt.Sprintf("%d:%v", req.Step, steps))
		return req.Trial.Intermediate[req.Step][0] > 1
	})
	s := newStudy(t, retune.Config{Pruner: p})
	_, err := s.Optimize(context.Background(), func(ctx context.Context, tr *retune.Trial) (float64, error) {
		if err := tr.Report(ctx, 0, 0.5); err != nil {
			return 0, err
		}
		if err := tr.ReportMany(ctx, []retune.StepValues{{Step: 6, Values: []float64{1}}, {Step: 7, Values: []float64{1, 2}}}); !errors.Is(err, retune.ErrInvalid) {
			return 0, fmt.Errorf("ReportMany with a wrong number of values: %v, want ErrInvalid", err)
		}
		return 0, tr.ReportMany(ctx, []retune.StepValues{{Step: 1, Values: []float64{0.4}}, {Step: 2, Values: []float64{0.3}},
			{Step: 2, Values: []float64{0.35}}, {Step: 3, Values: []float64{5}}, {Step: 4, Values: []float64{0.1}}})
	}, retune.OptimizeOptions{Trials: 1})
	if err != nil {
		t.Fatal(err)
	}
	ft := trials(t, s)[0]
	want := map[int64][]float64{0: {0.5}, 1: {0.4}, 2: {0.35}, 3: {5}, 4: {0.1}}
	if ft.State != retune.TrialPruned || !strings.Contains(ft.Reason, "pruned at step 3") || !reflect.DeepEqual(ft.Intermediate, want) {
		t.Errorf("trial = %v %q intermediate %v, want PRUNED at step 3 with every step stored: %v", ft.State, ft.Reason, ft.Intermediate, want)
	}
	if got := fmt.Sprint(seen); got != "[0:[0] 1:[0 1] 2:[0 1 2] 2:[0 1 2] 3:[0 1 2 3]]" {
		t.Errorf("the pruner judged %s, want each step with the steps up to it", got)
	}
}

type pruneFunc func(req *retune.PruneRequest) bool

func (f pruneFunc) Prune(_ context.Context, req *retune.PruneRequest) (bool, error) {
	return f(req), nil
}

type pruneAfter int64

func (p pruneAfter) Prune(_ context.Context, req *retune.PruneRequest) (bool, error) {
	return req.Step >= int64(p) && len(req.Trial.Intermediate) >= int(p), nil
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

func fmtSprint(v any) string { return fmt.Sprint(v) }

// TestRequeueInterrupted: trials cut short by cancellation are enqueued again with their
// params, give their places in the budget back, and the next call runs them first.
func TestRequeueInterrupted(t *testing.T) {
	t.Parallel()
	s := newStudy(t, retune.Config{Budget: retune.Budget{Trials: 3}})
	ctx, cancel := context.WithCancel(context.Background())
	var started sync.WaitGroup
	started.Add(2)
	go func() { started.Wait(); cancel() }()
	res, err := s.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		t.Float("x", 0, 1)
		started.Done()
		<-ctx.Done()
		return 0, ctx.Err()
	}, retune.OptimizeOptions{Parallel: 2, RequeueInterrupted: true})
	if err != nil || res.Interrupted != 2 || res.Requeued != 2 || res.Stop != retune.Canceled {
		t.Fatalf("Optimize = %+v, %v, want 2 interrupted and requeued", res, err)
	}
	first := trials(t, s)
	res, err = s.Optimize(context.Background(), func(ctx context.Context, t *retune.Trial) (float64, error) {
		return t.Float("x", 0, 1), nil
	}, retune.OptimizeOptions{})
	if err != nil || res.Completed != 3 || res.Stop != retune.BudgetExhausted {
		t.Fatalf("second Optimize = %+v, %v, want the budget's 3 outcomes", res, err)
	}
	all := trials(t, s)
	for _, i := range []int{2, 3} { // the re-runs of trials 0 and 1, in order
		if all[i].State != retune.TrialComplete || all[i].Params["x"] != first[i-2].Params["x"] {
			t.Errorf("trial %d: %v %v, want COMPLETE with trial %d's x %v", i, all[i].State, all[i].Params, i-2, first[i-2].Params["x"])
		}
	}
}
