package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune/bench"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/jackc/pgx/v5"
)

type comparer struct {
	optuna        string // path of optuna_ref.py
	more          string // path of bench/optuna_more.py (problem.Broad and the curve families)
	python        string
	storageRunner string    // bench/optuna_storage.py
	large         bool      // storage: Optuna at 10×N too
	raw           io.Writer // every JSON result, one per line
	noRaw         bool      // runOptuna leaves its output out of raw (the caller records it)
	log           io.Writer
}

func compare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	suite := fs.String("suite", "overhead", "overhead, efficiency, storage, pruning, mo or curves")
	optuna := fs.String("optuna", "../shared/bench/optuna_ref.py", "Optuna reference runner")
	python := fs.String("python", "/usr/bin/python3", "Python with Debian's python3-optuna")
	out := fs.String("out", "bench/results", "directory for the raw JSON of this run")
	samplers := fs.String("samplers", "tpe,tpe_mv", "samplers to compare (mo: default nsga2; curves: default tpe); efficiency: OURS=OPTUNAS pairs a retune sampler with another of Optuna's, e.g. gp=tpe")
	vs := fs.String("vs", "", "efficiency: also compare each retune sampler with this retune sampler (e.g. tpe), same seeds")
	spaces := fs.String("spaces", "A,B", "overhead: spaces")
	n := fs.Int("n", 0, "trials (default: 2000 overhead, 200 efficiency, 500 storage, 300 mo, 100 pruning and curves)")
	runs := fs.Int("runs", 3, "overhead/storage: runs of each side, interleaved")
	growth := fs.Int("growth", 10000, "overhead: retune's trials for the growth figure (0 = skip)")
	problems := fs.String("problems", "branin,hartmann6,rosenbrock5,ackley5,mixedB", "efficiency: problems of problem.Problems or problem.Broad, \"broad\" for all of Broad (mo: default zdt1,zdt2; any of bench.MOProblems)")
	seeds := fs.Int("seeds", 30, "efficiency: seeds 0..seeds-1 (mo and curves: default 10)")
	pg := fs.String("pg", os.Getenv("RETUNE_TEST_POSTGRES"), "storage: PostgreSQL URL for retune (empty = skip PostgreSQL)")
	optunaPG := fs.String("optuna-pg", "", "storage: PostgreSQL URL for Optuna, a database of its own (its tables are named like retune's); default: -pg with database optuna_bench")
	stores := fs.String("stores", "memory,sqlite,sqlite-full,postgres", "storage: which storages")
	dir := fs.String("dir", os.TempDir(), "storage: folder for the SQLite files")
	optunaMO := fs.String("optuna-mo", "bench/optuna_mo.py", "mo: Optuna reference runner of the multi-objective problems")
	checkpoints := fs.String("checkpoints", "", "mo: also compare after these numbers of trials (e.g. 50,120)")
	stored := fs.String("optuna-results", "", "mo: JSONL files of earlier Optuna runs to reuse (same problem, sampler and n; one run of the seeds, or blocks of seeds that join up), comma-separated")
	optunaAs := fs.String("optuna-sampler", "", "mo: compare every retune sampler with this Optuna sampler (e.g. -samplers auto -optuna-sampler tpe); default: the Optuna sampler of the same name")
	firstSeed := fs.Int("first-seed", 0, "mo and curves: run seeds first-seed..first-seed+seeds-1 on both sides (fresh seeds, to check a choice made on others)")
	prunerList := fs.String("pruners", "none,median,sha,hyperband", "pruning and curves: pruners (Optuna runs those it has; curves: default adds extrapolate)")
	optunaMore := fs.String("optuna-more", "bench/optuna_more.py", "efficiency (problem.Broad's problems) and curves: Optuna runner of the broader problems and the curve families")
	families := fs.String("families", "", "curves: learning-curve families (default: all of problem.CurveFamilies)")
	optunaStorage := fs.String("optuna-storage", "bench/optuna_storage.py", "storage: Optuna runner with several worker processes (PostgreSQL, 8 workers)")
	large := fs.Bool("large", true, "storage: also run Optuna at 10×N trials (1 worker, and 8 workers on PostgreSQL); each such run takes minutes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	problemList := expandProblems(split(*problems))
	needRef, needMore := *suite != "curves", *suite == "curves"
	if *suite == "efficiency" {
		needRef = false
		for _, p := range problemList {
			if isBroad(p) {
				needMore = true
			} else {
				needRef = true
			}
		}
	}
	if _, err := os.Stat(*optuna); needRef && err != nil {
		return fmt.Errorf("optuna reference runner: %w (pass -optuna PATH)", err)
	}
	if _, err := os.Stat(*optunaMore); needMore && err != nil {
		return fmt.Errorf("optuna runner of the broader problems: %w (pass -optuna-more PATH)", err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	rawPath := filepath.Join(*out, fmt.Sprintf("%s-%s.jsonl", *suite, time.Now().UTC().Format("20060102T150405Z")))
	rf, err := os.Create(rawPath)
	if err != nil {
		return err
	}
	defer rf.Close()
	if _, err := os.Stat(*optunaStorage); *suite == "storage" && *large && err != nil {
		return fmt.Errorf("optuna storage runner: %w (pass -optuna-storage PATH, or -large=false)", err)
	}
	c := &comparer{optuna: *optuna, more: *optunaMore, storageRunner: *optunaStorage, large: *large, python: *python, raw: rf, log: stderr}
	fmt.Fprintf(stdout, "raw results: %s\n\n", rawPath)
	switch *suite {
	case "overhead":
		return c.overhead(ctx, stdout, split(*spaces), split(*samplers), def(*n, 2000), *runs, *growth)
	case "efficiency":
		return c.efficiency(ctx, stdout, problemList, split(*samplers), def(*n, 200), *seeds, *vs)
	case "storage":
		return c.storage(ctx, stdout, def(*n, 500), *runs, *pg, *optunaPG, *dir, split(*stores))
	case "pruning":
		return c.pruning(ctx, stdout, split(*prunerList), def(*n, 100), def(*seeds, 10))
	case "mo":
		probs, smps, sd := "zdt1,zdt2", "nsga2", 10
		if set["problems"] {
			probs = *problems
		}
		if set["samplers"] {
			smps = *samplers
		}
		if set["seeds"] {
			sd = *seeds
		}
		cps, err := checkpointList(*checkpoints)
		if err != nil {
			return err
		}
		return c.multiObjective(ctx, stdout, split(probs), split(smps), def(*n, 300), sd, moOptions{runner: *optunaMO, checkpoints: cps, stored: split(*stored), first: *firstSeed, optunaSampler: *optunaAs})
	case "curves":
		smps, sd := "tpe", 10
		if set["samplers"] {
			smps = *samplers
		}
		if set["seeds"] {
			sd = *seeds
		}
		fams := split(*families)
		if len(fams) == 0 {
			for _, f := range problem.CurveFamilies {
				fams = append(fams, f.Name)
			}
		}
		prs := *prunerList
		if !set["pruners"] {
			prs += ",extrapolate"
		}
		return c.curves(ctx, stdout, fams, split(smps), split(prs), def(*n, 100), *firstSeed, sd)
	}
	return fmt.Errorf("unknown suite %q: want overhead, efficiency, storage, pruning, mo or curves", *suite)
}

// expandProblems replaces "broad" in a list of problems by the names of problem.Broad.
func expandProblems(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "broad" {
			out = append(out, n)
			continue
		}
		for _, p := range problem.Broad {
			out = append(out, p.Name)
		}
	}
	return out
}

// isBroad reports whether a problem is one of problem.Broad's, which bench/optuna_more.py
// runs for Optuna (the others are optuna_ref.py's).
func isBroad(name string) bool {
	for _, p := range problem.Broad {
		if p.Name == name {
			return true
		}
	}
	return false
}

// checkpointList parses -checkpoints: positive numbers of trials, comma-separated.
func checkpointList(s string) ([]int, error) {
	var cps []int
	for _, f := range split(s) {
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("-checkpoints %q: want positive numbers of trials, comma-separated", s)
		}
		cps = append(cps, v)
	}
	return cps, nil
}

