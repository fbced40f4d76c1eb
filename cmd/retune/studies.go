package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/a6b40afc/retune"
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
	s, err := m.openExisting(ctx, m.dsn(*db, ""))
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
