package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/export"
)

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
		if cs := rec.Constraints(); len(cs) > 0 && slices.ContainsFunc(ts, func(t retune.FrozenTrial) bool { return t.State == retune.TrialComplete }) {
			names := make([]string, len(cs))
			for i, c := range cs {
				names[i] = c.String()
			}
			return fmt.Errorf("study %q has no feasible completed trial (constraints: %s; see retune trials %s): %w", rec.Name, strings.Join(names, ", "), rec.Name, retune.ErrNotFound)
		}
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
