//go:build unix

package vault

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/vault/backend"
)

func TestAutoPicksTheSecretServiceWhenItAnswers(t *testing.T) {
	requireSecretService(t)
	cfg := testConfig(t)
	cfg.Backend = backend.KindAuto
	v := openTest(t, cfg)
	if got := v.Info().Backend; got != backend.KindSecretService {
		t.Fatalf("auto chose %s, want %s", got, backend.KindSecretService)
	}
	mustPut(t, v, "global", "k", "v")
	defer cleanupVault(t, cfg)
	if got := currentMarker(t, cfg); got != backend.KindSecretService {
		t.Fatalf("marker says %s", got)
	}
	statuses := v.ProbeBackends(context.Background())
	for _, st := range statuses {
		want := st.Kind == backend.KindSecretService || st.Kind == backend.KindEncryptedFile
		if st.Available != want {
			t.Errorf("%s: available %v (%s), want %v", st.Kind, st.Available, st.Reason, want)
		}
		if !st.Available && st.Reason == "" {
			t.Errorf("%s is unavailable without a reason", st.Kind)
		}
	}
}

func TestAutoFallsBackToEncryptedFileWithoutAService(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	cfg := testConfig(t)
	cfg.Backend = ""
	t.Setenv(EnvBackend, "")
	v := openTest(t, cfg)
	if got := v.Info().Backend; got != backend.KindEncryptedFile {
		t.Fatalf("auto chose %s, want encrypted_file", got)
	}
	for _, st := range v.ProbeBackends(context.Background()) {
		if st.Kind == backend.KindSecretService && (st.Available || !strings.Contains(st.Reason, "secret service")) {
			t.Fatalf("secret service status %+v", st)
		}
	}
}

func TestExplicitBackendThatIsUnavailableFailsWithoutFallback(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	for _, kind := range []backend.Kind{backend.KindSecretService, backend.KindDPAPI, backend.KindKeychain} {
		cfg := testConfig(t)
		cfg.Backend = kind
		_, err := Open(context.Background(), cfg)
		if !errors.Is(err, ErrBackendUnavailable) {
			t.Fatalf("Open with %s = %v, want ErrBackendUnavailable", kind, err)
		}
		if _, err := os.Stat(filepath.Join(cfg.Root, markerFile)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a failed Open with %s wrote a marker: %v", kind, err)
		}
	}
}

func TestMarkerNamingABackendThisHostCannotOpenIsAClearError(t *testing.T) {
	cfg := testConfig(t)
	openTest(t, cfg).Close()
	os.WriteFile(filepath.Join(cfg.Root, markerFile), []byte("windows_dpapi\n"), 0o600)
	_, err := Open(context.Background(), cfg)
	if !errors.Is(err, ErrBackendUnavailable) || !strings.Contains(err.Error(), "windows_dpapi") {
		t.Fatalf("Open = %v", err)
	}
}

func TestOSKeySourceChoosesTheFileBackendAndRefusesOthersBeforeWriting(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	cfg := testConfig(t)
	cfg.KeySource = KeySourceOS
	cfg.Backend = backend.KindSecretService
	_, err := Open(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "key source os needs the encrypted_file backend") {
		t.Fatalf("Open(os key, secret service) = %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Root, markerFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused Open wrote a marker: %v", err)
	}
}

func TestRefusedNewPassphraseLeavesNoBackendChoiceBehind(t *testing.T) {
	cfg := testConfig(t)
	cfg.KeySource = KeySourcePassphrase
	cfg.Passphrase = func() ([]byte, error) { return []byte("short"), nil }
	if _, err := Open(context.Background(), cfg); err == nil {
		t.Fatal("Open with a too-short new passphrase succeeded")
	}
	for _, name := range []string{markerFile, keySourceFile} {
		if _, err := os.Lstat(filepath.Join(cfg.Root, name)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the failed first Open left %s behind (%v)", name, err)
		}
	}
	// A later Open with another backend preference is free to choose.
	cfg.KeySource, cfg.Passphrase = KeySourceDevice, nil
	v := openTest(t, cfg)
	if v.Info().KeySource != KeySourceDevice {
		t.Fatalf("key source %s", v.Info().KeySource)
	}
}
