package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/check"
	"github.com/a6b40afc/retune/retrain/notify"
)

// deliveryStore opens the database as a store of events and their deliveries.
func (m *Main) deliveryStore(ctx context.Context, db string) (retune.Storage, retune.DeliveryStore, retune.EventStore, error) {
	s, err := m.openExisting(ctx, m.dsn(db, ""))
	if err != nil {
		return nil, nil, nil, err
	}
	ds, ok1 := s.(retune.DeliveryStore)
	es, ok2 := s.(retune.EventStore)
	if !ok1 || !ok2 {
		s.Close()
		return nil, nil, nil, fmt.Errorf("%w: this storage keeps no events", retune.ErrInvalid)
	}
	return s, ds, es, nil
}

func runEvents(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("events: want a subcommand: list, show ID or redeliver ID")
	}
	sub, args := args[0], args[1:]
	fs := m.flagSet("events")
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	var (
		state, notifier *string
		limit           *int
		before          *int64
		notifiers       idList
		want            = 1
	)
	switch sub {
	case "list":
		want = 0
		state = fs.String("state", "", "only events with a delivery in this state: pending, delivered or dead")
		notifier = fs.String("notifier", "", "only events for this notifier")
		limit = fs.Int("limit", 50, "the newest this many events (0: all)")
		before = fs.Int64("before", 0, "only events older than this sequence number (the next page)")
	case "show":
	case "redeliver":
		fs.Var(&notifiers, "notifier", "deliver to this notifier (repeatable or comma-separated; default: every notifier the event has a delivery for)")
	default:
		return usagef("events %s: want list, show or redeliver", sub)
	}
	pos, err := parse(fs, args, want)
	if err != nil {
		return err
	}
	s, ds, es, err := m.deliveryStore(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	if sub != "list" {
		if pos[0], err = eventID(ctx, es, pos[0]); err != nil {
			return err
		}
	}
	switch sub {
	case "list":
		if *limit < 0 || *before < 0 {
			return usagef("events list: --limit and --before must be >= 0")
		}
		q := retune.EventQuery{State: retune.DeliveryState(*state), Notifier: *notifier, Before: *before, Limit: *limit}
		return m.eventsList(ctx, ds, es, q, *asJSON)
	case "show":
		return m.eventShow(ctx, ds, es, pos[0], *asJSON)
	}
	ids, err := ds.Redeliver(ctx, pos[0], notifiers.ids)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return usagef("event %s has no deliveries: name a notifier with --notifier", pos[0])
	}
	fmt.Fprintf(m.Stdout, "event %s: %d deliveries pending again; a running dispatcher sends them now\n", pos[0], len(ids))
	return nil
}

// eventID returns the ID of the event arg names: its ID, or the sequence number (SEQ) that
// `retune events list` prints.
func eventID(ctx context.Context, es retune.EventStore, arg string) (string, error) {
	seq, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || seq <= 0 {
		return arg, nil // event IDs are UUIDs: never all digits
	}
	evs, err := es.FindEvents(ctx, retune.EventQuery{Before: seq + 1, Limit: 1})
	if err != nil {
		return "", err
	}
	if len(evs) == 0 || evs[0].Seq != seq {
		return "", notFound{fmt.Sprintf("no event with sequence number %d (see retune events list)", seq)}
	}
	return evs[0].ID, nil
}

// eventRow is an event with its deliveries, for listing.
type eventRow struct {
	retune.StoredEvent
	deliveries []retune.Delivery
}

