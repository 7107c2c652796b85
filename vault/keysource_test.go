package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/keysource"
)

// Every test of this package makes passphrase keys with the cheapest
// Argon2id parameters; TestNewPassphraseKeysUseDefaultParameters checks the
// real ones.
func init() { keysource.TestCheapKDF = true }

// passphrase returns a Config.Passphrase function that hands out a fresh
// copy of p on each call and records the slices it gave out, so a test can
// check they were wiped.
func passphrase(p string, given *[][]byte) func() ([]byte, error) {
	return func() ([]byte, error) {
		b := []byte(p)
		if given != nil {
			*given = append(*given, b)
		}
		return b, nil
	}
}

func passphraseConfig(t *testing.T, p string) Config {
	cfg := testConfig(t)
	cfg.KeySource = KeySourcePassphrase
	cfg.Passphrase = passphrase(p, nil)
	return cfg
}

func readState(t *testing.T, cfg Config) *keysource.State {
	t.Helper()
	st, err := keysource.ReadState(cfg.Root)
	if err != nil || st == nil {
		t.Fatalf("readKeyState = %v, %v", st, err)
	}
	return st
}

// activeKEK returns the vault's active key, loading it if need be.
func activeKEK(t testing.TB, v *Vault) *envelope.KEK {
	t.Helper()
	kek, err := v.keys.Sealing(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return kek
}

func TestNewVaultRecordsItsKeySourceInAPrivateFile(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(t *testing.T) Config
		source string
	}{
		{"default is device", testConfig, KeySourceDevice},
		{"passphrase", func(t *testing.T) Config { return passphraseConfig(t, "correct horse") }, KeySourcePassphrase},
		{"environment, through WithEnv", func(t *testing.T) Config {
			t.Setenv(EnvKeySource, KeySourcePassphrase)
			cfg := testConfig(t)
			cfg.Passphrase = passphrase("correct horse", nil)
			return cfg.WithEnv()
		}, KeySourcePassphrase},
		{"config wins over environment", func(t *testing.T) Config {
			t.Setenv(EnvKeySource, KeySourcePassphrase)
			cfg := testConfig(t)
			cfg.KeySource = KeySourceDevice
			return cfg.WithEnv()
		}, KeySourceDevice},
		{"Open ignores the environment", func(t *testing.T) Config {
			t.Setenv(EnvKeySource, KeySourcePassphrase)
			return testConfig(t)
		}, KeySourceDevice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg(t)
			v := openTest(t, cfg)
			if got := v.Info().KeySource; got != tt.source {
				t.Fatalf("Info().KeySource = %q, want %q", got, tt.source)
			}
			fi, err := os.Lstat(filepath.Join(cfg.Root, keySourceFile))
			if err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) { // Windows has no mode bits
				t.Fatalf("key source file: %v, %v; want mode 0600", fi, err)
			}
			st := readState(t, cfg)
			if st.Active.Source != tt.source || st.VaultID != v.Info().ID {
				t.Fatalf("state = %+v, want source %s and vault id %s", st, tt.source, v.Info().ID)
			}
			mustPut(t, v, "global", "k", "value")
			v.Close()
			cfg.KeySource = "" // an existing vault ignores the preference
			if got := mustGet(t, openTest(t, cfg), "global", "k"); got != "value" {
				t.Fatalf("reopened vault reads %q", got)
			}
		})
	}
}

func TestPassphraseVaultRoundTripsAcrossReopenAndWipesThePassphrase(t *testing.T) {
	cfg := passphraseConfig(t, "correct horse battery")
	var given [][]byte
	cfg.Passphrase = passphrase("correct horse battery", &given)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "api", "sk-123")
	v.Close()
	v2 := openTest(t, cfg)
	if got := mustGet(t, v2, "global", "api"); got != "sk-123" {
		t.Fatalf("Get = %q", got)
	}
	if len(given) != 2 {
		t.Fatalf("Passphrase called %d times over two opens, want 2", len(given))
	}
	for i, b := range given {
		if !bytes.Equal(b, make([]byte, len(b))) {
			t.Fatalf("passphrase slice %d was not wiped: %q", i, b)
		}
	}
	data, _ := os.ReadFile(filepath.Join(cfg.Root, keySourceFile))
	if bytes.Contains(data, []byte("correct horse")) {
		t.Fatal("the key source file contains the passphrase")
	}
}

