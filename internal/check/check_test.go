package check_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/a6b40afc/retune/internal/check"
	"github.com/a6b40afc/retune/internal/errs"
)

func TestCutUTF8(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"short", "abc", 5, "abc"},
		{"ascii", "abcdef", 3, "abc"},
		{"inside a rune", "aé", 2, "a"},
		{"after a rune", "aéb", 3, "aé"},
		{"zero", "é", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := check.CutUTF8(tc.s, tc.n); got != tc.want {
				t.Errorf("CutUTF8(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
			}
		})
	}
}

func TestCutReason(t *testing.T) {
	t.Parallel()
	s := "head" + strings.Repeat("é", check.MaxReasonLen) + "tail"
	got := check.CutReason(s)
	if len(got) > check.MaxReasonLen || !utf8.ValidString(got) || !strings.HasPrefix(got, "head") || !strings.HasSuffix(got, "tail") {
		t.Errorf("CutReason(%d bytes) = %d bytes, valid UTF-8 %v, want at most %d with head and tail", len(s), len(got), utf8.ValidString(got), check.MaxReasonLen)
	}
	if short := "short reason"; check.CutReason(short) != short {
		t.Errorf("CutReason(%q) = %q, want it unchanged", short, check.CutReason(short))
	}
}

func TestNotifiers(t *testing.T) {
	t.Parallel()
	for _, ids := range [][]string{{"a", "a"}, {"a b"}, {""}, make([]string, check.MaxNotifiers+1)} {
		if err := check.Notifiers("event", ids); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("Notifiers(%q) = %v, want an error wrapping errs.ErrInvalid", ids, err)
		}
	}
	if err := check.Notifiers("event", []string{"ops.webhook", "log_1"}); err != nil {
		t.Errorf("Notifiers(valid IDs) = %v, want nil", err)
	}
}
