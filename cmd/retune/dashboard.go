package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/server"
)

// runDashboard serves the dashboard (and the API) of a database on loopback for the person
// at this machine: it makes a token that lasts as long as the session may, prints a
// one-time login URL for it, and revokes the token when it stops (ending the session).
func runDashboard(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("dashboard")
	db := dbFlag(fs)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on (loopback; :0 picks a free port)")
	scope := fs.String("scope", "admin", "what the dashboard may do: read (see), run (also stop, retry, enqueue) or admin (everything)")
	ttl := fs.Duration("session", server.DefaultSessionTTL, "how long the login lasts")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	sc, err := server.ParseScope(*scope)
	if err != nil {
		return usagef("dashboard: %v", err)
	}
	if *ttl <= 0 {
		return usagef("dashboard: --session %v: want a positive duration", *ttl)
	}
	s, err := m.open(ctx, m.dsn(*db, ""))
	if err != nil {
		return err
	}
	defer s.Close()
	ts, ok1 := s.(retune.TokenStore)
	ss, ok2 := s.(retune.SessionStore)
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: this storage keeps no tokens or sessions", retune.ErrInvalid)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	name := "dashboard-" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
	_, tok, err := server.NewToken(ctx, ts, name, sc, "", time.Now().Add(*ttl))
	if err != nil {
		ln.Close()
		return err
	}
	defer func() {
		if err := ts.RevokeToken(context.WithoutCancel(ctx), tok.Name); err != nil {
			fmt.Fprintf(m.Stderr, "dashboard: revoking token %s: %v\n", tok.Name, err)
		}
	}()
	ticket, err := server.NewLoginTicket(ctx, ss, tok.ID)
	if err != nil {
		ln.Close()
		return err
	}
	log := slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(server.Options{Storage: s, Addr: ln.Addr().String(), Logger: log, SessionTTL: *ttl})
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(m.Stderr, "dashboard for %s as token %s (scope %s); the link logs in once, within %v; Ctrl-C stops it\n",
		*db, tok.Name, tok.Scope, server.LoginTicketTTL)
	fmt.Fprintf(m.Stdout, "http://%s/login?ticket=%s\n", ln.Addr().String(), ticket)
	if err := srv.Run(ctx, ln, nil); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}
