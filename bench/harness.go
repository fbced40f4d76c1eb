// Package bench measures retune side by side with Optuna on the public problems of
// bench/problem, as PROTOCOL.md in the shared benchmark folder prescribes: sampler
// overhead, storage throughput, sample efficiency and pruning. cmd/retune-bench runs it.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench/problem"
	"github.com/a6b40afc/retune/sampler"
	"github.com/a6b40afc/retune/sampler/auto"
	"github.com/a6b40afc/retune/sampler/cmaes"
	"github.com/a6b40afc/retune/sampler/gp"
	"github.com/a6b40afc/retune/sampler/nsga2"
	"github.com/a6b40afc/retune/sampler/qmc"
	"github.com/a6b40afc/retune/sampler/random"
	"github.com/a6b40afc/retune/sampler/tpe"
)

var (
	samplersMu sync.Mutex
	samplers   = map[string]func() retune.Sampler{
		"random": func() retune.Sampler { return random.New() },
		"qmc":    func() retune.Sampler { return qmc.New(qmc.Options{}) },
		"tpe":    func() retune.Sampler { return tpe.New(tpe.Options{}) },
		"tpe_mv": func() retune.Sampler { return tpe.New(tpe.Options{Multivariate: true}) },
		"nsga2":  func() retune.Sampler { return nsga2.New(nsga2.Options{}) },
		"cmaes":  func() retune.Sampler { return cmaes.New(cmaes.SamplerOptions{}) },
		"gp":     func() retune.Sampler { return gp.New(gp.Options{}) },
		"auto":   func() retune.Sampler { return auto.New(auto.Options{}) },
	}
)

// RegisterSampler makes a sampler available to the harness under name (as optuna_ref.py
// names them: tpe, tpe_mv, cmaes, random, qmc).
func RegisterSampler(name string, f func() retune.Sampler) {
	samplersMu.Lock()
	defer samplersMu.Unlock()
	samplers[name] = f
}

// NewSampler builds the sampler registered under name, or, when name starts with "{", the
// sampler that JSON spec describes, read as a stored spec is (sampler.FromSpec: {"name":
// "auto", "options": {"nsga2_trials": 120, "rules": 4}}; without "rules" that would be
// auto's rules 1), to measure options no registered name has.
func NewSampler(name string) (retune.Sampler, error) {
	if strings.HasPrefix(name, "{") {
		var spec retune.Spec
		dec := json.NewDecoder(strings.NewReader(name))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			return nil, fmt.Errorf("sampler spec %s: %w (want {\"name\": ..., \"options\": {...}})", name, err)
		}
		return sampler.FromSpec(spec)
	}
	samplersMu.Lock()
	defer samplersMu.Unlock()
	f, ok := samplers[name]
	if !ok {
		return nil, fmt.Errorf("unknown sampler %q: want one of %s, or a JSON spec such as {\"name\": \"tpe\", \"options\": {\"multivariate\": true}}", name, sortedKeys(samplers))
	}
	return f(), nil
}

// FindProblem returns the single-objective problem with that name, from problem.Problems
// or problem.Broad.
func FindProblem(name string) (problem.Problem, error) {
	var names []string
	for _, list := range [][]problem.Problem{problem.Problems, problem.Broad} {
		for _, p := range list {
			if p.Name == name {
				return p, nil
			}
			names = append(names, p.Name)
		}
	}
	return problem.Problem{}, fmt.Errorf("unknown problem %q: want one of %s", name, strings.Join(names, ", "))
}

// Suggest asks t for every param of a problem's space.
func Suggest(t *retune.Trial, space []problem.Param) map[string]any {
	out := make(map[string]any, len(space))
	for _, p := range space {
		var opts []retune.ParamOption
		if p.Log {
			opts = append(opts, retune.Log)
		}
		switch p.Kind {
		case "float":
			out[p.Name] = t.Float(p.Name, p.Low, p.High, opts...)
		case "int":
			out[p.Name] = t.Int(p.Name, int64(p.Low), int64(p.High), opts...)
		default:
			out[p.Name] = t.Categorical(p.Name, p.Choices...)
		}
	}
	return out
}

