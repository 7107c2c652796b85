//go:build !linux && !darwin

package fsutil

// StampsSupported reports whether this platform has FileStamp and the
// functions that return one (Linux and macOS).
const StampsSupported = false
