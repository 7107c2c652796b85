//go:build windows

package rustfixture

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/windows"
)

// dpapiProtect is palyra-common windows_security.rs:209-228
// dpapi_protect_current_user: CryptProtectData with no description, no
// entropy, no prompt (CRYPTPROTECT_UI_FORBIDDEN).
func dpapiProtect(raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return nil, errors.New("rustfixture: DPAPI of an empty payload")
	}
	in := windows.DataBlob{Size: uint32(len(raw)), Data: &raw[0]}
	var out windows.DataBlob
	if err := windows.CryptProtectData(&in, nil, nil, 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, err
	}
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return append([]byte(nil), unsafe.Slice(out.Data, out.Size)...), nil
}

// storeKeyFile is what store.rs:379-391 write_store_encryption_key_if_absent
// writes on Windows: the key protected with DPAPI for the current user.
func storeKeyFile(raw []byte) ([]byte, error) { return dpapiProtect(raw) }
