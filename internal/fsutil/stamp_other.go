//go:build !linux && !darwin

package fsutil

// StampsSupported reports whether this platform has FileStamp and the
// functions that return one (Linux and macOS).
const StampsSupported = false

// readPrefix is ReadPrefix through an *os.File.
func readPrefix(path string, n int, private bool) ([]byte, Tightening, error) {
	return readPrefixFile(path, n, private)
}
