package errs_test

import (
	"testing"

	"github.com/a6b40afc/retune/internal/errs"
)

// The messages are part of retune's API: they stand in logs, CLI output and golden files.
func TestMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errs.ErrInvalid, "retune: invalid"},
		{errs.ErrNotFound, "retune: not found"},
		{errs.ErrConflict, "retune: conflict"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}
