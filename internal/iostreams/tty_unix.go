//go:build unix

package iostreams

import "os"

// openTerminalOut opens the controlling terminal for writing prompts, or
// returns nil when the process has none.
func openTerminalOut() *os.File {
	f, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		return nil
	}
	return f
}
