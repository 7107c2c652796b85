// Package clitest helps test palyra commands in-process: a real vault on
// the encrypted_file backend in a test's temporary directory.
package clitest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
)

// Config returns the config of a fresh vault under t.TempDir() on the
// encrypted_file backend (and the session bus of the environment, for
// tests that reach the Secret Service).
func Config(t testing.TB) vault.Config {
	t.Helper()
	dir := t.TempDir()
	return vault.Config{
		Root:      filepath.Join(dir, "vault"),
		StateRoot: filepath.Join(dir, "state"),
		Backend:   backend.KindEncryptedFile,
		// The Secret Service the test's environment names, if any.
		SessionBus: vault.ConfigFromEnv().SessionBus,
	}
}

// Vault opens a fresh vault under t.TempDir() and returns it with an opener
// suitable for a command's options. The vault is closed when the test ends.
func Vault(t testing.TB) (*vault.Vault, func(context.Context) (*vault.Vault, error)) {
	t.Helper()
	v, err := vault.Open(context.Background(), Config(t))
	if err != nil {
		t.Fatalf("opening test vault: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v, func(context.Context) (*vault.Vault, error) { return v, nil }
}
