// Package readlimit reads a stream of unknown length up to a bound, leaving
// no copy of what it read in memory it drops: the one way palyra reads a
// secret, a passphrase, a request or a file of bounded size from a reader.
// It imports only the standard library, so light clients can use it.
package readlimit

import (
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge is returned by ReadAll when the reader holds more bytes than
// the limit. Callers turn it into their own message.
var ErrTooLarge = errors.New("more bytes than the limit")

// initialSize is the first buffer's size when the caller expects nothing.
const initialSize = 4096

// ReadAll reads r to EOF and returns what it read: at most max bytes. As
// soon as more than max bytes arrive it stops reading and returns ErrTooLarge
// (unwrapped); a failing read returns the reader's error as it is. expect is
// how many bytes the caller expects (a file's size), or 0 when it does not
// know: the first buffer holds expect+1 bytes, so that a reader of the
// expected length is read into one buffer, and never more than max+1.
//
// ReadAll grows its buffer itself, not with append or io.ReadAll, and wipes
// every buffer it outgrows, and its buffer before it returns an error: the
// slice it returns is the only copy of what it read, which the caller
// should wipe when it holds a secret.
func ReadAll(r io.Reader, max, expect int) ([]byte, error) {
	if max < 0 {
		return nil, fmt.Errorf("negative size limit %d", max)
	}
	size := initialSize
	if expect > 0 {
		size = expect + 1
	}
	buf := make([]byte, 0, min(size, max+1))
	for {
		if len(buf) == cap(buf) {
			// len(buf) <= max here, else the check below returned.
			grown := make([]byte, len(buf), min(2*cap(buf), max+1))
			copy(grown, buf)
			clear(buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > max {
			clear(buf)
			return nil, ErrTooLarge
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			clear(buf)
			return nil, err
		}
	}
}
