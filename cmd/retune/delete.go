package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	if !*yes {
		fmt.Fprintf(m.Stderr, "delete study %q with all its trials and logs? [y/N] ", rec.Name)
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
	dir := filepath.Join(m.logDir(*logDir, "", dsn), rec.Name)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("study deleted, but its logs in %s were not: %w", dir, err)
	}
	fmt.Fprintf(m.Stdout, "deleted study %s and its logs in %s\n", rec.Name, dir)
	return nil
}
