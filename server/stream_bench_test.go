package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/random"
	"github.com/a6b40afc/retune/server"
	"github.com/a6b40afc/retune/storage"
	"github.com/a6b40afc/retune/storage/postgres"
)

// BenchmarkStreamDelay measures the delay from a tell to its trial.finished event on the
// open event streams of a `retune serve` process (built from cmd/retune): the time from
// sending the tell to reading the event, for every stream and tell. Settings, from the
// environment:
//
//	RETUNE_BENCH_N        tells (default 1000)
//	RETUNE_BENCH_STREAMS  open streams on the study (default 1)
//	RETUNE_BENCH_WORKERS  clients running trials at once (default 1)
//	RETUNE_BENCH_DB       postgres: the database of RETUNE_TEST_POSTGRES (a fresh schema); default SQLite
//	RETUNE_BENCH_DIRECT   1: the trials are told by the library writing the database, as
//	                      `retune run` does, not through the server
//
// It reports p50 and p99 of the delay and the server's resident memory at the end, with
// the streams open. Run it with -benchtime=1x.
func BenchmarkStreamDelay(b *testing.B) {
	n, streams, workers := envInt("RETUNE_BENCH_N", 1000), envInt("RETUNE_BENCH_STREAMS", 1), envInt("RETUNE_BENCH_WORKERS", 1)
	direct := os.Getenv("RETUNE_BENCH_DIRECT") == "1"
	ctx := context.Background()
	dsn := filepath.Join(b.TempDir(), "serve.db")
	if os.Getenv("RETUNE_BENCH_DB") == "postgres" {
		pg := os.Getenv("RETUNE_TEST_POSTGRES")
		if pg == "" {
			b.Skip("RETUNE_TEST_POSTGRES is not set")
		}
		schema := fmt.Sprintf("retune_sbench_%d_%d", os.Getpid(), time.Now().UnixNano())
		s, err := postgres.OpenOptions(ctx, pg, postgres.Options{Schema: schema}) // creates it
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
		dsn = withSearchPath(pg, schema)
		b.Cleanup(func() { dropSchema(b, pg, schema) })
	}
	store, err := storage.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	token, _, err := server.NewToken(ctx, store.(retune.TokenStore), "bench", server.ScopeAdmin, "", time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	bin := buildRetune(b, b.TempDir())
	base, cmd := serveProcess(b, bin, dsn)
	c := newBenchClient(base, token, workers+streams)
	defer c.close()
	if err := c.post("/api/v1/studies", map[string]any{"definition": boxDefinition("live", "random")}, http.StatusCreated, nil); err != nil {
		b.Fatal(err)
	}
	var sent sync.Map // trial number → time the tell was sent
	var (
		mu     sync.Mutex
		delays []time.Duration
		got    atomic.Int64
	)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan struct{}, streams)
	for range streams {
		go func() {
			req, _ := http.NewRequestWithContext(sctx, "GET", base+"/api/v1/studies/live/events", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := c.hc.Do(req)
			if err != nil {
				b.Error(err)
				ready <- struct{}{}
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			var name string
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "event: "):
					name = strings.TrimPrefix(line, "event: ")
					if name == "hello" {
						ready <- struct{}{}
					}
				case strings.HasPrefix(line, "data: ") && name == "trial.finished":
					now := time.Now()
					var d struct{ Trial int }
					_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d)
					if t0, ok := sent.Load(d.Trial); ok {
						mu.Lock()
						delays = append(delays, now.Sub(t0.(time.Time)))
						mu.Unlock()
						got.Add(1)
					}
				}
			}
		}()
	}
	for range streams {
		<-ready
	}
	var lib *retune.Study
	if direct {
		ls, err := storage.Open(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer ls.Close()
		if lib, err = retune.NewStudy(ctx, retune.Config{Name: "live", Storage: ls, Sampler: random.New()}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					if err := tellOne(c, lib, &sent); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	want := int64(n * streams)
	for deadline := time.Now().Add(30 * time.Second); got.Load() < want && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	rss := rssOf(cmd.Process.Pid)
	mu.Lock()
	slices.Sort(delays)
	if int64(len(delays)) < want {
		b.Errorf("%d of %d events arrived", len(delays), want)
	}
	if len(delays) > 0 {
		b.ReportMetric(ms(quantile(delays, 0.5)), "p50-ms")
		b.ReportMetric(ms(quantile(delays, 0.99)), "p99-ms")
	}
	mu.Unlock()
	b.ReportMetric(float64(rss)/(1<<20), "server-rss-MiB")
	b.Logf("%d tells, %d streams, %d workers, direct %v, db %s; loadavg %s", n, streams, workers, direct, storage.Redact(dsn), loadavg(b))
}

// tellOne runs one trial, through the server or (lib not nil) the library, recording
// when its tell was sent.
func tellOne(c *benchClient, lib *retune.Study, sent *sync.Map) error {
	if lib != nil {
		ctx := context.Background()
		t, err := lib.Ask(ctx)
		if err != nil {
			return err
		}
		v := t.Float("x", 0, 1)
		sent.Store(t.Number(), time.Now())
		return lib.Tell(ctx, t, v)
	}
	var a asked
	if err := c.post("/api/v1/studies/live/trials", map[string]any{}, http.StatusCreated, &a); err != nil {
		return err
	}
	sent.Store(a.Number, time.Now())
	return c.post(fmt.Sprintf("/api/v1/studies/live/trials/%d/tell", a.Number),
		map[string]any{"epoch": a.Epoch, "values": []float64{sphere(a.Params)}}, http.StatusOK, nil)
}

// rssOf is the resident memory of process pid in bytes (0 if unknown).
func rssOf(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// withSearchPath adds the search_path schema to a PostgreSQL DSN (a URL).
func withSearchPath(dsn, schema string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}
