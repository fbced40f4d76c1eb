package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain"
	"github.com/a6b40afc/retune/server"
)

// browser is an HTTP client with a cookie jar that does not follow redirects, as a
// person's browser on the dashboard (without JavaScript).
type browser struct {
	t *testing.T
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{t: e.t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches path; header pairs are added.
func (b *browser) get(path string, header ...string) (int, http.Header, string) {
	b.t.Helper()
	return b.send("GET", path, nil, header...)
}

// post sends a form to path from this origin.
func (b *browser) post(path string, form url.Values, header ...string) (int, http.Header, string) {
	b.t.Helper()
	return b.send("POST", path, form, append([]string{"Origin", b.e.srv.URL, "Sec-Fetch-Site", "same-origin"}, header...)...)
}

func (b *browser) send(method, path string, form url.Values, header ...string) (int, http.Header, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	r, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer r.Body.Close()
	out, err := io.ReadAll(r.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return r.StatusCode, r.Header, string(out)
}

// login logs in with the token named tok through the login form.
func (b *browser) login(tok string) {
	b.t.Helper()
	st, h, body := b.post("/login", url.Values{"token": {b.e.tokens[tok]}, "next": {"/studies"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/studies" {
		b.t.Fatalf("login as %s: %d %s %s", tok, st, h.Get("Location"), body)
	}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token of the forms on path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	st, _, body := b.get(path)
	m := csrfRE.FindStringSubmatch(body)
	if st != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: %d, no CSRF token in %.300s", path, st, body)
	}
	return m[1]
}

// TestDashboardLogin: the login form and one-time tickets open sessions whose cookie is
// HttpOnly and SameSite=Strict; the cookie opens the dashboard only, bearer tokens open
// the API only; logout, revocation and a used ticket end access; redirects stay on the
// server; tickets never reach the log.
func TestDashboardLogin(t *testing.T) {
	e := newEnv(t, nil)
	e.createStudy("dash", 0)
	anon := e.browser()
	if st, h, _ := anon.get("/studies/dash"); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login?next=") {
		t.Fatalf("GET a page without a session = %d %q, want a redirect to the login page", st, h.Get("Location"))
	}
	if st, _, _ := anon.get("/studies", "Authorization", "Bearer "+e.tokens["admin"]); st != http.StatusSeeOther {
		t.Errorf("a bearer token on a dashboard page = %d, want 303 to the login page: the pages take sessions only", st)
	}
	if st, _, body := anon.post("/login", url.Values{"token": {"rt_1_wrong"}}); st != http.StatusUnauthorized || !strings.Contains(body, "not valid") {
		t.Errorf("login with a wrong token = %d %.200s, want 401 saying so", st, body)
	}

	b := e.browser()
	st, h, _ := b.post("/login", url.Values{"token": {e.tokens["read"]}, "next": {"https://evil.example/"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/studies" {
		t.Fatalf("login with next off the server = %d %q, want 303 to /studies", st, h.Get("Location"))
	}
	cookie := h.Get("Set-Cookie")
	for _, want := range []string{"retune_session=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("session cookie %q is Secure on plain HTTP without --cookie-secure", cookie)
	}
	if st, _, body := b.get("/studies"); st != http.StatusOK || !strings.Contains(body, `href="/studies/dash"`) {
		t.Fatalf("studies page = %d %.300s", st, body)
	}
	// The cookie authenticates no API call.
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/studies", nil)
	r, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("API call with the session cookie = %d, want 401", r.StatusCode)
	}

	// Logout needs the CSRF token; then the session is gone.
	if st, _, _ := b.post("/logout", url.Values{}); st != http.StatusForbidden {
		t.Errorf("logout without CSRF token = %d, want 403", st)
	}
	tok := b.csrf("/studies")
	if st, _, _ := b.post("/logout", url.Values{"csrf": {tok}}, "Origin", "http://evil.example"); st != http.StatusForbidden {
		t.Errorf("logout from another origin = %d, want 403", st)
	}
	if st, h, _ := b.post("/logout", url.Values{"csrf": {tok}}); st != http.StatusSeeOther || !strings.Contains(h.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout = %d, cookie %q, want 303 clearing the cookie", st, h.Get("Set-Cookie"))
	}
	if st, _, _ := b.get("/studies"); st != http.StatusSeeOther {
		t.Errorf("page after logout = %d, want 303 to login", st)
	}

	// A one-time ticket: exchanged once, redirected away, redacted in the log.
	ctx := context.Background()
	ts := e.store.(retune.TokenStore)
	toks, err := ts.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var runID int64
	var runName string
	for _, tk := range toks {
		if strings.HasPrefix(tk.Name, "run-TestDashboardLogin") {
			runID, runName = tk.ID, tk.Name
		}
	}
	ticket, err := server.NewLoginTicket(ctx, e.store.(retune.SessionStore), runID)
	if err != nil {
		t.Fatal(err)
	}
	c := e.browser()
	st, h, _ = c.get("/login?ticket=" + ticket + "&next=/studies/dash")
	if st != http.StatusSeeOther || h.Get("Location") != "/studies/dash" {
		t.Fatalf("login by ticket = %d %q, want 303 to /studies/dash", st, h.Get("Location"))
	}
	if st, _, body := c.get("/studies/dash"); st != http.StatusOK || !strings.Contains(body, "Enqueue a trial") {
		t.Errorf("study page for a run session = %d, want 200 with the enqueue link", st)
	}
	d := e.browser()
	if st, _, body := d.get("/login?ticket=" + ticket); st != http.StatusUnauthorized || !strings.Contains(body, "used already") {
		t.Errorf("ticket used twice = %d %.200s, want 401", st, body)
	}
	if strings.Contains(e.log.String(), ticket) || strings.Contains(e.log.String(), e.tokens["read"]) {
		t.Errorf("the log holds a ticket or token:\n%s", e.log.String())
	}
	// Revoking the token ends its session.
	if err := ts.RevokeToken(ctx, runName); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := c.get("/studies/dash"); st != http.StatusSeeOther {
		t.Errorf("page after the token was revoked = %d, want 303 to login", st)
	}
}

// TestDashboardCookieSecure: behind a TLS proxy (--cookie-secure) and over TLS the cookie
// is Secure.
func TestDashboardCookieSecure(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.CookieSecure = true })
	b := e.browser()
	_, h, _ := b.post("/login", url.Values{"token": {e.tokens["read"]}})
	if c := h.Get("Set-Cookie"); !strings.Contains(c, "Secure") {
		t.Errorf("cookie behind a TLS proxy %q, want Secure", c)
	}

	plain := newEnv(t, nil)
	ts := httptest.NewTLSServer(plain.server.Handler())
	defer ts.Close()
	c := ts.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("POST", ts.URL+"/login", strings.NewReader(url.Values{"token": {plain.tokens["read"]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ck := resp.Header.Get("Set-Cookie"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(ck, "Secure") {
		t.Errorf("login over TLS = %d, cookie %q; want 303 and a Secure cookie", resp.StatusCode, ck)
	}
}

// TestDashboardControls: each control shows a confirmation, needs its scope and the CSRF
// token, and does what the API does.
func TestDashboardControls(t *testing.T) {
	e := newEnv(t, nil)
	e.createStudy("ctl", 0)
	a := e.ask("ctl")
	reader, runner := e.browser(), e.browser()
	reader.login("read")
	runner.login("run")
	path := "/studies/ctl/trials/" + itoa(a.Number) + "/stop"
	if st, _, body := runner.get(path); st != http.StatusOK || !strings.Contains(body, "Yes, stop") {
		t.Fatalf("stop confirmation = %d %.300s", st, body)
	}
	if st, _, _ := reader.get(path); st != http.StatusForbidden {
		t.Errorf("stop confirmation for a read session = %d, want 403", st)
	}
	tok := runner.csrf(path)
	if st, _, _ := runner.post(path, url.Values{}); st != http.StatusForbidden {
		t.Errorf("stop without CSRF token = %d, want 403", st)
	}
	if st, _, _ := reader.post(path, url.Values{"csrf": {reader.csrf("/studies")}}); st != http.StatusForbidden {
		t.Errorf("stop by a read session = %d, want 403", st)
	}
	if st, h, body := runner.post(path, url.Values{"csrf": {tok}}); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=stop") {
		t.Fatalf("stop = %d %q %.300s", st, h.Get("Location"), body)
	}
	hb := e.do("run", "POST", "/api/v1/studies/ctl/trials/"+itoa(a.Number)+"/heartbeat", map[string]any{"epoch": a.Epoch})
	if !strings.Contains(string(hb.body), `"stop":true`) && !strings.Contains(string(hb.body), "stop") {
		t.Errorf("heartbeat after the dashboard's stop = %d %s, want the stop request", hb.status, hb.body)
	}

	// Enqueue: the form, a confirmation, then the trial.
	if st, _, body := runner.get("/studies/ctl/enqueue"); st != http.StatusOK || !strings.Contains(body, `name="p.lr"`) || !strings.Contains(body, `<option>adam</option>`) {
		t.Fatalf("enqueue form = %d %.500s", st, body)
	}
	tok = runner.csrf("/studies/ctl/enqueue")
	form := url.Values{"csrf": {tok}, "p.lr": {"0.01"}, "p.opt": {"sgd"}}
	if st, _, body := runner.post("/studies/ctl/enqueue", form); st != http.StatusOK || !strings.Contains(body, "Yes, enqueue") {
		t.Fatalf("enqueue without confirmation = %d %.300s, want the confirmation", st, body)
	}
	bad := url.Values{"csrf": {tok}, "p.lr": {"7"}, "confirmed": {"1"}}
	if st, _, body := runner.post("/studies/ctl/enqueue", bad); st != http.StatusUnprocessableEntity || !strings.Contains(body, "outside") {
		t.Errorf("enqueue lr=7 = %d %.300s, want 422 naming the distribution", st, body)
	}
	form.Set("confirmed", "1")
	st, h, body := runner.post("/studies/ctl/enqueue", form)
	if st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=enqueue") {
		t.Fatalf("enqueue = %d %q %.300s", st, h.Get("Location"), body)
	}
	if got := e.ask("ctl"); got.Params["lr"] != 0.01 || got.Params["opt"] != "sgd" {
		t.Errorf("the trial asked after the enqueue has params %v, want lr 0.01 and opt sgd", got.Params)
	}
	if st, _, _ := reader.post("/studies/ctl/enqueue", url.Values{"csrf": {reader.csrf("/studies")}, "confirmed": {"1"}}); st != http.StatusForbidden {
		t.Errorf("enqueue by a read session = %d, want 403", st)
	}

	// Retry a failed trial: its params come back as a new WAITING trial.
	f := e.ask("ctl")
	if r := e.do("run", "POST", "/api/v1/studies/ctl/trials/"+itoa(f.Number)+"/tell", map[string]any{"epoch": f.Epoch, "state": "FAIL", "reason": "oom"}); r.status != 200 {
		t.Fatalf("tell FAIL: %d %s", r.status, r.body)
	}
	retry := "/studies/ctl/trials/" + itoa(f.Number) + "/retry"
	if st, _, _ := runner.post(retry, url.Values{"csrf": {"forged"}}); st != http.StatusForbidden {
		t.Errorf("retry with a forged CSRF token = %d, want 403", st)
	}
	if st, _, _ := reader.post(retry, url.Values{"csrf": {reader.csrf("/studies")}}); st != http.StatusForbidden {
		t.Errorf("retry by a read session = %d, want 403", st)
	}
	if st, h, body := runner.post(retry, url.Values{"csrf": {runner.csrf(retry)}}); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=retry") {
		t.Fatalf("retry = %d %q %.300s", st, h.Get("Location"), body)
	}
	if got := e.ask("ctl"); got.Params["lr"] != f.Params["lr"] || got.Params["opt"] != f.Params["opt"] || got.Params["layers"] != f.Params["layers"] {
		t.Errorf("the retry was asked with %v, want the failed trial's %v", got.Params, f.Params)
	}
	if st, _, _ := runner.post("/studies/ctl/trials/"+itoa(a.Number)+"/retry", url.Values{"csrf": {runner.csrf(retry)}}); st != http.StatusConflict {
		t.Errorf("retry of a trial that did not fail = %d, want 409", st)
	}
}

// TestDashboardPagesNoJS: every page renders on the server, with its tables, for a study
// with trials; unknown studies are a 404 page; a study outside the token's pattern 403.
func TestDashboardPagesNoJS(t *testing.T) {
	e := newEnv(t, nil)
	e.createStudy("pages", 0)
	e.createStudy("team-b-x", 0)
	for i := range 5 {
		a := e.ask("pages")
		e.do("run", "POST", "/api/v1/studies/pages/trials/"+itoa(a.Number)+"/report", map[string]any{"epoch": a.Epoch, "step": 1, "values": []float64{5.0 - float64(i)}})
		e.do("run", "POST", "/api/v1/studies/pages/trials/"+itoa(a.Number)+"/tell", map[string]any{"epoch": a.Epoch, "state": "COMPLETE", "values": []float64{float64(i)}})
	}
	// A learning curve may hold ±Inf and NaN (stored as reported): the charts leave them out.
	e.createStudy("curves", 0)
	a := e.ask("curves")
	for st, v := range []any{"inf", "nan", 2.5} {
		if r := e.do("run", "POST", "/api/v1/studies/curves/trials/"+itoa(a.Number)+"/report", map[string]any{"epoch": a.Epoch, "step": st + 1, "values": []any{v}}); r.status != 200 {
			t.Fatalf("report %v: %d %s", v, r.status, r.body)
		}
	}
	e.do("run", "POST", "/api/v1/studies/curves/trials/"+itoa(a.Number)+"/tell", map[string]any{"epoch": a.Epoch, "state": "PRUNED"})
	b := e.browser()
	b.login("read")
	st, _, body := b.get("/studies/curves/charts")
	var charts struct {
		Curves []struct {
			Number int `json:"number"`
			Steps  struct {
				X []float64 `json:"x"`
			} `json:"steps"`
		} `json:"curves"`
	}
	if err := json.Unmarshal([]byte(body), &charts); st != http.StatusOK || err != nil {
		t.Fatalf("charts with non-finite intermediate values = %d, %v: %.300s", st, err, body)
	}
	for _, c := range charts.Curves {
		if c.Number == a.Number && !slices.Equal(c.Steps.X, []float64{3}) {
			t.Errorf("trial %d's curve has steps %v, want [3] (the finite one)", a.Number, c.Steps.X)
		}
	}
	if st, _, body := b.get("/studies/curves/charts?objective=acc"); st != http.StatusBadRequest || !strings.Contains(body, "want one of loss") {
		t.Errorf("charts of an unknown objective = %d %.300s, want 400 naming the valid ones", st, body)
	}
	for path, want := range map[string]string{
		"/studies":                   `<td class="n">5</td>`,
		"/studies?q=pag&sort=trials": "pages",
		"/studies/pages":             `id="recent"`,
		"/studies/pages/trials":      "5 of 5 trials",
		"/studies/pages/trials?state=COMPLETE&field=value:0&min=1&max=3&sort=value:0&desc=1": "3 of 5 trials",
		"/studies/pages/trials/2": "Trial 2",
	} {
		st, h, body := b.get(path)
		if st != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d, want %q in %.400s", path, st, want, body)
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: CSP %q, X-Frame-Options %q", path, csp, h.Get("X-Frame-Options"))
		}
	}
	if _, _, body := b.get("/studies/pages/trials?desc=1"); strings.Index(body, `/trials/4"`) > strings.Index(body, `/trials/0"`) || !strings.Contains(body, "5 of 5 trials") {
		t.Errorf("trials by number, descending: trial 4 should come first: %.2000s", body)
	}
	if _, _, body := b.get("/studies/pages/trials?field=param:lr&min=0&max=1"); !strings.Contains(body, "5 of 5 trials") {
		t.Errorf("trials filtered by lr in [0, 1]: want all 5: %.1000s", body)
	}
	if st, _, body := b.get("/studies/pages/trials?field=nothing"); st != http.StatusBadRequest || !strings.Contains(body, "value:0") {
		t.Errorf("filter by an unknown field = %d %.300s, want 400 listing the fields", st, body)
	}
	if st, _, _ := b.get("/studies/missing"); st != http.StatusNotFound {
		t.Errorf("unknown study = %d, want 404", st)
	}
	narrow := e.browser()
	narrow.login("read-a")
	if st, _, _ := narrow.get("/studies/pages"); st != http.StatusForbidden {
		t.Errorf("study outside the token's pattern = %d, want 403", st)
	}
	if _, _, body := narrow.get("/studies"); strings.Contains(body, "team-b-x") || strings.Contains(body, `href="/studies/pages"`) {
		t.Errorf("studies page of a team-a-* token lists others' studies")
	}
	if st, h, _ := b.get("/static/app.js"); st != http.StatusOK || !strings.Contains(h.Get("Content-Type"), "javascript") {
		t.Errorf("static app.js = %d %q", st, h.Get("Content-Type"))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestDashboardModelAndEvents: the model page shows the champion's lineage and each
// decision's evidence; promote, redeliver and enable need admin and their confirmation.
func TestDashboardModelAndEvents(t *testing.T) {
	e := newEnv(t, nil)
	e.createStudy("m", 0)
	ctx := context.Background()
	rs := e.store.(retrain.Store)
	if _, err := retrain.SetChampion(ctx, rs, "m", map[string]any{"lr": 0.01}, []float64{3}, nil); err != nil {
		t.Fatal(err)
	}
	a := e.ask("m")
	e.do("run", "POST", "/api/v1/studies/m/trials/"+itoa(a.Number)+"/tell", map[string]any{"epoch": a.Epoch, "values": []any{0.25}})
	lb := 0.4
	d, err := rs.RecordDecision(ctx, retune.Decision{Model: "m", Study: "m", RunID: "r1", ChampionVersion: 1, Candidate: a.Number, Improved: true,
		Reason: "better", Evidence: retune.Evidence{Method: "paired", Direction: "minimize", Candidate: []float64{2, 2.1}, Champion: []float64{3, 2.9},
			Repeats: 2, Differences: []float64{1, 0.8}, Improvement: 0.9, LowerBound: &lb, Level: 0.95, Margin: 0.1, Notify: []string{"hook"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.(retune.DeliveryStore).AppendEvents(ctx, []retune.Event{{ID: "ev-1", Type: retune.TypeStudyCompleted, Source: "retune/test",
		Time: time.Now(), Data: []byte(`{"x":1}`), Notify: []string{"hook"}}}); err != nil {
		t.Fatal(err)
	}
	e.do("admin", "POST", "/api/v1/notifiers/hook/disable", map[string]any{"reason": "down"})
	reader, admin := e.browser(), e.browser()
	reader.login("read")
	admin.login("admin")
	st, _, body := reader.get("/models/m")
	if st != http.StatusOK || !strings.Contains(body, `<svg class="evidence"`) || !strings.Contains(body, `id="lineage"`) || strings.Contains(body, "Promote…") {
		t.Fatalf("model page for a reader = %d %.2000s", st, body)
	}
	promote := "/models/m/decisions/" + strconv.FormatInt(d.ID, 10) + "/promote"
	if st, _, _ := reader.get(promote); st != http.StatusForbidden {
		t.Errorf("promote confirmation for a reader = %d, want 403", st)
	}
	if st, _, body := admin.post(promote, url.Values{"csrf": {admin.csrf(promote)}}); st != http.StatusSeeOther {
		t.Fatalf("promote = %d %.1000s", st, body)
	}
	if ch, err := rs.Champion(ctx, "m"); err != nil || ch.Version != 2 {
		t.Errorf("champion after the promotion = %+v, %v", ch, err)
	}
	if st, _, body := reader.get("/events"); st != http.StatusOK || !strings.Contains(body, `href="/events/ev-1"`) || strings.Contains(body, "Enable…") {
		t.Errorf("events page for a reader = %d %.1000s", st, body)
	}
	if st, _, body := admin.get("/events"); st != http.StatusOK || !strings.Contains(body, `href="/notifiers/hook/enable"`) {
		t.Errorf("events page for an admin = %d, want the Enable… control: %.1000s", st, body)
	}
	for _, path := range []string{"/events/ev-1/redeliver", "/notifiers/hook/enable"} {
		if st, _, _ := admin.post(path, url.Values{}); st != http.StatusForbidden {
			t.Errorf("POST %s without CSRF token = %d, want 403", path, st)
		}
		if st, _, body := admin.post(path, url.Values{"csrf": {admin.csrf(path)}}); st != http.StatusSeeOther {
			t.Errorf("POST %s = %d %.500s", path, st, body)
		}
	}
	if st, _, body := admin.get("/events/ev-1"); st != http.StatusOK || !strings.Contains(body, "hook: pending") {
		t.Errorf("event page after redelivery = %d %.1000s", st, body)
	}

	// Agents, as the API lists them; a token with a study pattern does not reach them.
	if r := e.do("run", "POST", "/api/v1/agents", map[string]any{"id": "gpu-box-1", "host": "gpu-box", "pid": 42, "study": "m", "slots": 2, "running": 1}); r.status != 204 {
		t.Fatalf("record agent: %d %s", r.status, r.body)
	}
	if st, _, body := reader.get("/agents"); st != http.StatusOK || !strings.Contains(body, "gpu-box-1") || !strings.Contains(body, `href="/studies/m"`) {
		t.Errorf("agents page = %d %.1000s", st, body)
	}
	narrow := e.browser()
	narrow.login("read-a")
	if st, _, _ := narrow.get("/agents"); st != http.StatusForbidden {
		t.Errorf("agents page for a team-a-* token = %d, want 403 (agents span every study)", st)
	}
}
