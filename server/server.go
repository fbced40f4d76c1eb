// Package server is retune's HTTP API (/api/v1): studies and their trials over plain
// HTTP and JSON, for trainers, notebooks and tools in any language.
//
// A Server is stateless: everything lives in its storage, so any number of replicas on
// one database serve the same studies, with the budgets, leases and fencing of the
// library. A trial asked through one replica is reported on, renewed and told through
// any other: the requests name it by study, number and lease epoch, and the replica
// reopens it from storage (retune.Study.Reopen). The sampler and pruner run in the
// server, rebuilt from the study's stored definition; each replica caches the studies it
// built, keyed by what they were built from.
//
// Requests authenticate with bearer tokens (NewToken) of scope read ⊂ run ⊂ admin. Asks,
// tells, reports and enqueues accept an Idempotency-Key header: the first answer is kept
// in the database (retune.IdempotencyStore) and returned to a retry with the same key.
// Errors are RFC 9457 problem details.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain/notify"
)

// Defaults of Options.
const (
	DefaultMaxBody         = 1 << 20
	DefaultLeaseTTL        = 30 * time.Second
	DefaultMinLeaseTTL     = time.Second
	DefaultMaxLeaseTTL     = time.Hour
	DefaultIdempotencyKeep = 24 * time.Hour
	DefaultIdempotencyLock = 30 * time.Second
	DefaultShutdownGrace   = 30 * time.Second
)

// Options configures a Server. Zero values are the documented defaults.
type Options struct {
	// Storage keeps everything; it must implement retune.TokenStore and
	// retune.IdempotencyStore (every storage of this module does). Required.
	Storage retune.Storage
	// NoAuth serves every request as admin, without a token. Default false.
	NoAuth bool
	// Addr is the address the server listens on, for the Host check: requests must name it
	// (or, for a loopback address, localhost) unless AllowedHosts lists their Host. For an
	// unspecified address (0.0.0.0, [::]) any IP address is accepted as Host.
	Addr string
	// AllowedHosts are more Host header values to accept: host names or host:port; "*"
	// accepts any.
	AllowedHosts []string
	// CORSOrigins are the origins browsers may call the API from; default none (no CORS
	// headers at all).
	CORSOrigins []string
	// MaxBody bounds request bodies, in bytes; larger ones get 413. Default DefaultMaxBody.
	MaxBody int64
	// LeaseTTL is the lease of a trial asked through the API; its client renews it with a
	// heartbeat. Default DefaultLeaseTTL. A client may ask for its own (lease_seconds on
	// the ask and every heartbeat) between MinLeaseTTL and MaxLeaseTTL (defaults
	// DefaultMinLeaseTTL, DefaultMaxLeaseTTL); LeaseTTL must lie between them.
	LeaseTTL, MinLeaseTTL, MaxLeaseTTL time.Duration
	// IdempotencyKeep is how long an idempotency key and its answer are kept; default
	// DefaultIdempotencyKeep. IdempotencyLock is how long a request holds its key before a
	// retry may run it again (its replica died); default DefaultIdempotencyLock.
	IdempotencyKeep, IdempotencyLock time.Duration
	// ShutdownGrace is how long Run lets in-flight requests finish after ctx ends; default
	// DefaultShutdownGrace.
	ShutdownGrace time.Duration
	// Logger receives the access log and errors; default slog.Default().
	Logger *slog.Logger
	// StreamPoll is how often a study's event stream reads its change log when nothing
	// woke it (always on SQLite; a safety net on PostgreSQL, whose notifications wake it);
	// default DefaultStreamPoll. StreamBuffer is how many events a connection may fall
	// behind before it is dropped; default DefaultStreamBuffer.
	StreamPoll   time.Duration
	StreamBuffer int
	// ChangeRetention is how long the change log keeps a change (Run prunes older ones
	// hourly); default DefaultChangeRetention.
	ChangeRetention time.Duration
	// Retrain makes this replica a candidate for leading (see leader.go): the leader
	// decides for studies with a retrain policy once their budget is spent and delivers
	// events to Notifiers. LeaderTTL is a leader's term (default DefaultLeaderTTL);
	// DecidePoll how often the leader looks for studies to decide (DefaultDecidePoll).
	Retrain    bool
	Notifiers  map[string]notify.Notifier
	LeaderTTL  time.Duration
	DecidePoll time.Duration
	// CookieSecure marks the dashboard's session cookie Secure even on plain HTTP: a TLS
	// proxy is in front. (Over TLS it is Secure anyway.)
	CookieSecure bool
	// SessionTTL is how long a dashboard session lasts; default DefaultSessionTTL.
	SessionTTL time.Duration
}

// Server serves the API. It is safe for concurrent use.
type Server struct {
	opts       Options
	store      retune.Storage
	tokens     retune.TokenStore
	idem       retune.IdempotencyStore
	changes    retune.ChangeStore
	sessions   retune.SessionStore
	dash       dashboard
	streams    streams
	done       chan struct{} // closed when Run shuts down: event streams end
	doneOnce   sync.Once
	metrics    *metrics
	lead       leader
	log        *slog.Logger
	hosts      hostCheck
	studies    studyCache
	importance importanceCache
	mux        *http.ServeMux
	handler    http.Handler
	openapi    []byte // the OpenAPI document
}

