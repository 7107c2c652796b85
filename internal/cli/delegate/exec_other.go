//go:build !unix

package delegate

import (
	"errors"
	"os"
	"os/exec"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
)

// execProgram runs path as a child on the same standard streams and
// returns its exit status as a silent *clierr.ExitError (nil for 0):
// Windows cannot replace a process's image.
func execProgram(path string, argv []string) error {
	cmd := exec.Command(path, argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &clierr.ExitError{Code: ee.ExitCode()}
	}
	return err
}
