package vault

import "github.com/palyra/palyra-vault/secret"

// The vault speaks of secrets in the words of package secret. These aliases
// are the same types and values, not copies, so that a vault's caller need
// not import both packages and errors.Is matches either name.
type (
	// Ref addresses one secret: see secret.Ref.
	Ref = secret.Ref
	// SensitiveBytes holds a secret value that never prints itself: see
	// secret.SensitiveBytes.
	SensitiveBytes = secret.SensitiveBytes
)

// Sentinel errors of the naming grammar, shared with package secret.
var (
	// ErrInvalidScope means a scope breaks the scope grammar.
	ErrInvalidScope = secret.ErrInvalidScope
	// ErrInvalidKey means a key breaks the key grammar.
	ErrInvalidKey = secret.ErrInvalidKey
	// ErrInvalidRef means a vault reference is malformed.
	ErrInvalidRef = secret.ErrInvalidRef
)

// truncate shortens user input quoted in the vault's errors (secret.Excerpt).
func truncate(s string) string { return secret.Excerpt(s) }
