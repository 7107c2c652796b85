//go:build unix

package resolve

import (
	"errors"
	"os/exec"
	"syscall"
)

// setProcessGroup puts the command in a new process group and makes
// cancellation kill the whole group, so children it started die with it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return err
	}
}

// afterWait kills what is left of the command's process group when Wait
// gave up on pipes that a child still held open. The group still exists in
// that case (its members hold the pipes), so its id cannot have been reused.
func afterWait(cmd *exec.Cmd, waitErr error) {
	if errors.Is(waitErr, exec.ErrWaitDelay) && cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
