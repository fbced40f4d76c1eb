package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
)

// The dashboard: server-rendered pages under / for people, beside the API under /api/v1.
//
// A person logs in with an API token (the login form) or a one-time login ticket
// (NewLoginTicket, printed by retune dashboard) and gets a session: a random secret in an
// HttpOnly, SameSite=Strict cookie, kept in the database as its SHA-256
// (retune.SessionStore), so every replica knows it; it acts with its token's scope and
// study pattern, and ends at its expiry, at logout, or when the token is revoked. The
// cookie authenticates the dashboard's routes only (never /api/v1). Every state-changing
// request carries the session's CSRF token and must come from this origin; each control
// runs the API operation it names, with the same authorization, after a confirmation page.
//
// Pages are HTML that works without JavaScript; the charts are drawn by uPlot (vendored
// under ui/static/vendor, see scripts/vendor-ui.sh) from data the server downsamples
// (dashboard_data.go), and pages follow the study's change stream to stay current.

//go:embed ui/templates/*.html
var templateFS embed.FS

//go:embed ui/static
var staticFS embed.FS

// Defaults of the dashboard's options.
const (
	DefaultSessionTTL = 12 * time.Hour
	// LoginTicketTTL is how long a login ticket (NewLoginTicket) may wait for its first use.
	LoginTicketTTL = 10 * time.Minute
)

const (
	sessionCookie = "retune_session"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

// dashboard is the state the dashboard's pages share.
type dashboard struct {
	pages    map[string]*template.Template
	static   http.Handler
	anonCSRF string // the CSRF token of a server without auth (NoAuth)
	charts   chartCache
}

func (s *Server) initDashboard() error {
	d := &s.dash
	funcs := template.FuncMap{
		"num": formatNum, "int": func(n int) string { return formatInt(int64(n)) }, "when": formatWhen, "dur": formatDur, "pct": formatPct,
		"qs":     func(base url.Values, kv ...string) template.URL { return template.URL(withQuery(base, kv...)) },
		"join":   strings.Join,
		"deref":  func(p *float64) float64 { return *p },
		"value":  formatValue,
		"add1":   func(n int) int { return n + 1 },
		"fl":     func(f Float) float64 { return float64(f) },
		"derefT": func(t *time.Time) time.Time { return *t },
		"json":   func(v any) string { b, _ := json.Marshal(v); return string(b) },
		"sub1":   func(n int) int { return n - 1 },
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "ui/templates/layout.html")
	if err != nil {
		return err
	}
	names, err := fs.Glob(templateFS, "ui/templates/*.html")
	if err != nil {
		return err
	}
	d.pages = map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimPrefix(n, "ui/templates/")
		if base == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return err
		}
		d.pages[strings.TrimSuffix(base, ".html")] = t
	}
	sub, err := fs.Sub(staticFS, "ui/static")
	if err != nil {
		return err
	}
	files := http.FileServerFS(sub)
	d.static = http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	d.anonCSRF = randomSecret()
	d.charts.m = map[int64]*chartStudy{}

	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/studies", http.StatusSeeOther) })
	s.mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) { d.static.ServeHTTP(w, r) })
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.page(ScopeNone, s.logout))
	s.mux.HandleFunc("GET /studies", s.page(ScopeRead, s.studiesPage))
	s.mux.HandleFunc("GET /studies/{study}", s.page(ScopeRead, s.studyPage))
	s.mux.HandleFunc("GET /studies/{study}/trials", s.page(ScopeRead, s.trialsPage))
	s.mux.HandleFunc("GET /studies/{study}/trials/{number}", s.page(ScopeRead, s.trialPage))
	s.mux.HandleFunc("GET /studies/{study}/charts", s.page(ScopeRead, s.chartsData))
	s.mux.HandleFunc("GET /studies/{study}/importance", s.page(ScopeRead, s.dashImportance))
	s.mux.HandleFunc("GET /studies/{study}/svg", s.page(ScopeRead, s.svgFragment))
	s.mux.HandleFunc("GET /studies/{study}/recent", s.page(ScopeRead, s.recentFragment))
	s.mux.HandleFunc("GET /studies/{study}/events", s.page(ScopeRead, s.dashEvents))
	s.mux.HandleFunc("GET /studies/{study}/enqueue", s.page(ScopeRun, s.enqueuePage))
	s.mux.HandleFunc("POST /studies/{study}/enqueue", s.page(ScopeRun, s.enqueueAction))
	s.mux.HandleFunc("GET /studies/{study}/trials/{number}/{action}", s.page(ScopeRun, s.confirmPage))
	s.mux.HandleFunc("POST /studies/{study}/trials/{number}/{action}", s.page(ScopeRun, s.trialAction))
	s.mux.HandleFunc("GET /models/{model}", s.page(ScopeRead, s.modelPage))
	s.mux.HandleFunc("GET /models/{model}/decisions/{decision}/promote", s.page(ScopeAdmin, s.promoteConfirm))
	s.mux.HandleFunc("POST /models/{model}/decisions/{decision}/promote", s.page(ScopeAdmin, s.promoteAction))
	s.mux.HandleFunc("GET /events", s.page(ScopeRead, s.eventsPage))
	s.mux.HandleFunc("GET /agents", s.page(ScopeRead, s.agentsPage))
	s.mux.HandleFunc("GET /events/{event}", s.page(ScopeRead, s.eventPage))
	s.mux.HandleFunc("GET /events/{event}/redeliver", s.page(ScopeAdmin, s.redeliverConfirm))
	s.mux.HandleFunc("POST /events/{event}/redeliver", s.page(ScopeAdmin, s.redeliverAction))
	s.mux.HandleFunc("GET /notifiers/{notifier}/enable", s.page(ScopeAdmin, s.enableConfirm))
	s.mux.HandleFunc("POST /notifiers/{notifier}/enable", s.page(ScopeAdmin, s.enableAction))
	return nil
}

