//go:build windows

package testutil

import "golang.org/x/sys/windows"

// UnderWine reports whether this Windows binary runs under Wine, which
// exports wine_get_version from ntdll.
func UnderWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
