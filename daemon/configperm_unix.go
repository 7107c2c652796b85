//go:build unix

package daemon

import (
	"fmt"
	"os"
	"syscall"
)

// checkConfigFile refuses a configuration file that someone other than
// the daemon's user (or root) could change: it decides which uids may read
// secrets, so it must be as trusted as the daemon itself. It follows
// symbolic links, as config.Load does, and checks the file they lead to.
func checkConfigFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("reading configuration: %w", err)
	}
	if m := fi.Mode().Perm(); m&0o022 != 0 {
		return fmt.Errorf("%q is writable by group or others (mode %04o); it decides who may read secrets: run chmod go-w %q", path, m, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := uint32(os.Geteuid()); st.Uid != uid && st.Uid != 0 {
			return fmt.Errorf("%q is owned by uid %d, not by the daemon's user (uid %d) or root; it decides who may read secrets", path, st.Uid, uid)
		}
	}
	return nil
}
