package qmc_test

import (
	"context"
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/qmc"
	"github.com/a6b40afc/retune/sampler/random"
)

func run(t *testing.T, s retune.Sampler, seed uint64, n, parallel int) []retune.FrozenTrial {
	t.Helper()
	ctx := context.Background()
	st, err := retune.NewStudy(ctx, retune.Config{Sampler: s, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Optimize(ctx, func(ctx context.Context, tr *retune.Trial) (float64, error) {
		x := tr.Float("x", -5, 5)
		y := tr.Float("y", 1e-4, 1, retune.Log)
		k := tr.Int("k", 1, 8)
		c := tr.Categorical("c", "a", "b", "c")
		_ = c
		return x*x + math.Log10(y)*math.Log10(y) + float64(k), nil
	}, retune.OptimizeOptions{Trials: n, Parallel: parallel})
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := st.Trials(ctx)
	return ts
}

func TestInsideAndDeterministic(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"sobol", "halton"} {
		a := run(t, qmc.New(qmc.Options{Type: typ}), 3, 64, 1)
		b := run(t, qmc.New(qmc.Options{Type: typ}), 3, 64, 1)
		for i := range a {
			for name, d := range a[i].Distributions {
				if !d.Contains(a[i].Params[name]) {
					t.Errorf("%s trial %d: %s=%v outside %v", typ, i, name, a[i].Params[name], d)
				}
			}
			if fmt.Sprint(a[i].Params) != fmt.Sprint(b[i].Params) {
				t.Errorf("%s trial %d: %v then %v with the same seed", typ, i, a[i].Params, b[i].Params)
			}
		}
		c := run(t, qmc.New(qmc.Options{Type: typ}), 4, 8, 1)
		if fmt.Sprint(a[5].Params) == fmt.Sprint(c[5].Params) {
			t.Errorf("%s: seeds 3 and 4 gave trial 5 the same params %v", typ, a[5].Params)
		}
	}
}

// The points spread evenly: over 64 trials each eighth of x's range gets close to 8 points,
// far closer than independent random draws manage.
func TestEvenCoverage(t *testing.T) {
	t.Parallel()
	spread := func(ts []retune.FrozenTrial) int {
		var bins [8]int
		for _, tr := range ts[1:] { // trial 0 predates the joint space
			x := tr.Params["x"].(float64)
			bins[min(7, int((x+5)/10*8))]++
		}
		s := bins[:]
		sort.Ints(s)
		return s[7] - s[0]
	}
	q := spread(run(t, qmc.New(qmc.Options{}), 1, 65, 1))
	worse := 0
	for seed := range uint64(10) {
		if spread(run(t, random.New(), seed, 65, 1)) > q {
			worse++
		}
	}
	if q > 2 || worse < 8 {
		t.Errorf("qmc bin spread %d (random worse in %d of 10 seeds): want <= 2 and random worse in >= 8", q, worse)
	}
}

func TestSameWithParallelWorkers(t *testing.T) {
	t.Parallel()
	one := run(t, qmc.New(qmc.Options{}), 9, 1, 1)
	many := run(t, qmc.New(qmc.Options{}), 9, 1, 4)
	if fmt.Sprint(one[0].Params) != fmt.Sprint(many[0].Params) {
		t.Errorf("trial 0: %v with 1 worker, %v with 4", one[0].Params, many[0].Params)
	}
}

func Example() {
	ctx := context.Background()
	s, _ := retune.NewStudy(ctx, retune.Config{Sampler: qmc.New(qmc.Options{}), Seed: 1})
	res, _ := s.Optimize(ctx, func(ctx context.Context, t *retune.Trial) (float64, error) {
		x, y := t.Float("x", -1, 1), t.Float("y", -1, 1)
		return x*x + y*y, nil
	}, retune.OptimizeOptions{Trials: 128})
	fmt.Printf("%.2f\n", res.Best[0].Value())
	// Output: 0.01
}
