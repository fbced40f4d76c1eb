package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pareto"
	"github.com/a6b40afc/retune/retrain"
	"github.com/a6b40afc/retune/server"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The dashboard in a real browser: Debian's Chromium, headless, driven over CDP. One
// browser serves the whole package (a tab per test); TestMain closes it.

var chrome struct {
	once   sync.Once
	ctx    context.Context // the browser's
	cancel func()
	err    error
}

// closeChrome ends the browser, if one was started.
func closeChrome() {
	if chrome.cancel != nil {
		chrome.cancel()
	}
}

// tab opens a browser tab for t, or skips t when Chromium is not installed.
func tab(t testing.TB) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("Chromium is not installed (apt-get install chromium): the dashboard's browser tests need it")
	}
	chrome.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
			chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
			chromedp.WindowSize(1280, 800))
		if os.Geteuid() == 0 {
			opts = append(opts, chromedp.NoSandbox)
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		chrome.ctx, chrome.cancel = bctx, func() { bcancel(); acancel() }
		chrome.err = chromedp.Run(bctx) // starts the browser
	})
	if chrome.err != nil {
		t.Fatalf("starting Chromium: %v", chrome.err)
	}
	ctx, cancel := chromedp.NewContext(chrome.ctx)
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelT(); cancel() })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// pageWatch collects a tab's console errors, exceptions and failed requests.
type pageWatch struct {
	mu       sync.Mutex
	problems []string
}

func watch(ctx context.Context) *pageWatch {
	w := &pageWatch{}
	chromedp.ListenTarget(ctx, func(ev any) {
		var p string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				p = "console error: " + strings.Join(args, " ")
			}
		case *runtime.EventExceptionThrown:
			p = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				p += " " + ev.ExceptionDetails.Exception.Description
			}
		case *network.EventLoadingFailed:
			if !ev.Canceled {
				p = "request failed: " + ev.ErrorText
			}
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 {
				p = fmt.Sprintf("%d for %s", ev.Response.Status, ev.Response.URL)
			}
		}
		if p != "" {
			w.mu.Lock()
			w.problems = append(w.problems, p)
			w.mu.Unlock()
		}
	})
	return w
}

// take returns and clears the problems seen so far.
func (w *pageWatch) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.problems
	w.problems = nil
	return p
}

var shotsOnce sync.Once

