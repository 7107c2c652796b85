//go:build unix

package vault

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/internal/testutil/keyringproc"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/secretservice"
)

// These tests run a real gnome-keyring-daemon of their own (keyringproc),
// not the one scripts/secret-service-run.sh may give the whole suite: they
// lock its default collection, which would break other packages' tests
// sharing that keyring. The keyring has no display and no prompter, so a
// locked collection can only be unlocked with a prompt that can never be
// answered: the case of a keyring reached over SSH.

// privateKeyring starts a private gnome-keyring, stopped when the test
// ends; without one it skips the test, or fails it in CI.
func privateKeyring(t *testing.T) *keyringproc.Keyring {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("gnome-keyring is tested on Linux; this is %s", runtime.GOOS)
	}
	k, err := keyringproc.Start("palyra-vault-locked-test")
	if err != nil {
		testutil.SkipOrFailInCI(t, err.Error())
	}
	t.Cleanup(k.Stop)
	return k
}

// keyringConfig is testConfig on the private keyring's bus.
func keyringConfig(t *testing.T, k *keyringproc.Keyring, kind backend.Kind) Config {
	cfg := testConfig(t)
	cfg.SessionBus = k.Addr
	cfg.Backend = kind
	return cfg
}

// noticesOf makes cfg record its backend notices.
func noticesOf(cfg *Config) *[]BackendNotice {
	var got []BackendNotice
	cfg.OnBackendNotice = func(n BackendNotice) { got = append(got, n) }
	return &got
}

func TestAutoSkipsALockedSecretServiceAndSaysWhy(t *testing.T) {
	k := privateKeyring(t)
	if err := k.Lock(); err != nil {
		t.Fatal(err)
	}
	cfg := keyringConfig(t, k, backend.KindAuto)
	notices := noticesOf(&cfg)
	v := openTest(t, cfg)
	if got := v.Info().Backend; got != backend.KindEncryptedFile {
		t.Fatalf("auto chose %s on a locked keyring, want encrypted_file", got)
	}
	if got := currentMarker(t, cfg); got != backend.KindEncryptedFile {
		t.Fatalf("marker names %s, want encrypted_file", got)
	}
	mustPut(t, v, "global", "token", "s3cret")
	if got := mustGet(t, v, "global", "token"); got != "s3cret" {
		t.Fatalf("Get = %q", got)
	}
	if len(*notices) != 1 {
		t.Fatalf("%d notices, want 1: %+v", len(*notices), *notices)
	}
	n := (*notices)[0]
	if n.Chosen != backend.KindEncryptedFile || n.Replaced != "" || len(n.Skipped) != 1 {
		t.Fatalf("notice %+v", n)
	}
	if s := n.Skipped[0]; s.Kind != backend.KindSecretService || !s.Locked || s.Available ||
		!strings.Contains(s.Reason, "locked") || !strings.Contains(s.Advice, "unlock") {
		t.Fatalf("skipped %+v, want the Secret Service, locked, with the reason and how to unlock it", s)
	}
	// Reopening says nothing more: the choice is made once.
	cfg2 := cfg
	again := noticesOf(&cfg2)
	openTest(t, cfg2).Close()
	if len(*again) != 0 {
		t.Fatalf("reopening the vault gave notices %+v", *again)
	}

	// The backend report and doctor say locked, with the remedy.
	for _, st := range v.ProbeBackends(context.Background()) {
		if st.Kind == backend.KindSecretService && (st.Available || !st.Locked || st.Advice == "") {
			t.Errorf("ProbeBackends: secret service %+v, want locked with advice", st)
		}
	}
	rep := Doctor(context.Background(), cfg)
	ss := check(t, rep.Backends, string(backend.KindSecretService))
	if ss.Available || !ss.Locked || !strings.Contains(ss.Advice, "unlock") {
		t.Errorf("doctor: secret service %+v, want locked with how to unlock it", ss)
	}
	if osk := check(t, rep.KeySources, KeySourceOS); osk.Available || !osk.Locked {
		t.Errorf("doctor: os key source %+v, want locked", osk)
	}
	if rep.Auto != backend.KindEncryptedFile {
		t.Errorf("doctor: auto = %s, want encrypted_file", rep.Auto)
	}

	// Unlocked, the Secret Service is usable again, and auto takes it.
	if err := k.Unlock(); err != nil {
		t.Fatal(err)
	}
	rep = Doctor(context.Background(), cfg)
	if ss := check(t, rep.Backends, string(backend.KindSecretService)); !ss.Available || ss.Locked {
		t.Errorf("doctor after unlocking: secret service %+v", ss)
	}
	if rep.Auto != backend.KindSecretService {
		t.Errorf("doctor after unlocking: auto = %s", rep.Auto)
	}
	cfg3 := keyringConfig(t, k, backend.KindAuto)
	fresh := noticesOf(&cfg3)
	w := openTest(t, cfg3)
	if got := w.Info().Backend; got != backend.KindSecretService {
		t.Fatalf("auto after unlocking chose %s", got)
	}
	mustPut(t, w, "global", "token", "on the keyring")
	if got := mustGet(t, w, "global", "token"); got != "on the keyring" {
		t.Fatalf("Get = %q", got)
	}
	if len(*fresh) != 0 {
		t.Errorf("auto took the first backend, yet notices %+v", *fresh)
	}
}

