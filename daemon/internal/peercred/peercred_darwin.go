package peercred

import (
	"fmt"

	"golang.org/x/sys/unix"
)

var supported error

func get(fd uintptr) (Cred, error) {
	xu, err := unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return Cred{}, fmt.Errorf("reading LOCAL_PEERCRED: %w", err)
	}
	pid, err := unix.GetsockoptInt(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	if err != nil {
		pid = 0 // the uid is what access depends on; the pid is for the audit log
	}
	return Cred{UID: xu.Uid, PID: int32(pid)}, nil
}

// Executable returns "": macOS has no /proc, and proc_pidpath needs cgo.
func Executable(pid int32) string { return "" }
