package main

import (
	"context"
	"fmt"
	"io"

	"github.com/a6b40afc/retune/bench"
)

// constrained runs each sampler with and without the problem's constraint on the same
// seeds and prints a Markdown table: median regret of the best feasible value (quartiles
// in brackets), runs with nothing feasible, the feasible share of trials, and one-sided
// Mann-Whitney p-values (Holm-corrected across samplers) for "knowing the constraint
// helps" and "it hurts".
func constrained(ctx context.Context, w, jsonOut io.Writer, problemName string, samplers []string, n, seeds int) error {
	prob, err := bench.FindConstrained(problemName)
	if err != nil {
		return err
	}
	type row struct{ with, without bench.ConstrainedResult }
	rows := make([]row, len(samplers))
	var better, worse []float64
	for i, smp := range samplers {
		for _, c := range []bool{true, false} {
			r, err := bench.Constrained(ctx, prob, smp, n, seeds, c)
			if err != nil {
				return err
			}
			if err := emit(jsonOut, r); err != nil {
				return err
			}
			if c {
				rows[i].with = r
			} else {
				rows[i].without = r
			}
		}
		better = append(better, bench.MannWhitneyGreater(rows[i].without.Regret, rows[i].with.Regret))
		worse = append(worse, bench.MannWhitneyGreater(rows[i].with.Regret, rows[i].without.Regret))
	}
	better, worse = bench.Holm(better), bench.Holm(worse)
	fmt.Fprintf(w, "\n%s, %d trials, seeds 1-%d: regret of the best feasible value (median [q1, q3]); a run with nothing feasible scores the worst feasible value, %g\n\n", prob.Name, n, seeds, prob.WorstFeasible)
	fmt.Fprintln(w, "| sampler | with constraint | none feasible | feasible trials | without | none feasible | feasible trials | p (with better) | p (with worse) |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for i, smp := range samplers {
		r := rows[i]
		fmt.Fprintf(w, "| %s | %s | %d | %.2f | %s | %d | %.2f | %.3g | %.3g |\n", smp,
			summary4(r.with.Regret), r.with.NoFeasible, bench.Median(r.with.FeasibleFr),
			summary4(r.without.Regret), r.without.NoFeasible, bench.Median(r.without.FeasibleFr),
			better[i], worse[i])
	}
	return nil
}
