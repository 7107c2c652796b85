//go:build !unix

package daemon

import "os"

var (
	stopSignals   = []os.Signal{os.Interrupt}
	reloadSignals []os.Signal
)
