package envelope

import (
	"fmt"
	"strings"
)

// checkScope reports whether s follows the scope grammar of docs/FORMAT.md:
// one or more segments joined by '/', each [a-z0-9][a-z0-9._:-]*, 1 to
// MaxScopeLen bytes in all. The error names the rule.
func checkScope(s string) error {
	if len(s) == 0 || len(s) > MaxScopeLen {
		return fmt.Errorf("scope is %d bytes, must be 1..%d", len(s), MaxScopeLen)
	}
	for seg := range strings.SplitSeq(s, "/") {
		if !validName(seg, true) {
			return fmt.Errorf("scope %q: each '/'-separated segment must match [a-z0-9][a-z0-9._:-]*", s)
		}
	}
	return nil
}

// checkKey reports whether k follows the key grammar of docs/FORMAT.md:
// [a-z0-9][a-z0-9._-]*, 1 to MaxKeyLen bytes. The error names the rule.
func checkKey(k string) error {
	if len(k) == 0 || len(k) > MaxKeyLen {
		return fmt.Errorf("key is %d bytes, must be 1..%d", len(k), MaxKeyLen)
	}
	if !validName(k, false) {
		return fmt.Errorf("key %q: must match [a-z0-9][a-z0-9._-]*", k)
	}
	return nil
}

// validName reports whether name matches [a-z0-9][a-z0-9._-]*, with ':'
// also allowed after the first byte when colon is true.
func validName(name string, colon bool) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		case i > 0 && colon && c == ':':
		default:
			return false
		}
	}
	return true
}
