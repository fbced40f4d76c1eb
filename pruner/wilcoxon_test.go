package pruner_test

import (
	"cmp"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
)

func TestSignedRankP(t *testing.T) {
	t.Parallel()
	n60 := []float64{0.30123, 0.598746, 0.025862, -0.590592, -0.154671, -0.691647, 0.360144, 1.640215, -0.192207, -0.320475, 0.789842, 0.656887, 0.405414, -0.630468, 0.270748, 0.995303, -1.044215, -0.157616, -1.601223, -0.989538, -1.541735, 0.064909, -0.967446, 0.571264, 0.456751, 0.113069, -2.21676, -0.238693, 0.251499, 0.413309, -1.230136, -0.177753, -0.678519, -0.508837, 1.360899, -0.507535, 0.267478, 1.18439, -0.2836, 0.188298, 0.410464, 0.363782, -0.925056, 0.37614, 1.658823, -1.247145, 1.159383, 0.419354, -0.34147, 2.300417, 1.06226, -0.899289, 0.374516, 0.87669, 0.111218, 0.98291, 0.233483, 0.967248, 1.738523, -0.375662}
	n70 := []float64{0.5, -0.5, 0.5, -1.0, -0.5, 0.0, 1.0, 1.5, -1.0, -0.5, 1.0, -2.0, -0.5, 0.0, 1.5, 1.0, 0, 0, 0, 1.5, 0, 0, 0.5, 0.0, 0.0, -1.0, 0.0, 0, 1.5, 1.0, 0.0, 1.0, 0, 1.5, 0.0, 1.0, -1.0, 0.5, -1.5, -2.0, 0, -0.5, 0.5, 2.5, -0.5, -0.5, 0.5, 0.5, 0.0, 0, 1.0, 0.5, -1.0, 0.0, 0.0, -1.0, 0.5, -0.5, 1.0, 0.5, 0.5, -0.5, 0.0, -2.0, -1.0, 0.5, -2.0, 1.0, -1.5, 1.0}
	// Reference p-values from scipy.stats.wilcoxon(x, alternative="greater"): mode="exact"
	// for the small samples; mode="approx", correction=True (zero_method="pratt" for n70)
	// for the large ones.
	tests := []struct {
		name  string
		diffs []float64
		want  float64
	}{
		{"exact n=6", []float64{1.2, -0.3, 2.5, 0.7, 1.9, -1.1}, 0.109375},
		{"exact n=10", []float64{0.5, 1.5, -0.25, 2.0, 3.0, -1.0, 4.5, 0.75, 2.5, 3.5}, 0.009765625},
		{"exact n=8 all positive", []float64{1, 2, 3, 4, 5, 6, 7, 8}, 0.00390625},
		{"exact all negative", []float64{-1, -2, -3}, 1},
		{"all zero", []float64{0, 0, 0}, 1},
		{"normal n=60", n60, 0.18950779304973775},
		{"normal n=70 with ties and zeros", n70, 0.24853121511291704},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := pruner.SignedRankP(tt.diffs); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("p = %.12g, want %.12g", got, tt.want)
			}
		})
	}
}

// TestSignedRankPBruteForce checks the exact p-value with ties and zeros against an
// enumeration of every sign assignment.
func TestSignedRankPBruteForce(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		n := 1 + r.IntN(12)
		diffs := make([]float64, n)
		for i := range diffs {
			diffs[i] = float64(r.IntN(7) - 3) // many ties and zeros
			if r.IntN(4) == 0 {
				diffs[i] = math.Inf(1 - 2*r.IntN(2))
			}
		}
		got, want := pruner.SignedRankP(diffs), bruteP(diffs)
		if math.Abs(got-want) > 1e-12 {
			t.Fatalf("p(%v) = %v, want %v", diffs, got, want)
		}
	}
}

// bruteP ranks |diffs| with mean ranks for ties, drops zeros, and counts the sign
// assignments whose positive-rank sum reaches the observed one.
func bruteP(diffs []float64) float64 {
	n := len(diffs)
	abs := make([]float64, n)
	for i, d := range diffs {
		abs[i] = math.Abs(d)
	}
	rank := make([]float64, n)
	for i := range diffs {
		less, equal := 0, 0
		for j := range diffs {
			switch cmp.Compare(abs[j], abs[i]) {
			case -1:
				less++
			case 0:
				equal++
			}
		}
		rank[i] = float64(less) + float64(equal+1)/2
	}
	var ranks []float64
	obs := 0.0
	for i, d := range diffs {
		if d != 0 {
			ranks = append(ranks, rank[i])
			if d > 0 {
				obs += rank[i]
			}
		}
	}
	if len(ranks) == 0 {
		return 1
	}
	hits := 0
	for mask := range 1 << len(ranks) {
		s := 0.0
		for k, rk := range ranks {
			if mask&(1<<k) != 0 {
				s += rk
			}
		}
		if s >= obs-1e-9 {
			hits++
		}
	}
	return float64(hits) / float64(int(1)<<len(ranks))
}

