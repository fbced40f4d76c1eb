package sqlite

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/cputime"
	"github.com/a6b40afc/retune/sampler/random"
)

const benchStudy = "bench"

// askTell runs one trial of the library loop: Ask, five Float suggests, Tell.
func askTell(ctx context.Context, tb testing.TB, st *retune.Study) {
	t, err := st.Ask(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for i := range 5 {
		x := t.Float(fmt.Sprintf("x%d", i), -5, 5)
		sum += x * x
	}
	if err := st.Tell(ctx, t, sum); err != nil {
		tb.Fatal(err)
	}
}

func openBenchStudy(ctx context.Context, tb testing.TB, s *Store) *retune.Study {
	st, err := retune.NewStudy(ctx, retune.Config{Name: benchStudy, Storage: s, Sampler: random.New(), Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// BenchmarkAskTell measures one trial of the library loop on SQLite, after a history of
// 500 or 5,000 finished trials, with synchronous NORMAL and FULL, and NORMAL with SQLite's
// own checkpoint interval (1,000 pages) against the default 10,000. The per-trial cost must
// not grow with the history. Besides the wall time it reports the process's CPU time per
// trial (cpu-µs/op: all threads, so also the garbage collector's share).
func BenchmarkAskTell(b *testing.B) {
	ctx := b.Context()
	histories := []int{500, 5000}
	// One pre-filled database per history size, copied for each sub-benchmark.
	templates := map[int]string{}
	for _, n := range histories {
		path := filepath.Join(b.TempDir(), fmt.Sprintf("history-%d.db", n))
		s, err := Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		st := openBenchStudy(ctx, b, s)
		for range n {
			askTell(ctx, b, st)
		}
		if err := s.Close(); err != nil { // checkpoints the WAL into the file
			b.Fatal(err)
		}
		templates[n] = path
	}
	for _, o := range []Options{{Synchronous: SyncNormal}, {Synchronous: SyncNormal, CheckpointPages: 1000}, {Synchronous: SyncFull}} {
		name := fmt.Sprintf("sync=%v", o.Synchronous)
		if o.CheckpointPages != 0 {
			// SQLite's own default, for comparison.
			name += fmt.Sprintf("/checkpoint=%d", o.CheckpointPages)
		}
		for _, n := range histories {
			b.Run(fmt.Sprintf("%s/history=%d", name, n), func(b *testing.B) {
				path := filepath.Join(b.TempDir(), "bench.db")
				copyFile(b, templates[n], path)
				s, err := OpenOptions(ctx, path, o)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				st := openBenchStudy(ctx, b, s)
				askTell(ctx, b, st) // reads the history into the study's cache
				b.ReportAllocs()
				cpu0, ok0 := cputime.Self()
				for b.Loop() {
					askTell(ctx, b, st)
				}
				// CPU time is steadier than wall time on a machine that other work shares.
				if cpu1, ok1 := cputime.Self(); ok0 && ok1 {
					b.ReportMetric(float64(cpu1-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
				}
			})
		}
	}
}

func copyFile(tb testing.TB, from, to string) {
	src, err := os.Open(from)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		tb.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		tb.Fatal(err)
	}
}
