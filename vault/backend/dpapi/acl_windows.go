//go:build windows

package dpapi

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// currentUserSID returns the SID of the user this process runs as.
func currentUserSID() (*windows.SID, error) {
	tok, err := windows.OpenCurrentProcessToken()
	if err != nil {
		return nil, fmt.Errorf("opening process token: %w", err)
	}
	defer tok.Close()
	tu, err := tok.GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("reading token user: %w", err)
	}
	// tu lives in a buffer owned by the token query; copy the SID out.
	sid, err := tu.User.Sid.Copy()
	if err != nil {
		return nil, fmt.Errorf("copying user sid: %w", err)
	}
	return sid, nil
}

// ownerOnlySD returns a security descriptor whose protected DACL grants
// full control to sid and nothing to anyone else. For a directory the ACE
// is inherited by the files and directories created in it.
func ownerOnlySD(sid *windows.SID, dir bool) (*windows.SECURITY_DESCRIPTOR, error) {
	flags := ""
	if dir {
		flags = "OICI"
	}
	// D:P = protected DACL (no ACEs inherited from the parent);
	// A;flags;FA;;;SID = allow FILE_ALL_ACCESS to SID.
	sd, err := windows.SecurityDescriptorFromString("D:P(A;" + flags + ";FA;;;" + sid.String() + ")")
	if err != nil {
		return nil, fmt.Errorf("building owner-only security descriptor: %w", err)
	}
	return sd, nil
}

// securityAttributes wraps sd for CreateFile and CreateDirectory.
func securityAttributes(sd *windows.SECURITY_DESCRIPTOR) *windows.SecurityAttributes {
	return &windows.SecurityAttributes{
		Length:             uint32(unsafe.Sizeof(windows.SecurityAttributes{})),
		SecurityDescriptor: sd,
	}
}

// setOwnerOnly replaces the DACL of the file or directory at path with the
// protected owner-only DACL of sd.
func setOwnerOnly(path string, sd *windows.SECURITY_DESCRIPTOR) error {
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("reading owner-only dacl: %w", err)
	}
	err = windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION,
		nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("setting owner-only access on %q: %w", path, err)
	}
	return nil
}

// isOwnerOnly reports whether the DACL of path is protected and allows
// access to sid alone: every ACE is an access-allowed ACE for sid.
func isOwnerOnly(path string, sid *windows.SID) (bool, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return false, fmt.Errorf("reading access control of %q: %w", path, err)
	}
	control, _, err := sd.Control()
	if err != nil {
		return false, fmt.Errorf("reading access control of %q: %w", path, err)
	}
	if control&windows.SE_DACL_PROTECTED == 0 {
		return false, nil
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		// No DACL at all means everyone has full access.
		return false, nil
	}
	if dacl.AceCount == 0 {
		return false, nil
	}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return false, fmt.Errorf("reading access control of %q: %w", path, err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE {
			return false, nil
		}
		aceSID := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if !aceSID.Equals(sid) {
			return false, nil
		}
	}
	return true, nil
}
