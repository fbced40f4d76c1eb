package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
	"github.com/a6b40afc/retune/retrain/notify"
	"github.com/a6b40afc/retune/server"
	"github.com/a6b40afc/retune/storage"
)

func runServe(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("serve")
	db := dbFlag(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (loopback by default; :0 picks a free port)")
	certFile := fs.String("tls-cert", "", "serve HTTPS with this certificate (PEM), with --tls-key")
	keyFile := fs.String("tls-key", "", "the private key (PEM) of --tls-cert")
	noAuth := fs.Bool("no-auth", false, "serve without tokens: every request is admin (only for a trusted loopback)")
	var hosts, origins stringList
	fs.Var(&hosts, "allowed-host", "accept requests for this Host besides --addr (repeatable; * accepts any)")
	fs.Var(&origins, "cors-origin", "let browsers call the API from this origin (repeatable; default none)")
	maxBody := fs.Int64("max-body", server.DefaultMaxBody, "largest request body in bytes (larger: 413)")
	leaseTTL := fs.Duration("lease-ttl", server.DefaultLeaseTTL, "lease of a trial asked through the API; clients renew it by heartbeat")
	leaseMin := fs.Duration("lease-min", server.DefaultMinLeaseTTL, "shortest lease a client may ask for (retune agent --lease)")
	leaseMax := fs.Duration("lease-max", server.DefaultMaxLeaseTTL, "longest lease a client may ask for")
	keep := fs.Duration("idempotency-keep", server.DefaultIdempotencyKeep, "how long idempotency keys and their answers are kept")
	lock := fs.Duration("idempotency-lock", server.DefaultIdempotencyLock, "how long a request holds its idempotency key before a retry may run it again")
	grace := fs.Duration("shutdown-grace", server.DefaultShutdownGrace, "how long in-flight requests may finish after SIGTERM")
	logJSON := fs.Bool("log-json", false, "write the access log as JSON lines (default text)")
	streamPoll := fs.Duration("stream-poll", server.DefaultStreamPoll, "how often event streams read the change log when nothing woke them (SQLite; PostgreSQL notifies)")
	metricsAddr := fs.String("metrics-addr", "", "also serve Prometheus metrics at /metrics on this address, without a token (default: only on the API listener, for a read token of every study)")
	retrainOn := fs.Bool("retrain", true, "run for leader: the leading replica decides for studies with a retrain policy once their budget is spent, and delivers events to --notifiers")
	var notifierFiles stringList
	fs.Var(&notifierFiles, "notifiers", "a study file or a file with a notifiers section whose notifiers the leader delivers events to; repeat for several")
	leaderTTL := fs.Duration("leader-ttl", server.DefaultLeaderTTL, "a leader's term: a replica that dies is replaced within about this long")
	cookieSecure := fs.Bool("cookie-secure", false, "mark the dashboard's session cookie Secure on plain HTTP: a TLS proxy is in front")
	retention := fs.Duration("change-retention", server.DefaultChangeRetention, "how long the change log keeps a change; older ones are pruned hourly")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if (*certFile == "") != (*keyFile == "") {
		return usagef("serve: --tls-cert and --tls-key go together")
	}
	var tlsConfig *tls.Config
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return usagef("serve: TLS certificate: %v", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	dsn := m.dsn(*db, "")
	s, err := m.open(ctx, dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	if !*noAuth {
		if err := requireToken(ctx, s); err != nil {
			return err
		}
	}
	var h slog.Handler = slog.NewTextHandler(m.Stderr, nil)
	if *logJSON {
		h = slog.NewJSONHandler(m.Stderr, nil)
	}
	log := slog.New(h)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	var notifiers map[string]notify.Notifier
	if len(notifierFiles) > 0 {
		ns, secretEnv, err := config.LoadNotifiers(notifierFiles...)
		if err != nil {
			ln.Close()
			return err
		}
		built, closeAll, err := config.BuildNotifiers(ns, secretEnv...)
		if err != nil {
			ln.Close()
			return err
		}
		defer closeAll()
		notifiers = built
	}
	srv, err := server.New(server.Options{
		Storage: s, NoAuth: *noAuth, Addr: ln.Addr().String(), AllowedHosts: hosts, CORSOrigins: origins,
		MaxBody: *maxBody, LeaseTTL: *leaseTTL, MinLeaseTTL: *leaseMin, MaxLeaseTTL: *leaseMax, IdempotencyKeep: *keep, IdempotencyLock: *lock,
		ShutdownGrace: *grace, Logger: log, StreamPoll: *streamPoll, ChangeRetention: *retention,
		Retrain: *retrainOn, Notifiers: notifiers, LeaderTTL: *leaderTTL, CookieSecure: *cookieSecure,
	})
	if err != nil {
		ln.Close()
		return err
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	log.Info("serving", "url", scheme+"://"+ln.Addr().String()+"/api/v1", "dashboard", scheme+"://"+ln.Addr().String()+"/", "db", storage.Redact(dsn), "auth", !*noAuth)
	if *metricsAddr != "" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("serve: metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
		go ms.Serve(mln) //nolint:errcheck // ends with Close below
		defer ms.Close()
		log.Info("serving metrics", "url", "http://"+mln.Addr().String()+"/metrics")
	}
	if err := srv.Run(ctx, ln, tlsConfig); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// requireToken refuses to serve a database without a valid token.
func requireToken(ctx context.Context, s retune.Storage) error {
	ts, ok := s.(retune.TokenStore)
	if !ok {
		return fmt.Errorf("%w: this storage keeps no tokens", retune.ErrInvalid)
	}
	toks, err := ts.Tokens(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, t := range toks {
		if t.Revoked.IsZero() && (t.Expires.IsZero() || t.Expires.After(now)) {
			return nil
		}
	}
	return usagef("serve: the database has no valid token: create one (retune tokens create --name NAME --scope admin), or serve without auth (--no-auth)")
}
