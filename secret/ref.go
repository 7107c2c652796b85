package secret

import (
	"errors"
	"fmt"
	"strings"
)

// RefPrefix starts every vault reference.
const RefPrefix = "vault://"

// Sentinel errors of the naming grammar. The vault package returns the same
// values (vault.ErrInvalidScope is ErrInvalidScope), so errors.Is works with
// either name.
var (
	// ErrInvalidScope means a scope breaks the scope grammar.
	ErrInvalidScope = errors.New("invalid scope")
	// ErrInvalidKey means a key breaks the key grammar.
	ErrInvalidKey = errors.New("invalid key")
	// ErrInvalidRef means a vault reference is malformed.
	ErrInvalidRef = errors.New("invalid vault reference")
)

// ValidateScope reports whether s is a valid scope in canonical form (see
// CheckScope): a path scope such as "global", "plugins/github" or
// "principal:alice", or a Palyra scope such as "principal:Alice@example.com"
// or "channel:slack:T01 ops". Input that a user typed goes through
// ParseScope instead, which also accepts the forms Palyra canonicalises
// (" GLOBAL "). The error wraps ErrInvalidScope and names the rule s
// breaks, never s: input that breaks the rules may be a secret pasted in the
// wrong place, so a caller that wants to say which input was wrong names its
// field or argument position instead.
func ValidateScope(s string) error {
	if err := CheckScope(s); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidScope, err)
	}
	return nil
}

// ValidateKey reports whether k is a valid key: 1 to MaxKeyLen bytes of
// a-z, 0-9, '.', '_' and '-' (see CheckKey). The error wraps ErrInvalidKey and names the rule k
// breaks, never k (see ValidateScope).
func ValidateKey(k string) error {
	if err := CheckKey(k); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return nil
}

// Excerpt returns s, cut to its first 64 bytes and marked with "…" when it is
// longer, for quoting user input that is not secret (a name, a flag, a file's
// field) in an error message without letting a huge input flood it.
func Excerpt(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

// Ref addresses one secret: a scope and a key. Its text form is
// "vault://<scope>/<key>". A Ref is valid when both names are in canonical
// form (Validate); the parsers below return only valid Refs.
type Ref struct {
	Scope string
	Key   string
}

// String returns "vault://<scope>/<key>". Since a key never holds '/', the
// last '/' of the result separates the two, whatever the scope holds.
func (r Ref) String() string { return RefPrefix + r.Scope + "/" + r.Key }

// Validate checks the scope (in canonical form, see CheckScope) and the key.
func (r Ref) Validate() error {
	if err := ValidateScope(r.Scope); err != nil {
		return err
	}
	return ValidateKey(r.Key)
}

// ParseRef parses "vault://<scope>/<key>": the text after the last '/' is
// the key (a key never holds '/'), everything between "vault://" and it the
// scope, which ParseScope turns into its canonical form
// ("vault://GLOBAL/k" addresses the same secret as "vault://global/k").
// For every valid Ref r, ParseRef(r.String()) returns r. Errors wrap
// ErrInvalidRef and the scope or key error that caused them, and never
// repeat s (see ValidateScope).
func ParseRef(s string) (Ref, error) {
	rest, ok := strings.CutPrefix(s, RefPrefix)
	if !ok {
		return Ref{}, fmt.Errorf("%w: must start with %q (example: \"vault://global/openai_api_key\")", ErrInvalidRef, RefPrefix)
	}
	return parseScopeKey(rest)
}

// ParseVaultRefField parses the value of a config field whose name ends in
// "_vault_ref": either "vault://<scope>/<key>" or the bare "<scope>/<key>"
// that the reference implementation writes, with white space around it
// ignored as the reference implementation does. Errors never repeat s.
func ParseVaultRefField(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, RefPrefix) {
		return ParseRef(s)
	}
	if strings.Contains(s, "://") {
		// No scope holds "://" (a Palyra id holds no '/', a path scope no
		// empty segment), so this can only be another scheme.
		return Ref{}, fmt.Errorf("%w: only the %q scheme is allowed", ErrInvalidRef, RefPrefix)
	}
	return parseScopeKey(s)
}

// parseScopeKey parses "<scope>/<key>", split at the last '/'.
func parseScopeKey(rest string) (Ref, error) {
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return Ref{}, fmt.Errorf("%w: needs a scope and a key separated by '/' (example: \"vault://global/openai_api_key\")", ErrInvalidRef)
	}
	scope, err := ParseScope(rest[:i])
	if err != nil {
		return Ref{}, fmt.Errorf("%w: %w", ErrInvalidRef, err)
	}
	r := Ref{Scope: scope, Key: rest[i+1:]}
	if err := ValidateKey(r.Key); err != nil {
		return Ref{}, fmt.Errorf("%w: %w", ErrInvalidRef, err)
	}
	return r, nil
}