// shotDir is where the tests save screenshots ($RETUNE_SCREENSHOTS, or a fixed folder
// under the temporary directory), printed once per run.
func shotDir(t *testing.T) string {
	dir := os.Getenv("RETUNE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "retune-dashboard-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shotsOnce.Do(func() { fmt.Fprintf(os.Stderr, "dashboard screenshots: %s\n", dir) })
	return dir
}

// axeSource is axe-core, vendored for the tests only (scripts/vendor-ui.sh).
var axeSource = sync.OnceValues(func() ([]byte, error) { return os.ReadFile("testdata/vendor/axe-core/axe.min.js") })

// checkPage is every page's check, on the page the tab shows: no console errors or failed
// requests, no serious or critical axe-core violations, a focus that shows, no sideways
// scrolling at 390 px, and screenshots at 1280×800 and 390×844 named name.
func checkPage(t *testing.T, ctx context.Context, w *pageWatch, name string) {
	t.Helper()
	defer func(start time.Time) { t.Logf("checked %s in %v", name, time.Since(start).Round(time.Millisecond)) }(time.Now())
	for _, p := range w.take() {
		t.Errorf("%s: %s", name, p)
	}
	src, err := axeSource()
	if err != nil {
		t.Fatal(err)
	}
	var violations []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	}
	await := func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
	if err := chromedp.Run(ctx,
		chromedp.Evaluate(string(src), nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical"))`, &violations, await),
	); err != nil {
		t.Fatalf("%s: axe-core: %v", name, err)
	}
	for _, v := range violations {
		t.Errorf("%s: accessibility: %s (%s): %s at %v", name, v.ID, v.Impact, v.Help, v.Nodes)
	}
	// The first Tab lands on the skip link, and its focus is drawn.
	var outline string
	if err := chromedp.Run(ctx,
		chromedp.KeyEvent("\t"),
		chromedp.Evaluate(`(() => { const a = document.activeElement; return a && a.tagName !== "BODY" ? getComputedStyle(a).outlineStyle : "none"; })()`, &outline),
	); err != nil {
		t.Fatal(err)
	}
	if outline == "none" || outline == "" {
		t.Errorf("%s: the focused element has no visible outline", name)
	}
	dir := shotDir(t)
	var wide, narrow []byte
	var overflow bool
	// After a resize the charts redraw to their boxes (app.js, debounced): wait for the
	// page to take the width, then for nothing to stick out.
	settle := func(width int64) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			if err := chromedp.EmulateViewport(width, 800).Do(ctx); err != nil {
				return err
			}
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			err := chromedp.Poll(fmt.Sprintf(`(!document.getElementById("study") && !document.getElementById("chart-curve")) || document.body.dataset.width === "%d"`, width), nil).Do(pctx)
			if err != nil && ctx.Err() == nil {
				return nil // a page without charts has nothing to redraw
			}
			return err
		})
	}
	if err := chromedp.Run(ctx,
		chromedp.Evaluate(`document.activeElement && document.activeElement.blur()`, nil),
		settle(1280), chromedp.FullScreenshot(&wide, 100),
		settle(390),
		chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow),
		chromedp.FullScreenshot(&narrow, 100),
		settle(1280),
	); err != nil {
		t.Fatal(err)
	}
	if overflow {
		t.Errorf("%s: the page scrolls sideways at 390 px wide", name)
	}
	for suffix, b := range map[string][]byte{"1280": wide, "390": narrow} {
		if err := os.WriteFile(filepath.Join(dir, name+"-"+suffix+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// ready waits until the page marked body[data-ready] (its charts drew) and fails on an
// error mark.
func ready(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var mark string
	if err := chromedp.Run(ctx, chromedp.WaitVisible(`body[data-ready]`, chromedp.ByQuery),
		chromedp.AttributeValue(`body`, "data-ready", &mark, nil, chromedp.ByQuery)); err != nil {
		t.Fatalf("%s: waiting for data-ready: %v", name, err)
	}
	if mark != "true" {
		t.Fatalf("%s: data-ready = %q", name, mark)
	}
}

// points reads the data-points of the element sel (how many points its chart drew).
func points(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	var v string
	var ok bool
	if err := chromedp.Run(ctx, chromedp.AttributeValue(sel, "data-points", &v, &ok, chromedp.ByQuery)); err != nil {
		t.Fatalf("data-points of %s: %v", sel, err)
	}
	return v
}

// TestDashboardBrowser: log in by ticket; every page loads without errors, passes
// axe-core and keyboard checks, and is captured; each chart draws the points of a known
// study; a trial told through the API appears on the open study page; the controls work
// end to end and fail without their scope or CSRF token; logout.
func TestDashboardBrowser(t *testing.T) {
	ctx := tab(t)
	e := newEnv(t, func(o *server.Options) { o.LeaseTTL = time.Hour })            // trial 13 stays RUNNING
	t.Cleanup(func() { _ = chromedp.Run(ctx, chromedp.Navigate("about:blank")) }) // before the server closes: no stream left open
	e.createStudy("browser", 0)
	// 10 COMPLETE trials with 3 reported steps each, 2 PRUNED at step 2, 1 FAIL, 1 RUNNING.
	steps := 0
	for i := range 14 {
		a := e.ask("browser")
		base := "/api/v1/studies/browser/trials/" + itoa(a.Number)
		n := 3
		if i >= 10 {
			n = 2
		}
		for st := 1; st <= n && i < 13; st++ {
			if r := e.do("run", "POST", base+"/report", map[string]any{"epoch": a.Epoch, "step": st, "values": []float64{float64(20 - i - st)}}); r.status != 200 {
				t.Fatalf("report: %d %s", r.status, r.body)
			}
			steps++
		}
		var tell map[string]any
		switch {
		case i < 10:
			tell = map[string]any{"epoch": a.Epoch, "state": "COMPLETE", "values": []float64{float64((i * 7) % 10)}}
		case i < 12:
			tell = map[string]any{"epoch": a.Epoch, "state": "PRUNED"}
		case i == 12:
			tell = map[string]any{"epoch": a.Epoch, "state": "FAIL", "reason": "out of memory"}
		}
		if tell != nil {
			if r := e.do("run", "POST", base+"/tell", tell); r.status != 200 {
				t.Fatalf("tell: %d %s", r.status, r.body)
			}
		}
	}
	w := watch(ctx)
	rec, err := e.store.Study(context.Background(), "browser")
	if err != nil {
		t.Fatal(err)
	}
	var runID, readID, adminID int64
	toks, _ := e.store.(retune.TokenStore).Tokens(context.Background())
	for _, tk := range toks {
		switch {
		case strings.HasPrefix(tk.Name, "run-TestDashboardBrowser"):
			runID = tk.ID
		case strings.HasPrefix(tk.Name, "read-TestDashboardBrowser"):
			readID = tk.ID
		case strings.HasPrefix(tk.Name, "admin-TestDashboardBrowser"):
			adminID = tk.ID
		}
	}
	ticket, err := server.NewLoginTicket(context.Background(), e.store.(retune.SessionStore), runID)
	if err != nil {
		t.Fatal(err)
	}
	var url string
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/login?ticket="+ticket), chromedp.WaitVisible("#studies", chromedp.ByQuery), chromedp.Location(&url)); err != nil {
		t.Fatal(err)
	}
	if url != e.srv.URL+"/studies" {
		t.Errorf("after the ticket the browser is at %s, want /studies (the ticket out of the address bar)", url)
	}
	checkPage(t, ctx, w, "studies")

	// The study page and its charts: 10 complete trials, 3 params, 13 trials with curves.
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/studies/browser")); err != nil {
		t.Fatal(err)
	}
	ready(t, ctx, "study")
	for sel, want := range map[string]string{
		"#chart-history": "10", "#chart-ecdf": "10", "#chart-curves": fmt.Sprint(steps), "#importance": "3",
		`.slice[data-param="lr"]`: "10", `.slice[data-param="layers"]`: "10", `.slice[data-param="opt"]`: "10",
	} {
		if got := points(t, ctx, sel); got != want {
			t.Errorf("%s drew %s points, want %s", sel, got, want)
		}
	}
	for sel, want := range map[string]string{"#chart-parallel": "10", "#chart-timeline": "13"} {
		if got := points(t, ctx, sel); got != want {
			t.Errorf("%s drew %s marks, want %s", sel, got, want)
		}
	}
	if got := points(t, ctx, "#chart-contour"); got == "" || got == "0" {
		t.Errorf("the contour drew %q cells, want some", got)
	}
	var canvases int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll(".chart canvas").length`, &canvases)); err != nil {
		t.Fatal(err)
	}
	if canvases != 6 {
		t.Errorf("%d chart canvases on the study page, want 6 (history, distribution, curves, 3 slices)", canvases)
	}
	checkPage(t, ctx, w, "study")

	// A study of two objectives: its Pareto front.
	mo := definition("mo", 0)
	mo["objectives"] = []any{map[string]any{"metric": "loss", "direction": "minimize"}, map[string]any{"metric": "acc", "direction": "maximize"}}
	if r := e.do("admin", "POST", "/api/v1/studies", map[string]any{"definition": mo}); r.status != 201 {
		t.Fatalf("create mo: %d %s", r.status, r.body)
	}
	var pts [][]float64
	for i := range 12 {
		a := e.ask("mo")
		v := []float64{float64(i % 5), float64((i * 3) % 7)}
		pts = append(pts, v)
		if r := e.do("run", "POST", "/api/v1/studies/mo/trials/"+itoa(a.Number)+"/tell", map[string]any{"epoch": a.Epoch, "values": v}); r.status != 200 {
			t.Fatalf("tell mo: %d %s", r.status, r.body)
		}
	}
	front := len(pareto.NonDominated([]retune.Direction{retune.Minimize, retune.Maximize}, pts))
	var frontDrawn string
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/studies/mo")); err != nil {
		t.Fatal(err)
	}
	ready(t, ctx, "study mo")
	if err := chromedp.Run(ctx, chromedp.AttributeValue(`.pareto`, "data-front", &frontDrawn, nil, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if got := points(t, ctx, ".pareto"); got != "12" || frontDrawn != fmt.Sprint(front) {
		t.Errorf("the Pareto chart drew %s points, %s on the front; want 12 and %d", got, frontDrawn, front)
	}
	checkPage(t, ctx, w, "study-pareto")
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/studies/browser")); err != nil {
		t.Fatal(err)
	}
	ready(t, ctx, "study")

	// Live: a trial told through the API appears on the open page.
	if err := chromedp.Run(ctx, chromedp.WaitVisible(`body[data-live]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	a := e.ask("browser")
	start := time.Now()
	if r := e.do("run", "POST", "/api/v1/studies/browser/trials/"+itoa(a.Number)+"/tell", map[string]any{"epoch": a.Epoch, "state": "COMPLETE", "values": []float64{0.5}}); r.status != 200 {
		t.Fatalf("tell: %d %s", r.status, r.body)
	}
	row := fmt.Sprintf(`#recent tr[data-number="%d"] .st.COMPLETE`, a.Number)
	if err := chromedp.Run(ctx, chromedp.WaitVisible(row, chromedp.ByQuery)); err != nil {
		t.Fatalf("the trial told through the API never appeared on the open study page: %v", err)
	}
	t.Logf("a trial told through the API appeared on the open study page after %v", time.Since(start).Round(time.Millisecond))
	if err := chromedp.Run(ctx, chromedp.Poll(`document.getElementById("chart-history").dataset.points === "11"`, nil, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Errorf("the history chart did not redraw with 11 points: %v", err)
	}

	// The trials table and a trial page.
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/studies/browser/trials?sort=value:0"), chromedp.WaitVisible("#trials", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, w, "trials")
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/studies/browser/trials/2")); err != nil {
		t.Fatal(err)
	}
	ready(t, ctx, "trial")
	if got := points(t, ctx, "#chart-curve"); got != "3" {
		t.Errorf("trial 2's curve drew %s points, want 3", got)
	}
	checkPage(t, ctx, w, "trial")

	// Stop the running trial (13): its page offers Stop…, which asks first.
	running := fmt.Sprintf("%s/studies/browser/trials/13", e.srv.URL)
	if err := chromedp.Run(ctx, chromedp.Navigate(running), chromedp.Click(`a[href$="/13/stop"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`form.confirm`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, w, "confirm-stop")
	// Without its CSRF token the form is refused.
	var title string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelector('form.confirm input[name=csrf]').value = "forged"`, nil),
		chromedp.Click(`form.confirm button`, chromedp.ByQuery), chromedp.WaitVisible(`p.error`, chromedp.ByQuery), chromedp.Text(`h1`, &title, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(title, "403") {
		t.Errorf("stop with a forged CSRF token: page %q, want 403", title)
	}
	w.take() // the 403 was the point
	if err := chromedp.Run(ctx, chromedp.Navigate(running+"/stop"), chromedp.Click(`form.confirm button`, chromedp.ByQuery),
		chromedp.WaitVisible(`h1 .st`, chromedp.ByQuery), chromedp.Location(&url)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(url, "/trials/13?done=stop") {
		t.Errorf("after the stop the browser is at %s", url)
	}
	if ft, err := e.store.Trial(context.Background(), rec.ID, 13); err != nil || !ft.StopRequested() {
		t.Errorf("trial 13 after the stop in the browser: stop requested %v (%v), want true", ft.StopRequested(), err)
	}

	// Enqueue through the generated form: a value outside the distribution is refused by
	// the browser's own validation first; a good one is confirmed, then stored.
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/studies/browser/enqueue"), chromedp.WaitVisible(`form.enqueue`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, w, "enqueue")
	if err := chromedp.Run(ctx, chromedp.SetValue(`input[name="p.lr"]`, "0.02", chromedp.ByQuery), chromedp.SetValue(`select[name="p.opt"]`, "adam", chromedp.ByQuery),
		chromedp.Click(`form.enqueue button`, chromedp.ByQuery), chromedp.WaitVisible(`#confirm-enqueue`, chromedp.ByQuery),
		chromedp.Click(`#confirm-enqueue button`, chromedp.ByQuery), chromedp.WaitVisible(`h1 .st.WAITING`, chromedp.ByQuery)); err != nil {
		t.Fatalf("enqueue in the browser: %v", err)
	}
	if got := e.ask("browser"); got.Params["lr"] != 0.02 || got.Params["opt"] != "adam" {
		t.Errorf("the trial enqueued in the browser was asked with %v, want lr 0.02 and opt adam", got.Params)
	}

	// Retry the failed trial (12).
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/studies/browser/trials/12/retry"), chromedp.Click(`form.confirm button`, chromedp.ByQuery),
		chromedp.WaitVisible(`h1 .st.WAITING`, chromedp.ByQuery)); err != nil {
		t.Fatalf("retry in the browser: %v", err)
	}
	for _, p := range w.take() {
		t.Errorf("controls: %s", p)
	}

	// Logout: back to the login page, and the pages are closed.
	if err := chromedp.Run(ctx, chromedp.Click(`.who button`, chromedp.ByQuery), chromedp.WaitVisible(`form.login`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, w, "login")
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/studies/browser"), chromedp.WaitVisible(`form.login`, chromedp.ByQuery)); err != nil {
		t.Errorf("a page after logout did not lead to the login form: %v", err)
	}

	// A read session sees no controls and is refused them.
	ticket, err = server.NewLoginTicket(context.Background(), e.store.(retune.SessionStore), readID)
	if err != nil {
		t.Fatal(err)
	}
	var stopLinks int
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/login?ticket="+ticket+"&next=/studies/browser/trials/13"), chromedp.WaitVisible(`body[data-ready]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('a[href$="/stop"], a[href$="/retry"]').length`, &stopLinks),
		chromedp.Navigate(running+"/stop"), chromedp.WaitVisible(`p.error`, chromedp.ByQuery), chromedp.Text(`h1`, &title, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if stopLinks != 0 || !strings.Contains(title, "403") {
		t.Errorf("read session: %d control links, stop page %q; want none and 403", stopLinks, title)
	}
	w.take()

	// The model page: a champion, a decision with paired evidence, its promotion; the
	// events page: an event with a delivery to a disabled notifier, redelivered and enabled.
	rs := e.store.(retrain.Store)
	bg := context.Background()
	if _, err := retrain.SetChampion(bg, rs, "browser", map[string]any{"lr": 0.01}, []float64{3}, nil); err != nil {
		t.Fatal(err)
	}
	lb := 0.4
	d, err := rs.RecordDecision(bg, retune.Decision{Model: "browser", Study: "browser", RunID: "r1", ChampionVersion: 1, Candidate: 6, Improved: true,
		Reason: "candidate better by 0.9 (lower bound 0.4 > margin 0.1)", Evidence: retune.Evidence{Method: "paired", Analysis: "paired", Direction: "minimize",
			Candidate: []float64{2, 2.1, 1.9}, Champion: []float64{3, 2.9, 3.1}, Repeats: 3, Differences: []float64{1, 0.8, 1.2}, Improvement: 1, LowerBound: &lb,
			Level: 0.95, Margin: 0.1, Guardrails: []retune.GuardrailResult{{Metric: "latency", Candidate: 10, Champion: 11, Regression: -0.09, MaxRegression: 0.1, OK: true}},
			Notify: []string{"hook"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.(retune.DeliveryStore).AppendEvents(bg, []retune.Event{{ID: "ev-browser", Type: retune.TypeStudyCompleted, Source: "retune/test",
		Time: time.Now(), Data: []byte(`{"study":"browser"}`), Notify: []string{"hook"}}}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("admin", "POST", "/api/v1/notifiers/hook/disable", map[string]any{"reason": "receiver down"}); r.status != 204 {
		t.Fatalf("disable notifier: %d %s", r.status, r.body)
	}
	ticket, err = server.NewLoginTicket(bg, e.store.(retune.SessionStore), adminID)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/login?ticket="+ticket+"&next=/models/browser"), chromedp.WaitVisible(`svg.evidence`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, w, "model")
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	if err := chromedp.Run(sctx, chromedp.Click(fmt.Sprintf(`a[href$="/decisions/%d/promote"]`, d.ID), chromedp.ByQuery), chromedp.WaitVisible(`form.confirm`, chromedp.ByQuery),
		chromedp.Click(`form.confirm button`, chromedp.ByQuery), chromedp.WaitVisible(`#lineage`, chromedp.ByQuery), chromedp.Location(&url)); err != nil {
		var h1 string
		_ = chromedp.Run(ctx, chromedp.Location(&url), chromedp.Text(`main`, &h1, chromedp.ByQuery))
		t.Fatalf("promote in the browser: %v (at %s: %.300s)", err, url, h1)
	}
	cancel()
	if ch, err := rs.Champion(bg, "browser"); err != nil || ch.Version != 2 || ch.Decision != d.ID {
		t.Errorf("champion after the promotion in the browser = %+v, %v; want version 2 from decision %d", ch, err, d.ID)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/events"), chromedp.WaitVisible(`#events`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, w, "events")
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/agents"), chromedp.WaitVisible(`h1`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, w, "agents")
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/events"), chromedp.WaitVisible(`#events`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, chromedp.Click(`a[href="/notifiers/hook/enable"]`, chromedp.ByQuery), chromedp.WaitVisible(`form.confirm`, chromedp.ByQuery),
		chromedp.Click(`form.confirm button`, chromedp.ByQuery), chromedp.WaitVisible(`#events`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	var enableLinks int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll('a[href="/notifiers/hook/enable"]').length`, &enableLinks)); err != nil || enableLinks != 0 {
		t.Errorf("the notifier still offers Enable… after it was enabled (%d, %v)", enableLinks, err)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(e.srv.URL+"/events/ev-browser"), chromedp.WaitVisible(`a[href$="/redeliver"]`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, w, "event")
	if err := chromedp.Run(ctx, chromedp.Click(`a[href$="/redeliver"]`, chromedp.ByQuery), chromedp.WaitVisible(`form.confirm`, chromedp.ByQuery),
		chromedp.Click(`form.confirm button`, chromedp.ByQuery), chromedp.WaitVisible(`a[href$="/redeliver"]`, chromedp.ByQuery), chromedp.Location(&url)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(url, "done=redeliver") {
		t.Errorf("after redelivering the browser is at %s", url)
	}
	for _, p := range w.take() {
		t.Errorf("model and events: %s", p)
	}
}
