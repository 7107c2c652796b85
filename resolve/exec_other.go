//go:build !unix

package resolve

import "os/exec"

// setProcessGroup does nothing where process groups do not exist; the
// default cancellation kills the command itself but not its children.
func setProcessGroup(*exec.Cmd) {}