// Checkpoint is what the overhead mode reports at trial N: the total time of trials 1..N
// and the mean time per trial over trials N-99..N, as optuna_ref.py's overhead mode does.
type Checkpoint struct {
	TotalS     float64 `json:"total_s"`
	Last100Ms  float64 `json:"last100_ms"`
	HeapMiB    float64 `json:"heap_mib,omitempty"`
	AllocPerOp float64 `json:"alloc_bytes_per_trial,omitempty"`
}

// OverheadResult is one overhead run.
type OverheadResult struct {
	Lib         string                `json:"lib"`
	Mode        string                `json:"mode"`
	Space       string                `json:"space"`
	Sampler     string                `json:"sampler"`
	N           int                   `json:"n"`
	Seed        uint64                `json:"seed"`
	WallS       float64               `json:"wall_s"`
	Checkpoints map[string]Checkpoint `json:"checkpoints"`
}

// Overhead times n ask + suggest + tell rounds in memory on space "A" (sphere, 5 floats)
// or "B" (mixedB) with a trivial objective.
func Overhead(ctx context.Context, space, sampler string, n int, seed uint64) (OverheadResult, error) {
	var prob problem.Problem
	var err error
	switch space {
	case "A":
		prob, err = FindProblem("sphereA")
	case "B":
		prob, err = FindProblem("mixedB")
	default:
		err = fmt.Errorf("space %q: want A or B", space)
	}
	if err != nil {
		return OverheadResult{}, err
	}
	smp, err := NewSampler(sampler)
	if err != nil {
		return OverheadResult{}, err
	}
	s, err := retune.NewStudy(ctx, retune.Config{Sampler: smp, Seed: seed})
	if err != nil {
		return OverheadResult{}, err
	}
	ts := make([]time.Time, n)
	start := time.Now()
	for i := range n {
		t, err := s.Ask(ctx)
		if err != nil {
			return OverheadResult{}, err
		}
		v := prob.Eval(Suggest(t, prob.Space))
		if err := s.Tell(ctx, t, v); err != nil {
			return OverheadResult{}, err
		}
		ts[i] = time.Now()
	}
	res := OverheadResult{Lib: "retune", Mode: "overhead", Space: space, Sampler: sampler, N: n, Seed: seed,
		WallS: ts[n-1].Sub(start).Seconds(), Checkpoints: map[string]Checkpoint{}}
	for _, c := range []int{100, 200, 500, 1000, 2000, 5000, 10000} {
		if c > n {
			continue
		}
		from := start
		if c > 100 {
			from = ts[c-101]
		}
		res.Checkpoints[fmt.Sprint(c)] = Checkpoint{TotalS: ts[c-1].Sub(start).Seconds(), Last100Ms: float64(ts[c-1].Sub(from).Microseconds()) / 100 / 1000}
	}
	return res, nil
}

// EfficiencyResult is best-so-far simple regret at checkpoints, one value per seed.
type EfficiencyResult struct {
	Lib     string               `json:"lib"`
	Mode    string               `json:"mode"`
	Problem string               `json:"problem"`
	Sampler string               `json:"sampler"`
	N       int                  `json:"n"`
	First   int                  `json:"first_seed,omitempty"` // seeds First..First+Seeds-1
	Seeds   int                  `json:"seeds"`
	Regret  map[string][]float64 `json:"regret"`
	WallS   float64              `json:"wall_s"`
}

// Efficiency runs seeds 0..seeds-1 of n trials each and records the best-so-far regret
// (best value - optimum) at 50, 100, 200 and 500 trials. For a problem with Noise, the
// sampler observes the noisy value and the regret is that of the noise-free value of the
// trial with the best observation.
func Efficiency(ctx context.Context, problemName, sampler string, n, seeds int) (EfficiencyResult, error) {
	return EfficiencyFrom(ctx, problemName, sampler, n, 0, seeds)
}

