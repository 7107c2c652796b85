// Package lookup reads a vault secret for a command: from a running palyra
// daemon on the vault's state root, or from the vault itself, as the
// command's --daemon flag says. It links no command-line library (see
// package lean).
package lookup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/cli/factory"
	"github.com/palyra/palyra-vault/internal/cli/secrets/present"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// DaemonModes are the values of --daemon: auto asks a running daemon and
// reads the vault directly unless the daemon gave the value or said it does
// not exist; never reads the vault only; require asks the daemon only.
var DaemonModes = []string{"auto", "never", "require"}

// DaemonTimeout bounds one question to the daemon.
const DaemonTimeout = 10 * time.Second

// DefaultDaemonMode is the default of --daemon.
const DefaultDaemonMode = "auto"

// DaemonFlagUsage is the help text of --daemon.
const DaemonFlagUsage = "ask a running palyra daemon for vault secrets: auto, never or require"

// CheckMode returns a usage error unless mode is one of DaemonModes.
func CheckMode(mode string) error {
	if !slices.Contains(DaemonModes, mode) {
		return clierr.UsageErrorf("--daemon: must be one of %s", strings.Join(DaemonModes, ", "))
	}
	return nil
}

// Vault is how a command reads vault secrets: it implements
// resolve.VaultLookup. It asks a running palyra daemon or reads the vault
// directly, as Mode says (see DaemonModes). In auto mode the daemon is
// skipped when --vault-dir or $PALYRA_VAULT_DIR names a vault, since the
// daemon may serve another one.
type Vault struct {
	// Mode is "auto", "never" or "require".
	Mode string
	// Socket returns the daemon's socket path.
	Socket func() (string, error)
	// Direct reads the vault itself.
	Direct func(ctx context.Context, scope, key string) (secret.SensitiveBytes, vault.Metadata, error)
	// VaultDirSet is true when --vault-dir or $PALYRA_VAULT_DIR names a vault.
	VaultDirSet bool
}

// New returns the lookup of the factory's vault: the daemon on
// the factory's state root, else the vault through direct (which must never
// create a vault).
func New(f *factory.Factory, mode string, direct func(ctx context.Context, scope, key string) (secret.SensitiveBytes, vault.Metadata, error)) *Vault {
	return &Vault{
		Mode:        mode,
		Socket:      func() (string, error) { return api.SocketPath("", f.VaultConfig.StateRoot) },
		Direct:      direct,
		VaultDirSet: f.VaultConfig.Root != "", // --vault-dir, else $PALYRA_VAULT_DIR (vault.Config.WithEnv)
	}
}

// Get returns the secret from the daemon or the vault. A secret the daemon
// reports missing is final (the daemon read the vault); in auto mode any
// other daemon failure (none running, a refusal, a socket that another
// user listens on: api.ErrUntrustedDaemon) falls back to the vault.
func (l *Vault) Get(ctx context.Context, scope, key string) (secret.SensitiveBytes, vault.Metadata, error) {
	ref := secret.Ref{Scope: scope, Key: key}
	if l.Mode == "require" || l.Mode == "auto" && !l.VaultDirSet {
		value, md, err := l.fromDaemon(ctx, ref)
		if err == nil || l.Mode == "require" || errors.Is(err, vault.ErrNotFound) {
			return value, md, err
		}
	}
	return l.Direct(ctx, scope, key)
}

// fromDaemon asks the daemon for ref. A secret it reports missing is an
// error wrapping vault.ErrNotFound; its other refusals are *api.Error.
func (l *Vault) fromDaemon(ctx context.Context, ref secret.Ref) (secret.SensitiveBytes, vault.Metadata, error) {
	none := func(err error) (secret.SensitiveBytes, vault.Metadata, error) {
		return secret.SensitiveBytes{}, vault.Metadata{}, err
	}
	socket, err := l.Socket()
	if err != nil {
		return none(err)
	}
	ctx, cancel := context.WithTimeout(ctx, DaemonTimeout)
	defer cancel()
	c := api.NewClient(socket)
	defer c.Close()
	resp, err := c.Resolve(ctx, api.ResolveRequest{Ref: ref.String()})
	var answer *api.Error
	switch {
	case errors.As(err, &answer) && answer.Code == api.CodeMissing:
		return none(clierr.WithHints(fmt.Errorf("%w: %s (asked the daemon at %s)", vault.ErrNotFound, ref, socket), present.ListHint(ref.Scope)))
	case errors.As(err, &answer) && answer.Code == api.CodeForbidden:
		return none(clierr.WithHints(err, "the daemon's [daemon] readable_scopes and principals decide what it serves; --daemon never reads the vault directly"))
	case errors.Is(err, api.ErrUntrustedDaemon):
		return none(clierr.WithHints(err, "it is not your palyra daemon: stop it, or remove the socket and start your own with \"palyra daemon\"; --daemon never reads the vault directly"))
	case errors.Is(err, api.ErrNotRunning):
		return none(clierr.WithHints(err, "start it with \"palyra daemon\", or use --daemon auto or never to read the vault directly"))
	case err != nil:
		return none(err)
	}
	m := resp.Vault
	if m == nil || m.Scope != ref.Scope || m.Key != ref.Key {
		resp.Value.Wipe()
		return none(fmt.Errorf("the daemon at %s answered for another secret than %s", socket, ref))
	}
	return resp.Value, vault.Metadata{Scope: m.Scope, Key: m.Key, Created: m.Created, Updated: m.Updated, Size: resp.Value.Len()}, nil
}
