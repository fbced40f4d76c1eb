package pruner_test

import (
	"math"
	"slices"
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pruner"
)

func TestBracketWeights(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		minRes, maxRes int64
		rf             int64
		want           []float64 // per bracket, not cumulative
	}{
		// The Hyperband paper's example (R = 81, η = 3): 81, 34, 15, 8, 5 configurations.
		{"R=81 η=3", 1, 81, 3, []float64{81, 34, 15, 8, 5}},
		{"R=80 η=3 has four brackets", 1, 80, 3, []float64{27, 12, 6, 4}},
		{"R=9 η=3", 1, 9, 3, []float64{9, 5, 3}},
		{"R below η: one bracket", 1, 2, 3, []float64{1}},
		{"min 2 max 50 η=3: rungs 2, 6, 18", 2, 50, 3, []float64{9, 5, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cum := pruner.BracketWeights(tt.minRes, tt.maxRes, tt.rf)
			got := make([]float64, len(cum))
			for i := range cum {
				got[i] = cum[i]
				if i > 0 {
					got[i] -= cum[i-1]
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("bracket weights(%d, %d, %d) = %v, want %v", tt.minRes, tt.maxRes, tt.rf, got, tt.want)
			}
		})
	}
}

func TestBracketShares(t *testing.T) {
	t.Parallel()
	const n = 200000
	counts := make([]float64, 5)
	for i := range n {
		counts[pruner.BracketOf(1, 81, 3, 0, i)]++
	}
	want := []float64{81, 34, 15, 8, 5}
	for e := range want {
		share, wantShare := counts[e]/n, want[e]/143
		if math.Abs(share-wantShare) > 0.005 {
			t.Errorf("bracket %d got %.4f of the trials, want %.4f", e, share, wantShare)
		}
	}
	if a, b := pruner.BracketOf(1, 81, 3, 7, 12345), pruner.BracketOf(1, 81, 3, 7, 12345); a != b {
		t.Errorf("bracket of trial 12345 = %d then %d", a, b)
	}
}

// numbersIn returns the first k trial numbers in bracket e of (1, 9, 3).
func numbersIn(e, k int) []int {
	var out []int
	for n := 0; len(out) < k; n++ {
		if pruner.BracketOf(1, 9, 3, 0, n) == e {
			out = append(out, n)
		}
	}
	return out
}

func TestHyperband(t *testing.T) {
	t.Parallel()
	// MaxResource 9, η = 3: brackets 0 (rungs 1, 3, 9), 1 (rungs 3, 9) and 2 (rung 9).
	hb := pruner.NewHyperband(pruner.HyperbandOptions{MaxResource: 9})
	auto := pruner.NewHyperband(pruner.HyperbandOptions{})
	b0, b1 := numbersIn(0, 4), numbersIn(1, 4)
	// Bracket-0 peers with 1 and 2 at step 1; bracket-1 trials with 0 everywhere, which
	// would beat anyone if they were compared.
	peers := []retune.FrozenTrial{curve(b0[1], complete, 1, 1, 1), curve(b0[2], pruned, 2)}
	outsiders := []retune.FrozenTrial{curve(b1[1], complete, 0, 0, 0), curve(b1[2], running, 0, 0, 0), curve(b1[3], failed, 0, 0, 0)}
	all := append(slices.Clone(peers), outsiders...)
	cases := []pruneCase{
		// Bracket 0, rung 1: n = 3 peers with the trial, keep 1.
		{"bracket 0: best of its bracket kept", hb, request(min1, curve(b0[0], running, 0.5), all...), false},
		{"bracket 0: beaten within its bracket", hb, request(min1, curve(b0[0], running, 1.5), all...), true},
		{"bracket 0: the other bracket is not compared", hb, request(min1, curve(b0[0], running, 0.9), append(outsiders, peers[0])...), false},
		// Bracket 1's first rung is at 3.
		{"bracket 1: no rung at step 1", hb, request(min1, curve(b1[0], running, 100), all...), false},
		{"bracket 1: rung 3 against bracket 1 only", hb, request(min1, curve(b1[0], running, 9, 9, 0.5), all...), true},
		{"bracket 1: bracket 0 trials are not compared", hb, request(min1, curve(b1[0], running, 9, 9, 0.5), peers...), false},
		{"auto max resource: no completed trial yet", auto, request(min1, curve(b0[0], running, 1.5), curve(b0[1], running, 1), curve(b0[2], pruned, 1)), false},
		{
			"auto max resource from the first completed trial",
			auto,
			// The first trial to complete (b1[1]) ran 9 steps: the same brackets as above.
			request(min1, curve(b0[0], running, 1.5), curve(b1[1], complete, 0, 0, 0, 0, 0, 0, 0, 0, 0), curve(b0[1], complete, 1)),
			true,
		},
		{"maximize", hb, request(max1, curve(b0[0], running, -1.5), flip(all...)...), true},
		{
			"several objectives: ranked within the bracket",
			hb,
			request(min2, vecs(b0[0], running, []float64{3, 3}),
				vecs(b0[1], complete, []float64{1, 1}), vecs(b0[2], complete, []float64{2, 2}),
				vecs(b1[1], complete, []float64{0, 0})),
			true,
		},
		{
			"several objectives: best of its bracket",
			hb,
			request(min2, vecs(b0[0], running, []float64{0.5, 3}),
				vecs(b0[1], complete, []float64{1, 1}), vecs(b0[2], complete, []float64{2, 2}),
				vecs(b1[1], complete, []float64{0, 0})),
			false,
		},
	}
	runCases(t, cases)
}

func TestHyperbandOneBracket(t *testing.T) {
	t.Parallel()
	// MaxResource 2 < η: one bracket, plain successive halving at rungs 1, 3, 9.
	hb := pruner.NewHyperband(pruner.HyperbandOptions{MaxResource: 2})
	for n := range 50 {
		if b := pruner.BracketOf(1, 2, 3, 0, n); b != 0 {
			t.Fatalf("trial %d in bracket %d of one", n, b)
		}
	}
	req := request(min1, curve(7, running, 2), curve(1, complete, 1), curve(2, complete, 3))
	if !decide(t, hb, req) {
		t.Errorf("Prune = false, want true: 1 beats 2 at rung 1 with n = 3")
	}
}

func TestHyperbandOptionsInvalid(t *testing.T) {
	t.Parallel()
	for _, o := range []pruner.HyperbandOptions{
		{MinResource: -1}, {MaxResource: -1}, {MinResource: 10, MaxResource: 5}, {ReductionFactor: 1},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewHyperband(%+v) did not panic", o)
				}
			}()
			pruner.NewHyperband(o)
		}()
	}
}

// Different study seeds split the same trial numbers into brackets differently.
func TestHyperbandSeedSplits(t *testing.T) {
	t.Parallel()
	same := 0
	for n := range 200 {
		if pruner.BracketOf(1, 81, 3, 1, n) == pruner.BracketOf(1, 81, 3, 2, n) {
			same++
		}
	}
	if same > 150 {
		t.Errorf("seeds 1 and 2 put %d of 200 trials in the same bracket: want independent splits", same)
	}
}
