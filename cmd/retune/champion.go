package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain"
)

// retrainStore opens the database as a store of champions and decisions; create lets a
// SQLite file that does not exist be created (champion set may come before any run).
func (m *Main) retrainStore(ctx context.Context, db string, create bool) (retrain.Store, error) {
	open := m.openExisting
	if create {
		open = m.open
	}
	s, err := open(ctx, m.dsn(db, ""))
	if err != nil {
		return nil, err
	}
	rs, ok := s.(retrain.Store)
	if !ok {
		s.Close()
		return nil, fmt.Errorf("%w: this storage keeps no champions", retune.ErrInvalid)
	}
	return rs, nil
}

// paramFlags collects --param name=value flags.
type paramFlags map[string]any

func (p paramFlags) String() string { return "" }

func (p paramFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want name=value", s)
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		p[k] = n
	} else if f, err := strconv.ParseFloat(v, 64); err == nil {
		p[k] = f
	} else {
		p[k] = v
	}
	return nil
}

// floatList collects repeated numeric flags.
type floatList []float64

func (f *floatList) String() string { return "" }

func (f *floatList) Set(s string) error {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q: want a number", s)
	}
	*f = append(*f, x)
	return nil
}

// metricFlags collects --metric name=value flags.
type metricFlags map[string]float64

func (m metricFlags) String() string { return "" }

func (m metricFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	x, err := strconv.ParseFloat(v, 64)
	if !ok || k == "" || err != nil {
		return fmt.Errorf("%q: want name=number", s)
	}
	m[k] = x
	return nil
}

func runChampion(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("champion: want a subcommand: set, show, history or promote")
	}
	sub, args := args[0], args[1:]
	fs := m.flagSet("champion")
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	f := championFlags{params: paramFlags{}, metrics: metricFlags{}, force: new(bool)}
	switch sub {
	case "set":
		fs.Var(f.params, "param", "a param of the champion as name=value (repeatable)")
		fs.Var(&f.values, "value", "an objective value of the champion (repeat for several objectives)")
		fs.Var(f.metrics, "metric", "another metric as name=value, for guardrails (repeatable)")
	case "promote":
		fs.Var(&f.values, "value", "the retrained model's measured objective value (default: the candidate trial's)")
		fs.Var(f.metrics, "metric", "the retrained model's other metric as name=value (repeatable)")
		f.force = fs.Bool("force", false, "promote even within the cooldown (retrain.cooldown) of the previous promotion")
		fs.Var(&f.notify, "notify", "a notifier the champion-promoted event is for (repeatable or comma-separated; \"\" for none; default: those of the decision's event)")
	case "show", "history":
	default:
		return usagef("champion %s: want set, show, history or promote", sub)
	}
	decision := fs.Int64("decision", 0, "promote: the decision whose candidate becomes the champion")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	model := pos[0]
	st, err := m.retrainStore(ctx, *db, sub == "set")
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "set":
		return m.championSet(ctx, st, model, f)
	case "promote":
		return m.championPromote(ctx, st, model, *decision, f)
	case "show":
		return m.championShow(ctx, st, model, *asJSON)
	}
	return m.championHistory(ctx, st, model, *asJSON)
}

// championFlags are the flags of champion set and promote.
type championFlags struct {
	params  paramFlags
	values  floatList
	metrics metricFlags
	force   *bool
	notify  idList
}

func (m *Main) championSet(ctx context.Context, st retrain.Store, model string, f championFlags) error {
	if len(f.values) == 0 && len(f.params) == 0 {
		return usagef("champion set: give the champion's value with --value, its params with --param (confirmation repeats re-measure it), or both")
	}
	c, err := retrain.SetChampion(ctx, st, model, f.params, f.values, f.metrics)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "champion of %s is now version %d (manual)\n", model, c.Version)
	return nil
}

func (m *Main) championPromote(ctx context.Context, st retrain.Store, model string, decision int64, f championFlags) error {
	if decision == 0 {
		return usagef("champion promote: give --decision ID (see retune decisions list %s)", model)
	}
	d, err := st.Decision(ctx, decision)
	if err != nil {
		return err
	}
	if d.Model != model {
		return usagef("decision %d is about model %q, not %q", decision, d.Model, model)
	}
	po := retrain.PromoteOptions{Values: f.values, Metrics: f.metrics, Force: *f.force}
	if f.notify.set {
		po.Notify = append([]string{}, f.notify.ids...)
	}
	c, err := retrain.Promote(ctx, st, decision, po)
	if errors.Is(err, retune.ErrVersionConflict) {
		return versionConflict{err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "champion of %s is now version %d (trial %d of %s, decision %d)\n", model, c.Version, c.Trial, c.Study, decision)
	return nil
}

func (m *Main) championShow(ctx context.Context, st retrain.Store, model string, asJSON bool) error {
	c, err := st.Champion(ctx, model)
	if errors.Is(err, retune.ErrNotFound) {
		return notFound{fmt.Sprintf("model %q has no champion: set one with `retune champion set %s --value V`, or promote a decision's candidate", model, model)}
	}
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(m.Stdout, championJSON(c))
	}
	printChampion(m, c)
	return nil
}

