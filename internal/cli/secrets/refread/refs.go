package refread

import (
	"errors"

	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/vault"
)

// DisplayRef is how a command names a reference to the user who wrote it:
// its canonical text (vault://global/k, env:NAME, file:/path), except for
// a command reference, whose argv may carry credentials: then its redacted
// fingerprint (exec#1a2b3c4d).
func DisplayRef(r resolve.Ref) string {
	if r.Source == resolve.SourceExec {
		return r.String()
	}
	return r.Canonical()
}

// ListError reports several failures in one message (one per line) and
// keeps the first as its cause, so that exit codes and hints follow its
// kind.
type ListError struct {
	Msg   string
	First error
}

// Error returns Msg.
func (e *ListError) Error() string { return e.Msg }

// Unwrap returns the first failure.
func (e *ListError) Unwrap() error { return e.First }

// ResolveHints returns what to do about a failed resolution of err's kind.
func ResolveHints(err error) []string {
	switch {
	case errors.Is(err, ErrNoVault):
		return []string{`no vault exists yet: store the secret with "palyra secrets set <scope> <key>", or point --vault-dir at the vault`}
	case errors.Is(err, vault.ErrNotFound):
		return []string{`store the secret with "palyra secrets set <scope> <key>", or check the reference with "palyra secrets explain <ref>"`}
	case errors.Is(err, resolve.ErrBlocked):
		return []string{"file: references are read only inside a --trusted-dir (or the reference's own trusted_dirs)"}
	}
	return nil
}
