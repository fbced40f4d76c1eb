package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/server"
	"github.com/a6b40afc/retune/storage"
	"github.com/a6b40afc/retune/storage/postgres"
)

// BenchmarkLeaderFailover starts two `retune serve` replicas (SQLite, or with
// RETUNE_BENCH_DB=postgres a fresh schema of RETUNE_TEST_POSTGRES) with a log notifier and
// --leader-ttl RETUNE_BENCH_TTL (default 3s), runs a study with a retrain policy through
// the follower up to its last trial, kills the leader with SIGKILL, tells the last trial,
// and measures the time until the surviving replica has decided and the event is in the
// notifier's file; it checks that exactly one decision and one delivery happened. Run it
// with -benchtime=1x; it reports the median over RETUNE_BENCH_RUNS (default 3) failovers.
func BenchmarkLeaderFailover(b *testing.B) {
	ttl := 3 * time.Second
	if v, err := time.ParseDuration(os.Getenv("RETUNE_BENCH_TTL")); err == nil && v > 0 {
		ttl = v
	}
	runs := envInt("RETUNE_BENCH_RUNS", 3)
	bin := buildRetune(b, b.TempDir())
	var decide, deliver []float64
	for b.Loop() {
		for range runs {
			d, e := failoverOnce(b, bin, ttl)
			decide, deliver = append(decide, d.Seconds()), append(deliver, e.Seconds())
			b.Logf("decided %.2fs, delivered %.2fs after the last tell (leader killed just before it); loadavg %s", d.Seconds(), e.Seconds(), loadavg(b))
		}
	}
	b.ReportMetric(median(decide), "decided-s")
	b.ReportMetric(median(deliver), "delivered-s")
}

func failoverOnce(b *testing.B, bin string, ttl time.Duration) (decided, delivered time.Duration) {
	ctx := context.Background()
	dir := b.TempDir()
	dsn := filepath.Join(dir, "retune.db")
	if os.Getenv("RETUNE_BENCH_DB") == "postgres" {
		pg := os.Getenv("RETUNE_TEST_POSTGRES")
		if pg == "" {
			b.Skip("RETUNE_TEST_POSTGRES is not set")
		}
		schema := fmt.Sprintf("retune_failover_%d_%d", os.Getpid(), time.Now().UnixNano())
		s, err := postgres.OpenOptions(ctx, pg, postgres.Options{Schema: schema})
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
	events := filepath.Join(dir, "events.jsonl")
	nf := filepath.Join(dir, "notifiers.yaml")
	if err := os.WriteFile(nf, []byte("notifiers:\n  audit: {type: log, path: "+events+"}\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	var bases []string
	var procs []*exec.Cmd
	for range 2 {
		cmd := exec.Command(bin, "serve", "--db", dsn, "--addr", "127.0.0.1:0", "--notifiers", nf, "--leader-ttl", ttl.String())
		base, cmd := serveProcessCmd(b, cmd)
		bases, procs = append(bases, base), append(procs, cmd)
	}
	leader := -1
	for deadline := time.Now().Add(30 * time.Second); leader < 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for i, base := range bases {
			if scrapeLeader(base, token) {
				leader = i
			}
		}
	}
	if leader < 0 {
		b.Fatal("no leader within 30s")
	}
	c := newBenchClient(bases[1-leader], token, 1)
	defer c.close()
	def := boxDefinition("fo", "random")
	def["budget"] = map[string]any{"trials": 5}
	def["retrain"] = map[string]any{"min_improvement": 0}
	if err := c.post("/api/v1/studies", map[string]any{"definition": def}, http.StatusCreated, nil); err != nil {
		b.Fatal(err)
	}
	for range 4 {
		if _, _, err := c.askTell("fo"); err != nil {
			b.Fatal(err)
		}
	}
	var a asked
	if err := c.post("/api/v1/studies/fo/trials", map[string]any{}, http.StatusCreated, &a); err != nil {
		b.Fatal(err)
	}
	if err := procs[leader].Process.Signal(syscall.SIGKILL); err != nil {
		b.Fatal(err)
	}
	procs[leader].Wait()
	start := time.Now()
	if err := c.post(fmt.Sprintf("/api/v1/studies/fo/trials/%d/tell", a.Number), map[string]any{"epoch": a.Epoch, "values": []float64{sphere(a.Params)}}, http.StatusOK, nil); err != nil {
		b.Fatal(err)
	}
	rs := store.(retune.RetrainStore)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ds, err := rs.Decisions(ctx, "fo")
		if err != nil {
			b.Fatal(err)
		}
		if len(ds) > 0 && decided == 0 {
			decided = time.Since(start)
		}
		raw, _ := os.ReadFile(events)
		if n := strings.Count(string(raw), `"run":"serve/fo"`); n > 0 {
			delivered = time.Since(start)
			time.Sleep(2 * ttl) // more passes of the new leader: nothing twice
			ds, _ = rs.Decisions(ctx, "fo")
			raw, _ = os.ReadFile(events)
			if len(ds) != 1 || strings.Count(string(raw), `"run":"serve/fo"`) != 1 {
				b.Fatalf("%d decisions and %d deliveries, want exactly one each", len(ds), strings.Count(string(raw), `"run":"serve/fo"`))
			}
			return decided, delivered
		}
		if time.Now().After(deadline) {
			b.Fatalf("no delivered decision within 60s of the failover (decisions: %d)", len(ds))
		}
	}
}

// scrapeLeader reports whether the replica at base says it leads.
func scrapeLeader(base, token string) bool {
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(body), "\nretune_leader 1\n")
}
