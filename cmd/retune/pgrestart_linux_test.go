package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// privatePG is a PostgreSQL cluster of the test's own, on a free port: the test stops and
// starts it at will, never the shared server other tests use.
type privatePG struct {
	bin, dir string
	port     int
	owner    *user.User // the OS user the server runs as when the test runs as root; nil otherwise
	dsn      string
}

// startPrivatePG initializes a cluster in a temporary directory and starts it; the cluster
// is stopped and removed when the test ends. It skips the test under -short, or without
// the server's programs.
func startPrivatePG(t *testing.T) *privatePG {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no private PostgreSQL cluster")
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(found) == 0 {
		t.Skip("no PostgreSQL server programs (/usr/lib/postgresql/*/bin/pg_ctl): this test starts and restarts a cluster of its own")
	}
	sort.Strings(found)
	pg := &privatePG{bin: filepath.Dir(found[len(found)-1])}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root without a postgres user to run the server as: %v", err)
		}
		pg.owner = u
	}
	dir, err := os.MkdirTemp("", "retune-pg-")
	if err != nil {
		t.Fatal(err)
	}
	pg.dir = dir
	t.Cleanup(func() {
		_ = pg.ctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if pg.owner != nil {
		uid, _ := strconv.Atoi(pg.owner.Uid)
		gid, _ := strconv.Atoi(pg.owner.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := pg.command("initdb", "-D", pg.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	pg.port = stablePort(t)
	pg.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
	pg.start(t)
	return pg
}

// stablePort returns a free port below the kernel's ephemeral range: a port the kernel
// hands out for ":0" may be taken as an outgoing connection's source port while the server
// is down, and the restart could not bind it again.
func stablePort(t *testing.T) int {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 12000 {
				low = v
			}
		}
	}
	for range 200 {
		port := 10000 + rand.IntN(low-10000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

func (pg *privatePG) data() string { return filepath.Join(pg.dir, "data") }

// command runs one of the server's programs, as the postgres user when the test is root.
func (pg *privatePG) command(prog string, args ...string) *exec.Cmd {
	path := filepath.Join(pg.bin, prog)
	if pg.owner != nil {
		return exec.Command("runuser", append([]string{"-u", pg.owner.Username, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (pg *privatePG) ctl(args ...string) error {
	args = append([]string{"-D", pg.data(), "-w", "-t", "60"}, args...)
	out, err := pg.command("pg_ctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (pg *privatePG) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", pg.port, pg.dir)
	if err := pg.ctl("-l", filepath.Join(pg.dir, "log"), "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(pg.dir, "log"))
		t.Fatalf("%v\nserver log:\n%s", err, log)
	}
}

func (pg *privatePG) stop(t *testing.T) {
	t.Helper()
	if err := pg.ctl("-m", "fast", "stop"); err != nil {
		t.Fatal(err)
	}
}

// restartStudy writes a study of 12 trials, 2 at a time, whose trainer takes about 0.4s
// and appends a line to the file times when it ends; it returns the study file's path.
func restartStudy(t *testing.T, dir, times string) string {
	t.Helper()
	return writeStudy(t, dir, "study.yaml", "restart", []string{"-steps=3", "-delay=130ms", "-times=" + times},
		"params:\n  x: {type: float, low: 0, high: 1}\nseed: 4\nbudget: {trials: 12, parallel: 2}\n")
}

// TestPostgresRestartMidRun: the database restarts (down about 5s) while `retune run`
// runs trainers. The run retries, exits 0 and stores the budget's 12 outcomes, numbered
// densely, none left RUNNING, each with the result its trainer reported.
func TestPostgresRestartMidRun(t *testing.T) {
	t.Parallel()
	pg := startPrivatePG(t)
	dir := t.TempDir()
	times := filepath.Join(dir, "times")
	p := startRetune(t, dir, "run", restartStudy(t, dir, times), "--db", pg.dsn)
	p.waitLine(t, `^trial 3 COMPLETE`, 60*time.Second)
	pg.stop(t)
	time.Sleep(5 * time.Second)
	pg.start(t)
	if code := p.wait(t); code != ExitOK {
		t.Fatalf("retune run exited %d after the restart, want 0\nstdout:\n%s\nstderr:\n%s", code, &p.stdout, p.errText())
	}
	ts := trials(t, pg.dsn, "restart")
	if len(ts) != 12 {
		t.Errorf("%d trials stored %v, want the budget's 12", len(ts), byState(ts))
	}
	for i, tr := range ts {
		if tr.Number != i {
			t.Errorf("trial %d stored at position %d: numbers not dense", tr.Number, i)
		}
		if tr.State != "COMPLETE" {
			t.Errorf("trial %d: %s (%s), want COMPLETE", tr.Number, tr.State, tr.Reason)
			continue
		}
		if x := num(t, tr.Params["x"]); len(tr.Values) != 1 || float64(tr.Values[0]) != lossOf(x) {
			t.Errorf("trial %d: values %v, want [%v] as its trainer reported", tr.Number, tr.Values, lossOf(x))
		}
	}
	ran, err := os.ReadFile(times)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(ran, []byte("\n")); n != len(ts) {
		t.Errorf("%d trainers ran to the end, %d outcomes stored: want one each", n, len(ts))
	}
}

// TestPostgresOutageOutlastsRetry: when the database stays down longer than --db-retry,
// the run fails, naming the database error and how long it retried.
func TestPostgresOutageOutlastsRetry(t *testing.T) {
	t.Parallel()
	pg := startPrivatePG(t)
	dir := t.TempDir()
	p := startRetune(t, dir, "run", restartStudy(t, dir, filepath.Join(dir, "times")), "--db", pg.dsn, "--db-retry", "3s")
	p.waitLine(t, `^trial 1 COMPLETE`, 60*time.Second)
	pg.stop(t)
	if code := p.wait(t); code != ExitError {
		t.Fatalf("retune run exited %d with the database down, want %d\nstderr:\n%s", code, ExitError, p.errText())
	}
	// The last error is the refused connection (naming the port) or, when the server went
	// down under a statement, its shutdown (SQLSTATE 57P01).
	msg := p.errText()
	named := strings.Contains(msg, fmt.Sprint(pg.port)) || strings.Contains(msg, "SQLSTATE 57P0")
	if !strings.Contains(msg, "retried for 3s") || !strings.Contains(msg, "postgres: ") || !named {
		t.Errorf("stderr:\n%s\nwant the database error (port %d or SQLSTATE 57P0x) and \"retried for 3s\"", msg, pg.port)
	}
}
