package secret

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length limits of the naming grammar, in bytes (docs/FORMAT.md, "Scope and
// key grammar").
const (
	// MaxScopeLen is the longest scope of either form: a channel scope with
	// two ids of MaxIDLen bytes, "channel:" + 256 + ":" + 256 = 521 bytes.
	// It bounds the scope field of an envelope header.
	MaxScopeLen = len(channelPrefix) + MaxIDLen + 1 + MaxIDLen
	// MaxPathScopeLen is the longest path scope ("plugins/github").
	MaxPathScopeLen = 256
	// MaxIDLen is the longest id in a Palyra-form scope (a principal id, a
	// channel's name or account id, a skill id), as in the Rust reference.
	MaxIDLen = 256
	// MaxKeyLen is the longest key.
	MaxKeyLen = 128
)

// GlobalScope is the scope every configuration may read by default. Palyra
// accepts it in any letter case, surrounded by white space; its canonical
// form is this one.
const GlobalScope = "global"

// The prefixes of the Palyra-form scopes, which are case-sensitive.
const (
	principalPrefix = "principal:"
	channelPrefix   = "channel:"
	skillPrefix     = "skill:"
)

// A scope has one of two forms (docs/FORMAT.md):
//
//   - a path scope: segments joined by '/', each [a-z0-9][a-z0-9._:-]*, 1 to
//     MaxPathScopeLen bytes in all ("global", "plugins/github",
//     "principal:alice");
//   - a Palyra scope, as the Rust reference (crates/palyra-vault/src/
//     scope.rs) writes it: "global", "principal:<id>", "channel:<name>:<id>"
//     or "skill:<id>", where an id is 1 to MaxIDLen bytes of UTF-8 with no
//     '/', '\\' or control character and no white space at either end, and a
//     channel's name holds no ':'.
//
// A scope valid in both forms means the same thing in both: it is one
// string, hashed and compared byte for byte. ParseScope turns what Palyra
// accepts as input (" GLOBAL", "principal: alice ") into the canonical
// string Palyra stores; CheckScope accepts canonical strings only, so that
// each secret has exactly one name.

// CheckScope reports whether s is a scope in canonical form: a path scope,
// or a Palyra scope exactly as ParseScope returns it. The error says which
// rule s breaks and where (a segment's number, a byte offset, the offending
// character); it never repeats s or a run of it, since a scope mistyped on
// a command line may be a pasted secret. It wraps no sentinel: the envelope
// parser reports a stored header that breaks the rule as malformed,
// ValidateScope reports user input as ErrInvalidScope.
func CheckScope(s string) error {
	pathErr := checkPathScope(s)
	if pathErr == nil {
		return nil
	}
	canon, palyra, err := parsePalyraScope(s)
	switch {
	case !palyra:
		return pathErr
	case err != nil:
		return err
	case canon != s:
		if canon == GlobalScope {
			return fmt.Errorf("not in canonical form: the global scope is written %q, in lowercase without surrounding white space", GlobalScope)
		}
		return fmt.Errorf("not in canonical form: remove the white space around the scope and its ids")
	}
	return nil
}

// ParseScope returns the canonical form of the scope s typed by a user, or
// written in a configuration or by the Rust reference: s itself when it is
// a path scope, else what Palyra stores for it. Like Palyra, it trims white
// space around s and around each id, and reads "global" in any letter case;
// unlike Palyra, it refuses control characters and invalid UTF-8. Errors
// wrap ErrInvalidScope and never repeat s (see CheckScope).
func ParseScope(s string) (string, error) {
	pathErr := checkPathScope(s)
	if pathErr == nil {
		return s, nil
	}
	canon, palyra, err := parsePalyraScope(s)
	if !palyra {
		err = pathErr
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidScope, err)
	}
	return canon, nil
}

// CheckKey reports whether k is a valid key: 1 to MaxKeyLen bytes of
// lowercase ASCII letters, digits, '.', '_' and '-', in any position (as in
// the Rust reference's crypto.rs). The error says which rule k breaks,
// without repeating k (at most one offending character, which does not give
// a secret away). A key is a name, never a path: no backend uses it as one
// (objects are filed under a hash of scope and key), so "." and ".." are
// keys like any other.
func CheckKey(k string) error {
	if k == "" {
		return fmt.Errorf("must not be empty (example: \"openai_api_key\")")
	}
	if len(k) > MaxKeyLen {
		return fmt.Errorf("%d bytes, at most %d allowed", len(k), MaxKeyLen)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			continue
		}
		return fmt.Errorf("%s; a key may hold only a-z, 0-9, '.', '_' and '-'", badByte(k, i))
	}
	return nil
}

// CheckScopeID reports whether id is a valid id of a Palyra scope in
// canonical form (a principal id, a channel's account id, a skill id): 1 to
// MaxIDLen bytes of UTF-8, no '/', '\\' or control character, no white
// space at either end. A caller that names principals (the daemon's
// [daemon.principals]) uses it, so that every principal:<id> scope has a
// principal who can own it. The error never repeats id.
func CheckScopeID(id string) error {
	canon, err := scopeID(id, "id")
	if err != nil {
		return err
	}
	if canon != id {
		return fmt.Errorf("id has white space at an end; remove it")
	}
	return nil
}