// New returns a Server with options o.
func New(o Options) (*Server, error) {
	if o.Storage == nil {
		return nil, fmt.Errorf("%w: server: no storage", retune.ErrInvalid)
	}
	ts, ok1 := o.Storage.(retune.TokenStore)
	is, ok2 := o.Storage.(retune.IdempotencyStore)
	cs, ok3 := o.Storage.(retune.ChangeStore)
	ss, ok4 := o.Storage.(retune.SessionStore)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, fmt.Errorf("%w: server: storage %T keeps no tokens, idempotency keys, change log or sessions", retune.ErrInvalid, o.Storage)
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.StreamPoll <= 0 {
		o.StreamPoll = DefaultStreamPoll
	}
	if o.StreamBuffer <= 0 {
		o.StreamBuffer = DefaultStreamBuffer
	}
	if o.ChangeRetention <= 0 {
		o.ChangeRetention = DefaultChangeRetention
	}
	if o.LeaderTTL <= 0 {
		o.LeaderTTL = DefaultLeaderTTL
	}
	if o.DecidePoll <= 0 {
		o.DecidePoll = DefaultDecidePoll
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.MinLeaseTTL <= 0 {
		o.MinLeaseTTL = min(DefaultMinLeaseTTL, o.LeaseTTL)
	}
	if o.MaxLeaseTTL <= 0 {
		o.MaxLeaseTTL = max(DefaultMaxLeaseTTL, o.LeaseTTL)
	}
	if o.LeaseTTL < o.MinLeaseTTL || o.LeaseTTL > o.MaxLeaseTTL {
		return nil, fmt.Errorf("%w: lease TTL %v: want between the bounds %v and %v", retune.ErrInvalid, o.LeaseTTL, o.MinLeaseTTL, o.MaxLeaseTTL)
	}
	if o.IdempotencyKeep <= 0 {
		o.IdempotencyKeep = DefaultIdempotencyKeep
	}
	if o.IdempotencyLock <= 0 {
		o.IdempotencyLock = DefaultIdempotencyLock
	}
	if o.IdempotencyLock > o.IdempotencyKeep {
		o.IdempotencyLock = o.IdempotencyKeep
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = DefaultShutdownGrace
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	hc, err := newHostCheck(o.Addr, o.AllowedHosts)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, store: o.Storage, tokens: ts, idem: is, changes: cs, sessions: ss, log: o.Logger, hosts: hc, mux: http.NewServeMux(),
		done: make(chan struct{})}
	s.streams.w, s.streams.byName = make(map[int64]*watcher), make(map[string]int64)
	s.studies.m = make(map[string]*builtStudy)
	s.metrics = newMetrics(s)
	s.openapi = openAPI(s.routes())
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 200, "text/plain; charset=utf-8", []byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.HandleFunc("GET /metrics", s.metricsRoute)
	if err := s.initDashboard(); err != nil {
		return nil, fmt.Errorf("server: dashboard: %w", err)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, s.log, errorf(http.StatusNotFound, "no-route", "no route %s %s: see GET /api/v1/openapi.json", r.Method, r.URL.Path))
	})
	s.handler = s.middleware(s.mux)
	return s, nil
}

// Background starts what the server does besides answering requests, until ctx ends:
// pruning the change log, listening for the storage's change notifications (on
// PostgreSQL) and, with Options.Retrain, running for leader (leader.go). Run calls it; a
// caller serving Handler itself calls it once.
func (s *Server) Background(ctx context.Context) {
	go s.pruneChanges(ctx, s.changes)
	if l, ok := s.store.(retune.ChangeListener); ok {
		go s.listenChanges(ctx, l)
	}
	if ls, ok := s.store.(retune.LeaderStore); ok && s.opts.Retrain {
		go s.elect(ctx, ls)
	}
}

// closeStreams ends every event stream (once): their handlers return, so a shutdown need
// not wait for them.
func (s *Server) closeStreams() {
	s.doneOnce.Do(func() { close(s.done) })
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// ready answers 200 when the storage answers, 503 otherwise; it says nothing more.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if _, err := s.store.Study(ctx, "\x00readyz"); err != nil && !errors.Is(err, retune.ErrNotFound) && !errors.Is(err, retune.ErrInvalid) {
		writeRaw(w, http.StatusServiceUnavailable, "text/plain; charset=utf-8", []byte("not ready\n"))
		return
	}
	writeRaw(w, http.StatusOK, "text/plain; charset=utf-8", []byte("ok\n"))
}

// HTTPServer returns an http.Server for the handler, with every timeout set.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Run serves on ln until ctx ends, then shuts down gracefully: it stops accepting, lets
// in-flight requests finish (for up to ShutdownGrace) and returns nil. With tlsConfig
// not nil it serves HTTPS.
func (s *Server) Run(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	hs := s.HTTPServer()
	bctx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	s.Background(bctx)
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			ln = tls.NewListener(ln, tlsConfig)
		}
		errc <- hs.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownGrace)
	defer cancel()
	s.closeStreams()
	err := hs.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
