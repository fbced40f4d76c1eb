package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/pareto"
)

// MOProblem is a multi-objective benchmark problem: its params, all objectives minimized,
// and the reference point of its hypervolume. bench/optuna_mo.py defines the same problems
// under the same names for Optuna.
type MOProblem struct {
	Name  string
	Space []problem.Param
	// Ref is the hypervolume's reference point, one value per objective.
	Ref []float64
	// Front is the hypervolume of the true Pareto front at Ref where it is known (0 if not).
	Front float64
	// Eval returns the objectives at the params Suggest returned.
	Eval func(p map[string]any) []float64
}

// unitSpace is n floats x0…x{n-1} in [0, 1].
func unitSpace(n int) []problem.Param {
	s := make([]problem.Param, n)
	for i := range s {
		s[i] = problem.Param{Name: "x" + strconv.Itoa(i), Kind: "float", Low: 0, High: 1}
	}
	return s
}

func floats(p map[string]any, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = p["x"+strconv.Itoa(i)].(float64)
	}
	return x
}

// dtlzRef is the reference point of DTLZ1…7 with m objectives. Where budgets of a few
// hundred trials come near the front (DTLZ2, 4 and 5, whose g is quadratic) it is 1.1 in
// every objective, just beyond the front's nadir (1, …, 1), as is usual. Where they do not
// (DTLZ1 and DTLZ3 have 11^k - 1 local fronts, DTLZ6's g = Σ x^0.1 is flat away from 0, and
// DTLZ7's g stays well above 1), a point near the front would leave all trials outside the
// box, so the reference point lies just beyond the largest value each objective takes on
// the domain and every trial counts: 600 for DTLZ1 (f ≤ ½(1 + 220.25·5) ≈ 551), 2,300 for
// DTLZ3 (f ≤ 1 + 220.25·10), 11.5 for DTLZ6 (f ≤ 11), and for DTLZ7 1.1 in the first m-1
// objectives (f_i = x_i) and 11m + 1 in the last (f_m ≤ 11m).
func dtlzRef(which, m int) []float64 {
	r := make([]float64, m)
	for i := range r {
		switch which {
		case 1:
			r[i] = 600
		case 3:
			r[i] = 2300
		case 6:
			r[i] = 11.5
		default:
			r[i] = 1.1
		}
	}
	if which == 7 {
		r[m-1] = 11*float64(m) + 1
	}
	return r
}

// sphereFront is the hypervolume at (1.1, …, 1.1) of the positive part of the unit sphere in
// m dimensions (the front of DTLZ2 and DTLZ4): 1.1^m minus the volume of the sphere's positive orthant.
func sphereFront(m int) float64 {
	v := math.Pow(math.Pi, float64(m)/2) / math.Gamma(float64(m)/2+1) / math.Pow(2, float64(m))
	return math.Pow(1.1, float64(m)) - v
}

