// Package errs defines the sentinel errors that package retune exports as ErrInvalid,
// ErrNotFound and ErrConflict, so that retune's internal packages can wrap them without
// importing retune. It imports nothing of retune's.
package errs

import "errors"

var (
	// ErrInvalid is retune.ErrInvalid.
	ErrInvalid = errors.New("retune: invalid")
	// ErrNotFound is retune.ErrNotFound.
	ErrNotFound = errors.New("retune: not found")
	// ErrConflict is retune.ErrConflict.
	ErrConflict = errors.New("retune: conflict")
)
