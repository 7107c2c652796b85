package vault

import (
	"os"

	"github.com/palyra/palyra-vault/internal/testhook"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/secretservice"
)

// Environment variables that ConfigFromEnv reads. Open reads none: a
// program that honours them (the palyra CLI and daemon do) starts from
// ConfigFromEnv and applies its own settings over it.
const (
	// EnvVaultDir names the vault root.
	EnvVaultDir = "PALYRA_VAULT_DIR"
	// EnvBackend names the preferred backend for a new vault.
	EnvBackend = "PALYRA_VAULT_BACKEND"
	// EnvKeySource names the key source of a new vault.
	EnvKeySource = "PALYRA_VAULT_KEY_SOURCE"
	// EnvTestCheapKDF, set to "1", makes new passphrase keys use the
	// cheapest Argon2id parameters (and package vault/backup's passphrase
	// backups the cheapest scrypt work factor), so that tests of the CLI
	// run fast. It is honoured only inside test binaries
	// (testhook.CheapKDF), never in a palyra built for use, and it cannot
	// weaken an existing vault: the parameters are chosen when a key is
	// made and stored with it.
	EnvTestCheapKDF = testhook.EnvCheapKDF
)

// ConfigFromEnv returns the Config the environment describes, and is the
// only place package vault reads the environment:
//
//   - Root from $PALYRA_VAULT_DIR;
//   - StateRoot from $PALYRA_STATE_ROOT (secret.EnvStateRoot);
//   - Backend from $PALYRA_VAULT_BACKEND;
//   - KeySource from $PALYRA_VAULT_KEY_SOURCE;
//   - SessionBus from $DBUS_SESSION_BUS_ADDRESS, else the systemd user bus
//     socket $XDG_RUNTIME_DIR/bus when it exists
//     (secretservice.SessionBusAddress).
//
// A variable that is unset or empty leaves its field empty, which Open
// fills with the platform default. The passphrase is not read here: the
// caller supplies Config.Passphrase (the palyra CLI reads
// $PALYRA_VAULT_PASSPHRASE only when the vault asks). Apply flags or other
// settings over the result with Config.WithEnv or field by field.
func ConfigFromEnv() Config {
	return Config{
		Root:       os.Getenv(EnvVaultDir),
		StateRoot:  os.Getenv(secret.EnvStateRoot),
		Backend:    backend.Kind(os.Getenv(EnvBackend)),
		KeySource:  os.Getenv(EnvKeySource),
		SessionBus: secretservice.SessionBusAddress(os.Getenv),
		cheapKDF:   testhook.CheapKDF(),
	}
}

// WithEnv returns c with each field it leaves empty taken from
// ConfigFromEnv, so that what c sets (say, from command-line flags) wins
// over the environment, field by field. A Root from the environment wins
// over the <StateRoot>/vault default even when c sets StateRoot.
func (c Config) WithEnv() Config {
	env := ConfigFromEnv()
	if c.Root == "" {
		c.Root = env.Root
	}
	if c.StateRoot == "" {
		c.StateRoot = env.StateRoot
	}
	if c.Backend == "" {
		c.Backend = env.Backend
	}
	if c.KeySource == "" {
		c.KeySource = env.KeySource
	}
	if c.SessionBus == "" {
		c.SessionBus = env.SessionBus
	}
	c.cheapKDF = c.cheapKDF || env.cheapKDF
	return c
}