func TestWilcoxon(t *testing.T) {
	t.Parallel()
	w := pruner.NewWilcoxon(pruner.WilcoxonOptions{})
	// The best completed trial: final 0.5, curve 10, 9, …, 1 at steps 1..10.
	best := withFinal(curve(0, complete, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 0.5)
	worseByOne := func(k int) retune.FrozenTrial { // k steps, each 1 worse than best
		vals := make([]float64, k)
		for i := range vals {
			vals[i] = 11 - float64(i)
		}
		return curve(9, running, vals...)
	}
	// Trial 1 completed with a worse final value: it is not the reference.
	hist := []retune.FrozenTrial{best, withFinal(curve(1, complete, 20, 20, 20, 20, 20), 20)}
	cases := []pruneCase{
		// All k differences positive: exact p = 2^-k; pruned once below 0.1, from k = 4.
		{"3 steps worse: p = 1/8", w, request(min1, worseByOne(3), hist...), false},
		{"4 steps worse: p = 1/16", w, request(min1, worseByOne(4), hist...), true},
		{"better at every step", w, request(min1, curve(9, running, 9, 8, 7, 6, 5), hist...), false},
		{"equal at every step", w, request(min1, curve(9, running, 10, 9, 8, 7, 6), hist...), false},
		{
			"compared with the best by final value, not the best curve",
			w,
			// Trial 2 is PRUNED with a better curve and trial 1 COMPLETE with a worse final:
			// neither is the reference.
			request(min1, worseByOne(5), best, curve(2, pruned, 0, 0, 0, 0, 0), withFinal(curve(1, complete, 100, 100, 100, 100, 100), 1)),
			true,
		},
		{"no completed trial", w, request(min1, worseByOne(6), curve(2, pruned, 0, 0, 0, 0, 0, 0)), false},
		{"startup steps 5: 4 shared steps", pruner.NewWilcoxon(pruner.WilcoxonOptions{StartupSteps: 5}), request(min1, worseByOne(4), hist...), false},
		{"startup steps 5: 5 shared steps", pruner.NewWilcoxon(pruner.WilcoxonOptions{StartupSteps: 5}), request(min1, worseByOne(5), hist...), true},
		{"level 0.05: p = 1/16 not enough", pruner.NewWilcoxon(pruner.WilcoxonOptions{Level: 0.05}), request(min1, worseByOne(4), hist...), false},
		{"level 0.05: p = 1/32", pruner.NewWilcoxon(pruner.WilcoxonOptions{Level: 0.05}), request(min1, worseByOne(5), hist...), true},
		{
			"only steps both reported are paired",
			w,
			// The trial reported steps 1, 3, 5 and 20; the best reported 1..10: three pairs.
			request(min1, at(9, running, map[int64]float64{1: 11, 3: 9, 5: 7, 20: 0}), hist...),
			false,
		},
		{
			"better on average: never pruned",
			w,
			// Nine steps worse by 1 and one better by 100: the ranks say worse (p = 2/1024)
			// but the mean difference is negative.
			request(min1, curve(9, running, 11, 10, 9, 8, 7, 6, 5, 4, 3, -99), hist...),
			false,
		},
		{
			"worse on average and by ranks",
			w,
			request(min1, curve(9, running, 11, 10, 9, 8, 7, 6, 5, 4, 3, 1.5), hist...),
			true,
		},
		{"maximize: mirrored", w, request(max1, flip(worseByOne(4))[0], flip(hist...)...), true},
		{"maximize: better", w, request(max1, flip(curve(9, running, 9, 8, 7, 6, 5))[0], flip(hist...)...), false},
		{"NaN steps are worse than numbers", w, request(min1, curve(9, running, nan, nan, nan, nan), hist...), true},
	}
	runCases(t, cases)
}

func TestWilcoxonSeveralObjectives(t *testing.T) {
	t.Parallel()
	w := pruner.NewWilcoxon(pruner.WilcoxonOptions{})
	_, err := w.Prune(context.Background(), request(min2, vecs(1, running, []float64{1, 1}), vecs(0, complete, []float64{0, 0})))
	if !errors.Is(err, retune.ErrInvalid) {
		t.Errorf("Prune with two objectives = %v, want ErrInvalid", err)
	}
}

func TestWilcoxonOptionsInvalid(t *testing.T) {
	t.Parallel()
	for _, o := range []pruner.WilcoxonOptions{{Level: 1}, {Level: -0.1}, {Level: nan}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewWilcoxon(%+v) did not panic", o)
				}
			}()
			pruner.NewWilcoxon(o)
		}()
	}
}