// viewer is who looks at a page: the principal and the CSRF token of the forms.
type viewer struct {
	who     *principal
	csrf    string
	session []byte // the session's hash; nil without auth
}

// pageHandler serves a page for an authenticated viewer.
type pageHandler func(w http.ResponseWriter, r *http.Request, v *viewer) error

// page authenticates a dashboard request by its session cookie (a request without one
// goes to the login page), checks the scope and, for a state-changing request, the CSRF
// token and origin, then runs h; an error h returns is rendered as an error page.
func (s *Server) page(scope Scope, h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		v, err := s.viewer(r)
		if err != nil {
			if errors.Is(err, errUnauthorized) {
				if r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream" && !strings.HasSuffix(r.URL.Path, "/charts") {
					http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				err = errorf(http.StatusUnauthorized, "unauthorized", "your session has ended: log in again")
			}
			s.errorPage(w, r, nil, err)
			return
		}
		if r.Method != http.MethodGet {
			if err := s.checkCSRF(r, v); err != nil {
				s.errorPage(w, r, v, err)
				return
			}
		}
		if err := authorizeScope(v.who, scope); err != nil {
			s.errorPage(w, r, v, err)
			return
		}
		name := r.PathValue("study")
		if name == "" {
			name = r.PathValue("model")
		}
		if err := authorizeStudy(v.who, name); err != nil {
			s.errorPage(w, r, v, err)
			return
		}
		if err := h(w, r, v); err != nil {
			s.errorPage(w, r, v, err)
		}
	}
}

// viewer finds the session of r's cookie. Bearer tokens do not open dashboard pages, and
// the cookie opens nothing else.
func (s *Server) viewer(r *http.Request) (*viewer, error) {
	if s.opts.NoAuth {
		return &viewer{who: &principal{id: "anonymous", name: "anonymous", scope: ScopeAdmin}, csrf: s.dash.anonCSRF}, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil, errUnauthorized
	}
	h := sha256.Sum256([]byte(c.Value))
	sess, err := s.sessions.Session(r.Context(), h[:])
	if errors.Is(err, retune.ErrNotFound) {
		return nil, errUnauthorized
	}
	if err != nil {
		return nil, err
	}
	who, err := s.tokenPrincipal(r.Context(), sess.TokenID)
	if err != nil {
		return nil, err
	}
	return &viewer{who: who, csrf: sess.CSRF, session: h[:]}, nil
}

// tokenPrincipal is the principal of a valid token, or errUnauthorized.
func (s *Server) tokenPrincipal(ctx context.Context, id int64) (*principal, error) {
	tok, err := s.tokens.Token(ctx, id)
	if errors.Is(err, retune.ErrNotFound) {
		return nil, errUnauthorized
	}
	if err != nil {
		return nil, err
	}
	if !tok.Revoked.IsZero() || (!tok.Expires.IsZero() && !time.Now().Before(tok.Expires)) {
		return nil, errUnauthorized
	}
	scope, err := ParseScope(tok.Scope)
	if err != nil {
		return nil, errUnauthorized
	}
	return &principal{id: fmt.Sprintf("token:%d", tok.ID), name: tok.Name, scope: scope, studies: tok.Studies}, nil
}

var errForged = errorf(http.StatusForbidden, "csrf", "this form did not come from this dashboard (its CSRF token or origin is wrong): reload the page and try again")

// checkCSRF accepts a state-changing request only from this origin (Sec-Fetch-Site or
// Origin, when the browser sends them) with the viewer's CSRF token in the form or the
// X-CSRF-Token header.
func (s *Server) checkCSRF(r *http.Request, v *viewer) error {
	if !sameOrigin(r) {
		return errForged
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(v.csrf)) != 1 {
		return errForged
	}
	return nil
}

