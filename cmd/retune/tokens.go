package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/server"
)

func runTokens(ctx context.Context, m *Main, args []string) error {
	sub := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := m.flagSet("tokens")
	db := dbFlag(fs)
	var name, scope, studies, expires *string
	var asJSON *bool
	want := 0
	switch sub {
	case "create":
		name = fs.String("name", "", "the token's name (unique; shown in logs)")
		scope = fs.String("scope", "read", "read (see), run (ask, report, tell, heartbeat, enqueue) or admin (everything)")
		studies = fs.String("studies", "", "reach only the studies whose names match this pattern (e.g. 'team-a-*'; default all)")
		expires = fs.String("expires", "", "expire after this long (30d, 12h) or at this time (RFC 3339); default never")
	case "list":
		asJSON = fs.Bool("json", false, "print JSON")
	case "revoke":
		want = 1
	default:
		return usagef("tokens %s: want create, list or revoke NAME", sub)
	}
	pos, err := parse(fs, args, want)
	if err != nil {
		return err
	}
	s, err := m.open(ctx, m.dsn(*db, ""))
	if err != nil {
		return err
	}
	defer s.Close()
	ts, ok := s.(retune.TokenStore)
	if !ok {
		return fmt.Errorf("%w: this storage keeps no tokens", retune.ErrInvalid)
	}
	switch sub {
	case "create":
		sc, err := server.ParseScope(*scope)
		if err != nil {
			return err
		}
		exp, err := parseExpiry(*expires, time.Now())
		if err != nil {
			return err
		}
		secret, tok, err := server.NewToken(ctx, ts, *name, sc, *studies, exp)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "created token %q (scope %s); it is shown once, keep it secret:\n", tok.Name, tok.Scope)
		fmt.Fprintln(m.Stdout, secret)
		return nil
	case "revoke":
		if err := ts.RevokeToken(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "revoked token %s\n", pos[0])
		return nil
	}
	toks, err := ts.Tokens(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			Name    string     `json:"name"`
			Scope   string     `json:"scope"`
			Studies string     `json:"studies,omitempty"`
			Created time.Time  `json:"created"`
			Expires *time.Time `json:"expires,omitempty"`
			Revoked *time.Time `json:"revoked,omitempty"`
		}
		rows := []row{}
		for _, t := range toks {
			r := row{Name: t.Name, Scope: t.Scope, Studies: t.Studies, Created: t.Created}
			if !t.Expires.IsZero() {
				r.Expires = &t.Expires
			}
			if !t.Revoked.IsZero() {
				r.Revoked = &t.Revoked
			}
			rows = append(rows, r)
		}
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCOPE\tSTUDIES\tCREATED\tEXPIRES\tSTATUS")
	now := time.Now()
	for _, t := range toks {
		studies, exp, status := t.Studies, "never", "valid"
		if studies == "" {
			studies = "*"
		}
		if !t.Expires.IsZero() {
			exp = t.Expires.Format(time.RFC3339)
			if !now.Before(t.Expires) {
				status = "expired"
			}
		}
		if !t.Revoked.IsZero() {
			status = "revoked " + t.Revoked.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Scope, studies, t.Created.Format(time.RFC3339), exp, status)
	}
	return tw.Flush()
}

// parseExpiry reads --expires: "" (never), a duration with a d(ays) unit allowed, or an
// RFC 3339 time.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return now.Add(time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil && t.After(now) {
		return t, nil
	}
	return time.Time{}, usagef("--expires %q: want a duration such as 30d or 12h, or a future RFC 3339 time", s)
}
