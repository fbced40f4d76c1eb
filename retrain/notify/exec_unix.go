//go:build unix

package notify

import (
	"os/exec"
	"syscall"
)

// setProcessGroup runs cmd in a new process group and makes cancelling it send SIGTERM to
// the group.
func setProcessGroup(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	return nil
}

// killProcessGroup sends SIGKILL to what remains of cmd's process group.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
