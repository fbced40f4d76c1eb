package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/export"
	"github.com/a6b40afc/retune/storage"
)

// studyJSON is `retune studies --json`'s form of a study.
type studyJSON struct {
	Name       string        `json:"name"`
	Model      string        `json:"model"`
	Directions []string      `json:"directions"`
	Metrics    []string      `json:"metrics,omitempty"`
	Seed       uint64        `json:"seed"`
	Sampler    string        `json:"sampler"`
	Pruner     string        `json:"pruner,omitempty"`
	Budget     retune.Budget `json:"budget"`
	Waiting    int           `json:"waiting"`
	Running    int           `json:"running"`
	Complete   int           `json:"complete"`
	Pruned     int           `json:"pruned"`
	Failed     int           `json:"failed"`
	Best       *retune.Float `json:"best,omitempty"`
	Created    time.Time     `json:"created"`
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runStudies(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("studies")
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	s, err := m.open(ctx, m.dsn(*db, ""))
	if err != nil {
		return err
	}
	defer s.Close()
	sums, err := s.Studies(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]studyJSON, 0, len(sums))
		for _, x := range sums {
			j := studyJSON{Name: x.Name, Model: x.Model, Metrics: x.Metrics, Seed: x.Seed, Sampler: x.Sampler.Name, Pruner: x.Pruner.Name,
				Budget: x.Budget, Waiting: x.Waiting, Running: x.Running, Complete: x.Complete, Pruned: x.Pruned, Failed: x.Failed, Created: x.Created.UTC()}
			for _, d := range x.Directions {
				j.Directions = append(j.Directions, d.String())
			}
			if x.Best != nil {
				b := retune.Float(*x.Best)
				j.Best = &b
			}
			out = append(out, j)
		}
		return writeJSON(m.Stdout, out)
	}
	if len(sums) == 0 {
		fmt.Fprintln(m.Stdout, "no studies")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tMODEL\tDIRECTION\tCOMPLETE\tPRUNED\tFAILED\tRUNNING\tWAITING\tBEST\tSAMPLER\tCREATED")
	for _, x := range sums {
		var dirs []string
		for _, d := range x.Directions {
			dirs = append(dirs, d.String())
		}
		best := "-"
		if x.Best != nil {
			best = fmtValue(*x.Best)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", x.Name, x.Model, strings.Join(dirs, ","),
			x.Complete, x.Pruned, x.Failed, x.Running, x.Waiting, best, x.Sampler.Name, x.Created.UTC().Format(time.DateTime))
	}
	return tw.Flush()
}

func fmtValue(v float64) string {
	if v == float64(int64(v)) && v < 1e15 && v > -1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func fmtValues(vs []float64) string {
	if len(vs) == 0 {
		return "-"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmtValue(v)
	}
	return strings.Join(parts, ",")
}

func fmtParams(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := p[k]
		if f, ok := v.(float64); ok {
			parts[i] = k + "=" + strconv.FormatFloat(f, 'g', 6, 64)
		} else {
			parts[i] = fmt.Sprintf("%s=%v", k, v)
		}
	}
	return strings.Join(parts, " ")
}

func duration(t retune.FrozenTrial) string {
	if t.Start.IsZero() {
		return "-"
	}
	end := t.End
	if end.IsZero() {
		end = time.Now()
	}
	return end.Sub(t.Start).Round(time.Millisecond).String()
}

// openStudy opens the database and finds study name.
func (m *Main) openStudy(ctx context.Context, db, name string) (retune.Storage, retune.StudyRecord, error) {
	s, err := m.open(ctx, m.dsn(db, ""))
	if err != nil {
		return nil, retune.StudyRecord{}, err
	}
	rec, err := studyRecord(ctx, s, name)
	if err != nil {
		s.Close()
		return nil, rec, err
	}
	return s, rec, nil
}

func runTrials(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("trials")
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	state := fs.String("state", "", "only trials in this state: WAITING, RUNNING, COMPLETE, PRUNED or FAIL")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	var want *retune.TrialState
	if *state != "" {
		st, err := retune.ParseTrialState(strings.ToUpper(*state))
		if err != nil {
			return usageError{err}
		}
		want = &st
	}
	s, rec, err := m.openStudy(ctx, *db, pos[0])
	if err != nil {
		return err
	}
	defer s.Close()
	ts, err := s.Trials(ctx, rec.ID)
	if err != nil {
		return err
	}
	var sel []retune.FrozenTrial
	for _, t := range ts {
		if want == nil || t.State == *want {
			t.Params = export.Params(t)
			sel = append(sel, t)
		}
	}
	if *asJSON {
		out := make([]export.Trial, len(sel))
		for i, t := range sel {
			out[i] = export.ToJSON(t)
		}
		return writeJSON(m.Stdout, out)
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tKIND\tSTATE\tVALUE\tDURATION\tPARAMS\tLOG / REASON")
	for _, t := range sel {
		note, _ := t.SystemAttrs["log"].(string)
		if t.Reason != "" {
			first, _, _ := strings.Cut(t.Reason, "\n")
			note = strings.TrimSpace(note + " " + first)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Number, t.Kind, t.State, fmtValues(t.Values), duration(t), fmtParams(t.Params), note)
	}
	return tw.Flush()
}

func runBest(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("best")
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	s, rec, err := m.openStudy(ctx, *db, pos[0])
	if err != nil {
		return err
	}
	defer s.Close()
	ts, err := s.Trials(ctx, rec.ID)
	if err != nil {
		return err
	}
	best := retune.BestOf(rec.Directions, ts)
	if len(best) == 0 {
		return fmt.Errorf("study %q has no completed trial: %w", rec.Name, retune.ErrNotFound)
	}
	if *asJSON {
		if len(rec.Directions) == 1 {
			return writeJSON(m.Stdout, export.ToJSON(best[0]))
		}
		out := make([]export.Trial, len(best))
		for i, t := range best {
			out[i] = export.ToJSON(t)
		}
		return writeJSON(m.Stdout, out)
	}
	for _, t := range best {
		fmt.Fprintf(m.Stdout, "trial %d: %s = %s\n", t.Number, objectiveNames(rec), fmtValues(t.Values))
		keys := make([]string, 0, len(t.Params))
		for k := range t.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(m.Stdout, "  %s: %v\n", k, t.Params[k])
		}
	}
	return nil
}

