package pruner_test

import (
	"context"
	"errors"
	"math"
	"runtime"
	"sync"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
)

// recorder wraps a pruner and keeps a deep copy of every request with its decision.
type recorder struct {
	p        retune.Pruner
	mu       sync.Mutex
	calls    []recorded
	modified []string
}

type recorded struct {
	req   *retune.PruneRequest
	prune bool
}

func (r *recorder) Prune(ctx context.Context, req *retune.PruneRequest) (bool, error) {
	before, c := dump(req), clone(req)
	got, err := r.p.Prune(ctx, req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if after := dump(req); after != before {
		r.modified = append(r.modified, after)
	}
	r.calls = append(r.calls, recorded{c, got})
	return got, err
}

// TestStudyParallel runs each pruner in a real study with two workers and checks that
// every decision the study acted on is the one the pruner gives for the same request
// again, that no request was modified, and that the trials' states follow the decisions.
func TestStudyParallel(t *testing.T) {
	t.Parallel()
	const steps = 20
	tests := []struct {
		name  string
		p     retune.Pruner
		dirs  []retune.Direction
		check func(t *testing.T, c recorded) // called for every decision to prune
	}{
		{"median", pruner.NewMedian(pruner.MedianOptions{}), min1, func(t *testing.T, c recorded) {
			n := 0
			for _, ft := range c.req.Trials {
				if ft.State == retune.TrialComplete {
					n++
				}
			}
			if n < 5 {
				t.Errorf("trial %d pruned with %d completed trials, want >= 5", c.req.Trial.Number, n)
			}
		}},
		{"percentile maximize", pruner.NewPercentile(pruner.PercentileOptions{StartupTrials: 3}), max1, nil},
		{"asha", pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{ReductionFactor: 2}), min1, func(t *testing.T, c recorded) {
			if s := c.req.Step; s&(s-1) != 0 {
				t.Errorf("trial %d pruned at step %d, which is no rung (powers of 2)", c.req.Trial.Number, s)
			}
		}},
		{"hyperband", pruner.NewHyperband(pruner.HyperbandOptions{MaxResource: steps}), min1, func(t *testing.T, c recorded) {
			b := pruner.BracketOf(1, steps, 3, c.req.Seed, c.req.Trial.Number)
			ok := false
			for r := int64(math.Pow(3, float64(b))); r <= c.req.Step; r *= 3 {
				ok = ok || r == c.req.Step
			}
			if !ok {
				t.Errorf("trial %d of bracket %d pruned at step %d, which is no rung of its bracket", c.req.Trial.Number, b, c.req.Step)
			}
		}},
		{"threshold", pruner.NewThreshold(pruner.ThresholdOptions{Upper: new(0.6)}), min1, func(t *testing.T, c recorded) {
			if v := c.req.Trial.Intermediate[c.req.Step][0]; v <= 0.6 {
				t.Errorf("trial %d pruned with %v <= 0.6", c.req.Trial.Number, v)
			}
		}},
		{"patience of median", pruner.NewPatience(pruner.PatienceOptions{Wrapped: pruner.NewMedian(pruner.MedianOptions{}), Patience: 2}), min1, nil},
		{"wilcoxon", pruner.NewWilcoxon(pruner.WilcoxonOptions{}), min1, nil},
		{"extrapolate", pruner.NewExtrapolate(pruner.ExtrapolateOptions{}), min1, nil},
		{"extrapolate, maximizing", pruner.NewExtrapolate(pruner.ExtrapolateOptions{}), max1, nil},
		{"asha, two objectives", pruner.NewSuccessiveHalving(pruner.SuccessiveHalvingOptions{ReductionFactor: 2}), []retune.Direction{retune.Minimize, retune.Maximize}, nil},
		{"median, two objectives", pruner.NewMedian(pruner.MedianOptions{}), min2, nil},
		{"hyperband, two objectives", pruner.NewHyperband(pruner.HyperbandOptions{}), min2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			rec := &recorder{p: tt.p}
			s, err := retune.NewStudy(ctx, retune.Config{Directions: tt.dirs, Pruner: rec, Seed: 11})
			if err != nil {
				t.Fatal(err)
			}
			obj := func(ctx context.Context, tr *retune.Trial) ([]float64, error) {
				x := tr.Float("x", 0, 1)
				var v []float64
				for step := int64(1); step <= steps; step++ {
					// A learning curve that settles at (x-0.4)² (and its mirror for a second
					// objective), with a per-trial wiggle.
					f := (x-0.4)*(x-0.4) + 0.5/float64(step) + 0.01*math.Sin(float64(step*int64(tr.Number()+1)))
					v = []float64{f}
					if len(tt.dirs) == 2 {
						g := (x-0.6)*(x-0.6) + 0.5/float64(step)
						if tt.dirs[1] == retune.Maximize {
							g = -g
						}
						v = append(v, g)
					}
					if tt.dirs[0] == retune.Maximize {
						v[0] = -v[0]
					}
					if err := tr.Report(ctx, step, v...); err != nil {
						return nil, err
					}
					runtime.Gosched() // let the two workers interleave
				}
				return v, nil
			}
			res, err := s.OptimizeMulti(ctx, obj, retune.OptimizeOptions{Trials: 40, Parallel: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.modified) > 0 {
				t.Fatalf("a request was modified: %s", rec.modified[0])
			}
			prunedAt := map[int]int64{}
			for _, c := range rec.calls {
				again, err := tt.p.Prune(ctx, c.req)
				if err != nil || again != c.prune {
					t.Fatalf("replayed decision for trial %d at step %d = %v, %v, the study got %v", c.req.Trial.Number, c.req.Step, again, err, c.prune)
				}
				if c.prune {
					if _, dup := prunedAt[c.req.Trial.Number]; dup {
						t.Errorf("trial %d pruned twice", c.req.Trial.Number)
					}
					prunedAt[c.req.Trial.Number] = c.req.Step
					if tt.check != nil {
						tt.check(t, c)
					}
				}
			}
			trials, err := s.Trials(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, ft := range trials {
				step, wasPruned := prunedAt[ft.Number]
				last, _, _ := ft.LastStep()
				switch {
				case wasPruned && (ft.State != retune.TrialPruned || last != step):
					t.Errorf("trial %d: pruned at step %d, but it is %v after step %d", ft.Number, step, ft.State, last)
				case !wasPruned && ft.State != retune.TrialComplete:
					t.Errorf("trial %d: never pruned, but it is %v (%s)", ft.Number, ft.State, ft.Reason)
				}
			}
			if res.Pruned != len(prunedAt) || res.Completed+res.Pruned != 40 {
				t.Errorf("result %d completed, %d pruned; decisions pruned %d of 40", res.Completed, res.Pruned, len(prunedAt))
			}
			if tt.name != "wilcoxon" && len(prunedAt) == 0 {
				t.Errorf("no trial pruned in 40")
			}
			t.Logf("%d of 40 trials pruned, %d decisions", len(prunedAt), len(rec.calls))
		})
	}
}

// TestStudyWilcoxonSeveralObjectives checks that the error reaches the objective.
func TestStudyWilcoxonSeveralObjectives(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := retune.NewStudy(ctx, retune.Config{Directions: min2, Pruner: pruner.NewWilcoxon(pruner.WilcoxonOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := s.Ask(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Report(ctx, 1, 1, 2)
	if !errors.Is(err, retune.ErrInvalid) || errors.Is(err, retune.ErrPruned) {
		t.Errorf("Report = %v, want ErrInvalid", err)
	}
	_ = s.TellState(ctx, tr, retune.TrialFail, err)
}

// TestStudyResume checks that a study resumed with the same pruner options is accepted and
// one with different options is not.
func TestStudyResume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := retune.NewMemoryStorage()
	open := func(p retune.Pruner) error {
		_, err := retune.NewStudy(ctx, retune.Config{Name: "resume", Storage: store, Pruner: p, Seed: 1})
		return err
	}
	if err := open(pruner.NewHyperband(pruner.HyperbandOptions{MaxResource: 27})); err != nil {
		t.Fatal(err)
	}
	if err := open(pruner.NewHyperband(pruner.HyperbandOptions{MaxResource: 27, MinResource: 1, ReductionFactor: 3})); err != nil {
		t.Errorf("resume with the same options spelled out: %v", err)
	}
	if err := open(pruner.NewHyperband(pruner.HyperbandOptions{MaxResource: 81})); !errors.Is(err, retune.ErrConflict) {
		t.Errorf("resume with another max resource = %v, want ErrConflict", err)
	}
}
