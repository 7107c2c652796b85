//go:build unix

package delegate

import (
	"os"
	"syscall"
)

// execProgram replaces the process image with path, keeping the process
// id, the environment and the open standard streams.
func execProgram(path string, argv []string) error {
	return syscall.Exec(path, argv, os.Environ())
}