// MOProblems lists the multi-objective problems by name:
//
//   - zdt1, zdt2: ZDT1 and ZDT2 with 10 params (PROTOCOL §5), reference point (1.1, 11).
//   - dtlzW-M: DTLZ W (1…7) with M (3 or 4) objectives and M-1+problem.DTLZDistance(W)
//     params; reference point dtlzRef.
//   - wfgW-M: WFG W (1…9) with M (3 or 4) objectives and the params of problem.WFGDims (2(M-1)
//     position and 20 distance params, x_i in [0, 2(i+1)]); reference point 2j + 1.1 in
//     objective j (1…M), just beyond the largest value it takes on the domain (1 + 2j), as
//     budgets of a few hundred trials stay far from WFG's fronts.
//   - mixedmo: problem.MixedMO, two objectives over mixed params, reference point (1, 1.1).
var MOProblems = func() []MOProblem {
	var ps []MOProblem
	for _, which := range []int{1, 2} {
		ps = append(ps, MOProblem{
			Name: "zdt" + strconv.Itoa(which), Space: unitSpace(10), Ref: []float64{1.1, 11},
			Front: []float64{0, 12.1 - 1.0/3, 12.1 - 2.0/3}[which],
			Eval: func(p map[string]any) []float64 {
				f1, f2 := problem.ZDT(floats(p, 10), which)
				return []float64{f1, f2}
			},
		})
	}
	for _, m := range []int{3, 4} {
		for which := 1; which <= 7; which++ {
			n := m - 1 + problem.DTLZDistance(which)
			p := MOProblem{
				Name: fmt.Sprintf("dtlz%d-%d", which, m), Space: unitSpace(n), Ref: dtlzRef(which, m),
				Eval: func(p map[string]any) []float64 { return problem.DTLZ(which, floats(p, n), m) },
			}
			if which == 2 || which == 4 {
				p.Front = sphereFront(m)
			}
			ps = append(ps, p)
		}
	}
	for _, m := range []int{3, 4} {
		k, l := problem.WFGDims(m)
		space := make([]problem.Param, k+l)
		for i := range space {
			space[i] = problem.Param{Name: "x" + strconv.Itoa(i), Kind: "float", Low: 0, High: 2 * float64(i+1)}
		}
		ref := make([]float64, m)
		for j := range ref {
			ref[j] = 2*float64(j+1) + 1.1
		}
		for which := 1; which <= 9; which++ {
			ps = append(ps, MOProblem{
				Name: fmt.Sprintf("wfg%d-%d", which, m), Space: space, Ref: ref,
				Eval: func(p map[string]any) []float64 { return problem.WFG(which, floats(p, k+l), m, k) },
			})
		}
	}
	ps = append(ps, MOProblem{
		Name: "mixedmo", Space: problem.MixedMOSpace, Ref: []float64{1, 1.1},
		Eval: func(p map[string]any) []float64 {
			e, c := problem.MixedMO(p["lr"].(float64), int(p["layers"].(int64)), int(p["width"].(int64)), p["activation"].(string), p["dropout"].(float64))
			return []float64{e, c}
		},
	})
	return ps
}()

