// Command palyra-extra holds the palyra commands that need large libraries
// (the daemon's HTTP server, age for backups), so that the palyra command,
// which runs it for them, starts fast. It is palyra's whole command tree
// and is installed beside palyra; see docs/CLI.md, "Programs".
package main

import (
	"os"

	"github.com/palyra/palyra-vault/internal/cli/extra"
)

func main() { os.Exit(extra.Main()) }
