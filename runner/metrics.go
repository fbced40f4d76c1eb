package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
)

// Line is what one line of trainer output says: metric values, and the step if the line
// has one (a line with a step is an intermediate report).
type Line struct {
	Values  map[string]float64
	Step    int64
	HasStep bool
}

// ParseLine reads metrics from one line of trainer output. Two forms are understood:
//
//	step=3 loss=0.41 accuracy=0.87     name=value tokens separated by white space
//	{"step": 3, "accuracy": 0.87}      one JSON object
//
// In the first form every token that is not name=value with a number is skipped, so a log
// line such as "epoch 3 done: loss=0.41" still yields loss. Names start with a letter or
// underscore and continue with letters, digits, '_', '.', '-' or '/'. Values are decimal
// numbers, inf, -inf or nan (any case); a number too large for a float64 (1e999) is ±Inf.
// In JSON, non-numeric fields are skipped. The step is the value of "step" (see
// ParseLineSteps for other names); it must be a whole number >= 0, or the line is ignored.
// ok is false when the line has no metric.
func ParseLine(line []byte) (Line, bool) { return ParseLineSteps(line, nil) }

// DefaultStepKeys are the names of a line's step when a Command names none.
var DefaultStepKeys = []string{"step"}

// ParseLineSteps is ParseLine with the step named by stepKeys (nil: DefaultStepKeys): the
// first of them the line has is its step, and none of them is a metric ("epoch=3
// val_acc=0.91" with step keys [epoch, iteration] is step 3 with val_acc).
func ParseLineSteps(line []byte, stepKeys []string) (Line, bool) {
	if stepKeys == nil {
		stepKeys = DefaultStepKeys
	}
	line = bytes.TrimSpace(line)
	var l Line
	if len(line) > 0 && line[0] == '{' {
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return l, false
		}
		for k, v := range obj {
			if !validName(k) {
				continue
			}
			var f float64
			switch v := v.(type) {
			case json.Number:
				x, ok := parseNumber(string(v))
				if !ok {
					continue
				}
				f = x
			case string:
				x, ok := parseSpecial(v)
				if !ok {
					continue
				}
				f = x
			default:
				continue
			}
			l.set(k, f)
		}
	} else {
		for _, tok := range strings.Fields(string(line)) {
			name, val, ok := strings.Cut(tok, "=")
			if !ok || !validName(name) {
				continue
			}
			f, ok := parseNumber(strings.TrimRight(val, ",;"))
			if !ok {
				continue
			}
			l.set(name, f)
		}
	}
	for _, k := range stepKeys {
		step, ok := l.Values[k]
		if !ok {
			continue
		}
		delete(l.Values, k)
		if l.HasStep {
			continue
		}
		if step < 0 || step != math.Trunc(step) || step > 1<<53 {
			return Line{}, false
		}
		l.Step, l.HasStep = int64(step), true
	}
	return l, len(l.Values) > 0
}

func (l *Line) set(name string, v float64) {
	if l.Values == nil {
		l.Values = make(map[string]float64)
	}
	l.Values[name] = v
}

// parseNumber parses a number. One beyond the range of a float64 (1e999) is ±Inf, so that
// an objective that overflowed fails the trial as not finite rather than as missing.
func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}

func parseSpecial(s string) (float64, bool) {
	switch strings.ToLower(s) {
	case "inf", "+inf", "infinity":
		return math.Inf(1), true
	case "-inf", "-infinity":
		return math.Inf(-1), true
	case "nan":
		return math.NaN(), true
	}
	return 0, false
}

func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '.' || r == '-' || r == '/'):
		default:
			return false
		}
	}
	return true
}