// FindMOProblem returns the multi-objective problem with that name.
func FindMOProblem(name string) (MOProblem, error) {
	var names []string
	for _, p := range MOProblems {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return MOProblem{}, fmt.Errorf("unknown multi-objective problem %q: want one of %s", name, strings.Join(names, ", "))
}

// MOResult is one multi-objective run (PROTOCOL §5): the hypervolume of each seed's
// completed trials, in the form bench/optuna_mo.py and optuna_ref.py --mode mo print.
type MOResult struct {
	Lib         string    `json:"lib"`
	Mode        string    `json:"mode"`
	Problem     string    `json:"problem"`
	Sampler     string    `json:"sampler"`
	N           int       `json:"n"`
	Seeds       int       `json:"seeds"`
	FirstSeed   int       `json:"first_seed,omitempty"` // seeds FirstSeed..FirstSeed+Seeds-1
	Hypervolume []float64 `json:"hypervolume"`
	// HypervolumeAt holds, for each checkpoint c (a number of trials up to N, as a string),
	// the hypervolume of each seed's first c trials.
	HypervolumeAt map[string][]float64 `json:"hypervolume_at,omitempty"`
	// Points, if set, holds each seed's objective values in trial order, from which
	// FillHypervolumes computes the hypervolumes (bench/optuna_mo.py --points).
	Points [][][]float64 `json:"points,omitempty"`
	WallS  float64       `json:"wall_s"`
	// TrialMs is the mean wall time of one ask + suggest + evaluate + tell.
	TrialMs float64 `json:"trial_ms,omitempty"`
}

// MultiObjective runs seeds 0..seeds-1 (study seed = seed+1) of n trials each of the named
// problem (MOProblems) and sampler, and records the hypervolume of each run's completed
// trials at the problem's reference point, at n and at each checkpoint in (0, n). WallS and
// TrialMs count the trials only, not the hypervolumes.
func MultiObjective(ctx context.Context, problemName, sampler string, n, seeds int, checkpoints ...int) (MOResult, error) {
	return MultiObjectiveFrom(ctx, problemName, sampler, n, 0, seeds, checkpoints...)
}

// MultiObjectiveFrom is MultiObjective with seeds first..first+seeds-1 (study seed =
// seed+1): fresh seeds, to check a choice made on others.
func MultiObjectiveFrom(ctx context.Context, problemName, sampler string, n, first, seeds int, checkpoints ...int) (MOResult, error) {
	prob, err := FindMOProblem(problemName)
	if err != nil {
		return MOResult{}, err
	}
	res := MOResult{Lib: "retune", Mode: "mo", Problem: problemName, Sampler: sampler, N: n, Seeds: seeds, FirstSeed: first}
	cps := slices.Clone(checkpoints)
	cps = slices.DeleteFunc(cps, func(c int) bool { return c <= 0 || c >= n })
	if len(cps) > 0 {
		res.HypervolumeAt = map[string][]float64{}
	}
	dirs := make([]retune.Direction, len(prob.Ref))
	for i := range dirs {
		dirs[i] = retune.Minimize
	}
	var wall time.Duration
	for seed := range seeds {
		start := time.Now()
		smp, err := NewSampler(sampler)
		if err != nil {
			return res, err
		}
		s, err := retune.NewStudy(ctx, retune.Config{Directions: dirs, Sampler: smp, Seed: uint64(first+seed) + 1})
		if err != nil {
			return res, err
		}
		points := make([][]float64, 0, n)
		for range n {
			t, err := s.Ask(ctx)
			if err != nil {
				return res, err
			}
			f := prob.Eval(Suggest(t, prob.Space))
			if err := s.Tell(ctx, t, f...); err != nil {
				return res, fmt.Errorf("%s seed %d: %w", problemName, seed, err)
			}
			points = append(points, f)
		}
		wall += time.Since(start)
		for _, c := range cps {
			key := strconv.Itoa(c)
			res.HypervolumeAt[key] = append(res.HypervolumeAt[key], pareto.Hypervolume(dirs, points[:c], prob.Ref))
		}
		res.Hypervolume = append(res.Hypervolume, pareto.Hypervolume(dirs, points, prob.Ref))
	}
	res.WallS = wall.Seconds()
	if n > 0 && seeds > 0 {
		res.TrialMs = float64(wall.Microseconds()) / 1000 / float64(n*seeds)
	}
	return res, nil
}

// FillHypervolumes computes r.Hypervolume and r.HypervolumeAt (at each checkpoint in (0, N))
// from r.Points, at the reference point of r's problem, and drops the points. A result
// without points is left as it is.
func (r *MOResult) FillHypervolumes(checkpoints ...int) error {
	if r.Points == nil {
		return nil
	}
	prob, err := FindMOProblem(r.Problem)
	if err != nil {
		return err
	}
	dirs := make([]retune.Direction, len(prob.Ref))
	r.Hypervolume, r.HypervolumeAt = nil, nil
	for _, c := range checkpoints {
		if c > 0 && c < r.N {
			if r.HypervolumeAt == nil {
				r.HypervolumeAt = map[string][]float64{}
			}
			r.HypervolumeAt[strconv.Itoa(c)] = nil
		}
	}
	for seed, pts := range r.Points {
		for _, p := range pts {
			if len(p) != len(prob.Ref) {
				return fmt.Errorf("%s seed %d: a point of %d values, want %d", r.Problem, seed, len(p), len(prob.Ref))
			}
		}
		for key := range r.HypervolumeAt {
			c, _ := strconv.Atoi(key)
			r.HypervolumeAt[key] = append(r.HypervolumeAt[key], pareto.Hypervolume(dirs, pts[:min(c, len(pts))], prob.Ref))
		}
		r.Hypervolume = append(r.Hypervolume, pareto.Hypervolume(dirs, pts, prob.Ref))
	}
	r.Points = nil
	return nil
}

// JoinMOResults joins runs of one problem, sampler and number of trials that cover
// consecutive blocks of seeds (as bench/optuna_mo.py --first-seed K --seeds B or --per-seed
// writes them, so that a stopped run keeps the seeds it finished) into one run of
// all their seeds, in seed order. Every part must carry the same form: each seed's points,
// or each seed's hypervolumes (then the join keeps the checkpoints all parts have). WallS
// adds up; TrialMs is the mean over all seeds' trials.
func JoinMOResults(parts []MOResult) (MOResult, error) {
	if len(parts) == 0 {
		return MOResult{}, errors.New("join of no multi-objective runs")
	}
	parts = slices.Clone(parts)
	slices.SortFunc(parts, func(a, b MOResult) int { return cmp.Compare(a.FirstSeed, b.FirstSeed) })
	out := parts[0]
	out.Hypervolume, out.HypervolumeAt, out.Points = nil, nil, nil
	out.Seeds, out.WallS, out.TrialMs = 0, 0, 0
	withPoints := parts[0].Points != nil
	var trialMs float64
	for i, p := range parts {
		name := fmt.Sprintf("%s %s n=%d seeds %d..%d", p.Problem, p.Sampler, p.N, p.FirstSeed, p.FirstSeed+p.Seeds-1)
		switch {
		case p.Lib != out.Lib || p.Mode != out.Mode || p.Problem != out.Problem || p.Sampler != out.Sampler || p.N != out.N:
			return MOResult{}, fmt.Errorf("join: %s (%s) is not a run of %s %s n=%d (%s)", name, p.Lib, out.Problem, out.Sampler, out.N, out.Lib)
		case p.Seeds <= 0:
			return MOResult{}, fmt.Errorf("join: %s has no seeds", name)
		case p.FirstSeed != out.FirstSeed+out.Seeds:
			return MOResult{}, fmt.Errorf("join: %s does not start where the runs before it end (seed %d)", name, out.FirstSeed+out.Seeds)
		case (p.Points != nil) != withPoints:
			return MOResult{}, fmt.Errorf("join: %s carries %s, the first part the other form", name, map[bool]string{true: "points", false: "hypervolumes"}[p.Points != nil])
		case withPoints && len(p.Points) != p.Seeds:
			return MOResult{}, fmt.Errorf("join: %s has points of %d seeds", name, len(p.Points))
		case !withPoints && len(p.Hypervolume) != p.Seeds:
			return MOResult{}, fmt.Errorf("join: %s has hypervolumes of %d seeds", name, len(p.Hypervolume))
		}
		out.Points = append(out.Points, p.Points...)
		if !withPoints {
			out.Hypervolume = append(out.Hypervolume, p.Hypervolume...)
			if i == 0 {
				for k, v := range p.HypervolumeAt {
					if len(v) == p.Seeds {
						if out.HypervolumeAt == nil {
							out.HypervolumeAt = map[string][]float64{}
						}
						out.HypervolumeAt[k] = slices.Clone(v)
					}
				}
			} else {
				for k := range out.HypervolumeAt {
					if v, ok := p.HypervolumeAt[k]; ok && len(v) == p.Seeds {
						out.HypervolumeAt[k] = append(out.HypervolumeAt[k], v...)
					} else {
						delete(out.HypervolumeAt, k)
					}
				}
			}
		}
		ms := p.TrialMs
		if ms == 0 {
			ms = 1000 * p.WallS / float64(p.N*p.Seeds)
		}
		trialMs += ms * float64(p.Seeds)
		out.Seeds += p.Seeds
		out.WallS += p.WallS
	}
	out.TrialMs = trialMs / float64(out.Seeds)
	return out, nil
}
