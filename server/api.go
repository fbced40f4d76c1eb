package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/a6b40afc/retune"
)

// The JSON forms of the API: requests validate themselves; responses are built from the
// library's types.

// Float is a JSON number that may also be the strings "inf", "-inf" and "nan" (JSON has
// no infinities).
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	x := float64(f)
	switch {
	case math.IsNaN(x):
		return []byte(`"nan"`), nil
	case math.IsInf(x, 1):
		return []byte(`"inf"`), nil
	case math.IsInf(x, -1):
		return []byte(`"-inf"`), nil
	}
	return strconv.AppendFloat(nil, x, 'g', -1, 64), nil
}

var floatType = reflect.TypeFor[Float]()

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"inf"`, `"+inf"`:
		*f = Float(math.Inf(1))
		return nil
	case `"-inf"`:
		*f = Float(math.Inf(-1))
		return nil
	case `"nan"`:
		*f = Float(math.NaN())
		return nil
	}
	var x float64
	if err := json.Unmarshal(b, &x); err != nil {
		// A type error, so that the decoder adds the field's name (jsonError words it).
		v := string(b)
		if len(v) > 40 {
			cut := 40
			for cut > 0 && !utf8.RuneStart(v[cut]) {
				cut--
			}
			v = v[:cut] + "…"
		}
		return &json.UnmarshalTypeError{Value: v, Type: floatType}
	}
	*f = Float(x)
	return nil
}

func floats(v []Float) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func toFloats(v []float64) []Float {
	if v == nil {
		return nil
	}
	out := make([]Float, len(v))
	for i, x := range v {
		out[i] = Float(x)
	}
	return out
}

type createStudyRequest struct {
	Definition json.RawMessage `json:"definition"`
	Replace    bool            `json:"replace,omitempty"`
}

func (r *createStudyRequest) Validate() error {
	if len(r.Definition) == 0 || r.Definition[0] != '{' {
		return invalid("definition", "a study definition: the study file's form as a JSON object, without command and notifiers", "missing or not an object")
	}
	return nil
}

type askRequest struct {
	// Kind is search (the default) or confirm: claim a confirmation repeat that the
	// leader enqueued (its params are the candidate's or the champion's).
	Kind string `json:"kind,omitempty"`
	// LeaseSeconds is the lease the client wants (within the server's bounds), renewed by
	// heartbeats that name it too; absent: the server's default lease.
	LeaseSeconds *float64 `json:"lease_seconds,omitempty"`
	// Space names params to draw with the trial, beyond the study's declared ones: a
	// define-by-run client's whole space in one round trip (as many suggests would).
	Space map[string]*distRequest `json:"space,omitempty"`
}

func (r *askRequest) Validate() error {
	if r.Kind != "" && r.Kind != "search" && r.Kind != "confirm" {
		return invalid("kind", "search or confirm", "%q", r.Kind)
	}
	if r.Kind == "confirm" && len(r.Space) > 0 {
		return invalid("space", "none for a confirmation repeat (its params are fixed)", "%d params", len(r.Space))
	}
	for _, name := range slices.Sorted(maps.Keys(r.Space)) {
		if err := retune.ValidateName("param", name); err != nil {
			return invalid("space", "param names of 1 to 256 printable characters", "invalid param name")
		}
		d := r.Space[name]
		if d == nil {
			return invalid("space."+name, `{"type":"float"|"int"|"categorical", …}`, "missing")
		}
		if _, err := d.distribution(); err != nil {
			var fe *fieldError
			if errors.As(err, &fe) {
				fe.Field = "space." + name + strings.TrimPrefix(fe.Field, "distribution")
			}
			return err
		}
	}
	return nil
}

type tellRequest struct {
	Epoch   int64            `json:"epoch"`
	State   string           `json:"state,omitempty"`
	Values  []Float          `json:"values,omitempty"`
	Metrics map[string]Float `json:"metrics,omitempty"`
	Reason  string           `json:"reason,omitempty"`
	// UserAttrs are set on the trial with its outcome.
	UserAttrs map[string]any `json:"user_attrs,omitempty"`
}

func (r *tellRequest) Validate() error {
	if r.Epoch < 1 {
		return invalid("epoch", "the lease epoch the ask returned (>= 1)", "missing or %d", r.Epoch)
	}
	switch r.State {
	case "", "COMPLETE":
		r.State = "COMPLETE"
		if len(r.Values) == 0 {
			return invalid("values", "one value per objective", "a COMPLETE trial needs its values")
		}
	case "PRUNED", "FAIL":
		if len(r.Values) > 0 {
			return invalid("values", "no values: a PRUNED trial keeps its last reported values", "values given with state %s", r.State)
		}
	default:
		return invalid("state", "COMPLETE, PRUNED or FAIL", "%q", r.State)
	}
	if len(r.Reason) > retune.MaxReasonLen {
		return invalid("reason", fmt.Sprintf("at most %d bytes", retune.MaxReasonLen), "%d bytes", len(r.Reason))
	}
	for _, k := range slices.Sorted(maps.Keys(r.Metrics)) {
		if err := retune.ValidateName("metric", k); err != nil {
			return invalid("metrics."+k, "1 to 256 printable characters", "invalid name")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.UserAttrs)) {
		if err := retune.ValidateAttr(k, r.UserAttrs[k]); err != nil {
			return invalid("user_attrs."+k, "a name of 1 to 256 printable characters and a JSON value", "%s", cut(err))
		}
	}
	return nil
}

type reportRequest struct {
	Epoch  int64   `json:"epoch"`
	Step   *int64  `json:"step,omitempty"`
	Values []Float `json:"values,omitempty"`
	// Steps reports several steps in one request (an agent's batch), instead of step and
	// values; the pruner is asked about each in turn.
	Steps []stepJSON `json:"steps,omitempty"`
}

type stepJSON struct {
	Step   int64   `json:"step"`
	Values []Float `json:"values"`
}

func (r *reportRequest) Validate() error {
	switch {
	case r.Epoch < 1:
		return invalid("epoch", "the lease epoch the ask returned (>= 1)", "missing or %d", r.Epoch)
	case len(r.Steps) > 0:
		if r.Step != nil || r.Values != nil {
			return invalid("steps", "either steps, or step and values", "given with step or values")
		}
		for i, sv := range r.Steps {
			if sv.Step < 0 || len(sv.Values) == 0 {
				return invalid(fmt.Sprintf("steps[%d]", i), "a step >= 0 with one value per objective", "step %d with %d values", sv.Step, len(sv.Values))
			}
		}
		if len(r.Steps) > 10000 {
			return invalid("steps", "at most 10,000 steps", "%d", len(r.Steps))
		}
		return nil
	case r.Step == nil || *r.Step < 0:
		return invalid("step", "an integer >= 0", "missing or negative")
	case len(r.Values) == 0:
		return invalid("values", "one value per objective", "missing")
	}
	return nil
}

type heartbeatRequest struct {
	Epoch int64 `json:"epoch"`
	// LeaseSeconds renews the lease for this long (within the server's bounds); absent:
	// the server's default lease.
	LeaseSeconds *float64 `json:"lease_seconds,omitempty"`
}

func (r *heartbeatRequest) Validate() error {
	if r.Epoch < 1 {
		return invalid("epoch", "the lease epoch the ask returned (>= 1)", "missing or %d", r.Epoch)
	}
	return nil
}

type enqueueRequest struct {
	Params map[string]any `json:"params"`
}

func (r *enqueueRequest) Validate() error {
	if r.Params == nil {
		return invalid("params", "an object of param name to value", "missing")
	}
	return nil
}

type askResponse struct {
	Number       int            `json:"number"`
	Epoch        int64          `json:"epoch"`
	Params       map[string]any `json:"params"`
	LeaseExpires time.Time      `json:"lease_expires"`
	LeaseSeconds float64        `json:"lease_seconds"`
	// A confirmation repeat's kind ("confirm"), role (candidate or champion), repeat
	// index and seed: run the trainer with RETUNE_REPEAT and RETUNE_SEED set to them.
	Kind    string `json:"kind,omitempty"`
	Confirm string `json:"confirm,omitempty"`
	Repeat  *int   `json:"repeat,omitempty"`
	Seed    string `json:"seed,omitempty"`
}

type reportResponse struct {
	Prune bool `json:"prune"`
}

// logRequest uploads the head and tail of a trial's log (an agent's).
type logRequest struct {
	Epoch int64  `json:"epoch"`
	Head  string `json:"head"`
	Tail  string `json:"tail"`
	Size  int64  `json:"size"`
}

func (r *logRequest) Validate() error {
	switch {
	case r.Epoch < 1:
		return invalid("epoch", "the lease epoch the ask returned (>= 1)", "missing or %d", r.Epoch)
	case len(r.Head) > retune.MaxLogPart || len(r.Tail) > retune.MaxLogPart:
		return invalid("head", fmt.Sprintf("head and tail of at most %d bytes each", retune.MaxLogPart), "%d and %d bytes", len(r.Head), len(r.Tail))
	case r.Size < int64(len(r.Head)+len(r.Tail)):
		return invalid("size", "the whole log's size, at least head and tail together", "%d", r.Size)
	}
	return nil
}

type leaseJSON struct {
	Epoch   int64     `json:"epoch"`
	Expires time.Time `json:"expires"`
	// Stop says the trial was asked to stop (POST …/stop): end it, and tell it PRUNED.
	Stop bool `json:"stop,omitempty"`
}

type distJSON struct {
	Type    string `json:"type"`
	Low     any    `json:"low,omitempty"`
	High    any    `json:"high,omitempty"`
	Log     bool   `json:"log,omitempty"`
	Step    any    `json:"step,omitempty"`
	Choices []any  `json:"choices,omitempty"`
}

func distOf(d retune.Distribution) distJSON {
	switch d := d.(type) {
	case retune.FloatDistribution:
		j := distJSON{Type: "float", Low: d.Low, High: d.High, Log: d.Log}
		if d.Step > 0 {
			j.Step = d.Step
		}
		return j
	case retune.IntDistribution:
		j := distJSON{Type: "int", Low: d.Low, High: d.High, Log: d.Log}
		if d.Step > 1 {
			j.Step = d.Step
		}
		return j
	case retune.CategoricalDistribution:
		return distJSON{Type: "categorical", Choices: d.Choices}
	}
	return distJSON{Type: fmt.Sprintf("%T", d)}
}

type trialJSON struct {
	Number        int                 `json:"number"`
	Kind          string              `json:"kind"`
	State         string              `json:"state"`
	Params        map[string]any      `json:"params"`
	Distributions map[string]distJSON `json:"distributions"`
	Values        []Float             `json:"values,omitempty"`
	Feasible      *bool               `json:"feasible,omitempty"`
	Constraints   []Float             `json:"constraints,omitempty"`
	Metrics       map[string]Float    `json:"metrics,omitempty"`
	Intermediate  map[string][]Float  `json:"intermediate,omitempty"`
	UserAttrs     map[string]any      `json:"user_attrs,omitempty"`
	SystemAttrs   map[string]any      `json:"system_attrs,omitempty"`
	RetryOf       *int                `json:"retry_of,omitempty"`
	Reason        string              `json:"reason,omitempty"`
	Lease         *leaseJSON          `json:"lease,omitempty"`
	Start         *time.Time          `json:"start,omitempty"`
	End           *time.Time          `json:"end,omitempty"`
}

func trialOf(ft retune.FrozenTrial) trialJSON {
	j := trialJSON{
		Number: ft.Number, Kind: ft.Kind.String(), State: ft.State.String(),
		Params: ft.Params, Distributions: make(map[string]distJSON, len(ft.Distributions)),
		Values: toFloats(ft.Values), UserAttrs: ft.UserAttrs, SystemAttrs: ft.SystemAttrs, Reason: ft.Reason,
	}
	if j.Params == nil {
		j.Params = map[string]any{}
	}
	if cv := ft.Constraints(); cv != nil {
		f := ft.Feasible()
		j.Feasible, j.Constraints = &f, toFloats(cv)
	}
	for k, d := range ft.Distributions {
		j.Distributions[k] = distOf(d)
	}
	if len(ft.Metrics) > 0 {
		j.Metrics = make(map[string]Float, len(ft.Metrics))
		for k, v := range ft.Metrics {
			j.Metrics[k] = Float(v)
		}
	}
	if len(ft.Intermediate) > 0 {
		j.Intermediate = make(map[string][]Float, len(ft.Intermediate))
		for k, v := range ft.Intermediate {
			j.Intermediate[strconv.FormatInt(k, 10)] = toFloats(v)
		}
	}
	if ft.RetryOf >= 0 {
		j.RetryOf = &ft.RetryOf
	}
	if ft.State == retune.TrialRunning {
		j.Lease = &leaseJSON{Epoch: ft.Lease.Epoch, Expires: ft.Lease.Expires}
	}
	if !ft.Start.IsZero() {
		j.Start = &ft.Start
	}
	if !ft.End.IsZero() {
		j.End = &ft.End
	}
	return j
}

func trialsOf(fts []retune.FrozenTrial) []trialJSON {
	out := make([]trialJSON, len(fts))
	for i, ft := range fts {
		out[i] = trialOf(ft)
	}
	return out
}

type specJSON struct {
	Name    string         `json:"name"`
	Options map[string]any `json:"options,omitempty"`
}

type countsJSON struct {
	Waiting  int `json:"waiting"`
	Running  int `json:"running"`
	Complete int `json:"complete"`
	Pruned   int `json:"pruned"`
	Failed   int `json:"failed"`
}

type studyJSON struct {
	Name       string          `json:"name"`
	Directions []string        `json:"directions"`
	Metrics    []string        `json:"metrics,omitempty"`
	Model      string          `json:"model"`
	Seed       string          `json:"seed"` // a uint64: a string, so no reader rounds it
	Sampler    specJSON        `json:"sampler"`
	Pruner     *specJSON       `json:"pruner,omitempty"`
	Budget     retune.Budget   `json:"budget"`
	Created    time.Time       `json:"created"`
	Trials     countsJSON      `json:"trials"`
	Best       *Float          `json:"best,omitempty"`
	UserAttrs  map[string]any  `json:"user_attrs,omitempty"`
	Definition json.RawMessage `json:"definition,omitempty"`
}

func studyOf(sum retune.StudySummary, withDef bool) studyJSON {
	rec := sum.StudyRecord
	j := studyJSON{
		Name: rec.Name, Metrics: rec.Metrics, Model: rec.Model, Seed: strconv.FormatUint(rec.Seed, 10),
		Sampler: specJSON{rec.Sampler.Name, rec.Sampler.Options}, Budget: rec.Budget, Created: rec.Created,
		Trials:    countsJSON{sum.Waiting, sum.Running, sum.Complete, sum.Pruned, sum.Failed},
		UserAttrs: rec.UserAttrs,
	}
	for _, d := range rec.Directions {
		j.Directions = append(j.Directions, d.String())
	}
	if rec.Pruner.Name != "" {
		j.Pruner = &specJSON{rec.Pruner.Name, rec.Pruner.Options}
	}
	if sum.Best != nil {
		b := Float(*sum.Best)
		j.Best = &b
	}
	if withDef {
		j.Definition = rec.Definition
	}
	return j
}
