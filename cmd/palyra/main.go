// Command palyra is the palyra-vault command line: it stores, reads, lists
// and deletes secrets. It serves its most frequent command lines itself
// and hands the others to palyra-extra, installed beside it (package
// lean). See docs/CLI.md, or run "palyra --help".
package main

import (
	"os"

	"github.com/palyra/palyra-vault/internal/cli/lean"
)

func main() { os.Exit(lean.Main()) }