// EfficiencyFrom is Efficiency on seeds first..first+seeds-1, to check on fresh seeds a
// choice made on others.
func EfficiencyFrom(ctx context.Context, problemName, sampler string, n, first, seeds int) (EfficiencyResult, error) {
	prob, err := FindProblem(problemName)
	if err != nil {
		return EfficiencyResult{}, err
	}
	res := EfficiencyResult{Lib: "retune", Mode: "efficiency", Problem: problemName, Sampler: sampler, N: n, First: first, Seeds: seeds, Regret: map[string][]float64{}}
	start := time.Now()
	for seed := first; seed < first+seeds; seed++ {
		if err := efficiencyRun(ctx, prob, sampler, n, seed, res.Regret); err != nil {
			return res, err
		}
	}
	res.WallS = time.Since(start).Seconds()
	return res, nil
}

// efficiencyRun runs seed's n trials and appends its regrets to regret.
func efficiencyRun(ctx context.Context, prob problem.Problem, sampler string, n, seed int, regret map[string][]float64) error {
	smp, err := NewSampler(sampler)
	if err != nil {
		return err
	}
	// Seed 0 means "choose one" to the library; shift so every run is reproducible.
	s, err := retune.NewStudy(ctx, retune.Config{Sampler: smp, Seed: uint64(seed) + 1})
	if err != nil {
		return err
	}
	best, bestObserved := math.Inf(1), math.Inf(1)
	for k := 1; k <= n; k++ {
		t, err := s.Ask(ctx)
		if err != nil {
			return err
		}
		v := prob.Eval(Suggest(t, prob.Space))
		observed := v
		if prob.Noise != nil {
			observed += prob.Noise(seed, t.Number())
		}
		if err := s.Tell(ctx, t, observed); err != nil {
			return err
		}
		if observed < bestObserved {
			best, bestObserved = v, observed
		}
		if k == 50 || k == 100 || k == 200 || k == 500 {
			regret[fmt.Sprint(k)] = append(regret[fmt.Sprint(k)], best-prob.Optimum)
		}
	}
	return nil
}

// StorageResult is one storage-throughput run.
type StorageResult struct {
	Lib         string  `json:"lib"`
	Mode        string  `json:"mode"`
	Store       string  `json:"store"`
	N           int     `json:"n"`
	Workers     int     `json:"workers"`
	LoopS       float64 `json:"loop_s"`
	TrialsPerS  float64 `json:"trials_per_s"`
	TrialsStore int     `json:"n_trials_read_back"`
}

// StorageThroughput runs n ask+tell rounds of the random sampler on space A against store
// with workers concurrent workers, as PROTOCOL.md §2 describes.
func StorageThroughput(ctx context.Context, store retune.Storage, label string, n, workers int) (StorageResult, error) {
	prob, _ := FindProblem("sphereA")
	s, err := retune.NewStudy(ctx, retune.Config{Name: fmt.Sprintf("bench-%d", time.Now().UnixNano()), Storage: store, Sampler: random.New(), Seed: 1})
	if err != nil {
		return StorageResult{}, err
	}
	start := time.Now()
	res, err := s.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		return prob.Eval(Suggest(t, prob.Space)), nil
	}, retune.OptimizeOptions{Trials: n, Parallel: workers})
	if err != nil {
		return StorageResult{}, err
	}
	loop := time.Since(start)
	ts, err := s.Trials(ctx)
	if err != nil {
		return StorageResult{}, err
	}
	return StorageResult{Lib: "retune", Mode: "storage", Store: label, N: res.Started, Workers: workers,
		LoopS: loop.Seconds(), TrialsPerS: float64(res.Started) / loop.Seconds(), TrialsStore: len(ts)}, nil
}

// sortedKeys lists a registry's names for an error message.
func sortedKeys[V any](m map[string]V) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