func (m *Main) championHistory(ctx context.Context, st retrain.Store, model string, asJSON bool) error {
	hist, err := st.ChampionHistory(ctx, model)
	if err != nil {
		return err
	}
	if len(hist) == 0 {
		return notFound{fmt.Sprintf("model %q has no champion: set one with `retune champion set %s --value V`, or promote a decision's candidate", model, model)}
	}
	if asJSON {
		out := make([]map[string]any, len(hist))
		for i, c := range hist {
			out[i] = championJSON(c)
		}
		return writeJSON(m.Stdout, out)
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tVALUE\tSOURCE\tDECISION\tCREATED\tPARAMS")
	for _, c := range hist {
		src := c.Source
		if c.Source == "trial" {
			src = fmt.Sprintf("trial %d of %s", c.Trial, c.Study)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", c.Version, fmtValues(c.Values), src, c.Decision, c.Created.UTC().Format(time.DateTime), fmtParams(c.Params))
	}
	return tw.Flush()
}

// versionConflict marks a lost compare-and-set: exit code 5.
type versionConflict struct{ err error }

func (v versionConflict) Error() string {
	return v.err.Error() + " (another promotion came first: decide again against the new champion)"
}
func (v versionConflict) Unwrap() error { return v.err }

func championJSON(c retune.Champion) map[string]any {
	vals := make([]retune.Float, len(c.Values))
	for i, v := range c.Values {
		vals[i] = retune.Float(v)
	}
	return map[string]any{"model": c.Model, "version": c.Version, "params": c.Params, "values": vals,
		"source": c.Source, "study": c.Study, "trial": c.Trial, "decision": c.Decision, "created": c.Created.UTC()}
}

func printChampion(m *Main, c retune.Champion) {
	fmt.Fprintf(m.Stdout, "model %s, champion version %d (%s), value %s, since %s\n", c.Model, c.Version, c.Source, fmtValues(c.Values), c.Created.UTC().Format(time.DateTime))
	keys := make([]string, 0, len(c.Params))
	for k := range c.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(m.Stdout, "  %s: %v\n", k, c.Params[k])
	}
}

func runDecisions(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("decisions: want a subcommand: list [MODEL] or show ID")
	}
	sub, args := args[0], args[1:]
	fs := m.flagSet("decisions")
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	want := 1
	if sub == "list" {
		want = -1
	} else if sub != "show" {
		return usagef("decisions %s: want list or show", sub)
	}
	var pos []string
	var err error
	if want < 0 {
		if pos, err = parseUpTo(fs, args, 1); err != nil {
			return err
		}
	} else if pos, err = parse(fs, args, 1); err != nil {
		return err
	}
	st, err := m.retrainStore(ctx, *db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "show" {
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil {
			return usagef("decisions show %q: want a decision id", pos[0])
		}
		d, err := st.Decision(ctx, id)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(m.Stdout, decisionJSON(d))
		}
		b, _ := json.MarshalIndent(decisionJSON(d)["evidence"], "  ", "  ")
		fmt.Fprintf(m.Stdout, "decision %d, model %s, study %s, run %s\ncandidate trial %d against champion version %d: improved %v\n%s\nevidence:\n  %s\n",
			d.ID, d.Model, d.Study, d.RunID, d.Candidate, d.ChampionVersion, d.Improved, d.Reason, b)
		return nil
	}
	model := ""
	if len(pos) == 1 {
		model = pos[0]
	}
	ds, err := st.Decisions(ctx, model)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]map[string]any, len(ds))
		for i, d := range ds {
			out[i] = decisionJSON(d)
		}
		return writeJSON(m.Stdout, out)
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMODEL\tSTUDY\tTRIAL\tCHAMPION\tIMPROVED\tMETHOD\tCREATED")
	for _, d := range ds {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%v\t%s\t%s\n", d.ID, d.Model, d.Study, d.Candidate, d.ChampionVersion, d.Improved, d.Evidence.Method, d.Created.UTC().Format(time.DateTime))
	}
	return tw.Flush()
}

func decisionJSON(d retune.Decision) map[string]any {
	ev, err := d.Evidence.MarshalBinary()
	var evidence any = string(ev)
	if err == nil {
		var v any
		if json.Unmarshal(ev, &v) == nil {
			evidence = v
		}
	}
	return map[string]any{"id": d.ID, "model": d.Model, "study": d.Study, "run": d.RunID, "champion_version": d.ChampionVersion,
		"candidate": d.Candidate, "improved": d.Improved, "reason": d.Reason, "evidence": evidence, "created": d.Created.UTC()}
}

// parseUpTo is parse with at most max positional arguments.
func parseUpTo(fs *flag.FlagSet, args []string, most int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) > most {
		fs.Usage()
		return nil, usagef("%s: want at most %d argument(s), got %d", fs.Name(), most, len(pos))
	}
	return pos, nil
}
