package runner

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Check finds what would fail every trial before the first one starts: a program that
// cannot be found or run, a working directory that does not exist, and a log folder that
// cannot be written. A program named by a placeholder ({param}) is not checked.
func (c *Command) Check() error {
	if len(c.Args) == 0 {
		return errors.New("command is empty: want the program and its arguments")
	}
	if c.Dir != "" {
		if fi, err := os.Stat(c.Dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("working directory %s of the command does not exist or is not a folder", c.Dir)
		}
	}
	prog := c.Args[0]
	switch {
	case placeholder.MatchString(prog):
	case strings.ContainsRune(prog, filepath.Separator):
		path := prog
		if !filepath.IsAbs(path) && c.Dir != "" {
			path = filepath.Join(c.Dir, path)
		}
		fi, err := os.Stat(path)
		switch {
		case err != nil:
			return fmt.Errorf("command %q: %s does not exist", prog, path)
		case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
			return fmt.Errorf("command %q: %s is not an executable file (chmod +x it, or name its interpreter first)", prog, path)
		}
	case c.envPath() == "":
		if _, err := exec.LookPath(prog); err != nil {
			return fmt.Errorf("command %q is not found in PATH (%s): install it, or give its full path", prog, os.Getenv("PATH"))
		}
	}
	if c.LogDir != "" {
		dir := StudyLogDir(c.LogDir, c.Study)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("log folder: %w", err)
		}
		f, err := os.CreateTemp(dir, ".check-*")
		if err != nil {
			return fmt.Errorf("log folder %s is not writable: %w", dir, err)
		}
		f.Close()
		os.Remove(f.Name())
	}
	return nil
}

// envPath returns the PATH that Env sets for the trainer, if it sets one.
func (c *Command) envPath() string {
	for _, kv := range c.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			return v
		}
	}
	return ""
}
