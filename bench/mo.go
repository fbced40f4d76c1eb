package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/pareto"
)

// MOReference is the reference point of the multi-objective hypervolume (PROTOCOL §5).
var MOReference = []float64{1.1, 11}

// MOResult is one multi-objective run (PROTOCOL §5): the hypervolume of each seed's
// completed trials, in the form optuna_ref.py --mode mo prints.
type MOResult struct {
	Lib         string    `json:"lib"`
	Mode        string    `json:"mode"`
	Problem     string    `json:"problem"`
	Sampler     string    `json:"sampler"`
	N           int       `json:"n"`
	Seeds       int       `json:"seeds"`
	Hypervolume []float64 `json:"hypervolume"`
	WallS       float64   `json:"wall_s"`
	// TrialMs is the mean wall time of one ask + suggest + evaluate + tell.
	TrialMs float64 `json:"trial_ms,omitempty"`
}

// MultiObjective runs seeds 0..seeds-1 (study seed = seed+1) of n trials each on problem
// zdt1 or zdt2 with 10 variables in [0, 1], both objectives minimized, and records the
// hypervolume of each run's completed trials at MOReference.
func MultiObjective(ctx context.Context, problemName, sampler string, n, seeds int) (MOResult, error) {
	var which int
	switch problemName {
	case "zdt1":
		which = 1
	case "zdt2":
		which = 2
	default:
		return MOResult{}, fmt.Errorf("unknown multi-objective problem %q: want zdt1 or zdt2", problemName)
	}
	res := MOResult{Lib: "retune", Mode: "mo", Problem: problemName, Sampler: sampler, N: n, Seeds: seeds}
	dirs := []retune.Direction{retune.Minimize, retune.Minimize}
	names := make([]string, 10)
	for i := range names {
		names[i] = fmt.Sprintf("x%d", i)
	}
	start := time.Now()
	for seed := range seeds {
		smp, err := NewSampler(sampler)
		if err != nil {
			return res, err
		}
		s, err := retune.NewStudy(ctx, retune.Config{Directions: dirs, Sampler: smp, Seed: uint64(seed) + 1})
		if err != nil {
			return res, err
		}
		points := make([][]float64, 0, n)
		x := make([]float64, len(names))
		for range n {
			t, err := s.Ask(ctx)
			if err != nil {
				return res, err
			}
			for i, name := range names {
				x[i] = t.Float(name, 0, 1)
			}
			f1, f2 := problem.ZDT(x, which)
			if err := s.Tell(ctx, t, f1, f2); err != nil {
				return res, err
			}
			points = append(points, []float64{f1, f2})
		}
		res.Hypervolume = append(res.Hypervolume, pareto.Hypervolume(dirs, points, MOReference))
	}
	wall := time.Since(start)
	res.WallS = wall.Seconds()
	if n > 0 && seeds > 0 {
		res.TrialMs = float64(wall.Microseconds()) / 1000 / float64(n*seeds)
	}
	return res, nil
}
