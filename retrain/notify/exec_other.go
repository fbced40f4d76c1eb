//go:build !unix

package notify

import (
	"errors"
	"os/exec"
)

// errNoProcessGroup is returned where commands cannot be run in their own process group.
var errNoProcessGroup = errors.New("notify: exec needs process groups, available on Unix systems only")

func setProcessGroup(*exec.Cmd) error { return errNoProcessGroup }

func killProcessGroup(*exec.Cmd) {}
