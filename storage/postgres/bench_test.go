package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/cputime"
	"github.com/a6b40afc/retune/sampler/random"
)

// BenchmarkAskTell measures the library's ask → suggest → tell loop on this storage: a
// 5-float space, the sum of squares, a study with a history of finished trials, one
// trial per iteration, alone and from 8 goroutines sharing the study. It also reports the
// CPU time per trial of this process (cpu-µs/op, all threads) and, with a server on this
// machine, of the PostgreSQL processes (server-cpu-µs/op; read from /proc, in 10 ms ticks,
// so give it a few thousand iterations), and the CPUs both kept busy on average (cpus:
// with 2 cores, how close the loop comes to using the whole machine).
func BenchmarkAskTell(b *testing.B) {
	for _, bc := range []struct {
		history, workers int
	}{{500, 1}, {5000, 1}, {500, 8}} {
		b.Run(fmt.Sprintf("history=%d/workers=%d", bc.history, bc.workers), func(b *testing.B) {
			dsn, schema := newSchema(b)
			s := openStore(b, dsn, schema)
			ctx := b.Context()
			study, err := retune.NewStudy(ctx, retune.Config{Name: "bench", Storage: s, Sampler: random.New(), Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			prefill(b, s, study.Record().ID, bc.history)
			askTell(b, study) // the first Ask reads the history
			b.ReportAllocs()
			cpu0, okc := cputime.Self()
			srv0, oks := cputime.Processes("postgres")
			defer func() {
				cpu1, okc1 := cputime.Self()
				srv1, oks1 := cputime.Processes("postgres")
				if okc && okc1 {
					b.ReportMetric(float64(cpu1-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
				}
				if oks && oks1 {
					b.ReportMetric(float64(srv1-srv0)/float64(time.Microsecond)/float64(b.N), "server-cpu-µs/op")
				}
				if okc && okc1 && oks && oks1 {
					b.ReportMetric(float64(cpu1-cpu0+srv1-srv0)/float64(b.Elapsed()), "cpus")
				}
			}()
			if bc.workers == 1 {
				for b.Loop() {
					askTell(b, study)
				}
			} else {
				b.SetParallelism((bc.workers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						askTell(b, study)
					}
				})
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "trials/s")
		})
	}
}

func askTell(b *testing.B, study *retune.Study) {
	ctx := context.Background()
	t, err := study.Ask(ctx)
	if err != nil {
		b.Error(err)
		return
	}
	sum := 0.0
	for i := range 5 {
		x := t.Float(fmt.Sprint("x", i), -5, 5)
		sum += x * x
	}
	if err := study.Tell(ctx, t, sum); err != nil {
		b.Error(err)
	}
}

// prefill stores n finished trials in the space askTell uses, from 4 goroutines.
func prefill(b *testing.B, s *Store, studyID int64, n int) {
	dists := map[string]retune.Distribution{}
	for i := range 5 {
		dists[fmt.Sprint("x", i)] = retune.FloatDistribution{Low: -5, High: 5}
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range n / 4 {
				ft, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: studyID, Holder: "prefill", LeaseTTL: time.Minute})
				if err != nil {
					b.Error(err)
					return
				}
				params, sum := map[string]any{}, 0.0
				for name := range dists {
					x := -5 + 10*rng.Float64()
					params[name], sum = x, sum+x*x
				}
				if _, err := s.Finish(ctx, retune.FinishRequest{Ref: retune.TrialRef{StudyID: studyID, Number: ft.Number, Epoch: ft.Lease.Epoch},
					State: retune.TrialComplete, Values: []float64{sum}, Params: params, Distributions: dists}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
