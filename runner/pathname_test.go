package runner_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/a6b40afc/retune/runner"
)

func TestPathName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ü", 120)
	for _, c := range []struct{ name, want string }{
		{"digits-hgb", "digits-hgb"},
		{"quad.v2_3", "quad.v2_3"},
		{"..", "%2E."},
		{".", "%2E"},
		{".hidden", "%2Ehidden"},
		{"../../x", "%2E.%2F..%2Fx"},
		{"a/b", "a%2Fb"},
		{`a\b`, "a%5Cb"},
		{"my study", "my%20study"},
		{"100%", "100%25"},
		{"x~y", "x%7Ey"},
	} {
		if got := runner.PathName(c.name); got != c.want {
			t.Errorf("PathName(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	// Every name, however hostile, is one element inside the log folder, and distinct
	// names never share a folder (the long ones differ only at their ends).
	names := []string{"..", "../..", "/", "/etc", "a/../..", ".", "%2E%2E", "x%7Ey", "x~y", long, long + "a", long + "b",
		strings.Repeat("a", 200), strings.Repeat("a", 201), strings.Repeat("/", 256), "naïve", "na%C3%AFve"}
	seen := map[string]string{}
	for _, n := range names {
		p := runner.PathName(n)
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, `/\`) || len(p) > 128 {
			t.Errorf("PathName(%q) = %q: not one safe path element of at most 128 bytes", n, p)
		}
		dir := runner.StudyLogDir("/logs", n)
		if filepath.Dir(dir) != "/logs" {
			t.Errorf("StudyLogDir(/logs, %q) = %q: not a child of /logs", n, dir)
		}
		if prev, dup := seen[p]; dup {
			t.Errorf("PathName(%q) = PathName(%q) = %q", n, prev, p)
		}
		seen[p] = n
	}
}
