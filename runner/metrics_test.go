package runner_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/a6b40afc/retune/runner"
)

func TestParseLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		line   string
		ok     bool
		step   int64
		isStep bool
		values map[string]float64
	}{
		{"pairs", "step=3 loss=0.41 accuracy=0.87", true, 3, true, map[string]float64{"loss": 0.41, "accuracy": 0.87}},
		{"json", `{"step": 3, "accuracy": 0.87}`, true, 3, true, map[string]float64{"accuracy": 0.87}},
		{"mixed prose", "epoch 3 done: loss=0.5, lr=1e-3", true, 0, false, map[string]float64{"loss": 0.5, "lr": 1e-3}},
		{"specials", "a=inf b=-Inf c=NaN", true, 0, false, map[string]float64{"a": math.Inf(1), "b": math.Inf(-1), "c": math.NaN()}},
		{"json specials", `{"a": "inf", "b": "x", "c": true, "d": null}`, true, 0, false, map[string]float64{"a": math.Inf(1)}},
		{"bad step", "step=1.5 loss=1", false, 0, false, nil},
		{"negative step", "step=-1 loss=1", false, 0, false, nil},
		{"step only", "step=4", false, 4, true, nil},
		{"prose", "hello world", false, 0, false, nil},
		{"bad names", "1a=3 =4 a b=c", false, 0, false, nil},
		{"broken json", `{"loss": 1`, false, 0, false, nil},
		{"empty", "", false, 0, false, nil},
		{"path-like name", "val/loss=0.3 train.acc=0.9", true, 0, false, map[string]float64{"val/loss": 0.3, "train.acc": 0.9}},
		{"overflow", "loss=1e999 acc=-1e999 tiny=1e-999", true, 0, false, map[string]float64{"loss": math.Inf(1), "acc": math.Inf(-1), "tiny": 0}},
		{"json overflow", `{"loss": 1e999, "acc": -1e999}`, true, 0, false, map[string]float64{"loss": math.Inf(1), "acc": math.Inf(-1)}},
		{"overflowing step", "step=1e999 loss=1", false, 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, ok := runner.ParseLine([]byte(tt.line))
			if ok != tt.ok {
				t.Fatalf("ParseLine(%q) ok = %v, want %v (%+v)", tt.line, ok, tt.ok, l)
			}
			if !ok {
				return
			}
			if l.HasStep != tt.isStep || l.Step != tt.step || len(l.Values) != len(tt.values) {
				t.Errorf("ParseLine(%q) = %+v, want step %v/%d values %v", tt.line, l, tt.isStep, tt.step, tt.values)
			}
			for k, want := range tt.values {
				got, ok := l.Values[k]
				if !ok || !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
					t.Errorf("ParseLine(%q)[%s] = %v, want %v", tt.line, k, got, want)
				}
			}
		})
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"step=3 loss=0.41", `{"step": 2, "acc": 0.5}`, "a=inf", "garbage \x00\xff", `{"a": [1, {"b": 2}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		l, ok := runner.ParseLine(line)
		if ok && len(l.Values) == 0 {
			t.Errorf("ParseLine(%q) ok with no values", line)
		}
		if l.HasStep && l.Step < 0 {
			t.Errorf("ParseLine(%q) step %d < 0", line, l.Step)
		}
		if _, has := l.Values["step"]; has {
			t.Errorf("ParseLine(%q) kept step among values", line)
		}
	})
}

func TestParseLineSteps(t *testing.T) {
	t.Parallel()
	keys := []string{"epoch", "iteration"}
	for _, c := range []struct {
		line    string
		keys    []string
		step    int64
		hasStep bool
		values  string
	}{
		{"epoch=3 val_acc=0.91", keys, 3, true, "map[val_acc:0.91]"},
		{"iteration=7 epoch=2 loss=1", keys, 2, true, "map[loss:1]"}, // the first key listed wins; neither is a metric
		{`{"iteration": 7, "loss": 1}`, keys, 7, true, "map[loss:1]"},
		{"step=3 loss=1", keys, 0, false, "map[loss:1 step:3]"}, // step is a metric when not a step key
		{"epoch=3 loss=1", nil, 0, false, "map[epoch:3 loss:1]"},
		{"step=4 loss=1", nil, 4, true, "map[loss:1]"},
	} {
		l, ok := runner.ParseLineSteps([]byte(c.line), c.keys)
		if !ok || l.Step != c.step || l.HasStep != c.hasStep || fmt.Sprint(l.Values) != c.values {
			t.Errorf("ParseLineSteps(%q, %v) = %+v, %v; want step %d (%v), values %s", c.line, c.keys, l, ok, c.step, c.hasStep, c.values)
		}
	}
}
