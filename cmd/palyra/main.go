// Command palyra is the palyra-vault command line: it stores, reads, lists
// and deletes secrets. See docs/CLI.md, or run "palyra --help".
package main

import (
	"os"

	"github.com/palyra/palyra-vault/internal/cli"
)

func main() { os.Exit(cli.Main()) }
