package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/server"
	"github.com/a6b40afc/retune/storage/sqlite"
	"github.com/chromedp/chromedp"
)

// BenchmarkDashboardStudyPage: a study of 100,000 trials (RETUNE_BENCH_TRIALS changes
// it) in SQLite, written through the storage by the fixture below (kept between runs
// under the temporary directory); a warm server and browser; each iteration navigates to
// the study page and waits for its data-ready mark (every chart drawn). It reports the
// median and the slowest page and the largest response the page loaded.
//
//	go test ./server -run XXX -bench DashboardStudyPage -benchtime 5x
func BenchmarkDashboardStudyPage(b *testing.B) {
	n := 100_000
	if v := os.Getenv("RETUNE_BENCH_TRIALS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("RETUNE_BENCH_TRIALS=%q: want a number of trials", v)
		}
	}
	ctx := tab(b)
	path := dashboardFixture(b, n)
	store, err := sqlite.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	_, tok, err := server.NewToken(context.Background(), retune.TokenStore(store), fmt.Sprintf("bench-%d", time.Now().UnixNano()), server.ScopeRead, "", time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(server.Options{Storage: store, Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer func() {
		_ = chromedp.Run(ctx, chromedp.Navigate("about:blank")) // ends the page's event stream
		hs.Close()
	}()
	ticket, err := server.NewLoginTicket(context.Background(), retune.SessionStore(store), tok.ID)
	if err != nil {
		b.Fatal(err)
	}
	page := hs.URL + "/studies/big"
	visit := func() time.Duration {
		start := time.Now()
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := chromedp.Run(wctx, chromedp.Navigate(page), chromedp.WaitVisible(`body[data-ready]`, chromedp.ByQuery)); err != nil {
			b.Fatalf("waiting for the study page: %v", err)
		}
		d := time.Since(start)
		var mark string
		if err := chromedp.Run(ctx, chromedp.AttributeValue(`body`, "data-ready", &mark, nil, chromedp.ByQuery)); err != nil || mark != "true" {
			b.Fatalf("the study page marked data-ready=%q (%v)", mark, err)
		}
		return d
	}
	// Warm up: log in, and let the server read the study once (its chart cache) and
	// compute its importance.
	start := time.Now()
	if err := chromedp.Run(ctx, chromedp.Navigate(hs.URL+"/login?ticket="+ticket)); err != nil {
		b.Fatal(err)
	}
	cold := visit()
	b.Logf("%d trials: first (cold) page %v, login included %v", n, cold.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	visit()
	b.ResetTimer()
	var times []float64
	var largest float64
	for range b.N {
		d := visit()
		times = append(times, float64(d.Milliseconds()))
		var bytes float64
		if err := chromedp.Run(ctx, chromedp.Evaluate(`Math.max(...performance.getEntriesByType("resource").map(e => e.decodedBodySize), 0)`, &bytes)); err != nil {
			b.Fatal(err)
		}
		largest = math.Max(largest, bytes)
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(times[len(times)/2], "ms/median-page")
	b.ReportMetric(times[len(times)-1], "ms/slowest-page")
	b.ReportMetric(largest, "B/largest-response")
	b.ReportMetric(0, "ns/op")
}

// dashboardFixture returns a SQLite file with the study "big" of n trials: 3 params,
// 88% COMPLETE, 10% PRUNED (5 steps reported), 2% FAIL, 8 workers. Made once per n and
// kept under the temporary directory; each run works on a copy.
func dashboardFixture(b *testing.B, n int) string {
	b.Helper()
	keep := filepath.Join(os.TempDir(), fmt.Sprintf("retune-dashboard-fixture-v1-%d.db", n))
	if _, err := os.Stat(keep); err != nil {
		b.Logf("writing the fixture %s (%d trials; once)", keep, n)
		tmp := keep + ".tmp"
		os.Remove(tmp)
		if err := writeFixture(tmp, n); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, keep); err != nil {
			b.Fatal(err)
		}
	}
	dst := filepath.Join(b.TempDir(), "big.db")
	src, err := os.ReadFile(keep)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(dst, src, 0o644); err != nil {
		b.Fatal(err)
	}
	return dst
}

func writeFixture(path string, n int) error {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer store.Close()
	def := []byte(`{"version":1,"name":"big","objectives":[{"metric":"loss","direction":"minimize"}],"params":{` +
		`"lr":{"type":"float","low":0.0001,"high":0.1,"log":true},"layers":{"type":"int","low":1,"high":8},` +
		`"opt":{"type":"categorical","choices":["adam","sgd","rmsprop"]}},"sampler":{"name":"random"}}`)
	rec, err := store.CreateStudy(ctx, retune.StudyRecord{Name: "big", Directions: []retune.Direction{retune.Minimize}, Metrics: []string{"loss"},
		Sampler: retune.Spec{Name: "random"}, Definition: def})
	if err != nil {
		return err
	}
	dists := map[string]retune.Distribution{
		"lr":     retune.FloatDistribution{Low: 1e-4, High: 0.1, Log: true},
		"layers": retune.IntDistribution{Low: 1, High: 8},
		"opt":    retune.CategoricalDistribution{Choices: []any{"adam", "sgd", "rmsprop"}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var reporter retune.BatchReporter = store
	for i := range n {
		ft, err := store.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: rec.ID, Kind: retune.KindSearch, Holder: fmt.Sprintf("worker-%d", i%8), LeaseTTL: time.Hour})
		if err != nil {
			return err
		}
		lr, layers, opt := math.Exp(math.Log(1e-4)+rng.Float64()*math.Log(1e3)), int64(1+rng.IntN(8)), []string{"adam", "sgd", "rmsprop"}[rng.IntN(3)]
		loss := math.Pow(math.Log10(lr)+2.5, 2) + 0.1*math.Abs(float64(layers)-4) + rng.NormFloat64()*0.05
		if opt == "sgd" {
			loss += 0.3
		}
		ref := retune.TrialRef{StudyID: rec.ID, Number: ft.Number, Epoch: ft.Lease.Epoch}
		req := retune.FinishRequest{Ref: ref, State: retune.TrialComplete, Values: []float64{loss},
			Params: map[string]any{"lr": lr, "layers": layers, "opt": opt}, Distributions: dists}
		switch r := rng.IntN(100); {
		case r < 10:
			steps := make([]retune.StepValues, 5)
			for s := range steps {
				steps[s] = retune.StepValues{Step: int64(s + 1), Values: []float64{loss + 1/float64(s+1)}}
			}
			if err := reporter.ReportMany(ctx, ref, steps); err != nil {
				return err
			}
			req.State, req.Values = retune.TrialPruned, nil
		case r < 12:
			req.State, req.Values, req.Reason = retune.TrialFail, nil, "diverged"
		}
		if _, err := store.Finish(ctx, req); err != nil {
			return err
		}
	}
	return nil
}
