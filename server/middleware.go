package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
)

type ctxKey int

const requestIDKey ctxKey = 0

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts a caller's X-Request-ID that is safe to log and echo.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// recorder remembers the status and size of a response for the access log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (flushes and write deadlines
// of the event stream).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// middleware wraps every request: request ID, access log, Host check, CORS, body limit.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = newID()
		}
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-ID", id)
		rec := &recorder{ResponseWriter: w}
		defer func() {
			s.log.LogAttrs(ctx, levelOf(rec.status), "request",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("query", redactQuery(r.URL.RawQuery)), slog.Int("status", rec.status), slog.Int("bytes", rec.bytes),
				slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr))
		}()
		if !s.hosts.allowed(r.Host) {
			writeProblem(rec, r, s.log, &fieldError{Field: "Host", Msg: fmt.Sprintf("host %q is not served here", r.Host),
				Valid: "the server's address or a host it allows (--allowed-host)", Status: http.StatusMisdirectedRequest})
			return
		}
		if s.cors(rec, r) {
			return
		}
		r.Body = http.MaxBytesReader(rec, r.Body, s.opts.MaxBody)
		next.ServeHTTP(rec, r)
	})
}

// cors adds CORS headers for an allowed Origin and answers preflight requests (then it
// returns true). Without CORSOrigins it does nothing.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if len(s.opts.CORSOrigins) == 0 || origin == "" || !slices.Contains(s.opts.CORSOrigins, origin) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, X-Request-ID")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// safeQueryKeys are the query parameters logged as they are; others' values are redacted
// (a token or key put in a URL by mistake never reaches the log).
var safeQueryKeys = []string{"state", "kind", "limit", "after", "cursor", "notifier", "before"}

func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "REDACTED"
	}
	for k, vs := range q {
		if !slices.Contains(safeQueryKeys, k) {
			for i := range vs {
				vs[i] = "REDACTED"
			}
		}
	}
	return q.Encode()
}

// hostCheck accepts the Host headers that name this server (DNS rebinding protection).
type hostCheck struct {
	any     bool     // "*" allowed
	anyIP   bool     // bound to an unspecified address: any IP literal names it
	hosts   []string // host names without port, lower case
	hostpts []string // host:port, lower case
}

func newHostCheck(addr string, allowed []string) (hostCheck, error) {
	var hc hostCheck
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSpace(a))
		switch {
		case a == "*":
			hc.any = true
		case a == "":
		case strings.Contains(a, ":") && !strings.HasPrefix(a, "[") && strings.Count(a, ":") > 1:
			hc.hosts = append(hc.hosts, a) // a bare IPv6 address
		case strings.Contains(a, ":"):
			hc.hostpts = append(hc.hostpts, a)
		default:
			hc.hosts = append(hc.hosts, strings.Trim(a, "[]"))
		}
	}
	if addr == "" {
		return hc, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return hc, fmt.Errorf("%w: server address %q: %v", retune.ErrInvalid, addr, err)
	}
	ip := net.ParseIP(host)
	switch {
	case host == "" || ip != nil && ip.IsUnspecified():
		hc.anyIP = true
	case host == "localhost" || ip != nil && ip.IsLoopback():
		hc.hosts = append(hc.hosts, "localhost", "127.0.0.1", "::1", strings.ToLower(host))
	default:
		hc.hosts = append(hc.hosts, strings.ToLower(host))
	}
	return hc, nil
}

func (hc hostCheck) allowed(hostport string) bool {
	if hc.any {
		return true
	}
	hostport = strings.ToLower(hostport)
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if hc.anyIP && net.ParseIP(host) != nil {
		return true
	}
	return slices.Contains(hc.hosts, host) || slices.Contains(hc.hostpts, hostport)
}
