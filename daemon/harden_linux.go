package daemon

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// harden keeps held values out of core dumps and away from other processes
// of the same user: PR_SET_DUMPABLE 0 stops core dumps and makes
// /proc/<pid>/mem and ptrace root-only; RLIMIT_CORE 0 is a second guard for
// dumps. The pages are not locked in memory (mlock): swap should be
// encrypted on a machine that holds secrets.
func harden() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE, 0): %w", err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return fmt.Errorf("setrlimit(RLIMIT_CORE, 0): %w", err)
	}
	return nil
}
