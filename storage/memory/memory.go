// Package memory is the in-process Storage: fast, shared by the goroutines of one process,
// gone when it exits. It is retune's default storage (the implementation lives in the root
// package so that Config can default to it).
package memory

import "github.com/a6b40afc/retune"

// New returns an empty memory storage.
func New() retune.Storage { return retune.NewMemoryStorage() }
