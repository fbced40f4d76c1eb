package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/a6b40afc/retune/storage/postgres"
	"github.com/jackc/pgx/v5"
)

// python is Debian's interpreter: the python3 first on PATH may be another build,
// without Debian's packages.
const python = "/usr/bin/python3"

// TestPythonClient installs the Python client (clients/python) into a virtual
// environment the way its README says, offline, and runs its tests (pytest: the client,
// the trainer helper, and the Optuna scripts run both with Debian's Optuna and with
// retune.optuna) against a real `retune serve` on SQLite and, with RETUNE_TEST_POSTGRES,
// on PostgreSQL. It skips, naming the Debian package, where one is missing; .ci/run
// installs them all.
func TestPythonClient(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: no Python")
	}
	if _, err := os.Stat(python); err != nil {
		t.Skipf("%s is missing: install Debian's python3 to run the Python client's tests", python)
	}
	for _, m := range [][2]string{{"pytest", "python3-pytest"}, {"optuna", "python3-optuna"}, {"pandas", "python3-pandas"},
		{"ensurepip", "python3-venv"}, {"setuptools", "python3-setuptools"}} {
		if out, err := exec.Command(python, "-c", "import "+m[0]).CombinedOutput(); err != nil {
			t.Skipf("%s cannot import %s (Debian: apt-get install %s): %s", python, m[0], m[1], lastLine(string(out)))
		}
	}
	src, err := filepath.Abs("../../clients/python")
	if err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Abs("../../examples/python")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pkg := filepath.Join(dir, "python")
	if out, err := exec.Command("cp", "-r", src, pkg).CombinedOutput(); err != nil { // the build writes next to its sources
		t.Fatalf("copy the client: %v\n%s", err, out)
	}
	venv := filepath.Join(dir, "venv")
	for _, argv := range [][]string{
		{python, "-m", "venv", "--system-site-packages", venv},
		{filepath.Join(venv, "bin", "pip"), "install", "-q", "--no-index", "--no-build-isolation", pkg},
	} {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "PIP_DISABLE_PIP_VERSION_CHECK=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	backends := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "retune.db") },
		"postgres": func(t *testing.T) string {
			dsn := os.Getenv("RETUNE_TEST_POSTGRES")
			if dsn == "" {
				t.Skip("RETUNE_TEST_POSTGRES is not set")
			}
			return pgSchemaDSN(t, dsn)
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			db := backends[name](t)
			admin := strings.TrimSpace(mustCLI(t, "tokens", "create", "--db", db, "--name", "py-admin", "--scope", "admin"))
			run := strings.TrimSpace(mustCLI(t, "tokens", "create", "--db", db, "--name", "py-run", "--scope", "run"))
			srv := startCLI(t, "serve", "--db", db, "--addr", "127.0.0.1:0", "--lease-min", "100ms")
			base := strings.TrimSuffix(waitURL(t, srv), "/api/v1")
			cmd := exec.Command(filepath.Join(venv, "bin", "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", filepath.Join(pkg, "tests"))
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "RETUNE_TEST_URL="+base, "RETUNE_TEST_ADMIN_TOKEN="+admin,
				"RETUNE_TEST_RUN_TOKEN="+run, "RETUNE_TEST_BIN="+retuneBin, "RETUNE_TEST_EXAMPLES="+examples, "PYTHONDONTWRITEBYTECODE=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("pytest: %v\n%s\nserver:\n%s", err, out, srv.stderr.String())
			}
			if strings.Contains(string(out), "skipped") {
				t.Errorf("pytest skipped tests:\n%s", out)
			}
			t.Logf("pytest: %s", lastLine(string(out)))
		})
	}
}

// pgSchemaDSN creates a schema of its own on the PostgreSQL server of dsn, migrated, and
// returns dsn with it as the search_path; the schema is dropped when the test ends.
func pgSchemaDSN(t *testing.T, dsn string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "retune_py_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := postgres.OpenOptions(ctx, dsn, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return fmt.Sprintf("%s%ssearch_path=%s", dsn, sep, schema)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// BenchmarkPythonOverhead runs clients/python/bench/overhead.py against a `retune serve`
// on SQLite: per trial, ask + 5 suggests + tell from Python with TPE after 1,000 trials of
// history (and the same with the space in the ask), beside Optuna 3.1's in-memory TPE in
// the same run. One op is the whole script; it reports the medians and 99th percentiles
// in ms. Run it with -benchtime=1x.
func BenchmarkPythonOverhead(b *testing.B) {
	if _, err := os.Stat(python); err != nil {
		b.Skipf("%s is missing", python)
	}
	if out, err := exec.Command(python, "-c", "import optuna").CombinedOutput(); err != nil {
		b.Skipf("Optuna is missing (Debian: python3-optuna): %s", lastLine(string(out)))
	}
	src, err := filepath.Abs("../../clients/python")
	if err != nil {
		b.Fatal(err)
	}
	db := filepath.Join(b.TempDir(), "retune.db")
	admin := strings.TrimSpace(mustCLI(b, "tokens", "create", "--db", db, "--name", "bench", "--scope", "admin"))
	srv := startCLI(b, "serve", "--db", db, "--addr", "127.0.0.1:0")
	base := strings.TrimSuffix(waitURL(b, srv), "/api/v1")
	var res struct {
		Suggests, Space, Optuna struct{ P50, P99 float64 }
	}
	for b.Loop() {
		cmd := exec.Command(python, filepath.Join(src, "bench", "overhead.py"), base, "--history", "1000", "--measure", "300")
		cmd.Env = append(os.Environ(), "RETUNE_TOKEN="+admin, "PYTHONPATH="+src, "PYTHONDONTWRITEBYTECODE=1")
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("overhead.py: %v\n%s", err, out)
		}
		var raw map[string]any
		if err := json.Unmarshal([]byte(lastLine(string(out))), &raw); err != nil {
			b.Fatalf("overhead.py printed %q: %v", out, err)
		}
		get := func(k string) struct{ P50, P99 float64 } {
			m := raw[k].(map[string]any)
			return struct{ P50, P99 float64 }{m["p50"].(float64), m["p99"].(float64)}
		}
		res.Suggests, res.Space, res.Optuna = get("retune_suggests"), get("retune_space"), get("optuna")
	}
	b.ReportMetric(res.Suggests.P50, "retune-p50-ms")
	b.ReportMetric(res.Suggests.P99, "retune-p99-ms")
	b.ReportMetric(res.Space.P50, "retune-space-p50-ms")
	b.ReportMetric(res.Optuna.P50, "optuna-p50-ms")
	b.ReportMetric(res.Optuna.P99, "optuna-p99-ms")
	b.ReportMetric(res.Suggests.P50/res.Optuna.P50, "ratio-p50")
}
