package secret

import (
	"fmt"
	"strings"
)

// Length limits of the naming grammar, in bytes (docs/FORMAT.md).
const (
	// MaxScopeLen is the longest scope.
	MaxScopeLen = 256
	// MaxKeyLen is the longest key.
	MaxKeyLen = 128
)

// CheckScope reports whether s is a valid scope: one or more segments joined
// by '/', each matching [a-z0-9][a-z0-9._:-]*, 1 to MaxScopeLen bytes in all.
// The error says which rule s breaks and where (the segment's number, the
// offending byte); it never repeats s or a segment of it, since a scope
// mistyped on a command line may be a pasted secret. It wraps no sentinel: the
// envelope parser reports a stored header that breaks the rule as corrupt,
// ValidateScope reports user input as ErrInvalidScope.
func CheckScope(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty (example: \"global\")")
	}
	if len(s) > MaxScopeLen {
		return fmt.Errorf("%d bytes, at most %d allowed", len(s), MaxScopeLen)
	}
	n := 0
	for seg := range strings.SplitSeq(s, "/") {
		n++
		if seg == "" {
			return fmt.Errorf("segment %d is empty (no leading, trailing or doubled '/')", n)
		}
		if msg := checkName(seg, ":"); msg != "" {
			return fmt.Errorf("segment %d %s; each segment must match [a-z0-9][a-z0-9._:-]*", n, msg)
		}
	}
	return nil
}

// CheckKey reports whether k is a valid key: [a-z0-9][a-z0-9._-]*, 1 to
// MaxKeyLen bytes. The error says which rule k breaks, without repeating k
// (at most one offending character, which does not give a secret away).
func CheckKey(k string) error {
	if k == "" {
		return fmt.Errorf("must not be empty (example: \"openai_api_key\")")
	}
	if len(k) > MaxKeyLen {
		return fmt.Errorf("%d bytes, at most %d allowed", len(k), MaxKeyLen)
	}
	if msg := checkName(k, ""); msg != "" {
		return fmt.Errorf("%s; a key must match [a-z0-9][a-z0-9._-]*", msg)
	}
	return nil
}

// checkName returns "" when name matches [a-z0-9][a-z0-9._<extra>-]*, else
// what is wrong with it: the rule, the byte offset and the one offending
// character, never more of name.
func checkName(name, extra string) string {
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if c >= 'A' && c <= 'Z' {
			return fmt.Sprintf("contains uppercase %q at byte %d (use lowercase)", rune(c), i)
		}
		if i == 0 && !alnum {
			if c >= 0x80 {
				return "starts with a non-ASCII character, must start with a lowercase letter or digit"
			}
			return fmt.Sprintf("starts with %q, must start with a lowercase letter or digit", rune(c))
		}
		if !alnum && c != '.' && c != '_' && c != '-' && !strings.ContainsRune(extra, rune(c)) {
			if c >= 0x80 {
				// Part of a multi-byte character: quoting the byte alone
				// would print half a character.
				return fmt.Sprintf("contains a non-ASCII byte at byte %d", i)
			}
			return fmt.Sprintf("contains %q at byte %d", rune(c), i)
		}
	}
	return ""
}
