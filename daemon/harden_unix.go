//go:build unix && !linux

package daemon

import "golang.org/x/sys/unix"

// harden keeps held values out of core dumps where the system allows it:
// RLIMIT_CORE 0. (macOS has no PR_SET_DUMPABLE; its ptrace is limited to
// debuggers the user authorised.)
func harden() error {
	return unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0})
}
