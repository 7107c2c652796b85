//go:build windows

package iostreams

import "os"

// openTerminalOut opens the console for writing prompts, or returns nil
// when the process has none.
func openTerminalOut() *os.File {
	f, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0)
	if err != nil {
		return nil
	}
	return f
}
