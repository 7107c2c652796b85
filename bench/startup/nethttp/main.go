// Command nethttp is a yardstick of bench/startup.sh: the one-byte program
// of bench/startup/bare that also links net/http (nothing of it runs but its
// package initialisation), the reference the start-up targets were set
// against.
package main

import (
	_ "net/http"
	"os"
)

func main() { _, _ = os.Stdout.Write([]byte{'\n'}) }