func TestWrongPassphraseIsReportedAsSuchAtFirstUseAndChangesNothing(t *testing.T) {
	cfg := passphraseConfig(t, "correct horse battery")
	v := openTest(t, cfg)
	mustPut(t, v, "global", "api", "sk-123")
	v.Close()
	var given [][]byte
	cfg.Passphrase = passphrase("wrong horse battery", &given)
	v2, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open needs no key, yet failed: %v", err)
	}
	defer v2.Close()
	if list, err := v2.List(context.Background(), ""); err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	before := hashTree(t, cfg.Root) // after List, which may refresh the header cache
	ops := map[string]func() error{
		"Get":    func() error { _, _, err := v2.Get(context.Background(), "global", "api"); return err },
		"Put":    func() error { _, err := v2.Put(context.Background(), "global", "other", []byte("v")); return err },
		"Unlock": func() error { return v2.Unlock(context.Background()) },
		"Delete": func() error { _, err := v2.Delete(context.Background(), "global", "api"); return err },
	}
	for _, name := range []string{"Get", "Put", "Delete", "Unlock", "Get"} {
		err := ops[name]()
		if !errors.Is(err, ErrWrongPassphrase) || errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s with a wrong passphrase = %v, want ErrWrongPassphrase and not ErrCorrupt", name, err)
		}
		if strings.Contains(err.Error(), "wrong horse") {
			t.Fatalf("error %q contains the passphrase", err)
		}
	}
	if len(given) != 1 {
		t.Fatalf("a wrong passphrase was asked for %d times, want once per handle", len(given))
	}
	if hashTree(t, cfg.Root) != before {
		t.Fatal("a wrong passphrase changed the vault")
	}
}

// failingPassphrase returns a Passphrase function that fails the test if
// called.
func failingPassphrase(t *testing.T) func() ([]byte, error) {
	return func() ([]byte, error) {
		t.Error("the passphrase was asked for")
		return nil, errors.New("no passphrase here")
	}
}

func TestOpenListAndStatNeverAskForThePassphrase(t *testing.T) {
	cfg := passphraseConfig(t, "correct horse battery")
	v := openTest(t, cfg)
	mustPut(t, v, "global", "api", "sk-123")
	v.Close()

	cfg.Passphrase = failingPassphrase(t)
	v2 := openTest(t, cfg)
	if list, err := v2.List(context.Background(), ""); err != nil || len(list) != 1 || list[0].Key != "api" {
		t.Fatalf("List = %v, %v", list, err)
	}
	if md, err := v2.Stat(context.Background(), "global", "api"); err != nil || md.Size != len("sk-123") {
		t.Fatalf("Stat = %+v, %v", md, err)
	}
	if src := v2.Info().KeySource; src != KeySourcePassphrase {
		t.Fatalf("Info().KeySource = %q", src)
	}
}

func TestFirstUseAsksForThePassphraseExactlyOnceEvenConcurrently(t *testing.T) {
	cfg := passphraseConfig(t, "correct horse battery")
	v := openTest(t, cfg)
	mustPut(t, v, "global", "api", "sk-123")
	v.Close()

	var mu sync.Mutex
	calls := 0
	cfg.Passphrase = func() ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return []byte("correct horse battery"), nil
	}
	v2 := openTest(t, cfg)
	if calls != 0 {
		t.Fatalf("Open asked for the passphrase %d times", calls)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			s, _, err := v2.Get(context.Background(), "global", "api")
			if err == nil && string(s.Reveal()) != "sk-123" {
				err = fmt.Errorf("Get = %q", s.Reveal())
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, v2, "global", "more", "v")
	if calls != 1 {
		t.Fatalf("the passphrase was asked for %d times, want 1", calls)
	}
}

func TestOpenDoesNotReadTheDeviceKey(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "k", "v")
	v.Close()
	key := DeviceKeyPath(cfg.StateRoot)
	if err := os.Rename(key, key+".away"); err != nil {
		t.Fatal(err)
	}
	v2 := openTest(t, cfg)
	if list, err := v2.List(context.Background(), ""); err != nil || len(list) != 1 {
		t.Fatalf("List without the device key = %v, %v", list, err)
	}
	if _, _, err := v2.Get(context.Background(), "global", "k"); !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("Get without the device key = %v, want ErrWrongKey saying it is missing", err)
	}
	// A key restored later is found by the next use: only a passphrase is
	// asked for once per handle.
	if err := os.Rename(key+".away", key); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, v2, "global", "k"); got != "v" {
		t.Fatalf("Get after restoring the key = %q", got)
	}
}

func TestPassphraseProblemsAreClearErrors(t *testing.T) {
	tests := []struct {
		name    string
		pass    func() ([]byte, error)
		want    error
		wantMsg string
	}{
		{"no passphrase function", nil, ErrPassphraseRequired, "key source passphrase needs one"},
		{"empty", passphrase("", nil), nil, "new passphrase must not be empty"},
		{"too short", passphrase("short", nil), nil, "at least 8"},
		{"too long", passphrase(strings.Repeat("x", MaxPassphraseLen+1), nil), nil, "limit is 1024"},
		{"prompt fails", func() ([]byte, error) { return nil, errors.New("no terminal") }, nil, "reading new passphrase: no terminal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.KeySource = KeySourcePassphrase
			cfg.Passphrase = tt.pass
			_, err := Open(context.Background(), cfg)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Open = %v, want an error saying %q", err, tt.wantMsg)
			}
			if _, err := os.Lstat(filepath.Join(cfg.Root, keySourceFile)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a failed Open left a key source file (%v)", err)
			}
		})
	}
}

