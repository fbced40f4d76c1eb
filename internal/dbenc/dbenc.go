// Package dbenc validates and encodes what the SQLite and PostgreSQL storages write, before
// their transaction starts: a rejected write changes nothing, and both reject the same
// writes, with the same errors, as the root package's in-memory storage. Params and
// attributes come as patches: each key's stored encoding, merged into the stored JSON
// object key by key, nil for an attribute to delete.
package dbenc

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/codec"
)

// Params validates params against their distributions, as reading them back will, and
// returns each param's stored encoding (retune.MarshalParams).
func Params(p map[string]any, d map[string]retune.Distribution) (map[string]json.RawMessage, error) {
	w, err := params(p, d)
	if err != nil {
		return nil, err
	}
	return w.split()
}

// params validates and encodes params whole, and decodes them as a read will.
func params(p map[string]any, d map[string]retune.Distribution) (StoredParams, error) {
	if len(p) == 0 {
		return StoredParams{}, nil
	}
	b, values, dists, err := retune.MarshalParamsRead(p, d) // validates the distributions too
	if err != nil {
		return StoredParams{}, err
	}
	return StoredParams{JSON: b, Values: values, Distributions: dists}, nil
}

// split returns each param's encoding in w.JSON, nil without params.
func (w StoredParams) split() (map[string]json.RawMessage, error) {
	if w.JSON == nil {
		return nil, nil
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(w.JSON, &out); err != nil {
		return nil, fmt.Errorf("%w: params: %v", retune.ErrInvalid, err)
	}
	return out, nil
}

// StoredParams are params encoded whole (retune.MarshalParams) and decoded from that
// encoding, as a read returns them. Merged into a trial with no stored params, the
// encoding is the stored object as it is (the patch's keys in the same sorted order), so
// a storage can store JSON and return the decoded maps without merging or decoding again.
type StoredParams struct {
	JSON          []byte // nil without params
	Values        map[string]any
	Distributions map[string]retune.Distribution
}

// Fixed validates the fixed params of an enqueued or new trial and encodes them.
func Fixed(m map[string]any) (string, error) {
	for k := range m {
		if err := retune.ValidateName("param", k); err != nil {
			return "", err
		}
	}
	b, err := codec.MarshalAttrs(m)
	if err != nil {
		return "", err
	}
	if _, err := codec.UnmarshalFixed(b); err != nil {
		return "", err
	}
	return string(b), nil
}

// Enqueued is Fixed of each trial an EnqueueRequest asks for.
func Enqueued(req retune.EnqueueRequest) ([]string, error) {
	fixed := make([]string, len(req.Params))
	for i, p := range req.Params {
		f, err := Fixed(p)
		if err != nil {
			return nil, fmt.Errorf("enqueue trial %d: %w", i, err)
		}
		fixed[i] = f
	}
	return fixed, nil
}

// EnqueuedSystem checks and encodes the system attributes of enqueued trials: none, or one
// object per trial ("{}" for nil).
func EnqueuedSystem(req retune.EnqueueRequest) ([]string, error) {
	if err := req.ValidateSystem(); err != nil || req.System == nil {
		return nil, err
	}
	out := make([]string, len(req.System))
	for i, m := range req.System {
		b, err := codec.MarshalAttrs(m)
		if err != nil {
			return nil, fmt.Errorf("enqueue trial %d: %w", i, err)
		}
		out[i] = string(b)
	}
	return out, nil
}

// Patches are the validated, encoded changes to a trial's params and attributes.
type Patches struct {
	UserAttrs, SystemAttrs map[string]json.RawMessage
	// Whole holds the params, encoded as one object and decoded from it.
	Whole StoredParams
}

// Params returns each param's stored encoding (nil without params): the patch merged
// into a trial's stored params key by key. It splits Whole.JSON on each call, which a
// storage that stores Whole as it is does without.
func (p Patches) Params() (map[string]json.RawMessage, error) {
	return p.Whole.split()
}

func patches(ps map[string]any, dists map[string]retune.Distribution, user, system map[string]any) (Patches, error) {
	var p Patches
	var err error
	if p.Whole, err = params(ps, dists); err != nil {
		return Patches{}, err
	}
	if p.UserAttrs, err = codec.EncodeAttrUpdate(user); err != nil {
		return Patches{}, err
	}
	if p.SystemAttrs, err = codec.EncodeAttrUpdate(system); err != nil {
		return Patches{}, err
	}
	return p, nil
}

// Update validates and encodes a TrialUpdate.
func Update(upd retune.TrialUpdate) (Patches, error) {
	return patches(upd.Params, upd.Distributions, upd.UserAttrs, upd.SystemAttrs)
}

// FinishCols is a FinishRequest validated and encoded.
type FinishCols struct {
	Patches
	Values  []byte // codec.MarshalFloats
	Metrics []byte // codec.MarshalMetrics
	// ReadValues and ReadMetrics are Values and Metrics decoded, as a read returns them.
	ReadValues  []float64
	ReadMetrics map[string]float64
}

// Finish validates req (retune.FinishRequest.Validate) and encodes it. The system
// attributes of an interruption get "interrupted": true (see retune.FrozenTrial.Interrupted);
// req's map is not modified.
func Finish(req retune.FinishRequest) (FinishCols, error) {
	if err := req.Validate(); err != nil {
		return FinishCols{}, err
	}
	p, err := patches(req.Params, req.Distributions, req.UserAttrs, systemAttrs(req))
	if err != nil {
		return FinishCols{}, err
	}
	f := FinishCols{Patches: p, Values: codec.MarshalFloats(req.Values), Metrics: codec.MarshalMetrics(req.Metrics)}
	if f.ReadValues, err = codec.UnmarshalFloats(f.Values); err != nil {
		return FinishCols{}, err
	}
	if f.ReadMetrics, err = codec.UnmarshalMetrics(f.Metrics); err != nil {
		return FinishCols{}, err
	}
	return f, nil
}

// systemAttrs returns req's system attributes, with "interrupted": true added when the
// finish is an interruption.
func systemAttrs(req retune.FinishRequest) map[string]any {
	if !req.Interrupted {
		return req.SystemAttrs
	}
	m := maps.Clone(req.SystemAttrs)
	if m == nil {
		m = map[string]any{}
	}
	m["interrupted"] = true
	return m
}

// ChampionCols are the stored parts of a champion (retune.Champion.MarshalParts).
type ChampionCols struct {
	Params, Values, Metrics []byte
}

// Promotion validates a promotion of c over version expect with its events, as
// retune.ChampionStore.PromoteChampion takes them, and encodes c.
func Promotion(c retune.Champion, expect int64, events []retune.Event) (ChampionCols, error) {
	if err := c.ValidatePromotion(expect); err != nil {
		return ChampionCols{}, err
	}
	if err := retune.Events(events).Validate(); err != nil {
		return ChampionCols{}, err
	}
	var cols ChampionCols
	var err error
	cols.Params, cols.Values, cols.Metrics, err = c.MarshalParts()
	if err != nil {
		return ChampionCols{}, err
	}
	return cols, nil
}

// Decision validates d with its events, as retune.DecisionStore.RecordDecision takes
// them, and returns d's stored evidence.
func Decision(d retune.Decision, events []retune.Event) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := retune.Events(events).Validate(); err != nil {
		return nil, err
	}
	return d.Evidence.MarshalBinary()
}

// With returns a copy of patch p that also sets attribute key to v (a JSON-encodable
// value the caller controls): a storage adds its own system attribute to a write's patch
// this way, as a late tell's "late" or "late_of".
func With(p map[string]json.RawMessage, key string, v any) map[string]json.RawMessage {
	out := maps.Clone(p)
	if out == nil {
		out = map[string]json.RawMessage{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("dbenc.With(%q): %v", key, err)) // v is the caller's constant kind of value
	}
	out[key] = b
	return out
}
