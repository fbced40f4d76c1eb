package sqlite

import (
	"encoding/json"
	"fmt"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/codec"
)

// Updates of params and attributes are merged at the level of the stored JSON: each key
// holds the encoding the stored form gives it (internal/dbenc's patches), so merging
// never decodes and re-encodes a value that is not changing.

// encodeAttrs validates attributes and encodes each value as codec.MarshalAttrs would. A
// nil value becomes a nil entry, which mergeRaw treats as a deletion.
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

// isEmptyObject reports whether stored JSON is an empty object (or empty).
func isEmptyObject(b []byte) bool {
	return len(b) == 0 || string(b) == "{}"
}
