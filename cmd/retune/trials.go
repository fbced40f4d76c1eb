package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/export"
)

// openStudy opens the database and finds study name.
func (m *Main) openStudy(ctx context.Context, db, name string) (retune.Storage, retune.StudyRecord, error) {
	s, err := m.openExisting(ctx, m.dsn(db, ""))
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
	cs := rec.Constraints()
	feasibleCol := len(cs) > 0 || slices.ContainsFunc(sel, func(t retune.FrozenTrial) bool { return t.Constraints() != nil })
	if feasibleCol {
		fmt.Fprintln(tw, "#\tKIND\tSTATE\tVALUE\tFEASIBLE\tDURATION\tPARAMS\tLOG / REASON")
	} else {
		fmt.Fprintln(tw, "#\tKIND\tSTATE\tVALUE\tDURATION\tPARAMS\tLOG / REASON")
	}
	for _, t := range sel {
		note, _ := t.SystemAttrs["log"].(string)
		if t.Reason != "" {
			first, _, _ := strings.Cut(t.Reason, "\n")
			note = strings.TrimSpace(note + " " + first)
		}
		value := fmtValues(t.Values)
		if feasibleCol {
			feasible := ""
			switch {
			case t.State != retune.TrialComplete:
			case t.Feasible():
				feasible = "yes"
			default:
				feasible = "no"
				note = strings.TrimSpace(violated(cs, t) + "; " + note)
				note = strings.TrimSuffix(note, ";")
			}
			value += "\t" + feasible
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Number, t.Kind, t.State, value, duration(t), fmtParams(t.Params), note)
	}
	return tw.Flush()
}