func TestProbingALockedKeyringNeitherUnlocksItNorLeavesItems(t *testing.T) {
	k := privateKeyring(t)
	if err := k.Lock(); err != nil {
		t.Fatal(err)
	}
	Doctor(context.Background(), keyringConfig(t, k, ""))
	// Still locked: Lock checks the state after locking again, and an
	// Unlock would have been visible as Locked=false before it.
	s, err := secretservice.Open(context.Background(), secretservice.Options{Address: k.Addr, NoUnlock: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.List(context.Background()); !errors.Is(err, secretservice.ErrLocked) {
		t.Fatalf("after probing, List = %v; want the collection still locked", err)
	}
	if err := k.Unlock(); err != nil {
		t.Fatal(err)
	}
	items, err := secretservice.Search(context.Background(), secretservice.Options{Address: k.Addr}, map[string]string{"xdg:schema": secretservice.ProbeSchema})
	if err != nil || len(items) != 0 {
		t.Fatalf("probe items left: %d, %v", len(items), err)
	}
}

func TestEmptyVaultMovesToTheBackendAskedFor(t *testing.T) {
	k := privateKeyring(t)
	cfg := keyringConfig(t, k, backend.KindSecretService)
	openTest(t, cfg).Close() // an empty vault on the Secret Service

	cfg.Backend = backend.KindEncryptedFile
	notices := noticesOf(&cfg)
	v := openTest(t, cfg)
	if got := v.Info().Backend; got != backend.KindEncryptedFile {
		t.Fatalf("the empty vault stayed on %s", got)
	}
	if got := currentMarker(t, cfg); got != backend.KindEncryptedFile {
		t.Fatalf("marker names %s", got)
	}
	if len(*notices) != 1 || (*notices)[0].Replaced != backend.KindSecretService || (*notices)[0].Chosen != backend.KindEncryptedFile {
		t.Fatalf("notices %+v, want one saying the vault moved from the Secret Service", *notices)
	}
	mustPut(t, v, "global", "token", "moved")
	if got := mustGet(t, v, "global", "token"); got != "moved" {
		t.Fatalf("Get = %q", got)
	}
	// Auto and an empty preference leave an existing vault where it is.
	for _, pref := range []backend.Kind{"", backend.KindAuto} {
		c := cfg
		c.Backend = pref
		if got := openTest(t, c).Info().Backend; got != backend.KindEncryptedFile {
			t.Fatalf("Open with backend %q moved the vault to %s", pref, got)
		}
	}
}

func TestVaultThatHoldsSecretsOrCannotTellStaysWhereItIs(t *testing.T) {
	k := privateKeyring(t)
	full := keyringConfig(t, k, backend.KindSecretService)
	v := openTest(t, full)
	mustPut(t, v, "global", "token", "kept")
	v.Close()
	empty := keyringConfig(t, k, backend.KindSecretService)
	openTest(t, empty).Close()
	if err := k.Lock(); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		cfg   Config
		want  error    // wrapped by the error
		words []string // in the error and its hints
	}{
		{"locked, one secret", full, secretservice.ErrLocked, []string{"cannot tell whether the vault holds secrets", "locked", "unlock", "palyra secrets migrate --to encrypted_file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := treeHash(t, c.cfg.Root)
			cfg := c.cfg
			cfg.Backend = backend.KindEncryptedFile
			notices := noticesOf(&cfg)
			_, err := Open(context.Background(), cfg)
			if !errors.Is(err, c.want) || !errors.Is(err, ErrBackendUnavailable) {
				t.Fatalf("Open = %v, want an error wrapping %v and ErrBackendUnavailable", err, c.want)
			}
			text := err.Error() + " " + allHints(err)
			for _, w := range c.words {
				if !strings.Contains(text, w) {
					t.Errorf("error %q (hints %q) does not say %q", err, allHints(err), w)
				}
			}
			if after := treeHash(t, c.cfg.Root); after != before {
				t.Errorf("the refused Open changed the vault:\n%s\n---\n%s", before, after)
			}
			if len(*notices) != 0 {
				t.Errorf("notices %+v", *notices)
			}
		})
	}

	// Still locked: the empty vault moves, since a search by its
	// attributes, which the locked collection answers, finds no item (the
	// keyring over SSH, where the first "set" of an older palyra wrote the
	// marker and nothing else).
	locked := empty
	locked.Backend = backend.KindEncryptedFile
	notices := noticesOf(&locked)
	if got := openTest(t, locked).Info().Backend; got != backend.KindEncryptedFile {
		t.Fatalf("the empty vault on a locked keyring stayed on %s", got)
	}
	if len(*notices) != 1 || (*notices)[0].Replaced != backend.KindSecretService {
		t.Fatalf("notices %+v, want one saying the vault moved", *notices)
	}

	// Unlocked: the vault with a secret is refused with the way out.
	if err := k.Unlock(); err != nil {
		t.Fatal(err)
	}
	before := treeHash(t, full.Root)
	cfg := full
	cfg.Backend = backend.KindEncryptedFile
	_, err := Open(context.Background(), cfg)
	if !errors.Is(err, ErrBackendUnavailable) || !strings.Contains(err.Error(), "holds 1 secret") ||
		!strings.Contains(allHints(err), `palyra secrets migrate --to encrypted_file`) {
		t.Fatalf("Open of a vault with a secret = %v (hints %q), want a refusal naming migrate", err, allHints(err))
	}
	if after := treeHash(t, full.Root); after != before {
		t.Errorf("the refused Open changed the vault")
	}
	if got := mustGet(t, openTest(t, full), "global", "token"); got != "kept" {
		t.Fatalf("Get = %q", got)
	}
}

func TestMigrateFromALockedSecretServiceSaysItIsLocked(t *testing.T) {
	k := privateKeyring(t)
	cfg := keyringConfig(t, k, backend.KindSecretService)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "token", "kept")
	v.Close()
	if err := k.Lock(); err != nil {
		t.Fatal(err)
	}
	cfg.Backend = ""
	v = openTest(t, cfg)
	_, err := v.Migrate(context.Background(), backend.KindEncryptedFile)
	if !errors.Is(err, secretservice.ErrLocked) || !strings.Contains(err.Error(), "locked") ||
		!strings.Contains(allHints(err), "unlock the default keyring") {
		t.Fatalf("Migrate from a locked keyring = %v (hints %q), want it to say locked and how to unlock", err, allHints(err))
	}
	if got := currentMarker(t, cfg); got != backend.KindSecretService {
		t.Fatalf("the failed migration switched the marker to %s", got)
	}
	if _, err := os.Stat(filepath.Join(cfg.Root, migrateFromFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the failed migration left %s: %v", migrateFromFile, err)
	}
	if err := k.Unlock(); err != nil {
		t.Fatal(err)
	}
	if rep, err := v.Migrate(context.Background(), backend.KindEncryptedFile); err != nil || rep.Copied != 1 {
		t.Fatalf("Migrate after unlocking = %+v, %v", rep, err)
	}
	if got := mustGet(t, v, "global", "token"); got != "kept" {
		t.Fatalf("Get after migrating = %q", got)
	}
}

// treeHash hashes the names, modes and contents of everything under dir.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%v\x00", path, fi.Mode())
		if d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%d\x00", len(data))
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("hashing %s: %v", dir, err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// allHints joins every hint in err's chain, as the CLI prints them.
func allHints(err error) string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		switch e := err.(type) {
		case interface{ Hints() []string }:
			out = append(out, e.Hints()...)
		case interface{ Hint() string }:
			out = append(out, e.Hint())
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return strings.Join(out, " | ")
}
