package peercred

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

var supported error

func get(fd uintptr) (Cred, error) {
	uc, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return Cred{}, fmt.Errorf("reading SO_PEERCRED: %w", err)
	}
	return Cred{UID: uc.Uid, PID: uc.Pid}, nil
}

// Executable returns the path of the program process pid runs, read from
// /proc/<pid>/exe, or "" when it cannot be read (the process is gone, or it
// belongs to another user and this one may not look).
func Executable(pid int32) string {
	if pid <= 0 {
		return ""
	}
	p, err := os.Readlink("/proc/" + strconv.Itoa(int(pid)) + "/exe")
	if err != nil {
		return ""
	}
	return p
}
