//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris || zos

package iostreams

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// saveTerminal records the terminal's settings and returns a function that
// puts them back.
func saveTerminal(fd int) (func() error, error) {
	saved, err := unix.IoctlGetTermios(fd, ioctlReadTermios)
	if err != nil {
		return nil, err
	}
	return func() error { return unix.IoctlSetTermios(fd, ioctlWriteTermios, saved) }, nil
}

// readNoEcho reads one line from the terminal fd with echo off, restoring
// the terminal's settings afterwards. It returns the line without its line
// ending, or io.EOF when input ends (Ctrl-D) before any byte.
//
// Unlike term.ReadPassword it reads whole lines, not one byte at a time:
// with byte-wise reads the Linux line discipline loses track of the line
// start and takes a Ctrl-D typed at the next prompt for the end of a partial
// line, so the read never ends. Reading into one fixed buffer also leaves no
// stray copies of the secret in memory.
func readNoEcho(fd int) ([]byte, error) {
	saved, err := unix.IoctlGetTermios(fd, ioctlReadTermios)
	if err != nil {
		return nil, err
	}
	noEcho := *saved
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	noEcho.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, ioctlWriteTermios, &noEcho); err != nil {
		return nil, err
	}
	defer unix.IoctlSetTermios(fd, ioctlWriteTermios, saved)

	buf := make([]byte, MaxPromptLine+1) // +1 for the newline
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			clear(buf)
			return nil, err
		}
		if m == 0 { // end of input
			if n == 0 {
				return nil, io.EOF
			}
			return buf[:n], nil
		}
		n += m
		if buf[n-1] == '\n' {
			return buf[:n-1], nil
		}
	}
	clear(buf)
	return nil, fmt.Errorf("the value is longer than %d bytes; pipe it on stdin instead", MaxPromptLine)
}
