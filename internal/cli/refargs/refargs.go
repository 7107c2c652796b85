// Package refargs reads the secret a command addresses from its positional
// arguments: "<scope> <key>" or one "vault://<scope>/<key>". Its errors are
// usage errors that name an argument by position, never by value.
package refargs

import (
	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/secret"
)

// Parse reads the secret a command addresses from its arguments:
// either two ("<scope> <key>") or one ("vault://<scope>/<key>"). The scope
// is returned in canonical form (secret.ParseScope: "GLOBAL" is "global",
// "principal: Alice " is "principal:Alice", as the Rust CLI reads them). Bad input
// is a clierr.UsageError wrapping secret.ErrInvalidScope, secret.ErrInvalidKey or
// secret.ErrInvalidRef that names the argument by position and the rule it
// breaks, never its value: a scope typed where it should not be may be a
// pasted secret (docs/CLI.md, UI rules).
func Parse(args []string) (secret.Ref, error) {
	return ParseAt(args, 1)
}

// ParseAt is Parse for arguments that start at position first
// (1-based) of the command's arguments, as in "configure <setting> <scope>
// <key>" where the scope is argument 2.
func ParseAt(args []string, first int) (secret.Ref, error) {
	switch len(args) {
	case 1:
		r, err := secret.ParseRef(args[0])
		if err != nil {
			return secret.Ref{}, clierr.ArgError(first, "the vault reference", err)
		}
		return r, nil
	case 2:
		scope, err := secret.ParseScope(args[0])
		if err != nil {
			return secret.Ref{}, clierr.ArgError(first, "the scope", err)
		}
		if err := secret.ValidateKey(args[1]); err != nil {
			return secret.Ref{}, clierr.ArgError(first+1, "the key", err)
		}
		return secret.Ref{Scope: scope, Key: args[1]}, nil
	default:
		return secret.Ref{}, CountError(len(args))
	}
}

// CountError returns nil when n, the number of positional arguments, is
// what Parse takes (1 or 2), else the usage error for n. It never repeats
// the arguments: a mistaken third argument may be a secret typed on the
// command line.
func CountError(n int) error {
	if n == 1 || n == 2 {
		return nil
	}
	err := clierr.UsageErrorf("expected <scope> <key> or one vault://<scope>/<key>, got %d arguments", n)
	if n > 2 {
		return clierr.WithHints(err,
			`secret values are never read from the command line; pipe them on stdin: printf '%s' "$VALUE" | palyra secrets set <scope> <key>`,
			"if an extra argument was a secret, it may now be in your shell history")
	}
	return err
}

// MaxCount returns nil when n positional arguments are at most max, else
// the usage error that says so (without repeating them).
func MaxCount(max, n int) error {
	if n > max {
		return clierr.UsageErrorf("accepts at most %d argument(s), got %d", max, n)
	}
	return nil
}
