//go:build !unix && !windows

package iostreams

import "os"

// openTerminalOut returns nil: on this platform prompts go to standard error.
func openTerminalOut() *os.File { return nil }