func (m *Main) eventsList(ctx context.Context, ds retune.DeliveryStore, es retune.EventStore, q retune.EventQuery, asJSON bool) error {
	if q.State != "" && !q.State.Valid() {
		return usagef("events list: --state %q: want pending, delivered or dead", q.State)
	}
	evs, err := es.FindEvents(ctx, q)
	if err != nil {
		return err
	}
	rows := make([]eventRow, len(evs))
	for i, ev := range evs {
		dels, err := ds.Deliveries(ctx, retune.DeliveryFilter{EventID: ev.ID})
		if err != nil {
			return err
		}
		slices.Reverse(dels) // oldest first
		rows[i] = eventRow{ev, dels}
	}
	if asJSON {
		out := make([]map[string]any, len(rows))
		for i, r := range rows {
			out[i] = eventJSON(r.StoredEvent, r.deliveries, nil)
		}
		return writeJSON(m.Stdout, out)
	}
	if len(rows) == 0 {
		fmt.Fprintln(m.Stdout, "no events")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tTYPE\tID\tSUBJECT\tDELIVERIES")
	for _, r := range rows {
		var ds []string
		for _, d := range r.deliveries {
			x := d.Notifier + ":" + string(d.State)
			if d.Attempts > 0 {
				x += fmt.Sprintf("(%d)", d.Attempts)
			}
			ds = append(ds, x)
		}
		if len(ds) == 0 {
			ds = []string{"-"}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.Time.Format(time.RFC3339), strings.TrimPrefix(r.Type, "dev.retune."),
			r.ID, r.Subject, strings.Join(ds, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if q.Limit > 0 && len(rows) == q.Limit {
		fmt.Fprintf(m.Stdout, "older: retune events list --before %d\n", rows[len(rows)-1].Seq)
	}
	return nil
}

func (m *Main) eventShow(ctx context.Context, ds retune.DeliveryStore, es retune.EventStore, id string, asJSON bool) error {
	evs, err := es.FindEvents(ctx, retune.EventQuery{ID: id})
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		return fmt.Errorf("no event %q (see retune events list): %w", id, retune.ErrNotFound)
	}
	ev := &evs[0]
	dels, err := ds.Deliveries(ctx, retune.DeliveryFilter{EventID: id})
	if err != nil {
		return err
	}
	atts := map[int64][]retune.DeliveryAttempt{}
	for _, d := range dels {
		if atts[d.ID], err = ds.DeliveryAttempts(ctx, d.ID); err != nil {
			return err
		}
	}
	if asJSON {
		return writeJSON(m.Stdout, eventJSON(*ev, dels, atts))
	}
	body, err := notify.Structured(ev.Event)
	if err != nil {
		return err
	}
	var pretty any
	_ = json.Unmarshal(body, &pretty)
	b, _ := json.MarshalIndent(pretty, "", "  ")
	fmt.Fprintf(m.Stdout, "event %s (seq %d)\n%s\n", ev.ID, ev.Seq, b)
	if len(dels) == 0 {
		fmt.Fprintln(m.Stdout, "\nno deliveries: the event names no notifiers (retune events redeliver --notifier ID sends it)")
	}
	for i := len(dels) - 1; i >= 0; i-- {
		d := dels[i]
		fmt.Fprintf(m.Stdout, "\ndelivery %d to %s: %s after %d attempt(s)", d.ID, d.Notifier, d.State, d.Attempts)
		if d.State == retune.DeliveryPending {
			fmt.Fprintf(m.Stdout, ", next at %s", d.NextAt.Format(time.RFC3339))
		}
		fmt.Fprintln(m.Stdout)
		if len(atts[d.ID]) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  #\tSTARTED\tDURATION\tSTATUS\tOUTCOME\tBY\tERROR / RESPONSE")
		for _, a := range atts[d.ID] {
			detail := a.Error
			if detail == "" {
				detail = a.Response
			}
			detail, _, _ = strings.Cut(detail, "\n")
			if len(detail) > 100 {
				detail = check.CutUTF8(detail, 100) + "…"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%d\t%s\t%s\t%s\n", a.N, a.Started.Format(time.RFC3339), a.Duration.Round(time.Millisecond),
				a.Status, a.Outcome, a.Owner, detail)
		}
		tw.Flush()
	}
	return nil
}

func eventJSON(e retune.StoredEvent, dels []retune.Delivery, atts map[int64][]retune.DeliveryAttempt) map[string]any {
	out := map[string]any{"seq": e.Seq, "id": e.ID, "type": e.Type, "source": e.Source, "subject": e.Subject,
		"time": e.Time, "notify": e.Notify}
	if len(e.Data) > 0 {
		out["data"] = json.RawMessage(e.Data)
	}
	ds := []map[string]any{}
	for _, d := range dels {
		x := map[string]any{"id": d.ID, "notifier": d.Notifier, "state": d.State, "attempts": d.Attempts,
			"next_at": d.NextAt, "last_error": d.LastError, "created": d.Created, "updated": d.Updated}
		if atts != nil {
			as := []map[string]any{}
			for _, a := range atts[d.ID] {
				as = append(as, map[string]any{"n": a.N, "started": a.Started, "duration_ms": float64(a.Duration) / 1e6,
					"status": a.Status, "outcome": a.Outcome, "response": a.Response, "error": a.Error, "owner": a.Owner})
			}
			x["attempt_log"] = as
		}
		ds = append(ds, x)
	}
	out["deliveries"] = ds
	return out
}

func runNotifiers(ctx context.Context, m *Main, args []string) error {
	sub := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := m.flagSet("notifiers")
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	want := 0
	var reason *string
	switch sub {
	case "list", "secret":
	case "enable":
		want = 1
	case "disable":
		want = 1
		reason = fs.String("reason", "disabled by hand", "why, shown by retune notifiers")
	default:
		return usagef("notifiers %s: want list, enable ID, disable ID or secret", sub)
	}
	pos, err := parse(fs, args, want)
	if err != nil {
		return err
	}
	if sub == "secret" {
		fmt.Fprintln(m.Stdout, notify.NewSecret())
		return nil
	}
	s, ds, _, err := m.deliveryStore(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	switch sub {
	case "enable", "disable":
		if err := ds.SetNotifierEnabled(ctx, pos[0], sub == "enable", deref(reason)); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "notifier %s %sd\n", pos[0], sub)
		return nil
	}
	ns, err := ds.Notifiers(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(m.Stdout, ns)
	}
	if len(ns) == 0 {
		fmt.Fprintln(m.Stdout, "no notifiers have deliveries")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NOTIFIER\tSTATE\tLAST SUCCESS\tFAILING SINCE\tREASON")
	for _, n := range ns {
		st := "enabled"
		if !n.Disabled.IsZero() {
			st = "DISABLED " + n.Disabled.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.ID, st, fmtTime(n.LastSuccess), fmtTime(n.FailingSince), n.Reason)
	}
	return tw.Flush()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
