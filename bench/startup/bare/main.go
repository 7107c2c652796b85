// Command bare is the yardstick of bench/startup.sh: a Go program that
// writes one byte and exits, built with the same flags as palyra, so that
// the ratio of palyra's start-up to its start-up is what palyra itself adds
// to any Go program's.
package main

import "os"

func main() { _, _ = os.Stdout.Write([]byte{'\n'}) }
