package sqlite_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/a6b40afc/retune/storage/sqlite"
)

// Processes opening one brand-new file at the same moment all succeed.
func TestConcurrentFirstOpen(t *testing.T) {
	if os.Getenv("RETUNE_SQLITE_OPEN") != "" {
		s, err := sqlite.Open(context.Background(), os.Getenv("RETUNE_SQLITE_OPEN"))
		if err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(3)
		}
		s.Close()
		os.Exit(0)
	}
	t.Parallel()
	for round := range 40 {
		path := filepath.Join(t.TempDir(), "race.db")
		var cmds []*exec.Cmd
		for range 6 {
			c := exec.Command(os.Args[0], "-test.run=^TestConcurrentFirstOpen$")
			c.Env = append(os.Environ(), "RETUNE_SQLITE_OPEN="+path)
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, c)
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("round %d: process %d failed to open a new file: %v", round, i, err)
			}
		}
	}
}