func TestUnknownKeySourceIsRefusedByName(t *testing.T) {
	cfg := testConfig(t)
	cfg.KeySource = "yubikey"
	_, err := Open(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), `unknown key source "yubikey"`) || !strings.Contains(err.Error(), "device, passphrase, os") {
		t.Fatalf("Open = %v, want an error naming the source and the choices", err)
	}
}

func TestVaultWithoutKeySourceFileKeepsItsDeviceKey(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "k", "v1")
	v.Close()
	// A vault made before key sources existed has no key source file.
	if err := os.Remove(filepath.Join(cfg.Root, keySourceFile)); err != nil {
		t.Fatal(err)
	}
	cfg.KeySource = KeySourcePassphrase
	cfg.Passphrase = func() ([]byte, error) { t.Fatal("Passphrase called for a device vault"); return nil, nil }
	v2 := openTest(t, cfg)
	if v2.Info().KeySource != KeySourceDevice || mustGet(t, v2, "global", "k") != "v1" {
		t.Fatalf("old vault opened as %q", v2.Info().KeySource)
	}
	if st := readState(t, cfg); st.Active.File != "device.key" {
		t.Fatalf("recorded %+v, want the shared device key", st.Active)
	}
}

func TestReplacedDeviceKeyStillListsButRefusesToSeal(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "k", "v")
	v.Close()
	if err := os.WriteFile(DeviceKeyPath(cfg.StateRoot), bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	v2 := openTest(t, cfg)
	if list, err := v2.List(context.Background(), ""); err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	if _, err := v2.Put(context.Background(), "global", "k2", []byte("v")); !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "was it replaced") {
		t.Fatalf("Put under a replaced device key = %v, want ErrWrongKey saying so", err)
	}
}

// writeRawState replaces the key source file with the JSON of st after edit.
func editState(t *testing.T, cfg Config, edit func(m map[string]any)) {
	t.Helper()
	path := filepath.Join(cfg.Root, keySourceFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, _ := json.Marshal(m)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func kdf(m map[string]any) map[string]any {
	return m["active"].(map[string]any)["kdf"].(map[string]any)
}

func TestTamperedKeySourceFileIsRefusedBeforeAnyWork(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(m map[string]any)
		wantMsg string
	}{
		{"memory of 4 GiB", func(m map[string]any) { kdf(m)["memory_kib"] = 4 << 20 }, "memory_kib 4194304 out of range"},
		{"a million passes", func(m map[string]any) { kdf(m)["time"] = 1_000_000 }, "time 1000000 out of range"},
		{"no threads", func(m map[string]any) { kdf(m)["threads"] = 0 }, "threads 0 out of range"},
		{"short salt", func(m map[string]any) { kdf(m)["salt"] = "AAAA" }, "salt of 3 bytes"},
		{"other algorithm", func(m map[string]any) { kdf(m)["algorithm"] = "pbkdf2" }, `algorithm "pbkdf2"`},
		{"other argon2 version", func(m map[string]any) { kdf(m)["version"] = 16 }, "version 16"},
		{"unknown source", func(m map[string]any) { m["active"].(map[string]any)["source"] = "tpm" }, `active.source "tpm"`},
		{"bad key id", func(m map[string]any) { m["active"].(map[string]any)["kek_id"] = "xyz" }, `active.kek_id "xyz"`},
		{"unknown field", func(m map[string]any) { m["surprise"] = true }, "unknown field"},
		{"other format", func(m map[string]any) { m["format"] = "palyra-vault keysource v9" }, "v9"},
		{"device file path", func(m map[string]any) {
			m["active"] = map[string]any{"source": "device", "kek_id": strings.Repeat("ab", 16), "file": "../../etc/passwd"}
		}, `active.file "../../etc/passwd"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := passphraseConfig(t, "correct horse battery")
			openTest(t, cfg).Close()
			editState(t, cfg, tt.edit)
			called := false
			cfg.Passphrase = func() ([]byte, error) { called = true; return []byte("correct horse battery"), nil }
			_, err := Open(context.Background(), cfg)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), keySourceFile) {
				t.Fatalf("Open = %v, want ErrCorrupt naming the file and %q", err, tt.wantMsg)
			}
			if called {
				t.Fatal("the passphrase was asked for before the file was validated")
			}
		})
	}
}

func TestKeySourceFileWithUnsafeModeIsRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix mode bits: Windows has none, so no mode is unsafe there")
	}
	cfg := testConfig(t)
	openTest(t, cfg).Close()
	// Others can write it: refused (0644 would be tightened, see
	// TestOpenTightensWhatOthersCanOnlyRead).
	if err := os.Chmod(filepath.Join(cfg.Root, keySourceFile), 0o646); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), cfg); !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Open = %v, want ErrPermission with the fix", err)
	}
}
