package sqlite

import (
	"encoding/json"
	"fmt"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/codec"
)

// Updates of params and attributes are merged at the level of the stored JSON: each key
// holds the encoding retune's codec gives it, so merging never decodes and re-encodes a
// value that is not changing.

// encodeAttrs validates attributes and encodes each value as codec.MarshalAttrs would. A nil
// value becomes a nil entry, which mergeRaw treats as a deletion.
func encodeAttrs(m map[string]any) (map[string]json.RawMessage, error) {
	return codec.EncodeAttrUpdate(m)
}

// attrsJSON validates attributes and encodes them whole, a nil value kept as null.
func attrsJSON(m map[string]any) ([]byte, error) {
	if _, err := encodeAttrs(m); err != nil {
		return nil, err
	}
	return codec.MarshalAttrs(m)
}

// encodeParams validates params against their distributions as retune's codec stores
// them, and returns each param's stored encoding.
func encodeParams(p map[string]any, d map[string]retune.Distribution) (map[string]json.RawMessage, error) {
	if len(p) == 0 {
		return nil, nil
	}
	b, err := retune.MarshalParams(p, d)
	if err != nil {
		return nil, err
	}
	if _, _, err := retune.UnmarshalParams(b); err != nil { // validates the distributions
		return nil, err
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%w: params: %v", retune.ErrInvalid, err)
	}
	return out, nil
}

// encodeFixed validates the fixed params of an enqueued or new trial and encodes them.
func encodeFixed(m map[string]any) (string, error) {
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

// mergeRaw returns the JSON object old with the keys of upd set or, where upd's value is
// nil, deleted. An empty old is an empty object; the result is "{}" when empty.
func mergeRaw(old []byte, upd map[string]json.RawMessage) ([]byte, error) {
	if len(upd) == 0 {
		if len(old) == 0 {
			return []byte("{}"), nil
		}
		return old, nil
	}
	m := map[string]json.RawMessage{}
	if len(old) > 0 {
		if err := json.Unmarshal(old, &m); err != nil {
			return nil, fmt.Errorf("%w: stored object %.80s: %v", retune.ErrInvalid, old, err)
		}
	}
	for k, v := range upd {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	if len(m) == 0 {
		return []byte("{}"), nil
	}
	return json.Marshal(m)
}
