// Command retune-bench measures retune on the public benchmark problems, alone or side by
// side with Optuna's reference runner in the same run (PROTOCOL.md of the shared benchmark
// folder says how each figure is measured).
//
//	retune-bench run -mode overhead -space A -sampler tpe -n 2000 -seed 1    one JSON line
//	retune-bench run -mode efficiency -problem branin -sampler tpe -n 200 -seeds 30
//	retune-bench run -mode mo -problem dtlz2-3 -sampler auto -n 500 -seeds 30 -checkpoints 120,300
//	retune-bench run -mode conditional -n 200 -seeds 30    grouped TPE: conditional vs flattened space
//	retune-bench run -mode constrained -problem branin_disc -samplers tpe,gp,nsga2,auto -n 100 -seeds 30
//	retune-bench run -mode storage -db retune-bench.db -n 500 -workers 1
//	retune-bench run -mode pruning -pruner median -n 100 -seeds 10 [-family slow]
//	retune-bench run -mode decisions -n 2000 -repeats 5 -seed 1   point and confirmation policies (each analysis), null and effect
//	retune-bench compare -suite overhead|efficiency|storage|pruning|mo|curves [-optuna optuna_ref.py] [-out dir]
//	retune-bench compare -suite efficiency -samplers gp=tpe -vs tpe -problems branin,hartmann6 -n 100
//	retune-bench compare -suite efficiency -problems broad -samplers tpe -n 200 [-optuna-more bench/optuna_more.py]
//	retune-bench compare -suite curves -families latebloom,crossing,divergent -samplers tpe -pruners none,median,sha,hyperband,extrapolate -n 100 -seeds 10 [-first-seed 30]
//	retune-bench compare -suite mo -problems dtlz2-3,wfg1-3 -samplers auto -optuna-sampler tpe -n 120 -seeds 30 -checkpoints 50 -optuna-results FILE,…
//	retune-bench compare -suite storage -stores sqlite,postgres -runs 5 [-large=false]
//
// compare runs retune and Optuna interleaved and prints Markdown tables: medians, ratios
// and, for efficiency, mo and curves, one-sided Mann-Whitney tests with Holm correction
// across all cells. The problems of problem.Broad and the curve families run for Optuna
// with bench/optuna_more.py (-optuna-more), the others with optuna_ref.py (-optuna). In
// -samplers, OURS=THEIRS pairs a retune sampler with a different Optuna one (Optuna has no
// GP sampler); -vs adds a table against one of retune's own samplers on the same seeds.
// The storage suite runs retune at N and 10×N trials with 1 and 8 workers, and Optuna at N
// and (unless -large=false) 10×N with one worker, and on PostgreSQL also at 10×N with 8
// worker processes (bench/optuna_storage.py, -optuna-storage); it records the load average
// at the start and the end, since load slows Optuna's Python far more than retune. The mo
// suite reuses Optuna's runs from -optuna-results: one run of the seeds asked for, or runs
// of blocks of them joined by seed (bench/optuna_mo.py --first-seed K --seeds B, or
// --per-seed, so that a long run stopped midway keeps the seeds it finished).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/a6b40afc/retune/bench"
	"github.com/a6b40afc/retune/retrain"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "retune-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("want a command: run or compare (see the package doc)")
	}
	switch args[0] {
	case "run":
		return runOne(ctx, args[1:], stdout)
	case "compare":
		return compare(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown command %q: want run or compare", args[0])
}

func emit(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func runOne(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	mode := fs.String("mode", "overhead", "overhead, efficiency, mo, conditional, constrained, storage, pruning or decisions")
	space := fs.String("space", "A", "overhead: A (5 floats) or B (mixed)")
	sampler := fs.String("sampler", "tpe", "sampler name, or a JSON spec read as a stored one, such as {\"name\": \"auto\", \"options\": {\"nsga2_trials\": 120, \"rules\": 4}}")
	problemName := fs.String("problem", "branin", "efficiency: problem name (mo: one of bench.MOProblems)")
	n := fs.Int("n", 2000, "trials")
	seed := fs.Uint64("seed", 1, "overhead: study seed")
	seeds := fs.Int("seeds", 10, "efficiency and mo: seeds 0..seeds-1")
	firstSeed := fs.Int("first-seed", 0, "efficiency and mo: run seeds first-seed..first-seed+seeds-1 (fresh seeds, to check a choice made on others)")
	db := fs.String("db", "memory", "storage: DSN (a fresh SQLite file path is removed first)")
	workers := fs.Int("workers", 1, "storage: concurrent workers")
	sync := fs.String("synchronous", "", "storage with SQLite: NORMAL (default) or FULL")
	pruner := fs.String("pruner", "none", "pruning: pruner name")
	family := fs.String("family", "public", "pruning: curve family, public or slow")
	steps := fs.Int("steps", 50, "pruning: steps per curve")
	repeats := fs.Int("repeats", 5, "decisions: confirmation repeats")
	rho := fs.Float64("rho", 0, "decisions: correlation of the noise within a pair of repeats")
	samplerList := fs.String("samplers", "tpe,gp,nsga2,auto", "constrained: samplers, comma-separated")
	checkpoints := fs.String("checkpoints", "", "mo: also record the hypervolume after these numbers of trials (e.g. 50,120,300)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *mode {
	case "overhead":
		r, err := overhead(ctx, *space, *sampler, *n, *seed)
		if err != nil {
			return err
		}
		return emit(stdout, r)
	case "conditional": // grouped TPE on the conditional space, and on the flattened one
		for _, flat := range []bool{false, true} {
			r, err := bench.Conditional(ctx, *n, *seeds, flat)
			if err != nil {
				return err
			}
			if err := emit(stdout, r); err != nil {
				return err
			}
		}
		return nil
	case "constrained": // each sampler with and without the constraint; JSON to stderr
		name := *problemName
		if name == "branin" {
			name = "branin_disc"
		}
		return constrained(ctx, stdout, os.Stderr, name, split(*samplerList), *n, *seeds)
	case "efficiency":
		r, err := efficiency(ctx, *problemName, *sampler, *n, *firstSeed, *seeds)
		if err != nil {
			return err
		}
		return emit(stdout, r)
	case "mo": // retune alone: hypervolume per seed, as compare -suite mo records it
		cps, err := checkpointList(*checkpoints)
		if err != nil {
			return err
		}
		r, err := bench.MultiObjectiveFrom(ctx, *problemName, *sampler, *n, *firstSeed, *seeds, cps...)
		if err != nil {
			return err
		}
		return emit(stdout, r)
	case "storage":
		r, err := storageRun(ctx, *db, *sync, *n, *workers)
		if err != nil {
			return err
		}
		return emit(stdout, r)
	case "decisions":
		policies := []retrain.Policy{{}}
		for _, a := range []string{retrain.AnalysisBoth, retrain.AnalysisPaired, retrain.AnalysisUnpaired} {
			policies = append(policies, retrain.Policy{Repeats: *repeats, Analysis: a})
		}
		for _, p := range policies {
			for i, scenario := range []string{"null", "effect"} {
				r, err := bench.SimulateDecisions(p, scenario, *n, *seed+uint64(i), *rho)
				if err != nil {
					return err
				}
				if err := emit(stdout, r); err != nil {
					return err
				}
			}
		}
		return nil
	case "pruning":
		r, err := bench.Pruning(ctx, *pruner, *family, *n, *seeds, *steps)
		if err != nil {
			return err
		}
		return emit(stdout, r)
	}
	return fmt.Errorf("unknown mode %q: want overhead, efficiency, mo, conditional, constrained, storage, pruning or decisions", *mode)
}
