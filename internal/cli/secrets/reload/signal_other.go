//go:build !unix

package reload

import "errors"

// sendHangup fails: the daemon runs only on Unix systems, where SIGHUP
// reloads it.
func sendHangup(int) error {
	return errors.New("reloading the daemon needs SIGHUP, which this platform does not have")
}
