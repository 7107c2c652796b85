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
