package resolve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// VaultLookup reads one secret from a vault. *vault.Vault implements it; a
// daemon can pass its own (a cache, a remote vault). Get must return an
// error wrapping vault.ErrNotFound when there is no such secret, and must
// never put the value in an error message.
type VaultLookup interface {
	Get(ctx context.Context, scope, key string) (secret.SensitiveBytes, vault.Metadata, error)
}

// Options adjusts a Resolver.
type Options struct {
	// TrustedDirs apply to file references that list no trusted_dirs of
	// their own. Each must be an absolute path (or start with "~/"). When
	// both are empty, every file reference is blocked.
	TrustedDirs []string
}

// Resolver resolves references. It is safe for concurrent use; it keeps no
// state between calls and caches nothing.
type Resolver struct {
	vault VaultLookup
	opts  Options
}

// New returns a Resolver that reads vault references through v (which may
// be nil when no vault is available: vault references then fail with kind
// IO) and applies opts.
func New(v VaultLookup, opts Options) *Resolver {
	return &Resolver{vault: v, opts: opts}
}

// Resolve validates ref and returns its value, or an *Error saying why it
// could not (see Kind). The caller owns the result and should Wipe it when
// done. For an optional reference (Ref.Optional) whose source has no value
// Resolve still fails with kind Missing; skipping it is the caller's choice.
//
// A value of zero bytes (after the trailing newline is trimmed) counts as
// Missing, whatever the source; so does one of only white space for the
// *_secret_ref form, as in Palyra. A value longer than ref.Limit() fails with
// TooLarge and is wiped before Resolve returns. ctx bounds vault lookups and
// commands; a context that expires fails with kind Timeout.
func (r *Resolver) Resolve(ctx context.Context, ref Ref) (secret.SensitiveBytes, error) {
	if err := ref.Validate(); err != nil {
		return secret.SensitiveBytes{}, err
	}
	var (
		val secret.SensitiveBytes
		err error
	)
	switch ref.Source {
	case SourceVault:
		val, err = r.resolveVault(ctx, ref)
	case SourceEnv:
		val, err = resolveEnv(ref)
	case SourceFile:
		val, err = r.resolveFile(ref)
	case SourceExec:
		val, err = resolveExec(ctx, ref)
	}
	if err != nil {
		return secret.SensitiveBytes{}, err
	}
	if ref.TrimsNewline() {
		val = trimNewline(val)
	}
	if val.Len() == 0 {
		return secret.SensitiveBytes{}, fail(Missing, ref, "the value is empty", nil)
	}
	if ref.Form == FormSecretRef && len(bytes.TrimSpace(val.Reveal())) == 0 {
		// Palyra's resolver counts such a value as missing.
		val.Wipe()
		return secret.SensitiveBytes{}, fail(Missing, ref, "the value is only white space", nil)
	}
	if val.Len() > ref.Limit() {
		n := val.Len()
		val.Wipe()
		return secret.SensitiveBytes{}, tooLarge(ref, n)
	}
	return val, nil
}

func tooLarge(ref Ref, n int) *Error {
	return fail(TooLarge, ref, fmt.Sprintf("the value is %d bytes, more than max_bytes %d", n, ref.Limit()), nil)
}

// trimNewline removes one trailing "\n" or "\r\n" from v, sharing its memory.
func trimNewline(v secret.SensitiveBytes) secret.SensitiveBytes {
	b := v.Reveal()
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		n--
		if n > 0 && b[n-1] == '\r' {
			n--
		}
	}
	return secret.NewSensitiveBytes(b[:n])
}

func (r *Resolver) resolveVault(ctx context.Context, ref Ref) (secret.SensitiveBytes, error) {
	if r.vault == nil {
		return secret.SensitiveBytes{}, fail(IO, ref, "no vault is open to resolve vault references", nil)
	}
	val, _, err := r.vault.Get(ctx, ref.Vault.Scope, ref.Vault.Key)
	if err != nil {
		kind := IO
		switch {
		case errors.Is(err, vault.ErrNotFound):
			kind = Missing
		case errors.Is(err, context.DeadlineExceeded):
			kind = Timeout
		}
		return secret.SensitiveBytes{}, &Error{Kind: kind, Ref: ref.describe(), Err: err}
	}
	return val, nil
}

// resolveEnv reads an environment variable. An unset or empty variable is
// Missing. The value is copied: the process environment itself cannot be
// wiped.
//
// A variable that carries key material (secret.IsKeyMaterialEnv: the vault
// passphrase and its kin) is Blocked: it would open the whole vault, and a
// reference may come from a file someone else wrote.
func resolveEnv(ref Ref) (secret.SensitiveBytes, error) {
	if secret.IsKeyMaterialEnv(ref.Env) {
		return secret.SensitiveBytes{}, keyMaterialBlocked(ref, ref.Env)
	}
	s, ok := os.LookupEnv(ref.Env)
	if !ok {
		return secret.SensitiveBytes{}, fail(Missing, ref, "the environment variable is not set", nil)
	}
	if len(s) > ref.Limit() {
		return secret.SensitiveBytes{}, tooLarge(ref, len(s))
	}
	return secret.NewSensitiveBytes([]byte(s)), nil
}

// keyMaterialBlocked is the error of a reference that would hand on the
// variable name, which carries key material.
func keyMaterialBlocked(ref Ref, name string) *Error {
	return fail(Blocked, ref, name+" carries key material (it opens the vault) and is never read by a reference; "+
		"to give it to the command of palyra secrets run, name it with --pass-env "+name, nil)
}
