package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/a6b40afc/retune/runner"
)

func runDelete(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("delete")
	db := dbFlag(fs)
	logDir := fs.String("log-dir", "", "where the study's trial logs are (default $RETUNE_LOG_DIR, else the default beside the database)")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	dsn := m.dsn(*db, "")
	s, rec, err := m.openStudy(ctx, *db, pos[0])
	if err != nil {
		return err
	}
	defer s.Close()
	dirs := studyLogDirs(m.logDir(*logDir, "", dsn), rec.Name)
	if !*yes {
		fmt.Fprintf(m.Stderr, "delete study %q with all its trials, and its trial logs in %s? [y/N] ", rec.Name, dirs[0])
		var answer string
		if m.Stdin != nil {
			_, _ = fmt.Fscanln(m.Stdin, &answer)
		}
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return usagef("not deleted")
		}
	}
	if err := s.DeleteStudy(ctx, rec.ID); err != nil {
		return err
	}
	for _, dir := range dirs {
		if err := removeTrialLogs(dir); err != nil {
			return fmt.Errorf("study deleted, but its logs in %s were not: %w", dir, err)
		}
	}
	fmt.Fprintf(m.Stdout, "deleted study %s and its logs in %s\n", rec.Name, dirs[0])
	return nil
}

// studyLogDirs returns the folder of a study's trial logs, then, for a name that older
// releases used unencoded, the folder they used when it was a plain child of logDir.
func studyLogDirs(logDir, name string) []string {
	dirs := []string{runner.StudyLogDir(logDir, name)}
	if runner.PathName(name) != name && name != "." && name != ".." && !strings.ContainsAny(name, `/\`) {
		dirs = append(dirs, filepath.Join(logDir, name))
	}
	return dirs
}

// trialFile matches the files retune writes in a study's log folder.
var trialFile = regexp.MustCompile(`^[0-9]+\.(log|metrics\.jsonl)$`)

// removeTrialLogs removes the trial logs (and leftover metrics files) retune wrote in dir,
// then dir itself if nothing else is left in it: anything else a user put there stays.
func removeTrialLogs(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	kept := 0
	for _, e := range entries {
		if !e.Type().IsRegular() || !trialFile.MatchString(e.Name()) {
			kept++
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if kept == 0 {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
