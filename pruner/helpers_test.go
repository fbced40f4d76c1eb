package pruner_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/a6b40afc/retune"
)

var (
	nan  = math.NaN()
	inf  = math.Inf(1)
	min1 = []retune.Direction{retune.Minimize}
	max1 = []retune.Direction{retune.Maximize}
	min2 = []retune.Direction{retune.Minimize, retune.Minimize}
)

const (
	complete = retune.TrialComplete
	pruned   = retune.TrialPruned
	failed   = retune.TrialFail
	running  = retune.TrialRunning
)

// curve is a single-objective trial that reported vals at steps 1, 2, …; a COMPLETE one
// has its last value as its final value.
func curve(n int, state retune.TrialState, vals ...float64) retune.FrozenTrial {
	inter := make(map[int64][]float64, len(vals))
	for i, v := range vals {
		inter[int64(i+1)] = []float64{v}
	}
	return frozen(n, state, inter)
}

// at is a single-objective trial that reported the given step → value pairs.
func at(n int, state retune.TrialState, steps map[int64]float64) retune.FrozenTrial {
	inter := make(map[int64][]float64, len(steps))
	for s, v := range steps {
		inter[s] = []float64{v}
	}
	return frozen(n, state, inter)
}

// vecs is a trial that reported the given vectors at steps 1, 2, ….
func vecs(n int, state retune.TrialState, vs ...[]float64) retune.FrozenTrial {
	inter := make(map[int64][]float64, len(vs))
	for i, v := range vs {
		inter[int64(i+1)] = v
	}
	return frozen(n, state, inter)
}

func frozen(n int, state retune.TrialState, inter map[int64][]float64) retune.FrozenTrial {
	ft := retune.FrozenTrial{Number: n, State: state, Intermediate: inter, RetryOf: -1}
	if state == complete {
		_, last, ok := ft.LastStep()
		if ok {
			ft.Values = last
		}
	}
	return ft
}

// withFinal sets a trial's final values.
func withFinal(ft retune.FrozenTrial, vals ...float64) retune.FrozenTrial {
	ft.Values = vals
	return ft
}

// request judges trial at its last reported step; others go to Trials when finished and
// to Running otherwise, in the order given.
func request(dirs []retune.Direction, trial retune.FrozenTrial, others ...retune.FrozenTrial) *retune.PruneRequest {
	step, _, _ := trial.LastStep()
	return requestAt(dirs, trial, step, others...)
}

func requestAt(dirs []retune.Direction, trial retune.FrozenTrial, step int64, others ...retune.FrozenTrial) *retune.PruneRequest {
	trial.State = running
	req := &retune.PruneRequest{Directions: dirs, Trial: trial, Step: step}
	for _, o := range others {
		if o.State.Finished() {
			req.Trials = append(req.Trials, o)
		} else {
			req.Running = append(req.Running, o)
		}
	}
	return req
}

// five is five COMPLETE trials with constant curves 1, 2, 3, 4, 5 over steps 1..3.
func five() []retune.FrozenTrial {
	var out []retune.FrozenTrial
	for i := range 5 {
		v := float64(i + 1)
		out = append(out, curve(i, complete, v, v, v))
	}
	return out
}

// decide calls p on req twice and checks that the decisions agree and that req was not
// modified.
func decide(t *testing.T, p retune.Pruner, req *retune.PruneRequest) bool {
	t.Helper()
	before := dump(req)
	got, err := p.Prune(context.Background(), req)
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	again, err := p.Prune(context.Background(), clone(req))
	if err != nil || again != got {
		t.Fatalf("Prune on the same history = %v, %v, first call said %v", again, err, got)
	}
	if after := dump(req); after != before {
		t.Fatalf("Prune modified the request:\nbefore %s\nafter  %s", before, after)
	}
	return got
}

// dump prints a request with maps in key order and NaN printed, for comparisons.
func dump(req *retune.PruneRequest) string {
	b := fmt.Appendf(nil, "dirs=%v step=%d trial=", req.Directions, req.Step)
	b = dumpTrial(b, req.Trial)
	for _, ft := range req.Trials {
		b = dumpTrial(append(b, " finished="...), ft)
	}
	for _, ft := range req.Running {
		b = dumpTrial(append(b, " running="...), ft)
	}
	return string(b)
}

func dumpTrial(b []byte, ft retune.FrozenTrial) []byte {
	b = fmt.Appendf(b, "{%d %v values=%v", ft.Number, ft.State, ft.Values)
	for _, k := range slices.Sorted(maps.Keys(ft.Intermediate)) {
		b = strconv.AppendInt(append(b, ' '), k, 10)
		for _, v := range ft.Intermediate[k] {
			b = strconv.AppendFloat(append(b, ':'), v, 'g', -1, 64)
		}
	}
	return append(b, '}')
}

// clone deep-copies a request.
func clone(req *retune.PruneRequest) *retune.PruneRequest {
	c := *req
	c.Directions = slices.Clone(req.Directions)
	c.Trial = cloneTrial(req.Trial)
	c.Trials = nil
	for _, ft := range req.Trials {
		c.Trials = append(c.Trials, cloneTrial(ft))
	}
	c.Running = nil
	for _, ft := range req.Running {
		c.Running = append(c.Running, cloneTrial(ft))
	}
	return &c
}

func cloneTrial(ft retune.FrozenTrial) retune.FrozenTrial {
	ft.Values = slices.Clone(ft.Values)
	inter := make(map[int64][]float64, len(ft.Intermediate))
	for k, v := range ft.Intermediate {
		inter[k] = slices.Clone(v)
	}
	ft.Intermediate = inter
	return ft
}

// pruneCase is one row of a decision table.
type pruneCase struct {
	name string
	p    retune.Pruner
	req  *retune.PruneRequest
	want bool
}

func runCases(t *testing.T, cases []pruneCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := decide(t, tc.p, tc.req); got != tc.want {
				t.Errorf("Prune(trial %d at step %d) = %v, want %v\nrequest: %s", tc.req.Trial.Number, tc.req.Step, got, tc.want, dump(tc.req))
			}
		})
	}
}

// flip returns the trials with every value negated, for mirrored maximize cases.
func flip(ts ...retune.FrozenTrial) []retune.FrozenTrial {
	out := make([]retune.FrozenTrial, len(ts))
	for i, ft := range ts {
		ft = cloneTrial(ft)
		for _, v := range ft.Intermediate {
			for j := range v {
				v[j] = -v[j]
			}
		}
		for j := range ft.Values {
			ft.Values[j] = -ft.Values[j]
		}
		out[i] = ft
	}
	return out
}
