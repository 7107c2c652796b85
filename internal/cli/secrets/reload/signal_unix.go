//go:build unix

package reload

import "syscall"

// sendHangup sends SIGHUP to pid: the daemon re-reads its configuration.
func sendHangup(pid int) error { return syscall.Kill(pid, syscall.SIGHUP) }
