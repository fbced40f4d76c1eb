package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench"
	"github.com/a6b40afc/retune/server"
	"github.com/a6b40afc/retune/storage/postgres"
	"github.com/a6b40afc/retune/storage/sqlite"
)

// benchClient talks to a server over real HTTP without the OpenAPI validation of the
// tests' transport, keeping one idle connection per client goroutine.
type benchClient struct {
	base  string
	token string
	hc    *http.Client
}

func newBenchClient(base, token string, conns int) *benchClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 2 * conns
	tr.MaxIdleConnsPerHost = 2 * conns
	return &benchClient{base: base, token: token, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *benchClient) close() { c.hc.Transport.(*http.Transport).CloseIdleConnections() }

// post sends body as JSON and decodes the answer into out when it has want's status.
func (c *benchClient) post(path string, body any, want int, out any, header ...string) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest("POST", c.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	r, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	rb, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if r.StatusCode != want {
		return fmt.Errorf("POST %s: %d %s", path, r.StatusCode, rb)
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// boxDefinition declares space A of bench (x0..x4 floats in [-5, 5]) with sampler.
func boxDefinition(name, sampler string) map[string]any {
	params := map[string]any{}
	for i := range 5 {
		params[fmt.Sprintf("x%d", i)] = map[string]any{"type": "float", "low": -5.0, "high": 5.0}
	}
	return map[string]any{
		"name":       name,
		"objectives": []any{map[string]any{"metric": "loss", "direction": "minimize"}},
		"params":     params,
		"sampler":    map[string]any{"name": sampler},
	}
}

// sphere is the objective of space A: the sum of squares of the params.
func sphere(params map[string]any) float64 {
	var s float64
	for _, v := range params {
		if f, ok := v.(float64); ok {
			s += f * f
		}
	}
	return s
}

// askTell asks a trial of study and tells its sphere value; it returns the ask's round
// trip and the trial's number.
func (c *benchClient) askTell(study string) (time.Duration, int, error) {
	var a asked
	start := time.Now()
	if err := c.post("/api/v1/studies/"+study+"/trials", map[string]any{}, http.StatusCreated, &a); err != nil {
		return 0, 0, err
	}
	d := time.Since(start)
	if len(a.Params) != 5 {
		return 0, 0, fmt.Errorf("ask of %s: params %v, want x0..x4", study, a.Params)
	}
	err := c.post(fmt.Sprintf("/api/v1/studies/%s/trials/%d/tell", study, a.Number),
		map[string]any{"epoch": a.Epoch, "values": []float64{sphere(a.Params)}}, http.StatusOK, nil)
	return d, a.Number, err
}

func loadavg(b testing.TB) string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkTPEAsk times asks 1000..1999 of a TPE study on a declared space of five
// floats, one client over HTTP on loopback, SQLite in a temporary directory; each ask is
// followed by its tell, which is not timed. The first 1000 trials are asked and told
// through the API before the timing starts. Run it with -benchtime=1x -count=3.
func BenchmarkTPEAsk(b *testing.B) {
	const history, timed = 1000, 1000
	var lat []time.Duration
	for b.Loop() {
		b.StopTimer()
		ctx := context.Background()
		store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "retune.db"))
		if err != nil {
			b.Fatal(err)
		}
		admin, _, err := server.NewToken(ctx, retune.TokenStore(store), "admin", server.ScopeAdmin, "", time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		srv, err := server.New(server.Options{Storage: store, Addr: "127.0.0.1:0", LeaseTTL: time.Minute,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		c := newBenchClient(hs.URL, admin, 1)
		if err := c.post("/api/v1/studies", map[string]any{"definition": boxDefinition("tpe", "tpe")}, http.StatusCreated, nil); err != nil {
			b.Fatal(err)
		}
		for range history {
			if _, _, err := c.askTell("tpe"); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("loadavg start %s", loadavg(b))
		lat = lat[:0]
		b.StartTimer()
		for i := range timed {
			d, n, err := c.askTell("tpe")
			if err != nil {
				b.Fatal(err)
			}
			if n != history+i {
				b.Fatalf("asked trial %d, want %d", n, history+i)
			}
			lat = append(lat, d)
		}
		b.StopTimer()
		b.Logf("loadavg end %s", loadavg(b))
		c.close()
		hs.Close()
		store.Close()
		b.StartTimer()
	}
	slices.Sort(lat)
	b.ReportMetric(ms(quantile(lat, 0.50)), "ask-p50-ms")
	b.ReportMetric(ms(quantile(lat, 0.99)), "ask-p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "ask-max-ms")
}

// buildRetune builds cmd/retune into dir and returns the binary's path.
func buildRetune(b testing.TB, dir string) string {
	bin := filepath.Join(dir, "retune")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/a6b40afc/retune/cmd/retune")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serveProcess starts `retune serve` on dsn at a free loopback port and returns its
// API base URL; the process is killed at cleanup.
func serveProcess(b testing.TB, bin, dsn string) (string, *exec.Cmd) {
	return serveProcessCmd(b, exec.Command(bin, "serve", "--db", dsn, "--addr", "127.0.0.1:0"))
}

// serveProcessCmd starts cmd, a `retune serve`, and returns its API base URL.
func serveProcessCmd(b testing.TB, cmd *exec.Cmd) (string, *exec.Cmd) {
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "url="); i >= 0 && strings.Contains(line, "serving") {
			url := strings.Fields(line[i+len("url="):])[0]
			go io.Copy(io.Discard, stderr)
			return strings.TrimSuffix(url, "/api/v1"), cmd
		}
	}
	b.Fatalf("retune serve exited before serving: %v", sc.Err())
	return "", nil
}

// serveThroughput runs n ask+tell rounds of the random sampler on space A through a
// `retune serve` process over a fresh SQLite file with workers client goroutines.
func serveThroughput(b *testing.B, bin string, n, workers int) float64 {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "serve.db")
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	run, _, err := server.NewToken(ctx, retune.TokenStore(store), "run", server.ScopeAdmin, "", time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	store.Close()
	base, cmd := serveProcess(b, bin, path)
	c := newBenchClient(base, run, workers)
	defer c.close()
	if err := c.post("/api/v1/studies", map[string]any{"definition": boxDefinition("rand", "random")}, http.StatusCreated, nil); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if _, _, err := c.askTell("rand"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// Every trial is in the file and finished.
	store, err = sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	rec, err := store.Study(ctx, "rand")
	if err != nil {
		b.Fatal(err)
	}
	ts, err := store.Trials(ctx, rec.ID)
	if err != nil {
		b.Fatal(err)
	}
	done := 0
	for _, t := range ts {
		if t.State == retune.TrialComplete {
			done++
		}
	}
	if len(ts) != n || done != n {
		b.Fatalf("serve: %d trials, %d complete, want %d", len(ts), done, n)
	}
	return float64(n) / elapsed.Seconds()
}

// libThroughput is bench.StorageThroughput on a fresh SQLite file.
func libThroughput(b *testing.B, n, workers int) float64 {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "lib.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	res, err := bench.StorageThroughput(ctx, store, "sqlite", n, workers)
	if err != nil {
		b.Fatal(err)
	}
	if res.N != n || res.TrialsStore != n {
		b.Fatalf("lib: %d started, %d stored, want %d", res.N, res.TrialsStore, n)
	}
	return res.TrialsPerS
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkServeThroughput compares ask+tell through a `retune serve` process (built
// from cmd/retune, SQLite, random sampler, declared space A, 8 client goroutines in this
// process) with the library writing the same kind of SQLite file with 8 workers
// (bench.StorageThroughput), over RETUNE_BENCH_RUNS interleaved runs (default 5) of
// RETUNE_BENCH_N trials (default 5000); it reports the medians and their ratio.
// Run it with -benchtime=1x.
func BenchmarkServeThroughput(b *testing.B) {
	n, runs, workers := 5000, 5, 8
	if v := os.Getenv("RETUNE_BENCH_N"); v != "" {
		fmt.Sscan(v, &n)
	}
	if v := os.Getenv("RETUNE_BENCH_RUNS"); v != "" {
		fmt.Sscan(v, &runs)
	}
	bin := buildRetune(b, b.TempDir())
	var serve, lib []float64
	for b.Loop() {
		for i := range runs {
			la := loadavg(b)
			// Alternate which side goes first.
			var s, l float64
			if i%2 == 0 {
				s = serveThroughput(b, bin, n, workers)
				l = libThroughput(b, n, workers)
			} else {
				l = libThroughput(b, n, workers)
				s = serveThroughput(b, bin, n, workers)
			}
			serve, lib = append(serve, s), append(lib, l)
			b.Logf("run %d: serve %.0f trials/s, lib %.0f trials/s, ratio %.1f%%; loadavg start %s end %s",
				i+1, s, l, 100*s/l, la, loadavg(b))
		}
	}
	b.ReportMetric(median(serve), "serve-trials/s")
	b.ReportMetric(median(lib), "lib-trials/s")
	b.ReportMetric(100*median(serve)/median(lib), "ratio-%")
}

// replicaClient sends each write to its home replica and, when that replica does not
// answer, retries the same request (same Idempotency-Key) on the next one.
type replicaClient struct {
	bases []string
	token string
	hc    *http.Client
	home  int
}

// call posts body with key until a replica answers with something other than a 5xx or a
// request still in progress, and returns that answer.
func (c *replicaClient) call(path string, body any, key string) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	deadline := time.Now().Add(90 * time.Second)
	for attempt := 0; time.Now().Before(deadline); {
		req, err := http.NewRequest("POST", c.bases[(c.home+attempt)%len(c.bases)]+path, bytes.NewReader(b))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Idempotency-Key", key)
		r, err := c.hc.Do(req)
		if err != nil { // the replica is gone: try the next one
			attempt++
			time.Sleep(50 * time.Millisecond)
			continue
		}
		rb, err := io.ReadAll(r.Body)
		r.Body.Close()
		switch {
		case err != nil || r.StatusCode >= 500:
			attempt++
			time.Sleep(50 * time.Millisecond)
		case r.StatusCode == http.StatusConflict && bytes.Contains(rb, []byte("request-in-progress")):
			time.Sleep(500 * time.Millisecond)
		default:
			return r.StatusCode, rb, nil
		}
	}
	return 0, nil, fmt.Errorf("POST %s (key %s): no replica answered", path, key)
}

// BenchmarkServeReplicasPostgres runs 3 `retune serve` replicas on the PostgreSQL
// database of $RETUNE_TEST_POSTGRES and 24 clients spread over them on a study with a
// budget of 500, then checks the trials: 500 complete, numbers dense, none running. With
// RETUNE_BENCH_KILL=1 one replica is killed with SIGKILL after 200 tells; its clients
// retry on the next replica with their Idempotency-Keys. Run it with -benchtime=1x.
func BenchmarkServeReplicasPostgres(b *testing.B) {
	dsn := os.Getenv("RETUNE_TEST_POSTGRES")
	if dsn == "" {
		b.Skip("RETUNE_TEST_POSTGRES is not set")
	}
	kill := os.Getenv("RETUNE_BENCH_KILL") == "1"
	bin := buildRetune(b, b.TempDir())
	for b.Loop() {
		replicaRun(b, bin, dsn, kill)
	}
}

// TestReplicasKill9Postgres: 3 `retune serve` processes on PostgreSQL, 24 clients, a
// budget of 500; one replica is killed with SIGKILL after 200 tells, and its clients go
// on through the others with their Idempotency-Keys. The study ends with exactly 500
// COMPLETE search trials, dense numbers and none RUNNING (asks the dead replica created but
// never answered end FAIL "lease expired": interruptions, which give their places back), and
// every tell is answered: a tell that waited out the dead replica's hold on its key past its
// trial's lease, after the place went to another trial, is kept as a late record.
func TestReplicasKill9Postgres(t *testing.T) {
	t.Parallel()
	dsn := os.Getenv("RETUNE_TEST_POSTGRES")
	switch {
	case dsn == "":
		t.Skip("RETUNE_TEST_POSTGRES is not set")
	case testing.Short():
		t.Skip("-short: no replica processes")
	}
	replicaRun(t, buildRetune(t, t.TempDir()), dsn, true)
}

// replicaRun runs the replicas and clients of BenchmarkServeReplicasPostgres once and
// checks the study.
func replicaRun(b testing.TB, bin, dsn string, kill bool) {
	const replicas, clients, budget, leaseTTL = 3, 24, 500, 5 * time.Second
	ctx := context.Background()
	la := loadavg(b)
	id := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	store, err := postgres.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := server.NewToken(ctx, store, id, server.ScopeAdmin, "", time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	var bases []string
	var procs []*exec.Cmd
	for range replicas {
		cmd := exec.Command(bin, "serve", "--db", dsn, "--addr", "127.0.0.1:0", "--lease-ttl", leaseTTL.String(), "--idempotency-lock", "5s")
		base, cmd := serveProcessCmd(b, cmd)
		bases, procs = append(bases, base), append(procs, cmd)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = clients
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	def := boxDefinition(id, "random")
	def["budget"] = map[string]any{"trials": budget}
	admin := &replicaClient{bases: bases, token: token, hc: hc}
	if st, rb, err := admin.call("/api/v1/studies", map[string]any{"definition": def}, id+"-create"); err != nil || st != http.StatusCreated {
		b.Fatalf("create: %d %s %v", st, rb, err)
	}
	var told, failedTells atomic.Int64
	var killed atomic.Bool
	var lastTell atomic.Int64 // time from start to the last tell
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	start := time.Now()
	for i := range clients {
		c := &replicaClient{bases: bases, token: token, hc: hc, home: i % replicas}
		wg.Go(func() {
			var exhausted time.Time
			for seq := 0; ; seq++ {
				key := fmt.Sprintf("%s-c%d-%d", id, i, seq)
				st, rb, err := c.call("/api/v1/studies/"+id+"/trials", map[string]any{}, key+"-ask")
				if err != nil {
					errs <- err
					return
				}
				if st == http.StatusConflict && bytes.Contains(rb, []byte("budget-exhausted")) {
					// Drain: a trial whose lease expires gives its place back.
					if exhausted.IsZero() {
						exhausted = time.Now()
					}
					if time.Since(exhausted) > leaseTTL+3*time.Second {
						return
					}
					time.Sleep(500 * time.Millisecond)
					continue
				}
				exhausted = time.Time{}
				if st != http.StatusCreated {
					errs <- fmt.Errorf("ask: %d %s", st, rb)
					return
				}
				var a asked
				if err := json.Unmarshal(rb, &a); err != nil {
					errs <- err
					return
				}
				st, rb, err = c.call(fmt.Sprintf("/api/v1/studies/%s/trials/%d/tell", id, a.Number),
					map[string]any{"epoch": a.Epoch, "values": []float64{sphere(a.Params)}}, key+"-tell")
				if err != nil {
					errs <- err
					return
				}
				if st != http.StatusOK {
					failedTells.Add(1)
					b.Logf("tell %d: %d %s", a.Number, st, rb)
					continue
				}
				n := told.Add(1)
				if n == budget {
					lastTell.Store(int64(time.Since(start)))
				}
				if n == 200 && kill && killed.CompareAndSwap(false, true) {
					procs[0].Process.Kill()
					b.Logf("killed replica 0 (%s) after 200 tells, %.1fs in", bases[0], time.Since(start).Seconds())
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Error(err)
	}
	rec, err := store.Study(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	ts, err := store.Trials(ctx, rec.ID)
	if err != nil {
		b.Fatal(err)
	}
	states := map[retune.TrialState]int{}
	dense := true
	late := 0 // results told after their trial's lease expired and its place was taken (late.go)
	for i, t := range ts {
		if of, ok := t.LateOf(); ok {
			late++
			if of < 0 || of >= len(ts) || !ts[of].Interrupted() || t.State != retune.TrialComplete {
				b.Errorf("late record %d (%s) of trial %d: want a COMPLETE result of an interrupted trial", t.Number, t.State, of)
			}
			if t.Number != i {
				dense = false
			}
			continue
		}
		states[t.State]++
		if t.State != retune.TrialComplete {
			b.Logf("trial %d: %s %s", t.Number, t.State, t.Reason)
			if !t.Interrupted() {
				b.Errorf("trial %d is %s (%s): only interruptions may end otherwise than COMPLETE", t.Number, t.State, t.Reason)
			}
		}
		if t.Number != i {
			dense = false
		}
	}
	b.Logf("study %s: %d tells answered 200, %d tells refused, %d trials stored, by state %v and %d late records, numbers dense %v, last tell at %.1fs (%.0f trials/s), all clients done at %.1fs; loadavg start %s end %s",
		id, told.Load(), failedTells.Load(), len(ts), states, late, dense, time.Duration(lastTell.Load()).Seconds(),
		float64(told.Load())/time.Duration(lastTell.Load()).Seconds(), elapsed.Seconds(), la, loadavg(b))
	// Every tell is answered 200: budget outcomes, plus late records for tells that arrived
	// after their trial's lease expired (a tell stuck behind a killed replica's key lock)
	// and its place went to another trial.
	if states[retune.TrialComplete] != budget || states[retune.TrialRunning] != 0 || !dense || told.Load() != int64(budget+late) || failedTells.Load() != 0 {
		b.Errorf("want %d complete search trials, none running, dense numbers, every tell answered (%d + %d late)", budget, budget, late)
	}
	for _, p := range procs {
		p.Process.Kill()
		p.Wait()
	}
	tr.CloseIdleConnections()
	store.Close()
}
