// Package export writes a study's trials as CSV or JSON with a stable layout, for
// spreadsheets, notebooks and other tools.
//
// CSV columns, in this order: number, kind, state, one column per objective (named by the
// study's metric names, else value or value_0, value_1, …), for a study whose trials have
// constraint values feasible (true or false, for COMPLETE trials) and violation (the sum of
// positive constraint values, inf when one is unknown), params as param_<name> sorted
// by name (a WAITING trial's enqueued params), other metrics as metric_<name> sorted, user attributes as user_<key> sorted
// (JSON-encoded unless a string), then reason, retry_of, start, end, duration_s (seconds,
// three decimals). Times are RFC 3339 in UTC; intermediate values are in step order; ±Inf and NaN are written inf, -inf and nan, in CSV and JSON alike.
package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/codec"
)

// objectiveNames names the value columns.
func objectiveNames(rec retune.StudyRecord) []string {
	if len(rec.Metrics) == len(rec.Directions) && len(rec.Metrics) > 0 {
		return rec.Metrics
	}
	if len(rec.Directions) <= 1 {
		return []string{"value"}
	}
	out := make([]string, len(rec.Directions))
	for i := range out {
		out[i] = "value_" + strconv.Itoa(i)
	}
	return out
}

func keys[V any](trials []retune.FrozenTrial, m func(retune.FrozenTrial) map[string]V) []string {
	set := map[string]bool{}
	for _, t := range trials {
		for k := range m(t) {
			set[k] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CSV writes trials (as Study.Trials returns them) as CSV with a header row.
func CSV(w io.Writer, rec retune.StudyRecord, trials []retune.FrozenTrial) error {
	objs := objectiveNames(rec)
	params := keys(trials, Params)
	metrics := keys(trials, func(t retune.FrozenTrial) map[string]float64 { return t.Metrics })
	users := keys(trials, func(t retune.FrozenTrial) map[string]any { return t.UserAttrs })
	header := []string{"number", "kind", "state"}
	header = append(header, objs...)
	constrained := slices.ContainsFunc(trials, func(t retune.FrozenTrial) bool { return t.Constraints() != nil })
	if constrained {
		header = append(header, "feasible", "violation")
	}
	for _, p := range params {
		header = append(header, "param_"+p)
	}
	for _, m := range metrics {
		header = append(header, "metric_"+m)
	}
	for _, u := range users {
		header = append(header, "user_"+u)
	}
	header = append(header, "reason", "retry_of", "start", "end", "duration_s")
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, t := range trials {
		row := []string{strconv.Itoa(t.Number), t.Kind.String(), t.State.String()}
		for i := range objs {
			if i < len(t.Values) {
				row = append(row, codec.FormatFloat(t.Values[i]))
			} else {
				row = append(row, "")
			}
		}
		if constrained {
			if t.Constraints() != nil {
				row = append(row, strconv.FormatBool(t.Feasible()), codec.FormatFloat(t.Violation()))
			} else {
				row = append(row, "", "")
			}
		}
		for _, p := range params {
			ps := Params(t)
			row = append(row, cell(ps[p], hasKey(ps, p)))
		}
		for _, m := range metrics {
			v, ok := t.Metrics[m]
			if ok {
				row = append(row, codec.FormatFloat(v))
			} else {
				row = append(row, "")
			}
		}
		for _, u := range users {
			row = append(row, cell(t.UserAttrs[u], hasKey(t.UserAttrs, u)))
		}
		retry := ""
		if t.RetryOf >= 0 {
			retry = strconv.Itoa(t.RetryOf)
		}
		dur := ""
		if d := duration(t); d != nil {
			dur = strconv.FormatFloat(*d, 'f', 3, 64)
		}
		row = append(row, t.Reason, retry, timeCell(t.Start), timeCell(t.End), dur)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Params is a trial's params or, when it drew none (a WAITING trial, a confirmation trial
// run with fixed params), the params it was enqueued with.
func Params(t retune.FrozenTrial) map[string]any {
	if len(t.Params) == 0 {
		return t.Fixed
	}
	return t.Params
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

func cell(v any, ok bool) string {
	if !ok {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return codec.FormatFloat(v)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Trial is the JSON form of a trial. Field order is the output order.
type Trial struct {
	Number int            `json:"number"`
	Kind   string         `json:"kind"`
	State  string         `json:"state"`
	Values []retune.Float `json:"values,omitempty"`
	// Feasible and Constraints are set for a trial with constraint values (see
	// retune.Constraint): whether every one is <= 0, and the values.
	Feasible     *bool                   `json:"feasible,omitempty"`
	Constraints  []retune.Float          `json:"constraints,omitempty"`
	Params       map[string]any          `json:"params,omitempty"`
	Metrics      map[string]retune.Float `json:"metrics,omitempty"`
	Intermediate Steps                   `json:"intermediate,omitempty"`
	UserAttrs    map[string]any          `json:"user_attrs,omitempty"`
	SystemAttrs  map[string]any          `json:"system_attrs,omitempty"`
	Reason       string                  `json:"reason,omitempty"`
	RetryOf      *int                    `json:"retry_of,omitempty"`
	Start        *time.Time              `json:"start,omitempty"`
	End          *time.Time              `json:"end,omitempty"`
	Duration     *float64                `json:"duration_s,omitempty"` // seconds from start to end
}

// Steps are a trial's intermediate values by step, written in step order (1, 2, 10, not
// 1, 10, 2 as JSON object keys would sort).
type Steps map[string][]retune.Float

// MarshalJSON writes the steps in numeric order.
func (s Steps) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, errA := strconv.ParseInt(keys[i], 10, 64)
		b, errB := strconv.ParseInt(keys[j], 10, 64)
		if errA != nil || errB != nil {
			return keys[i] < keys[j]
		}
		return a < b
	})
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(s[k])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// duration is the seconds from start to end, nil unless both are set.
func duration(t retune.FrozenTrial) *float64 {
	if t.Start.IsZero() || t.End.IsZero() {
		return nil
	}
	d := t.End.Sub(t.Start).Seconds()
	return &d
}

// Document is the JSON export of a study.
type Document struct {
	Study      string   `json:"study"`
	Model      string   `json:"model"`
	Directions []string `json:"directions"`
	Metrics    []string `json:"metrics,omitempty"`
	// Constraints are the study's own (retune.Constraint.String), if any.
	Constraints []string `json:"constraints,omitempty"`
	Trials      []Trial  `json:"trials"`
}

// ToJSON converts a trial to its JSON form.
func ToJSON(t retune.FrozenTrial) Trial {
	out := Trial{
		Number: t.Number, Kind: t.Kind.String(), State: t.State.String(),
		Params: Params(t), UserAttrs: t.UserAttrs, SystemAttrs: t.SystemAttrs, Reason: t.Reason,
	}
	for _, v := range t.Values {
		out.Values = append(out.Values, retune.Float(v))
	}
	if cv := t.Constraints(); cv != nil {
		f := t.Feasible()
		out.Feasible = &f
		for _, v := range cv {
			out.Constraints = append(out.Constraints, retune.Float(v))
		}
	}
	if len(t.Metrics) > 0 {
		out.Metrics = make(map[string]retune.Float, len(t.Metrics))
		for k, v := range t.Metrics {
			out.Metrics[k] = retune.Float(v)
		}
	}
	if len(t.Intermediate) > 0 {
		out.Intermediate = make(Steps, len(t.Intermediate))
		for step, vs := range t.Intermediate {
			fs := make([]retune.Float, len(vs))
			for i, v := range vs {
				fs[i] = retune.Float(v)
			}
			out.Intermediate[strconv.FormatInt(step, 10)] = fs
		}
	}
	if t.RetryOf >= 0 {
		r := t.RetryOf
		out.RetryOf = &r
	}
	if !t.Start.IsZero() {
		s := t.Start.UTC()
		out.Start = &s
	}
	if !t.End.IsZero() {
		e := t.End.UTC()
		out.End = &e
	}
	out.Duration = duration(t)
	return out
}

// JSON writes the study and its trials as one indented JSON document.
func JSON(w io.Writer, rec retune.StudyRecord, trials []retune.FrozenTrial) error {
	doc := Document{Study: rec.Name, Model: rec.Model, Metrics: rec.Metrics, Trials: make([]Trial, len(trials))}
	for _, d := range rec.Directions {
		doc.Directions = append(doc.Directions, d.String())
	}
	for _, c := range rec.Constraints() {
		doc.Constraints = append(doc.Constraints, c.String())
	}
	for i, t := range trials {
		doc.Trials[i] = ToJSON(t)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "memory_mb <= 100" stays readable
	return enc.Encode(doc)
}
