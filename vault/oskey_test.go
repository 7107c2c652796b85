package vault

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/vault/internal/keysource"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/secretservice"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// These tests keep the KEK in the real gnome-keyring-daemon that
// scripts/secret-service-run.sh starts on a private bus.

func osConfig(t *testing.T) Config {
	t.Helper()
	needPrivateKeyring(t)
	cfg := testConfig(t)
	cfg.KeySource = KeySourceOS
	return cfg
}

// keyringItem reads an item of our schema straight from the keyring.
func keyringItem(t *testing.T, id backend.ObjectID) ([]byte, error) {
	t.Helper()
	s, err := secretservice.Open(context.Background(), secretservice.Options{Address: ConfigFromEnv().SessionBus})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return s.Get(context.Background(), id)
}

func deleteKeyringItem(t *testing.T, id backend.ObjectID) {
	t.Helper()
	s, err := secretservice.Open(context.Background(), secretservice.Options{Address: ConfigFromEnv().SessionBus})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
}

func TestOSKeyVaultKeepsItsKeyInTheSecretServiceAndNothingOnDisk(t *testing.T) {
	cfg := osConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "k", "kept under an OS-held key")
	st := readState(t, cfg)
	t.Cleanup(func() { deleteKeyringItem(t, st.Active.Item) })
	if v.Info().KeySource != KeySourceOS || st.Active.Store != backend.KindSecretService || st.Active.Item != keysource.OSKeyItem(st.VaultID, st.Active.KEKID) {
		t.Fatalf("info %+v, state %+v", v.Info(), st.Active)
	}
	b, err := keyringItem(t, st.Active.Item)
	if err != nil || len(b) != 32 {
		t.Fatalf("keyring item: %d bytes, %v", len(b), err)
	}
	kek := envelope.KEK(b)
	if got := keysource.KEKIDHex(&kek); got != st.Active.KEKID {
		t.Fatalf("the keyring holds key %s, the vault records %s", got, st.Active.KEKID)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateRoot, "keys")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an os-key vault made key files under the state root (%v)", err)
	}
	v.Close()
	if got := mustGet(t, openTest(t, cfg), "global", "k"); got != "kept under an OS-held key" {
		t.Fatalf("reopened vault reads %q", got)
	}

	other := osConfig(t)
	openTest(t, other)
	ost := readState(t, other)
	t.Cleanup(func() { deleteKeyringItem(t, ost.Active.Item) })
	if ost.Active.Item == st.Active.Item {
		t.Fatal("two vaults share one keyring item")
	}
}

func TestOSKeyVaultWhoseItemWasDeletedSaysSo(t *testing.T) {
	cfg := osConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "k", "v")
	v.Close()
	deleteKeyringItem(t, readState(t, cfg).Active.Item)
	v2 := openTest(t, cfg) // loads no key
	if list, err := v2.List(context.Background(), ""); err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	_, _, err := v2.Get(context.Background(), "global", "k")
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "missing from linux_secret_service") {
		t.Fatalf("Get = %v, want ErrWrongKey saying the item is missing", err)
	}
}

func TestRotationsIntoAndOutOfTheSecretService(t *testing.T) {
	cfg := testConfig(t)
	needPrivateKeyring(t)
	v := openTest(t, cfg)
	refs := putMany(t, v, 5)

	toOS := rotate(t, v, KeySourceSpec{Source: KeySourceOS})
	st := readState(t, cfg)
	first := st.Active.Item
	if toOS.To != KeySourceOS || st.Active.Source != KeySourceOS {
		t.Fatalf("after rotating to os: %+v", st.Active)
	}
	checkAll(t, v, refs)

	rotate(t, v, KeySourceSpec{}) // a fresh os key
	second := readState(t, cfg).Active.Item
	if second == first {
		t.Fatal("the new os key reuses the old item")
	}
	if _, err := keyringItem(t, first); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("the old key's item is still in the keyring (%v)", err)
	}
	v.Close()
	v2 := openTest(t, cfg)
	checkAll(t, v2, refs)

	rotate(t, v2, KeySourceSpec{Source: KeySourceDevice})
	if _, err := keyringItem(t, second); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("rotating to device left the os key in the keyring (%v)", err)
	}
	checkAll(t, v2, refs)
}

func TestOSKeySourceWithoutAServiceFailsAndKeysNothing(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("on Windows the os key source is DPAPI, which needs no Secret Service and opens")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(testutil.TempDir(t), "no-bus"))
	cfg := testConfig(t)
	cfg.KeySource = KeySourceOS
	_, err := Open(context.Background(), cfg)
	if !errors.Is(err, ErrBackendUnavailable) || !strings.Contains(err.Error(), "OS secret store") {
		t.Fatalf("Open = %v, want ErrBackendUnavailable naming the OS secret store", err)
	}
	if hintOf(err) == "" {
		t.Fatalf("error %v carries no hint for the user", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Root, keySourceFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a failed Open keyed the vault")
	}
}

func TestOSKeySourceNeedsTheEncryptedFileBackend(t *testing.T) {
	cfg := secretServiceConfig(t)
	cfg.KeySource = KeySourceOS
	if _, err := Open(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "needs the encrypted_file backend") {
		t.Fatalf("Open = %v", err)
	}
	cfg.KeySource = ""
	v := openTest(t, cfg)
	before := hashTree(t, cfg.Root)
	if _, err := v.RotateKey(context.Background(), KeySourceSpec{Source: KeySourceOS}); err == nil || !strings.Contains(err.Error(), "needs the encrypted_file backend") {
		t.Fatalf("RotateKey = %v", err)
	}
	if hashTree(t, cfg.Root) != before {
		t.Fatal("a refused rotation changed the vault")
	}
}
