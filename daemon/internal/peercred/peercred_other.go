//go:build !linux && !darwin

package peercred

var supported = ErrUnsupported

func get(uintptr) (Cred, error) { return Cred{}, ErrUnsupported }

// Executable returns "": there is no portable way to find it here.
func Executable(pid int32) string { return "" }