// checkPathScope reports whether s is a path scope: one or more segments
// joined by '/', each matching [a-z0-9][a-z0-9._:-]*, 1 to MaxPathScopeLen
// bytes in all.
func checkPathScope(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty (example: %q)", GlobalScope)
	}
	if len(s) > MaxPathScopeLen {
		return fmt.Errorf("%d bytes, at most %d allowed", len(s), MaxPathScopeLen)
	}
	n, start := 0, 0
	for seg := range strings.SplitSeq(s, "/") {
		n++
		if seg == "" {
			return fmt.Errorf("segment %d is empty (no leading, trailing or doubled '/')", n)
		}
		if msg := checkSegment(s, start, len(seg)); msg != "" {
			return fmt.Errorf("segment %d %s; each segment must match [a-z0-9][a-z0-9._:-]*", n, msg)
		}
		start += len(seg) + 1
	}
	return nil
}

// checkSegment returns "" when s[start:start+n] matches
// [a-z0-9][a-z0-9._:-]*, else what is wrong with it: the rule, the byte
// offset within the segment and the one offending character, never more of
// s.
func checkSegment(s string, start, n int) string {
	for i := 0; i < n; i++ {
		c := s[start+i]
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
		if !alnum && c != '.' && c != '_' && c != '-' && c != ':' {
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

// parsePalyraScope reads s as the Rust reference's VaultScope::from_str
// does: trim white space, "global" in any ASCII case, else one of the
// case-sensitive prefixes "principal:", "channel:" (split at the first ':'
// after it) and "skill:" followed by trimmed ids. palyra reports whether s
// has one of those shapes at all; when it has, canon is the storage form
// (VaultScope::as_storage_str) or err says which rule an id breaks.
func parsePalyraScope(s string) (canon string, palyra bool, err error) {
	t := strings.TrimSpace(s)
	if asciiEqualFold(t, GlobalScope) {
		return GlobalScope, true, nil
	}
	if strings.Contains(t, "/") {
		// No id holds '/': s can only be meant as a path scope.
		return "", false, nil
	}
	if rest, ok := strings.CutPrefix(t, principalPrefix); ok {
		id, err := scopeID(rest, "principal id")
		return principalPrefix + id, true, err
	}
	if rest, ok := strings.CutPrefix(t, skillPrefix); ok {
		id, err := scopeID(rest, "skill id")
		return skillPrefix + id, true, err
	}
	if rest, ok := strings.CutPrefix(t, channelPrefix); ok {
		name, account, _ := strings.Cut(rest, ":")
		if account == "" {
			return "", true, fmt.Errorf("a channel scope must be channel:<name>:<account_id>")
		}
		if name, err = scopeID(name, "channel name"); err != nil {
			return "", true, err
		}
		if account, err = scopeID(account, "account id"); err != nil {
			return "", true, err
		}
		return channelPrefix + name + ":" + account, true, nil
	}
	return "", false, nil
}

// scopeID trims raw and checks it as an id of a Palyra scope, named label
// in errors: not empty, at most MaxIDLen bytes, valid UTF-8 without '/',
// '\\' or a control character. The Rust reference refuses only NUL, '/' and
// '\\'; other control characters are refused here too, because a name is
// printed in listings, tab-separated output and logs, where a newline, a
// tab or an escape sequence would forge or hide lines.
func scopeID(raw, label string) (string, error) {
	id := strings.TrimSpace(raw)
	if id == "" {
		return "", fmt.Errorf("%s must not be empty", label)
	}
	if len(id) > MaxIDLen {
		return "", fmt.Errorf("%s is %d bytes, at most %d allowed", label, len(id), MaxIDLen)
	}
	for i := 0; i < len(id); {
		r, size := utf8.DecodeRuneInString(id[i:])
		if r == '/' || r == '\\' || unicode.IsControl(r) || r == utf8.RuneError && size == 1 {
			return "", fmt.Errorf("%s %s; an id may hold anything but '/', '\\\\' and control characters", label, badByte(id, i))
		}
		i += size
	}
	return id, nil
}

// badByte describes the character of s at byte i that breaks a rule, naming
// it only when that cannot give a secret away: one printable ASCII
// character, or the code point of a control character.
func badByte(s string, i int) string {
	c := s[i]
	switch {
	case c >= 'A' && c <= 'Z':
		return fmt.Sprintf("contains uppercase %q at byte %d (use lowercase)", rune(c), i)
	case c < 0x80:
		return fmt.Sprintf("contains %q at byte %d", rune(c), i)
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == utf8.RuneError && size == 1:
		return fmt.Sprintf("is not valid UTF-8 at byte %d", i)
	case unicode.IsControl(r):
		return fmt.Sprintf("contains the control character %U at byte %d", r, i)
	}
	return fmt.Sprintf("contains a non-ASCII character at byte %d", i)
}

// asciiEqualFold reports whether s equals t ignoring ASCII letter case
// only, as Rust's eq_ignore_ascii_case (strings.EqualFold would also match
// Unicode folds such as the Kelvin sign for 'k').
func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}
