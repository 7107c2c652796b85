//go:build windows

package palyrars

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/windows"
)

// dpapiUnprotect is palyra-common windows_security.rs
// dpapi_unprotect_current_user: CryptUnprotectData with no entropy, no
// prompt (CRYPTPROTECT_UI_FORBIDDEN).
func dpapiUnprotect(raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return nil, errors.New("DPAPI blob is empty")
	}
	in := windows.DataBlob{Size: uint32(len(raw)), Data: &raw[0]}
	var out windows.DataBlob
	if err := windows.CryptUnprotectData(&in, nil, nil, 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, errors.New("DPAPI cannot decrypt it for this user: " + err.Error())
	}
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	b := unsafe.Slice(out.Data, out.Size)
	res := append([]byte(nil), b...)
	clear(b)
	return res, nil
}
