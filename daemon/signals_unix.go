//go:build unix

package daemon

import (
	"os"
	"syscall"
)

var (
	stopSignals   = []os.Signal{syscall.SIGTERM, syscall.SIGINT}
	reloadSignals = []os.Signal{syscall.SIGHUP}
)
