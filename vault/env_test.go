package vault

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
)

// clearVaultEnv empties every variable ConfigFromEnv reads.
func clearVaultEnv(t *testing.T) {
	for _, k := range []string{EnvVaultDir, secret.EnvStateRoot, EnvBackend, EnvKeySource, EnvTestCheapKDF, "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"} {
		t.Setenv(k, "")
	}
}

func TestConfigFromEnvReadsEachVariableIntoItsField(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Config
	}{
		{"nothing set leaves every field empty", nil, Config{}},
		{"vault dir", map[string]string{EnvVaultDir: "/v"}, Config{Root: "/v"}},
		{"state root", map[string]string{secret.EnvStateRoot: "/s"}, Config{StateRoot: "/s"}},
		{"backend", map[string]string{EnvBackend: "encrypted_file"}, Config{Backend: backend.KindEncryptedFile}},
		{"key source", map[string]string{EnvKeySource: "passphrase"}, Config{KeySource: KeySourcePassphrase}},
		{"session bus", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/b"}, Config{SessionBus: "unix:path=/b"}},
		{"cheap KDF, inside a test binary", map[string]string{EnvTestCheapKDF: "1"}, Config{cheapKDF: true}},
		{"cheap KDF needs exactly 1", map[string]string{EnvTestCheapKDF: "yes"}, Config{}},
		{"all at once", map[string]string{EnvVaultDir: "/v", secret.EnvStateRoot: "/s", EnvBackend: "auto", EnvKeySource: "os"},
			Config{Root: "/v", StateRoot: "/s", Backend: backend.KindAuto, KeySource: KeySourceOS}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearVaultEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got := ConfigFromEnv()
			if got.Passphrase != nil {
				t.Fatal("ConfigFromEnv set a passphrase function")
			}
			if comparable(got) != comparable(tt.want) {
				t.Fatalf("ConfigFromEnv() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// comparableConfig is Config without its function field.
type comparableConfig struct {
	root, stateRoot, keySource, bus string
	backend                         backend.Kind
	max                             int
	cheap                           bool
}

func comparable(c Config) comparableConfig {
	return comparableConfig{c.Root, c.StateRoot, c.KeySource, c.SessionBus, c.Backend, c.MaxSecretSize, c.cheapKDF}
}

func TestWithEnvFillsOnlyEmptyFields(t *testing.T) {
	clearVaultEnv(t)
	t.Setenv(EnvVaultDir, "/env/vault")
	t.Setenv(secret.EnvStateRoot, "/env/state")
	t.Setenv(EnvBackend, "auto")
	got := Config{StateRoot: "/flag/state", Backend: backend.KindEncryptedFile}.WithEnv()
	want := Config{Root: "/env/vault", StateRoot: "/flag/state", Backend: backend.KindEncryptedFile}
	if got.Root != want.Root || got.StateRoot != want.StateRoot || got.Backend != want.Backend || got.KeySource != "" {
		t.Fatalf("WithEnv = %+v, want %+v", got, want)
	}
}

func TestOpenTakesItsPathsFromTheConfigNeverTheEnvironment(t *testing.T) {
	dir := testutil.TempDir(t)
	elsewhere := filepath.Join(dir, "elsewhere")
	clearVaultEnv(t)
	t.Setenv(EnvVaultDir, filepath.Join(elsewhere, "vault"))
	t.Setenv(secret.EnvStateRoot, filepath.Join(elsewhere, "state"))
	t.Setenv(EnvBackend, "no_such_backend")

	cfg := Config{Root: filepath.Join(dir, "mine", "vault"), StateRoot: filepath.Join(dir, "mine", "state")}
	v := openTest(t, cfg)
	mustPut(t, v, "global", "k", "v")
	// Open succeeded although $PALYRA_VAULT_BACKEND names no backend: it
	// chose automatically (encrypted_file here, windows_dpapi on Windows).
	if info := v.Info(); info.Root != cfg.Root || info.StateRoot != cfg.StateRoot || info.Backend == "no_such_backend" {
		t.Fatalf("Info = %+v, want the config's paths and the auto backend", info)
	}
	if _, err := os.Stat(elsewhere); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open touched the environment's paths: %v", err)
	}

	// An empty Config means the platform default, not the environment.
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "xdg"))
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("LOCALAPPDATA", filepath.Join(dir, "localappdata"))
	def, err := secret.DefaultStateRoot()
	if err != nil {
		t.Fatal(err)
	}
	stateRoot, root, err := Paths(Config{})
	if err != nil || stateRoot != def || root != filepath.Join(def, "vault") {
		t.Fatalf("Paths(Config{}) = %q, %q, %v; want the platform default %q", stateRoot, root, err, def)
	}
	v2, err := Open(context.Background(), Config{Backend: backend.KindEncryptedFile})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if v2.Info().Root != filepath.Join(def, "vault") {
		t.Fatalf("Open(Config{}) used %s, want %s", v2.Info().Root, filepath.Join(def, "vault"))
	}
	if _, err := os.Stat(elsewhere); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open(Config{}) touched the environment's paths: %v", err)
	}
}
