package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/a6b40afc/retune/export"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// Programs built once by TestMain.
var (
	trainerBin string // testdata/trainer
	retuneBin  string // this package: the retune command
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "retune-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	trainerBin = filepath.Join(dir, "trainer")
	retuneBin = filepath.Join(dir, "retune")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, b := range [][2]string{{trainerBin, "./testdata/trainer"}, {retuneBin, "."}} {
		wg.Go(func() {
			if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
			}
		})
	}
	wg.Wait()
	code := 1
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one in-process run of the CLI did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// cli runs Main in-process with args and env as its whole environment, stdin empty.
func cli(t testing.TB, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &Main{
		Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string { return env[k] },
	}
	code := m.Run(t.Context(), args)
	return result{code, stdout.String(), stderr.String()}
}

// mustCLI is cli that fails the test unless the exit code is 0; it returns stdout.
func mustCLI(t testing.TB, args ...string) string {
	t.Helper()
	r := cli(t, nil, args...)
	if r.code != ExitOK {
		t.Fatalf("retune %s: %v", strings.Join(args, " "), r)
	}
	return r.stdout
}

// trials returns `retune trials STUDY --json` decoded.
func trials(t testing.TB, db, study string, flags ...string) []export.Trial {
	t.Helper()
	out := mustCLI(t, append([]string{"trials", study, "--db", db, "--json"}, flags...)...)
	var ts []export.Trial
	if err := json.Unmarshal([]byte(out), &ts); err != nil {
		t.Fatalf("trials --json: %v\n%s", err, out)
	}
	return ts
}

// byState counts trials per state.
func byState(ts []export.Trial) map[string]int {
	n := map[string]int{}
	for _, t := range ts {
		n[t.State]++
	}
	return n
}

// writeStudy writes a study file into dir and returns its path. The study minimizes loss;
// its command is the test trainer with -x={x} and trainerArgs; body is the rest of the YAML.
func writeStudy(t testing.TB, dir, file, name string, trainerArgs []string, body string) string {
	t.Helper()
	args := []string{fmt.Sprintf("%q", trainerBin), `"-x={x}"`}
	for _, a := range trainerArgs {
		args = append(args, fmt.Sprintf("%q", a))
	}
	yaml := fmt.Sprintf("name: %s\ncommand: [%s]\nobjective: {metric: loss, direction: minimize}\n%s",
		name, strings.Join(args, ", "), body)
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// lossOf is the final loss the trainer reports for x.
func lossOf(x float64) float64 { return (x-0.3)*(x-0.3) + 0.01 }