func objectiveNames(rec retune.StudyRecord) string {
	if len(rec.Metrics) > 0 {
		return strings.Join(rec.Metrics, ",")
	}
	return "value"
}

func runExport(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("export")
	db := dbFlag(fs)
	format := fs.String("format", "csv", "csv or json")
	out := fs.String("o", "", "write to this file instead of stdout")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if *format != "csv" && *format != "json" {
		return usagef("--format %q: want csv or json", *format)
	}
	s, rec, err := m.openStudy(ctx, *db, pos[0])
	if err != nil {
		return err
	}
	defer s.Close()
	ts, err := s.Trials(ctx, rec.ID)
	if err != nil {
		return err
	}
	w := m.Stdout
	var f *os.File
	if *out != "" {
		if f, err = os.Create(*out); err != nil {
			return err
		}
		w = f
	}
	if *format == "json" {
		err = export.JSON(w, rec, ts)
	} else {
		err = export.CSV(w, rec, ts)
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func runEnqueue(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("enqueue")
	db := dbFlag(fs)
	var params []string
	fs.Func("param", "a fixed param as name=value (repeatable); numbers are numbers, anything else a string", func(s string) error {
		params = append(params, s)
		return nil
	})
	asJSON := fs.String("json", "", `the fixed params as one JSON object, e.g. '{"lr": 0.01, "depth": 6}'`)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	fixed := map[string]any{}
	if *asJSON != "" {
		if err := json.Unmarshal([]byte(*asJSON), &fixed); err != nil {
			return usagef("--json: %v: want a JSON object of param values", err)
		}
	}
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usagef("--param %q: want name=value", p)
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				fixed[k] = n
			} else {
				fixed[k] = f
			}
		} else {
			fixed[k] = v
		}
	}
	if len(fixed) == 0 {
		return usagef("enqueue: no params: give --param name=value or --json '{…}'")
	}
	s, rec, err := m.openStudy(ctx, *db, pos[0])
	if err != nil {
		return err
	}
	defer s.Close()
	nums, err := s.Enqueue(ctx, retune.EnqueueRequest{StudyID: rec.ID, Params: []map[string]any{fixed}})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "enqueued trial %d of %s\n", nums[0], rec.Name)
	return nil
}

func runDelete(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("delete")
	db := dbFlag(fs)
	logDir := fs.String("log-dir", "", "where the study's trial logs are (default $RETUNE_LOG_DIR, else the default beside the database)")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	dsn := m.dsn(*db, "")
	s, rec, err := m.openStudy(ctx, *db, pos[0])
	if err != nil {
		return err
	}
	defer s.Close()
	if !*yes {
		fmt.Fprintf(m.Stderr, "delete study %q with all its trials and logs? [y/N] ", rec.Name)
		var answer string
		if m.Stdin != nil {
			_, _ = fmt.Fscanln(m.Stdin, &answer)
		}
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return usagef("not deleted")
		}
	}
	if err := s.DeleteStudy(ctx, rec.ID); err != nil {
		return err
	}
	dir := filepath.Join(m.logDir(*logDir, "", dsn), rec.Name)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("study deleted, but its logs in %s were not: %w", dir, err)
	}
	fmt.Fprintf(m.Stdout, "deleted study %s and its logs in %s\n", rec.Name, dir)
	return nil
}

// logDir applies the precedence flag > RETUNE_LOG_DIR > study file > default: retune-logs
// beside a SQLite file, or in the working directory otherwise.
func (m *Main) logDir(flagValue, fileValue, dsn string) string {
	switch {
	case flagValue != "":
		return flagValue
	case m.Getenv("RETUNE_LOG_DIR") != "":
		return m.Getenv("RETUNE_LOG_DIR")
	case fileValue != "":
		return fileValue
	}
	if kind, path, err := storage.Kind(dsn); err == nil && kind == "sqlite" {
		return filepath.Join(filepath.Dir(path), "retune-logs")
	}
	return "retune-logs"
}