// split reads a comma-separated list, keeping JSON sampler specs ({...}) whole.
func split(s string) []string {
	var out []string
	add := func(x string) {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	// Commas inside braces belong to a JSON sampler spec, not to the list.
	depth, start := 0, 0
	for i, r := range s {
		switch {
		case r == '{':
			depth++
		case r == '}' && depth > 0:
			depth--
		case r == ',' && depth == 0:
			add(s[start:i])
			start = i + 1
		}
	}
	add(s[start:])
	return out
}

func def(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func (c *comparer) record(v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintln(c.raw, string(b))
}

// runOptuna runs the reference runner and decodes its JSON lines into out (the last one
// when out is a single value).
func (c *comparer) runOptuna(ctx context.Context, out any, args ...string) error {
	return c.runRunner(ctx, c.optuna, out, args...)
}

// runRunner runs an Optuna runner script as runOptuna does: every JSON line it prints
// goes to the raw results, and the last one is decoded into out.
func (c *comparer) runRunner(ctx context.Context, runner string, out any, args ...string) error {
	cmd := exec.CommandContext(ctx, c.python, append([]string{runner}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("optuna %v: %w\n%s", args, err, stderr.String())
	}
	var last []byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) > 0 && line[0] == '{' {
			last = append([]byte(nil), line...)
			if !c.noRaw {
				fmt.Fprintln(c.raw, string(line))
			}
		}
	}
	if last == nil {
		return fmt.Errorf("optuna %v printed no JSON", args)
	}
	return json.Unmarshal(last, out)
}

func (c *comparer) overhead(ctx context.Context, w io.Writer, spaces, samplers []string, n, runs, growth int) error {
	fmt.Fprintf(w, "## Sampler overhead (PROTOCOL §1): ms per ask+suggest+tell, mean over trials N-99..N, median of %d runs each, interleaved\n\n", runs)
	fmt.Fprintln(w, "| space | sampler | N | retune ms | Optuna ms | Optuna / retune |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, space := range spaces {
		for _, smp := range samplers {
			ours := map[string][]float64{}
			theirs := map[string][]float64{}
			for r := range runs {
				fmt.Fprintf(c.log, "overhead space %s sampler %s run %d/%d\n", space, smp, r+1, runs)
				res, err := bench.Overhead(ctx, space, smp, n, 1)
				if err != nil {
					return err
				}
				c.record(res)
				for k, cp := range res.Checkpoints {
					ours[k] = append(ours[k], cp.Last100Ms)
				}
				var o bench.OverheadResult
				if err := c.runOptuna(ctx, &o, "--mode", "overhead", "--space", space, "--sampler", smp, "--n", fmt.Sprint(n), "--seed", "1"); err != nil {
					return err
				}
				for k, cp := range o.Checkpoints {
					theirs[k] = append(theirs[k], cp.Last100Ms)
				}
			}
			for _, k := range []string{"1000", "2000", "5000"} {
				if len(ours[k]) == 0 || len(theirs[k]) == 0 {
					continue
				}
				a, b := bench.Median(ours[k]), bench.Median(theirs[k])
				fmt.Fprintf(w, "| %s | %s | %s | %.3f | %.2f | %.0fx |\n", space, smp, k, a, b, b/a)
			}
		}
	}
	if growth > 1000 {
		fmt.Fprintf(w, "\nGrowth, retune alone, one process each: t(%d)/t(1000) of the same run\n\n", growth)
		fmt.Fprintln(w, "| space | sampler | t(1000) ms | t(N) ms | ratio |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
		for _, space := range spaces {
			for _, smp := range samplers {
				fmt.Fprintf(c.log, "growth space %s sampler %s n %d\n", space, smp, growth)
				res, err := bench.Overhead(ctx, space, smp, growth, 1)
				if err != nil {
					return err
				}
				c.record(res)
				t1, tn := res.Checkpoints["1000"].Last100Ms, res.Checkpoints[fmt.Sprint(growth)].Last100Ms
				fmt.Fprintf(w, "| %s | %s | %.3f | %.3f | %.1f |\n", space, smp, t1, tn, tn/t1)
			}
		}
	}
	return nil
}

type cell struct {
	problem, sampler, n string
	ours, theirs        []float64
	pLoss, pWin         float64
}

func (c *comparer) efficiency(ctx context.Context, w io.Writer, problems, samplers []string, n, seeds int, vs string) error {
	var cells, vsCells []*cell
	for _, prob := range problems {
		var base *bench.EfficiencyResult
		if vs != "" {
			fmt.Fprintf(c.log, "efficiency %s %s: retune (baseline)\n", prob, vs)
			res, err := bench.Efficiency(ctx, prob, vs, n, seeds)
			if err != nil {
				return err
			}
			c.record(res)
			base = &res
		}
		for _, pair := range samplers {
			smp, theirs, ok := strings.Cut(pair, "=")
			if !ok {
				theirs = smp
			}
			fmt.Fprintf(c.log, "efficiency %s %s: retune\n", prob, smp)
			res, err := bench.Efficiency(ctx, prob, smp, n, seeds)
			if err != nil {
				return err
			}
			c.record(res)
			fmt.Fprintf(c.log, "efficiency %s %s: optuna\n", prob, theirs)
			var o bench.EfficiencyResult
			runner := c.optuna
			if isBroad(prob) {
				runner = c.more
			}
			if err := c.runRunner(ctx, runner, &o, "--mode", "efficiency", "--problem", prob, "--sampler", theirs, "--n", fmt.Sprint(n), "--seeds", fmt.Sprint(seeds)); err != nil {
				return err
			}
			for _, k := range []string{"50", "100", "200", "500"} {
				if len(res.Regret[k]) == 0 || len(o.Regret[k]) == 0 {
					continue
				}
				cells = append(cells, newCell(prob, pair, k, res.Regret[k], o.Regret[k]))
				if base != nil && smp != vs {
					vsCells = append(vsCells, newCell(prob, smp+" vs "+vs, k, res.Regret[k], base.Regret[k]))
				}
			}
		}
	}
	fmt.Fprintf(w, "## Sample efficiency (PROTOCOL §3): simple regret, %d seeds per side; median [IQR]; one-sided Mann-Whitney, Holm-corrected over all %d cells\n\n", seeds, len(cells))
	efficiencyTable(w, cells, "Optuna")
	if len(vsCells) > 0 {
		fmt.Fprintf(w, "\n## Against retune's %s: same seeds; Holm-corrected over these %d cells\n\n", vs, len(vsCells))
		efficiencyTable(w, vsCells, "retune "+vs)
	}
	return nil
}

func newCell(prob, sampler, n string, ours, theirs []float64) *cell {
	return &cell{problem: prob, sampler: sampler, n: n, ours: ours, theirs: theirs,
		pLoss: bench.MannWhitneyGreater(ours, theirs), pWin: bench.MannWhitneyGreater(theirs, ours)}
}

// efficiencyTable prints cells with Holm-corrected verdicts.
func efficiencyTable(w io.Writer, cells []*cell, other string) {
	loss := make([]float64, len(cells))
	win := make([]float64, len(cells))
	for i, x := range cells {
		loss[i], win[i] = x.pLoss, x.pWin
	}
	loss, win = bench.Holm(loss), bench.Holm(win)
	fmt.Fprintf(w, "| problem | sampler | trials | retune | %s | p(retune worse) | p(retune better) | verdict |\n", other)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	losses, wins := 0, 0
	for i, x := range cells {
		verdict := "no significant difference"
		switch {
		case loss[i] < 0.05:
			verdict, losses = "LOSS", losses+1
		case win[i] < 0.05:
			verdict, wins = "win", wins+1
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.3g | %.3g | %s |\n", x.problem, x.sampler, x.n, summary(x.ours), summary(x.theirs), loss[i], win[i], verdict)
	}
	fmt.Fprintf(w, "\n%d significant losses, %d significant wins of %d cells (α = 0.05)\n", losses, wins, len(cells))
}

// moOptions are the multi-objective suite's settings beyond problems, samplers, n and seeds.
type moOptions struct {
	runner      string   // bench/optuna_mo.py
	checkpoints []int    // numbers of trials below n at which to compare too
	stored      []string // JSONL files with Optuna results to reuse instead of running it
	first       int      // the first seed
	// optunaSampler, if set, is the Optuna sampler every retune sampler is compared with;
	// otherwise each is compared with Optuna's of the same name.
	optunaSampler string
}

// storedMO reads Optuna's multi-objective results from files (one JSON object per line, as
// bench/optuna_mo.py and earlier compare runs write them), keyed by problem, sampler and
// n. Other lines are skipped.
func storedMO(files []string) (map[string][]bench.MOResult, error) {
	out := map[string][]bench.MOResult{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for line := range strings.Lines(string(b)) {
			var r bench.MOResult
			if json.Unmarshal([]byte(line), &r) != nil || r.Lib != "optuna" || r.Mode != "mo" || r.Seeds <= 0 || len(r.Hypervolume)+len(r.Points) == 0 {
				continue
			}
			k := moKey(r.Problem, r.Sampler, r.N)
			out[k] = append(out[k], r)
		}
	}
	return out, nil
}

func moKey(problem, sampler string, n int) string {
	return fmt.Sprintf("%s/%s/%d", problem, sampler, n)
}

// storedSeeds finds seeds first..first+seeds-1 among stored runs of one problem, sampler and
// n: one run of exactly those seeds, or blocks of them that follow one another (from the
// longest block that fits at each step), joined. ok is false when some seed is missing.
func storedSeeds(runs []bench.MOResult, first, seeds int) (bench.MOResult, bool, error) {
	var parts []bench.MOResult
	for at := first; at < first+seeds; {
		best := -1
		for i, r := range runs {
			if r.FirstSeed == at && at+r.Seeds <= first+seeds && (best < 0 || r.Seeds > runs[best].Seeds) {
				best = i
			}
		}
		if best < 0 {
			return bench.MOResult{}, false, nil
		}
		parts = append(parts, runs[best])
		at += runs[best].Seeds
	}
	if len(parts) == 1 {
		return parts[0], true, nil
	}
	r, err := bench.JoinMOResults(parts)
	return r, err == nil, err
}

// multiObjective compares the hypervolume of each side's runs on each problem and sampler
// (PROTOCOL §5), after n trials and after each checkpoint's number; larger is better.
// Optuna's side runs bench/optuna_mo.py, or comes from opt.stored when it holds the same
// problem, sampler, n and seeds (Optuna's runs are seeded, so a rerun gives the same).
func (c *comparer) multiObjective(ctx context.Context, w io.Writer, problems, samplers []string, n, seeds int, opt moOptions) error {
	type moCell struct {
		problem, sampler string
		n                int
		ours, theirs     []float64
		oursMs, theirsMs float64
		pLoss, pWin      float64
	}
	stored, err := storedMO(opt.stored)
	if err != nil {
		return err
	}
	var cells []*moCell
	fronts := map[string]float64{}
	cps := slices.Sorted(slices.Values(slices.DeleteFunc(slices.Clone(opt.checkpoints), func(c int) bool { return c <= 0 || c >= n })))
	for _, prob := range problems {
		p, err := bench.FindMOProblem(prob)
		if err != nil {
			return err
		}
		fronts[prob] = p.Front
		for _, smp := range samplers {
			fmt.Fprintf(c.log, "mo %s %s: retune\n", prob, smp)
			res, err := bench.MultiObjectiveFrom(ctx, prob, smp, n, opt.first, seeds, cps...)
			if err != nil {
				return err
			}
			c.record(res)
			theirSmp := cmp.Or(opt.optunaSampler, smp)
			o, ok, err := storedSeeds(stored[moKey(prob, theirSmp, n)], opt.first, seeds)
			if err != nil {
				return fmt.Errorf("optuna mo %s %s: %w", prob, smp, err)
			}
			if ok {
				fmt.Fprintf(c.log, "mo %s %s: optuna %s (stored, seeds %d..%d)\n", prob, smp, theirSmp, o.FirstSeed, o.FirstSeed+o.Seeds-1)
			} else {
				fmt.Fprintf(c.log, "mo %s %s: optuna %s\n", prob, smp, theirSmp)
				c.optuna, c.noRaw = opt.runner, true
				err := c.runOptuna(ctx, &o, "--mode", "mo", "--problem", prob, "--sampler", theirSmp, "--n", fmt.Sprint(n), "--seeds", fmt.Sprint(seeds),
					"--first-seed", fmt.Sprint(opt.first), "--points")
				c.noRaw = false
				if err != nil {
					return err
				}
			}
			if err := o.FillHypervolumes(cps...); err != nil {
				return fmt.Errorf("optuna mo %s %s: %w", prob, smp, err)
			}
			c.record(o) // with hypervolumes instead of the points
			if len(o.Hypervolume) != seeds {
				return fmt.Errorf("optuna mo %s %s: %d hypervolumes, want %d", prob, smp, len(o.Hypervolume), seeds)
			}
			theirsMs := o.TrialMs
			if theirsMs == 0 {
				theirsMs = 1000 * o.WallS / float64(n*seeds)
			}
			for _, at := range append(cps, n) {
				ours, theirs := res.Hypervolume, o.Hypervolume
				if at < n {
					ours, theirs = res.HypervolumeAt[strconv.Itoa(at)], o.HypervolumeAt[strconv.Itoa(at)]
					if len(theirs) != seeds {
						return fmt.Errorf("optuna mo %s %s: no hypervolumes at %d trials (run it with --checkpoints)", prob, smp, at)
					}
				}
				cells = append(cells, &moCell{problem: prob, sampler: smp, n: at, ours: ours, theirs: theirs,
					oursMs: res.TrialMs, theirsMs: theirsMs,
					// Larger hypervolume is better: a loss is Optuna's tending to be larger.
					pLoss: bench.MannWhitneyGreater(theirs, ours), pWin: bench.MannWhitneyGreater(ours, theirs)})
			}
		}
	}
	loss := make([]float64, len(cells))
	win := make([]float64, len(cells))
	for i, x := range cells {
		loss[i], win[i] = x.pLoss, x.pWin
	}
	loss, win = bench.Holm(loss), bench.Holm(win)
	fmt.Fprintf(w, "## Multi-objective (PROTOCOL §5): hypervolume of the completed trials at each problem's reference point (bench.MOProblems), seeds %d..%d per side; median [IQR]; one-sided Mann-Whitney, Holm-corrected over all %d cells; ms/trial over all %d trials", opt.first, opt.first+seeds-1, len(cells), n)
	if opt.optunaSampler != "" {
		fmt.Fprintf(w, "; Optuna's side is its %s sampler in every row", opt.optunaSampler)
	}
	fmt.Fprint(w, "\n\n")
	fmt.Fprintln(w, "| problem | sampler | trials | retune HV | Optuna HV | p(retune lower) | p(retune higher) | retune ms/trial | Optuna ms/trial | verdict |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	losses, wins := 0, 0
	for i, x := range cells {
		verdict := "no significant difference"
		switch {
		case loss[i] < 0.05:
			verdict, losses = "LOSS", losses+1
		case win[i] < 0.05:
			verdict, wins = "win", wins+1
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %.3g | %.3g | %.3f | %.1f | %s |\n", x.problem, x.sampler, x.n, summary4(x.ours), summary4(x.theirs), loss[i], win[i], x.oursMs, x.theirsMs, verdict)
	}
	fmt.Fprintf(w, "\n%d significant losses, %d significant wins of %d cells (α = 0.05)", losses, wins, len(cells))
	var known []string
	for _, prob := range problems {
		if f := fronts[prob]; f > 0 {
			known = append(known, fmt.Sprintf("%s %.4f", prob, f))
		}
	}
	if len(known) > 0 {
		fmt.Fprintf(w, "; hypervolume of the true front: %s", strings.Join(known, ", "))
	}
	fmt.Fprintln(w)
	return nil
}

func summary4(xs []float64) string {
	return fmt.Sprintf("%.4g [%.4g, %.4g]", bench.Median(xs), bench.Quantile(xs, 0.25), bench.Quantile(xs, 0.75))
}

func summary(xs []float64) string {
	return fmt.Sprintf("%.3g [%.3g, %.3g]", bench.Median(xs), bench.Quantile(xs, 0.25), bench.Quantile(xs, 0.75))
}

func (c *comparer) storage(ctx context.Context, w io.Writer, n, runs int, pg, optunaPG, dir string, stores []string) error {
	type side struct {
		label, ours, optunaStore, optunaDB string
		sync                               string
	}
	sqlitePath := filepath.Join(dir, "retune-bench.db")
	optunaPath := filepath.Join(dir, "optuna-bench.db")
	if optunaPG == "" && pg != "" && slices.Contains(stores, "postgres") {
		optunaPG = withDatabase(pg, "optuna_bench")
		if err := ensureDatabase(ctx, pg, "optuna_bench"); err != nil {
			return fmt.Errorf("the PostgreSQL database for Optuna: %w (or pass -optuna-pg)", err)
		}
	}
	all := map[string]side{
		"memory":      {"memory", "memory", "memory", "", ""},
		"sqlite":      {"sqlite (synchronous NORMAL)", sqlitePath, "sqlite", optunaPath, "NORMAL"},
		"sqlite-full": {"sqlite (synchronous FULL)", sqlitePath, "", "", "FULL"},
		"postgres":    {"postgres", pg, "postgres", sqlalchemyURL(optunaPG), ""},
	}
	var sides []side
	for _, name := range stores {
		sd, ok := all[name]
		switch {
		case !ok:
			return fmt.Errorf("unknown store %q: want memory, sqlite, sqlite-full or postgres", name)
		case name == "postgres" && pg == "":
			fmt.Fprintln(c.log, "no -pg URL: skipping PostgreSQL")
			continue
		}
		sides = append(sides, sd)
	}
	fmt.Fprintf(w, "## Storage throughput (PROTOCOL §2): random sampler, space A, trials/s, median of %d runs, interleaved\n\n", runs)
	startLoad := loadAverage()
	defer func() {
		fmt.Fprintf(w, "\nLoad average (1, 5, 15 min) at the start: %s; at the end: %s (on %d CPUs). Optuna's Python suffers from load far more than retune: compare figures taken at a load near 1 or below.\n", startLoad, loadAverage(), runtime.NumCPU())
	}()
	big := 10 * n
	fmt.Fprintf(w, "| storage | retune N=%d, 1 worker | retune N=%d, 1 worker | retune N=%d, 8 workers | retune N=%d, 8 workers | Optuna N=%d, 1 worker | Optuna N=%d, 1 worker | Optuna N=%d, 8 workers | retune/Optuna at N=%d, 1 worker | at N=%d, 1 worker | at N=%d, 8 workers | retune 8 workers / 1 at N=%d |\n",
		n, big, n, big, n, big, big, n, big, big, big)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, s := range sides {
		var r500, r5000, r8, r8big, opt, optBig, opt8 []float64
		for r := range runs {
			fmt.Fprintf(c.log, "storage %s run %d/%d\n", s.label, r+1, runs)
			for _, cfg := range []struct {
				n, workers int
				into       *[]float64
			}{{n, 1, &r500}, {big, 1, &r5000}, {n, 8, &r8}, {big, 8, &r8big}} {
				res, err := storageRun(ctx, s.ours, s.sync, cfg.n, cfg.workers)
				if err != nil {
					return err
				}
				c.record(res)
				*cfg.into = append(*cfg.into, res.TrialsPerS)
			}
			if s.optunaStore == "" {
				continue
			}
			sizes := []int{n}
			if c.large {
				sizes = append(sizes, big)
			}
			for _, size := range sizes {
				var o bench.StorageResult
				args := []string{"--mode", "storage", "--store", s.optunaStore, "--n", fmt.Sprint(size)}
				if s.optunaDB != "" {
					args = append(args, "--db", s.optunaDB)
				}
				if err := c.runOptuna(ctx, &o, args...); err != nil {
					return err
				}
				if size == n {
					opt = append(opt, o.TrialsPerS)
				} else {
					optBig = append(optBig, o.TrialsPerS)
				}
			}
			if c.large && s.optunaStore == "postgres" {
				// Optuna's SQLite and in-memory storages are not for several processes.
				var o bench.StorageResult
				if err := c.runRunner(ctx, c.storageRunner, &o, "--store", "postgres", "--db", s.optunaDB,
					"--n", fmt.Sprint(big), "--workers", "8"); err != nil {
					return err
				}
				opt8 = append(opt8, o.TrialsPerS)
			}
		}
		col := func(xs []float64) string {
			if len(xs) == 0 {
				return "-"
			}
			return fmt.Sprintf("%.0f", bench.Median(xs))
		}
		ratio := func(ours, theirs []float64) string {
			if len(theirs) == 0 {
				return "-"
			}
			return fmt.Sprintf("%.0fx", bench.Median(ours)/bench.Median(theirs))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.2fx |\n", s.label,
			col(r500), col(r5000), col(r8), col(r8big), col(opt), col(optBig), col(opt8),
			ratio(r500, opt), ratio(r5000, optBig), ratio(r8big, opt8), bench.Median(r8big)/bench.Median(r5000))
	}
	return nil
}

// loadAverage is the machine's load average as /proc/loadavg gives it ("0.52 0.61 0.70"),
// or "unknown" where there is none.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// sqlalchemyURL turns postgres://… into the postgresql+psycopg2://… form Optuna takes.
func sqlalchemyURL(pg string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(pg, "postgresql://"), "postgres://")
	rest, _, _ = strings.Cut(rest, "?")
	return "postgresql+psycopg2://" + rest
}

// optunaPruners are the pruners optuna_ref.py runs, by the name retune-bench uses.
var optunaPruners = map[string]bool{"none": true, "median": true, "sha": true, "hyperband": true}

func (c *comparer) pruning(ctx context.Context, w io.Writer, pruners []string, n, seeds int) error {
	fmt.Fprintf(w, "## Pruning (PROTOCOL §4): %d fixed configurations, 50 steps, seeds 0..%d; medians over seeds; best-final difference is retune − Optuna, paired by seed, with a bootstrap 95%% interval\n\n", n, seeds-1)
	fmt.Fprintln(w, "| family | pruner | retune steps | Optuna steps | retune best final | Optuna best final | retune − Optuna [95% CI] | steps saved vs none | best final vs none [95% CI] |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, family := range []string{"public", "slow"} {
		var none float64
		var noneFinals []float64
		for _, p := range pruners {
			fmt.Fprintf(c.log, "pruning %s %s\n", family, p)
			res, err := bench.Pruning(ctx, p, family, n, seeds, 50)
			if err != nil {
				return err
			}
			c.record(res)
			steps, finals := pruningFigures(res.Runs)
			if p == "none" {
				none, noneFinals = bench.Median(steps), finals
			}
			vsNone := "-"
			if noneFinals != nil && p != "none" {
				d := make([]float64, len(finals))
				for i := range d {
					d[i] = finals[i] - noneFinals[i]
				}
				lo, hi := bench.BootstrapMedianDiff(finals, noneFinals, 10000, 1)
				vsNone = fmt.Sprintf("%+.4f [%+.4f, %+.4f]", bench.Median(d), lo, hi)
			}
			saved := "-"
			if none > 0 {
				saved = fmt.Sprintf("%.0f%%", 100*(1-bench.Median(steps)/none))
			}
			ostepsCol, ofinalCol, diff := "-", "-", "-"
			if family == "public" && optunaPruners[p] {
				var o bench.PruningResult
				if err := c.runOptuna(ctx, &o, "--mode", "pruning", "--pruner", p, "--n", fmt.Sprint(n), "--seeds", fmt.Sprint(seeds)); err != nil {
					return err
				}
				osteps, ofinals := pruningFigures(o.Runs)
				ostepsCol = fmt.Sprintf("%.0f", bench.Median(osteps))
				ofinalCol = fmt.Sprintf("%.4f", bench.Median(ofinals))
				d := make([]float64, len(finals))
				for i := range d {
					d[i] = finals[i] - ofinals[i]
				}
				lo, hi := bench.BootstrapMedianDiff(finals, ofinals, 10000, 1)
				diff = fmt.Sprintf("%+.4f [%+.4f, %+.4f]", bench.Median(d), lo, hi)
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %s | %.4f | %s | %s | %s | %s |\n", family, p, bench.Median(steps), ostepsCol, bench.Median(finals), ofinalCol, diff, saved, vsNone)
		}
	}
	return nil
}

func pruningFigures(runs []bench.PruningRun) (steps, finals []float64) {
	for _, r := range runs {
		steps = append(steps, float64(r.Steps))
		finals = append(finals, r.BestFinal)
	}
	return steps, finals
}

// withDatabase replaces the database name of a postgres:// URL.
// ensureDatabase creates the database db on the server of the PostgreSQL URL pg unless it
// exists.
func ensureDatabase(ctx context.Context, pg, db string) error {
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, db).Scan(&n); err != nil || n > 0 {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize())
	return err
}

func withDatabase(pg, db string) string {
	u, err := url.Parse(pg)
	if err != nil {
		return pg
	}
	u.Path = "/" + db
	return u.String()
}

// curves compares pruning with the sampler in the loop (bench.CurvePruning) on each
// learning-curve family, sampler and pruner: retune's runs against bench/optuna_more.py's
// on the same seeds. The verdict is on each seed's best noise-free final value among the
// completed trials (larger is better); the steps consumed are reported beside it.
// Pruners Optuna lacks are run for retune alone, and every pruner is also compared with
// retune's own run without pruning (the "none" pruner, when listed) on the same seeds.
func (c *comparer) curves(ctx context.Context, w io.Writer, families, samplers, pruners []string, n, first, seeds int) error {
	type curveCell struct {
		family, sampler, pruner string
		ours, theirs            *bench.CurvesResult
		pLoss, pWin             float64
	}
	var cells []*curveCell
	for _, fam := range families {
		if _, err := bench.FindCurveFamily(fam); err != nil {
			return err
		}
		for _, pair := range samplers {
			smp, theirs, ok := strings.Cut(pair, "=")
			if !ok {
				theirs = smp
			}
			for _, p := range pruners {
				fmt.Fprintf(c.log, "curves %s %s %s: retune\n", fam, smp, p)
				res, err := bench.CurvePruningFrom(ctx, fam, smp, p, n, first, seeds)
				if err != nil {
					return err
				}
				c.record(res)
				x := &curveCell{family: fam, sampler: pair, pruner: p, ours: &res}
				cells = append(cells, x)
				if !optunaPruners[p] {
					continue
				}
				fmt.Fprintf(c.log, "curves %s %s %s: optuna\n", fam, theirs, p)
				var o bench.CurvesResult
				if err := c.runRunner(ctx, c.more, &o, "--mode", "curves", "--family", fam, "--sampler", theirs, "--pruner", p, "--n", fmt.Sprint(n), "--seeds", fmt.Sprint(seeds), "--first-seed", fmt.Sprint(first)); err != nil {
					return err
				}
				if len(o.Runs) != seeds {
					return fmt.Errorf("optuna curves %s %s %s: %d runs, want %d", fam, theirs, p, len(o.Runs), seeds)
				}
				x.theirs = &o
				_, ours := curveFigures(res.Runs)
				_, their := curveFigures(o.Runs)
				x.pLoss, x.pWin = bench.MannWhitneyGreater(their, ours), bench.MannWhitneyGreater(ours, their)
			}
		}
	}
	var loss, win []float64
	for _, x := range cells {
		if x.theirs != nil {
			loss, win = append(loss, x.pLoss), append(win, x.pWin)
		}
	}
	loss, win = bench.Holm(loss), bench.Holm(win)
	fmt.Fprintf(w, "## Pruning with the sampler in the loop (bench.CurvePruning): %d trials of %d steps, seeds %d..%d per side; steps and completed trials: medians over seeds; best final (noise-free, among completed trials): median [IQR], one-sided Mann-Whitney, Holm-corrected over all %d cells with an Optuna side\n\n", n, bench.CurveSteps, first, first+seeds-1, len(loss))
	fmt.Fprintln(w, "| family | sampler | pruner | retune steps | Optuna steps | retune completed | Optuna completed | retune best final | Optuna best final | p(retune worse) | p(retune better) | verdict |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	losses, wins, k := 0, 0, 0
	for _, x := range cells {
		steps, finals := curveFigures(x.ours.Runs)
		ostepsCol, ocompCol, ofinalCol, pl, pw, verdict := "-", "-", "-", "-", "-", "retune only"
		if x.theirs != nil {
			osteps, ofinals := curveFigures(x.theirs.Runs)
			ostepsCol = fmt.Sprintf("%.0f", bench.Median(osteps))
			ocompCol = fmt.Sprintf("%.0f", bench.Median(completed(x.theirs.Runs)))
			ofinalCol = summary4(ofinals)
			pl, pw = fmt.Sprintf("%.3g", loss[k]), fmt.Sprintf("%.3g", win[k])
			verdict = "no significant difference"
			switch {
			case loss[k] < 0.05:
				verdict, losses = "LOSS", losses+1
			case win[k] < 0.05:
				verdict, wins = "win", wins+1
			}
			k++
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %.0f | %s | %s | %s | %s | %s | %s |\n", x.family, x.sampler, x.pruner,
			bench.Median(steps), ostepsCol, bench.Median(completed(x.ours.Runs)), ocompCol, summary4(finals), ofinalCol, pl, pw, verdict)
	}
	fmt.Fprintf(w, "\n%d significant losses, %d significant wins of %d cells (α = 0.05)\n", losses, wins, len(loss))
	var runs []curveRuns
	for _, x := range cells {
		runs = append(runs, curveRuns{family: x.family, sampler: x.sampler, pruner: x.pruner, runs: x.ours.Runs})
	}
	curvesVsNone(w, runs)
	return nil
}

// curveRuns is one family, sampler and pruner's retune runs.
type curveRuns struct {
	family, sampler, pruner string
	runs                    []bench.CurveRun
}

// curvesVsNone prints each pruner's retune runs against retune's own runs without pruning
// on the same seeds: the steps as a share of no pruning's, and the loss of best final
// (no pruning's minus the pruner's, per seed). The target of issue #23 is steps <= 25% of
// no pruning's with a median loss <= 0.01.
func curvesVsNone(w io.Writer, cells []curveRuns) {
	none := map[string][]bench.CurveRun{}
	for _, x := range cells {
		if x.pruner == "none" {
			none[x.family+"/"+x.sampler] = x.runs
		}
	}
	if len(none) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Against retune without pruning, same seeds: steps (median; %% of no pruning's median), loss of best final = no pruning's minus the pruner's per seed (median [IQR]); target: steps <= 25%% and median loss <= 0.01\n\n")
	fmt.Fprintln(w, "| family | sampler | pruner | steps | % of none | best final | none's best final | loss | target met |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, x := range cells {
		base, ok := none[x.family+"/"+x.sampler]
		if !ok || x.pruner == "none" || len(base) != len(x.runs) {
			continue
		}
		steps, finals := curveFigures(x.runs)
		bsteps, bfinals := curveFigures(base)
		loss := make([]float64, len(finals))
		for i := range finals {
			loss[i] = bfinals[i] - finals[i]
		}
		share := bench.Median(steps) / bench.Median(bsteps)
		met := "no"
		if share <= 0.25 && bench.Median(loss) <= 0.01 {
			met = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %.1f%% | %s | %s | %s | %s |\n", x.family, x.sampler, x.pruner, bench.Median(steps), 100*share, summary4(finals), summary4(bfinals), summary4(loss), met)
	}
}

// curveFigures returns each seed's steps consumed and best final value.
func curveFigures(runs []bench.CurveRun) (steps, finals []float64) {
	for _, r := range runs {
		steps = append(steps, float64(r.Steps))
		finals = append(finals, r.BestFinal)
	}
	return steps, finals
}

// completed returns each seed's number of trials that ran all steps.
func completed(runs []bench.CurveRun) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = float64(r.Completed)
	}
	return out
}
