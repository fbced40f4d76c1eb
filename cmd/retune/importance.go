package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/importance"
)

// importanceJSON is what `retune importance --json` prints.
type importanceJSON struct {
	Study string `json:"study"`
	// ObjectiveName is the objective's metric name, or "value" for an unnamed single one.
	ObjectiveName string `json:"objective_name"`
	Seed          uint64 `json:"seed,omitempty"` // fANOVA's forest seed
	importance.Result
}

// barWidth is the length of the bar of an importance of 1.
const barWidth = 40

func runImportance(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("importance")
	db := dbFlag(fs)
	method := fs.String("method", "fanova", "fanova (variance over the whole space, from a random forest) or ped-anova (what the top trials need)")
	objective := fs.String("objective", "", "the objective to analyse, by metric name or index (required with several objectives)")
	asJSON := fs.Bool("json", false, "print JSON")
	seed := fs.Uint64("seed", 0, "fanova: the forest's seed (default the study's seed)")
	interactions := fs.Bool("interactions", false, "fanova: also list the interaction share of each pair of params")
	quantile := fs.Float64("quantile", importance.DefaultTargetQuantile, "ped-anova: the share of best trials examined")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if *method != "fanova" && *method != "ped-anova" {
		return usagef("--method %q: want fanova or ped-anova", *method)
	}
	s, rec, err := m.openStudy(ctx, *db, pos[0])
	if err != nil {
		return err
	}
	defer s.Close()
	idx, name, err := objectiveIndex(rec, *objective)
	if err != nil {
		return err
	}
	ts, err := s.Trials(ctx, rec.ID)
	if err != nil {
		return err
	}
	out := importanceJSON{Study: rec.Name, ObjectiveName: name}
	if *method == "fanova" {
		out.Seed = *seed
		if out.Seed == 0 {
			out.Seed = rec.Seed
		}
		out.Result, err = importance.FANOVA(ctx, ts, importance.FANOVAOptions{Objective: idx, Seed: out.Seed, Interactions: *interactions})
	} else {
		out.Result, err = importance.PEDANOVA(ts, importance.PEDANOVAOptions{Objective: idx, Direction: rec.Directions[idx], TargetQuantile: *quantile})
	}
	if errors.Is(err, importance.ErrTooFewTrials) {
		return fmt.Errorf("study %q has %d usable COMPLETE trial(s): importance needs at least 2: %w", rec.Name, out.Used, retune.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("study %q: %w", rec.Name, err)
	}
	if *asJSON {
		return writeJSON(m.Stdout, out)
	}
	return printImportance(m.Stdout, out)
}

// objectiveIndex finds the objective want names (a metric name or an index); with want
// empty, the only objective.
func objectiveIndex(rec retune.StudyRecord, want string) (int, string, error) {
	i, name, err := importance.Objective(rec, want)
	if err != nil {
		return 0, "", usagef("%s", strings.TrimPrefix(err.Error(), retune.ErrInvalid.Error()+": "))
	}
	return i, name, nil
}

// printImportance draws the importances as a bar chart.
func printImportance(w io.Writer, r importanceJSON) error {
	method := "fANOVA"
	if r.Method == "ped-anova" {
		method = "PED-ANOVA"
	}
	fmt.Fprintf(w, "study %s: %s importance for %s (%d trials used, %d skipped)\n", r.Study, method, r.ObjectiveName, r.Used, r.Skipped)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range r.Params {
		bar := strings.Repeat("#", int(p.Importance*barWidth+0.5))
		if p.Trials < r.Used {
			bar = strings.TrimSpace(fmt.Sprintf("%s  (in %d trials)", bar, p.Trials))
		}
		if bar == "" {
			fmt.Fprintf(tw, "%s\t%.3f\n", p.Name, p.Importance)
		} else {
			fmt.Fprintf(tw, "%s\t%.3f\t%s\n", p.Name, p.Importance, bar)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Interactions) > 0 {
		fmt.Fprintln(w, "\ninteractions (share of variance beyond the main effects):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, in := range r.Interactions {
			fmt.Fprintf(tw, "%s × %s\t%.3f\n", in.Params[0], in.Params[1], in.Raw)
		}
		return tw.Flush()
	}
	return nil
}
