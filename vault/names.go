package vault

import (
	"fmt"
	"strings"

	"github.com/palyra/palyra-vault/vault/internal/names"
)

// Limits of the naming grammar (see docs/FORMAT.md).
const (
	// MaxScopeLen is the longest scope, in bytes.
	MaxScopeLen = names.MaxScopeLen
	// MaxKeyLen is the longest key, in bytes.
	MaxKeyLen = names.MaxKeyLen
	// RefPrefix starts every vault reference.
	RefPrefix = "vault://"
)

// ValidateScope reports whether s is a valid scope: one or more segments
// joined by '/', each matching [a-z0-9][a-z0-9._:-]*, at most MaxScopeLen
// bytes in all. Examples: "global", "plugins/github", "principal:alice".
// The error wraps ErrInvalidScope and names the rule and the input.
func ValidateScope(s string) error {
	if err := names.CheckScope(s); err != nil {
		return fmt.Errorf("%w %q: %w", ErrInvalidScope, truncate(s), err)
	}
	return nil
}

// ValidateKey reports whether k is a valid key: [a-z0-9][a-z0-9._-]*, at
// most MaxKeyLen bytes. The error wraps ErrInvalidKey and names the rule and
// the input.
func ValidateKey(k string) error {
	if err := names.CheckKey(k); err != nil {
		return fmt.Errorf("%w %q: %w", ErrInvalidKey, truncate(k), err)
	}
	return nil
}

// truncate shortens over-long input for error messages.
func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

// Ref addresses one secret: a scope and a key. Its text form is
// "vault://<scope>/<key>".
type Ref struct {
	Scope string
	Key   string
}

// String returns "vault://<scope>/<key>".
func (r Ref) String() string { return RefPrefix + r.Scope + "/" + r.Key }

// Validate checks the scope and the key.
func (r Ref) Validate() error {
	if err := ValidateScope(r.Scope); err != nil {
		return err
	}
	return ValidateKey(r.Key)
}

// ParseRef parses "vault://<scope>/<key>": the last '/'-separated segment is
// the key, everything before it the scope. Errors wrap ErrInvalidRef and the
// scope or key error that caused them.
func ParseRef(s string) (Ref, error) {
	rest, ok := strings.CutPrefix(s, RefPrefix)
	if !ok {
		return Ref{}, fmt.Errorf("%w %q: must start with %q (example: \"vault://global/openai_api_key\")", ErrInvalidRef, truncate(s), RefPrefix)
	}
	return parseScopeKey(s, rest)
}

// ParseVaultRefField parses the value of a config field whose name ends in
// "_vault_ref": either "vault://<scope>/<key>" or the bare "<scope>/<key>"
// that the reference implementation writes.
func ParseVaultRefField(s string) (Ref, error) {
	if strings.HasPrefix(s, RefPrefix) {
		return ParseRef(s)
	}
	if strings.Contains(s, "://") {
		return Ref{}, fmt.Errorf("%w %q: only the %q scheme is allowed", ErrInvalidRef, truncate(s), RefPrefix)
	}
	return parseScopeKey(s, s)
}

func parseScopeKey(orig, rest string) (Ref, error) {
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return Ref{}, fmt.Errorf("%w %q: needs a scope and a key separated by '/' (example: \"vault://global/openai_api_key\")", ErrInvalidRef, truncate(orig))
	}
	r := Ref{Scope: rest[:i], Key: rest[i+1:]}
	if err := r.Validate(); err != nil {
		return Ref{}, fmt.Errorf("%w %q: %w", ErrInvalidRef, truncate(orig), err)
	}
	return r, nil
}
