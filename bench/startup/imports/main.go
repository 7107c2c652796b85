// Command imports is a yardstick of bench/startup.sh: the one-byte program
// of bench/startup/bare that links every package of the palyra command and
// runs only their package initialisation. What palyra takes beyond it is
// the command itself (parsing its command line and doing its work) and the
// cost of a larger binary; what it takes beyond bare is the price of the
// dependencies.
package main

import (
	"os"

	_ "github.com/palyra/palyra-vault/internal/cli/lean"
)

func main() { _, _ = os.Stdout.Write([]byte{'\n'}) }
