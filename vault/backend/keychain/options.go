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
