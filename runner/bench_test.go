//go:build linux || darwin

package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
	"github.com/a6b40afc/retune/runner"
	"github.com/a6b40afc/retune/storage/sqlite"
)

// benchStudy returns a study kept in SQLite in a temporary directory.
func benchStudy(b *testing.B, p retune.Pruner) *retune.Study {
	b.Helper()
	store, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "r.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	s, err := retune.NewStudy(b.Context(), retune.Config{Name: "bench", Storage: store, Pruner: p})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// runTrial runs cmd as one trial of s and returns the trial as stored.
func runTrial(b *testing.B, s *retune.Study, cmd *runner.Command) retune.FrozenTrial {
	b.Helper()
	var number int
	_, err := s.Optimize(b.Context(), func(ctx context.Context, tr *retune.Trial) (float64, error) {
		number = tr.Number()
		v, err := cmd.Run(ctx, tr, map[string]any{"x": tr.Float("x", 0, 1)})
		if err != nil {
			return 0, err
		}
		return v[0], nil
	}, retune.OptimizeOptions{Trials: 1})
	if err != nil {
		b.Fatal(err)
	}
	cmd.Wait()
	ft, err := s.Storage().Trial(b.Context(), s.Record().ID, number)
	if err != nil {
		b.Fatal(err)
	}
	return ft
}

// BenchmarkStepLines runs trials of a trainer that writes 20,000 step lines as fast as it
// can, each line its own write, into a study kept in SQLite, and reports the step lines
// per second that went through a trial, from its start to its stored result. The trainer
// alone needs a fraction of that time: the figure is what retune lets it do. The pruners
// are asked at every step and never prune.
func BenchmarkStepLines(b *testing.B) {
	const steps = 20000
	never := 1e9
	for _, bc := range []struct {
		name string
		p    retune.Pruner
	}{
		{"pruner=none", nil},
		{"pruner=threshold", pruner.NewThreshold(pruner.ThresholdOptions{Upper: &never})},
		{"pruner=median", pruner.NewMedian(pruner.MedianOptions{})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := benchStudy(b, bc.p)
			// The same x for every trial: the median pruner compares, and keeps every trial.
			cmd := &runner.Command{Args: []string{trainer, "-mode=flood", "-steps=" + strconv.Itoa(steps), "-x=0.5"},
				Objectives: []string{"loss"}, Study: "bench", LogDir: b.TempDir()}
			trials := 0
			b.ReportAllocs()
			for b.Loop() {
				trials++
				ft := runTrial(b, s, cmd)
				if ft.State != retune.TrialComplete || len(ft.Intermediate) != steps {
					b.Fatalf("trial %d: %v %q with %d steps, want COMPLETE with %d", ft.Number, ft.State, ft.Reason, len(ft.Intermediate), steps)
				}
			}
			b.ReportMetric(float64(trials*steps)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// pruneAt prunes every trial at its first step at or after step.
type pruneAt int64

func (p pruneAt) Prune(_ context.Context, req *retune.PruneRequest) (bool, error) {
	return req.Step >= int64(p), nil
}

// BenchmarkPruneLatency runs trials of a trainer that writes step lines until it gets
// SIGTERM, at 20,000 lines a second or as fast as it can; the pruner stops each trial at
// step 2,000. It reports, by the trainer's clock, the time from the write of that step's
// line to the SIGTERM that the pruner's decision sent: prune-ms (mean) and prune-max-ms.
func BenchmarkPruneLatency(b *testing.B) {
	const mark = 2000
	for _, rate := range []int{20000, 0} {
		name := "rate=" + strconv.Itoa(rate)
		if rate == 0 {
			name = "rate=max"
		}
		b.Run(name, func(b *testing.B) {
			s := benchStudy(b, pruneAt(mark))
			dir := b.TempDir()
			var lat []time.Duration
			for b.Loop() {
				times := filepath.Join(dir, fmt.Sprintf("times-%d", len(lat)))
				cmd := &runner.Command{Args: []string{trainer, "-mode=flood", "-steps=100000000", "-x={x}", "-rate=" + strconv.Itoa(rate),
					"-mark=" + strconv.Itoa(mark), "-times=" + times}, Objectives: []string{"loss"}, Study: "bench", LogDir: dir}
				ft := runTrial(b, s, cmd)
				if ft.State != retune.TrialPruned {
					b.Fatalf("trial %d: %v %q, want PRUNED", ft.Number, ft.State, ft.Reason)
				}
				data, err := os.ReadFile(times)
				if err != nil {
					b.Fatal(err)
				}
				var marked, termed int64
				if _, err := fmt.Sscan(string(data), &marked, &termed); err != nil || marked == 0 {
					b.Fatalf("times %q: %v", data, err)
				}
				lat = append(lat, time.Duration(termed-marked))
			}
			var sum time.Duration
			for _, d := range lat {
				sum += d
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(sum)/float64(len(lat)), "prune-ms")
			b.ReportMetric(ms(slices.Max(lat)), "prune-max-ms")
		})
	}
}
