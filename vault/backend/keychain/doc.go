// Package keychain implements the macos_keychain backend: each sealed
// envelope is a generic password item in the user's login keychain, written
// and read by Apple's security(1) tool. The backend needs no cgo, so it
// cross-compiles; on other systems New returns an error wrapping
// backend.ErrUnavailable.
//
// Items. Service is the service attribute (Options.Service, default
// "dev.palyra.vault"), the account attribute is the object ID, and the
// password is the text "pv1:" followed by the standard base64 of the blob.
// Storing text rather than raw bytes means security never re-encodes the
// value: `find-generic-password -w` prints a printable password as-is but
// prints any password with a non-printable byte as hex, which could not be
// told apart from a password that happens to look like hex.
//
// The secret never reaches argv. Put runs `security -i` and writes one
// command line on its standard input:
//
//	add-generic-password -U -s "<service>" -a "<object id>" -w "pv1:<base64>" ["<keychain>"]
//
// security splits such a line itself (see quoteArg): every argument is put
// in double quotes with '"' and '\' escaped by a backslash. Get, Delete and
// List carry only the service, the account and the keychain path in argv:
// `find-generic-password -s S -a ID -w`, `delete-generic-password -s S -a
// ID` and `dump-keychain`. The blob comes back on security's standard
// output, which only this process reads.
//
// Sizes. security reads each interactive line into a 4096-byte buffer and
// silently splits longer lines, so the whole add line must stay within
// 4094 bytes. With the service (at most 128 bytes) and keychain path (at
// most 256 bytes) at their limits, a 2304-byte blob (3076 bytes of value)
// still fits: MaxBlobSize is 2304. Put checks the real line length as well.
//
// Not found. security exits with the low byte of the OSStatus; status 44 is
// errSecItemNotFound (-25300), "The specified item could not be found in
// the keychain." The backend decides on the exit code alone, since the
// message may be localised.
//
// Listing. List runs `security dump-keychain` (attributes only: it does not
// read passwords and does not prompt) and keeps the accounts of generic
// password items whose service is exactly ours and whose account is a valid
// object ID. A manifest item was rejected: it would have to be updated with
// every Put and Delete, and two items cannot be changed atomically.
//
// Items are created by /usr/bin/security, which the keychain therefore
// trusts to read them back without a prompt. A locked keychain with no way
// to show the unlock dialog (an SSH session) makes security fail with
// errSecInteractionNotAllowed; that and the other "cannot use the keychain"
// statuses are reported as backend.ErrUnavailable.
//
// Several vaults of one user share the login keychain: give each its own
// Options.Service, or their object IDs (derived from scope and key alone)
// collide.
package keychain

import (
	"fmt"
	"strings"
	"time"
)

// Service is the default service attribute of every item.
const Service = "dev.palyra.vault"

// DefaultSecurityPath is where macOS installs security(1).
const DefaultSecurityPath = "/usr/bin/security"

// MaxBlobSize is the largest blob Put accepts: 2304 bytes (see the package
// doc for why the interactive line length bounds it).
const MaxBlobSize = 2304

// DefaultTimeout bounds one run of security when Options.Timeout is zero.
// An unlock dialog waits for the user, so it is generous.
const DefaultTimeout = 60 * time.Second

// Limits on options, chosen so that a MaxBlobSize blob always fits in one
// interactive line.
const (
	maxServiceLen  = 128
	maxKeychainLen = 256
)

// Options configures New. The zero value uses the user's default keychain
// and search list, the service Service, /usr/bin/security and
// DefaultTimeout.
type Options struct {
	// SecurityPath is the security executable; "" means DefaultSecurityPath.
	SecurityPath string
	// Service is the service attribute of the items: 1 to 128 bytes of
	// [A-Za-z0-9._:/-]; "" means Service.
	Service string
	// Keychain is the path or name of the keychain to use (for example
	// "login.keychain"); "" means the default keychain for writes and the
	// search list for reads. At most 256 bytes, no NUL or newline, and it
	// must not start with '-'.
	Keychain string
	// Timeout bounds each run of security; 0 means DefaultTimeout.
	Timeout time.Duration
}

// validService reports whether s is one or more letters, digits and
// . _ : / - (a byte loop rather than a package-level regexp, which every
// palyra command would compile at start-up).
func validService(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._:/-", c) >= 0) {
			return false
		}
	}
	return true
}

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	if o.SecurityPath == "" {
		o.SecurityPath = DefaultSecurityPath
	}
	if o.Service == "" {
		o.Service = Service
	}
	if len(o.Service) > maxServiceLen || !validService(o.Service) {
		return o, fmt.Errorf("invalid keychain service %q: must be 1 to %d bytes of letters, digits and . _ : / -", o.Service, maxServiceLen)
	}
	if len(o.Keychain) > maxKeychainLen {
		return o, fmt.Errorf("invalid keychain %q: longer than %d bytes", o.Keychain, maxKeychainLen)
	}
	if len(o.Keychain) > 0 && o.Keychain[0] == '-' {
		return o, fmt.Errorf("invalid keychain %q: must not start with '-'", o.Keychain)
	}
	if _, err := quoteArg(o.Keychain); err != nil {
		return o, fmt.Errorf("invalid keychain %q: %w", o.Keychain, err)
	}
	if o.Timeout < 0 {
		return o, fmt.Errorf("invalid keychain timeout %s: must not be negative", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return o, nil
}
