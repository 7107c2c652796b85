//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris || zos)

package iostreams

import "golang.org/x/term"

// saveTerminal records the terminal's settings and returns a function that
// puts them back.
func saveTerminal(fd int) (func() error, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	return func() error { return term.Restore(fd, state) }, nil
}

// readNoEcho reads one line from the terminal fd with echo off.
func readNoEcho(fd int) ([]byte, error) { return term.ReadPassword(fd) }