// sameOrigin reports whether a browser says r comes from a page of this server.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	return true
}

// securityHeaders are set on every dashboard answer: no framing, no sniffing, scripts
// from this origin only.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

func randomSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewLoginTicket stores a one-time login ticket for the token with that ID and returns its
// secret: GET /login?ticket=SECRET within LoginTicketTTL opens a session and redirects
// away, so the ticket leaves the address bar (and the access log redacts it).
func NewLoginTicket(ctx context.Context, store retune.SessionStore, tokenID int64) (string, error) {
	secret := randomSecret()
	h := sha256.Sum256([]byte(secret))
	_, err := store.CreateSession(ctx, retune.Session{Hash: h[:], TokenID: tokenID, CSRF: randomSecret(), Login: true,
		Expires: time.Now().Add(LoginTicketTTL)})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// loginPage shows the login form, or exchanges a login ticket for a session.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	next := safeNext(r.URL.Query().Get("next"))
	if s.opts.NoAuth {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if ticket := r.URL.Query().Get("ticket"); ticket != "" {
		h := sha256.Sum256([]byte(ticket))
		t, err := s.sessions.TakeSession(r.Context(), h[:])
		if errors.Is(err, retune.ErrNotFound) {
			s.render(w, r, http.StatusUnauthorized, "login", nil, map[string]any{"Next": next,
				"Error": "This login link was used already or has expired: run retune dashboard again, or log in with a token."})
			return
		}
		if err == nil {
			err = s.openSession(w, r, t.TokenID)
		}
		if err != nil {
			s.errorPage(w, r, nil, err)
			return
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", nil, map[string]any{"Next": next})
}

// login opens a session for the API token posted in the login form.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	next := safeNext(r.PostFormValue("next"))
	if !sameOrigin(r) {
		s.errorPage(w, r, nil, errForged)
		return
	}
	fail := func() {
		s.render(w, r, http.StatusUnauthorized, "login", nil, map[string]any{"Next": next, "Error": "That token is not valid here (unknown, revoked or expired)."})
	}
	req := r.Clone(r.Context())
	req.Header = http.Header{"Authorization": {"Bearer " + strings.TrimSpace(r.PostFormValue("token"))}}
	if s.opts.NoAuth {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	who, err := s.authenticate(req)
	if errors.Is(err, errUnauthorized) {
		fail()
		return
	}
	if err != nil {
		s.errorPage(w, r, nil, err)
		return
	}
	var id int64
	if _, err := fmt.Sscanf(who.id, "token:%d", &id); err != nil {
		fail()
		return
	}
	if err := s.openSession(w, r, id); err != nil {
		s.errorPage(w, r, nil, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// openSession stores a new session for the token and sets its cookie.
func (s *Server) openSession(w http.ResponseWriter, r *http.Request, tokenID int64) error {
	secret := randomSecret()
	h := sha256.Sum256([]byte(secret))
	ttl := s.opts.SessionTTL
	sess, err := s.sessions.CreateSession(r.Context(), retune.Session{Hash: h[:], TokenID: tokenID, CSRF: randomSecret(), Expires: time.Now().Add(ttl)})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", Expires: sess.Expires, MaxAge: int(ttl / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || s.opts.CookieSecure})
	return nil
}

// logout ends the viewer's session and clears its cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if v.session != nil {
		if err := s.sessions.DeleteSession(r.Context(), v.session); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || s.opts.CookieSecure})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// safeNext keeps a redirect after login on this server: a path, never another host.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/studies"
	}
	return next
}

// render writes page name with data, in the layout.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *viewer, data map[string]any) {
	t := s.dash.pages[name]
	if data == nil {
		data = map[string]any{}
	}
	data["Viewer"] = v
	data["Auth"] = !s.opts.NoAuth
	if v != nil {
		data["CSRF"] = v.csrf
		data["Who"] = v.who.name
		data["Scope"] = v.who.scope.String()
		data["CanRun"] = v.who.scope >= ScopeRun
		data["CanAdmin"] = v.who.scope >= ScopeAdmin
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.ErrorContext(r.Context(), "dashboard template", "page", name, "err", err, "request_id", requestID(r.Context()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage renders err as a page with the status it carries.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	p, known := toProblem(err)
	if !known {
		s.log.ErrorContext(r.Context(), "dashboard", "path", r.URL.Path, "err", err, "request_id", requestID(r.Context()))
	}
	s.render(w, r, p.Status, "error", v, map[string]any{"Title": p.Title, "Status": p.Status, "Detail": p.Detail})
}
