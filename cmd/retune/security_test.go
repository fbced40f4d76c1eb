package main

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/a6b40afc/retune/retrain/notify"
	"github.com/a6b40afc/retune/runner"
)

// TestStudyNamesStayInLogDir: no study name, however hostile, makes retune write logs
// outside the log folder, and delete removes only the trial logs retune wrote.
func TestStudyNamesStayInLogDir(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"..", "../../x", "a/b", ".hidden", "my study"} {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			data := filepath.Join(root, "data")
			work := filepath.Join(root, "work")
			for _, d := range []string{data, work} {
				if err := os.Mkdir(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			db := filepath.Join(data, "r.db")
			logs := filepath.Join(data, "retune-logs") // the default beside the database
			file := writeStudy(t, work, "study.yaml", strconv.Quote(name), nil, "params:\n  x: {type: float, low: 0, high: 1}\nbudget: {trials: 2}\n")
			if r := cli(t, nil, "run", file, "--db", db); r.code != ExitOK {
				t.Fatalf("run: %v", r)
			}
			studyLogs := runner.StudyLogDir(logs, name)
			var found []string
			err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.HasSuffix(p, ".log") {
					found = append(found, p)
					if filepath.Dir(p) != studyLogs {
						t.Errorf("trial log %s is outside the study's log folder %s", p, studyLogs)
					}
				}
				return err
			})
			if err != nil || len(found) != 2 {
				t.Fatalf("found trial logs %v (%v), want 2", found, err)
			}
			mine := filepath.Join(studyLogs, "notes.txt") // a user's file in the log folder
			for _, p := range []string{mine, filepath.Join(root, "keep.txt"), filepath.Join(data, "keep.txt")} {
				if err := os.WriteFile(p, []byte("keep"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r := cli(t, nil, "delete", name, "--db", db)
			if r.code != ExitUsage || !strings.Contains(r.stderr, studyLogs) {
				t.Errorf("delete's prompt does not show the log folder %s: %v", studyLogs, r)
			}
			if out := mustCLI(t, "delete", name, "--db", db, "--yes"); !strings.Contains(out, "deleted study") {
				t.Errorf("delete = %q", out)
			}
			for _, p := range []string{db, mine, filepath.Join(root, "keep.txt"), filepath.Join(data, "keep.txt"), file} {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("delete %q removed %s: %v", name, p, err)
				}
			}
			for _, p := range found {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("trial log %s after delete: %v", p, err)
				}
			}
		})
	}
}

// TestTrainersSeeNoSecrets: trainers and exec notifiers never see RETUNE_DB, a notifier's
// signing secret or a variable the study file marks secret; the database and the log
// notifier's file are private to their owner.
func TestTrainersSeeNoSecrets(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "r.db")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	secrets := map[string]string{
		"HOOK_SECRET_T":    notify.NewSecret(),
		"STUDY_PRIVATE_T":  "study-secret-value-123",
		"RETUNE_DB":        "postgres://u:dbpass-456@127.0.0.1/x",
		"RETUNE_API_TOKEN": "token-value-789",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	t.Setenv("PLAIN_VISIBLE_T", "visible") // proves the dumps hold the environment
	study := filepath.Join(dir, "study.yaml")
	yaml := `name: secrets
command: ["/bin/sh", "-c", "env > env-$RETUNE_TRIAL.txt; echo loss=1"]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
budget: {trials: 2}
secret_env: STUDY_PRIVATE_T
notifiers:
  hook: {type: webhook, url: "` + srv.URL + `", secret_env: HOOK_SECRET_T, allow_private: true}
  on-event: {type: exec, command: ["/bin/sh", "-c", "env > notifier-env.txt"]}
  audit: {type: log, path: audit.jsonl}
`
	if err := os.WriteFile(study, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, nil, "run", study, "--db", db); r.code != ExitOK {
		t.Fatalf("run: %v", r)
	}
	for _, f := range []string{"env-0.txt", "env-1.txt", "notifier-env.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		env := string(b)
		if !strings.Contains(env, "PLAIN_VISIBLE_T=visible") {
			t.Errorf("%s lacks PLAIN_VISIBLE_T: the dump is not the child's environment:\n%s", f, env)
		}
		for k, v := range secrets {
			if strings.Contains(env, k+"=") || strings.Contains(env, v) {
				t.Errorf("%s: the child saw %s", f, k)
			}
		}
	}
	for _, f := range []string{db, filepath.Join(dir, "audit.jsonl")} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(f), m)
		}
	}
}

// TestLogWriteErrors: a log folder that cannot take more (here each trial's log is
// /dev/full) is said once per run, and the trials still complete with their metrics.
func TestLogWriteErrors(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here:", err)
	}
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	studyLogs := runner.StudyLogDir(logs, "full")
	if err := os.MkdirAll(studyLogs, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"0", "1", "2"} {
		if err := os.Symlink("/dev/full", filepath.Join(studyLogs, n+".log")); err != nil {
			t.Fatal(err)
		}
	}
	file := writeStudy(t, dir, "study.yaml", "full", nil, "params:\n  x: {type: float, low: 0, high: 1}\nbudget: {trials: 3}\n")
	db := filepath.Join(dir, "r.db")
	r := cli(t, nil, "run", file, "--db", db, "--log-dir", logs)
	if r.code != ExitOK {
		t.Fatalf("run: %v", r)
	}
	if n := strings.Count(r.stderr, "retune: warning: write trial log"); n != 1 || !strings.Contains(r.stderr, "no space left on device") {
		t.Errorf("%d log warnings, want 1 naming the error:\n%s", n, r.stderr)
	}
	if st := byState(trials(t, db, "full")); st["COMPLETE"] != 3 {
		t.Errorf("trials %v, want 3 COMPLETE", st)
	}
}
