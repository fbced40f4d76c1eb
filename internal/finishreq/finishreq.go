// Package finishreq holds what the SQLite and PostgreSQL storages both derive from a
// retune.FinishRequest before they write it.
package finishreq

import (
	"maps"

	"github.com/a6b40afc/retune"
)

// SystemAttrs returns req's system attributes, with "interrupted": true added when the
// finish is an interruption (see retune.FinishRequest.Interrupted and
// retune.FrozenTrial.Interrupted). req's map is not modified.
func SystemAttrs(req retune.FinishRequest) map[string]any {
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
