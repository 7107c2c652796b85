package vault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/keysource"
)

// A vault never silently changes backend: its marker decides. The one
// exception is a vault that holds no secret yet, whose backend may have
// become unusable (a Secret Service chosen on a desktop, now locked over
// SSH): naming another backend (Config.Backend, --backend,
// $PALYRA_VAULT_BACKEND) re-creates it there, since nothing can be lost.
//
// "Holds no secret" means that the marker's backend, opened so that it
// never prompts, lists no object of this vault:
//
//   - encrypted_file and windows_dpapi: objects/ holds no object file
//     (temporary files of a crashed writer do not count);
//   - linux_secret_service: the default collection holds no item of this
//     vault (palyra-vault=<vault id>): listed when it is unlocked; when it
//     is locked, a search by the vault's attributes, which the service
//     answers without unlocking, finds none (an item found counts, readable
//     or not, so a locked collection with items proves nothing);
//   - macos_keychain: the keychain lists no item of the vault's service.
//
// A backend that cannot list (locked, not running, not on this OS) proves
// nothing, and the vault stays where it is, with an error saying how to
// make the backend answer.

// recreate puts the vault on cfg.Backend, which differs from its marker,
// when the vault holds no secret, and returns the kind the vault now uses.
// It works under the writer lock, rewrites the marker atomically and
// leaves the vault's key source as it is. It fails, changing nothing, when
// the vault holds secrets, when its backend cannot list them, when a
// migration is unfinished, or when the key source does not allow the new
// backend.
func (v *Vault) recreate(ctx context.Context, cfg Config) (backend.Kind, error) {
	to := cfg.Backend
	if !knownKind(to) {
		return "", unknownBackend(to)
	}
	root := v.info.Root
	unlock, err := fsutil.LockExclusiveWait(ctx, filepath.Join(root, lockFile), v.lockWait)
	if err != nil {
		return "", fmt.Errorf("locking vault: %w", err)
	}
	defer unlock()
	from, err := readMarker(root)
	if err != nil || from == "" || from == to {
		return from, err // another process changed or removed it meanwhile
	}
	stay := fmt.Sprintf("the vault at %s uses backend %s, and backend %s applies only to a new vault or one that holds no secret", root, from, to)
	useAsIs := fmt.Sprintf("to use the vault on %s as it is, leave --backend and $%s unset", from, EnvBackend)

	if _, err := os.Lstat(filepath.Join(root, migrateFromFile)); !errors.Is(err, fs.ErrNotExist) {
		return "", withHint(fmt.Errorf("%w: %s, and a migration of this vault is unfinished (%s)", ErrBackendUnavailable, stay, migrateFromFile),
			fmt.Sprintf("finish it with \"palyra secrets migrate --to %s\"", from))
	}
	if err := keySourceAllows(root, cfg, to); err != nil {
		return "", err
	}

	s := v.site()
	s.noUnlock = true
	src, err := openBackend(ctx, from, s)
	var ids []backend.ObjectID
	if err == nil {
		ids, err = src.List(ctx)
		if p, ok := src.(emptinessProver); ok && err != nil {
			if none, perr := p.HoldsNoItem(ctx); perr == nil && none {
				ids, err = nil, nil // provably empty, though it cannot list
			}
		}
		src.Close()
	}
	if err != nil {
		err = translate(err)
		hints := []string{fmt.Sprintf("once %s answers, re-run the command (a vault with no secret then moves to %s), or move the secrets with \"palyra secrets migrate --to %s\"", from, to, to), useAsIs}
		if hintOf(err) == "" {
			hints = append([]string{fmt.Sprintf("make %s answer (see \"palyra secrets doctor\")", from)}, hints...)
		}
		return "", withHint(fmt.Errorf("%s; %s cannot tell whether the vault holds secrets, so it stays there: %w", stay, from, err), hints...)
	}
	if len(ids) > 0 {
		n := fmt.Sprintf("%d secrets", len(ids))
		if len(ids) == 1 {
			n = "1 secret"
		}
		return "", withHint(fmt.Errorf("%w: %s, and it holds %s", ErrBackendUnavailable, stay, n),
			fmt.Sprintf("move them with \"palyra secrets migrate --to %s\"", to), useAsIs)
	}

	dst, err := openBackend(ctx, to, v.site())
	if err != nil {
		return "", err
	}
	if err := writeMarker(root, to); err != nil {
		dst.Close()
		return "", err
	}
	v.backend = dst
	if cfg.OnBackendNotice != nil {
		cfg.OnBackendNotice(BackendNotice{Root: root, Chosen: to, Replaced: from})
	}
	return to, nil
}

// emptinessProver is a backend that can prove it holds no object of the
// vault when List cannot answer (a locked Secret Service collection).
type emptinessProver interface {
	HoldsNoItem(ctx context.Context) (bool, error)
}

// keySourceAllows checks that the vault's key source (or, for a vault not
// keyed yet, the configured one) can work with backend to.
func keySourceAllows(root string, cfg Config, to backend.Kind) error {
	st, err := keysource.ReadState(root)
	if err != nil {
		return err
	}
	var src keysource.Source
	if st != nil {
		var ok bool
		if src, ok = keysource.Lookup(st.Active.Source); !ok {
			return fmt.Errorf("%w: the vault's key source %q is unknown", ErrCorrupt, truncate(st.Active.Source))
		}
	} else if src, err = desiredKeySource(cfg); err != nil {
		return err
	}
	_, err = src.Backend(to)
	return err
}

// hintedError carries hints for the user (one line each) next to an
// error; the CLI prints each on its own "palyra: hint:" line.
type hintedError struct {
	err   error
	hints []string
}

func withHint(err error, hints ...string) error { return &hintedError{err: err, hints: hints} }

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }

// Hints returns the hints, one line each.
func (e *hintedError) Hints() []string { return e.hints }

// Hint returns the hints on one line, joined with "; ".
func (e *hintedError) Hint() string { return strings.Join(e.hints, "; ") }
