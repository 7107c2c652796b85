//go:build unix

package audit

import (
	"fmt"
	"os"
	"syscall"
)

// openAppend opens path for appending without following a symbolic link,
// creating it with mode 0600.
func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening audit log: %w", err)
	}
	return f, nil
}
