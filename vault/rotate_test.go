package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// putMany stores n self-describing test values in two scopes and returns
// their refs.
func putMany(t *testing.T, v *Vault, n int) []Ref {
	t.Helper()
	var refs []Ref
	for i := range n {
		r := Ref{Scope: []string{"global", "plugins/rot"}[i%2], Key: fmt.Sprintf("k%d", i)}
		if _, err := v.Put(context.Background(), r.Scope, r.Key, testValue(r.String())); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r)
	}
	return refs
}

// checkAll fails unless every ref reads back as its test value.
func checkAll(t *testing.T, v *Vault, refs []Ref) {
	t.Helper()
	for _, r := range refs {
		tag, err := readValue(context.Background(), v, r.Scope, r.Key)
		if err != nil || tag != r.String() {
			t.Fatalf("%s reads %q, %v", r, tag, err)
		}
	}
}

// rawObjects returns the bytes of every object file by ref.
func rawObjects(t *testing.T, cfg Config, refs []Ref) map[Ref][]byte {
	t.Helper()
	out := map[Ref][]byte{}
	for _, r := range refs {
		b, err := os.ReadFile(objectPath(cfg, r.Scope, r.Key))
		if err != nil {
			t.Fatal(err)
		}
		out[r] = b
	}
	return out
}

func rotate(t *testing.T, v *Vault, to KeySourceSpec) RotateReport {
	t.Helper()
	rep, err := v.RotateKey(context.Background(), to)
	if err != nil {
		t.Fatalf("RotateKey(%s): %v", to.Source, err)
	}
	return rep
}

func TestRotateKeyRewrapsOnlyTheDataKeys(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	refs := putMany(t, v, 10)
	before := rawObjects(t, cfg, refs)
	oldID := readState(t, cfg).Active.KEKID

	rep := rotate(t, v, KeySourceSpec{Source: KeySourceDevice})
	if rep.Rewrapped != 10 || rep.Skipped != 0 || rep.Resumed || rep.OldKeyID != oldID || rep.NewKeyID == oldID {
		t.Fatalf("report = %+v", rep)
	}
	after := rawObjects(t, cfg, refs)
	for _, r := range refs {
		b, a := before[r], after[r]
		_, n, err := envelope.ParseHeader(a)
		if err != nil || len(a) != len(b) {
			t.Fatalf("%s: rewrapped object does not parse (%v) or changed size", r, err)
		}
		keyBlock := n + envelope.KEKIDSize + envelope.NonceSize + envelope.WrappedDEKSize
		if !bytes.Equal(a[:n], b[:n]) || !bytes.Equal(a[keyBlock:], b[keyBlock:]) {
			t.Fatalf("%s: rotation changed bytes outside the key block", r)
		}
		if got := fmt.Sprintf("%x", a[n:n+envelope.KEKIDSize]); got != rep.NewKeyID {
			t.Fatalf("%s: kek_id %s, want the new key %s", r, got, rep.NewKeyID)
		}
	}
	checkAll(t, v, refs)
	v.Close()
	checkAll(t, openTest(t, cfg), refs)

	st := readState(t, cfg)
	if st.Pending != nil || st.Retired != nil || st.Active.KEKID != rep.NewKeyID {
		t.Fatalf("state after rotation = %+v", st)
	}
	if err := checkPrivate(filepath.Join(cfg.StateRoot, "keys", st.Active.File)); err != nil {
		t.Fatalf("new device key file: %v", err)
	}
	if _, err := os.Stat(DeviceKeyPath(cfg.StateRoot)); err != nil {
		t.Fatalf("the shared device.key was removed: %v", err)
	}
}

func checkPrivate(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("mode %v, want a regular file", fi.Mode())
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 { // Windows has no mode bits
		return fmt.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	return nil
}

func TestRotateKeyBetweenSources(t *testing.T) {
	tests := []struct {
		name     string
		from     string
		to       KeySourceSpec
		reopenAs string // passphrase that opens the vault afterwards, "" for none
	}{
		{"device to passphrase", KeySourceDevice, KeySourceSpec{Source: KeySourcePassphrase, Passphrase: passphrase("new passphrase", nil)}, "new passphrase"},
		{"passphrase to device", KeySourcePassphrase, KeySourceSpec{Source: KeySourceDevice}, ""},
		{"passphrase change", KeySourcePassphrase, KeySourceSpec{Source: KeySourcePassphrase, Passphrase: passphrase("new passphrase", nil)}, "new passphrase"},
		{"same source by default", KeySourcePassphrase, KeySourceSpec{Passphrase: passphrase("new passphrase", nil)}, "new passphrase"},
		{"device to device", KeySourceDevice, KeySourceSpec{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.KeySource = tt.from
			cfg.Passphrase = passphrase("old passphrase", nil)
			v := openTest(t, cfg)
			refs := putMany(t, v, 4)
			rep := rotate(t, v, tt.to)
			if rep.From != tt.from || rep.Rewrapped != 4 {
				t.Fatalf("report = %+v", rep)
			}
			checkAll(t, v, refs)
			v.Close()
			cfg.Passphrase = passphrase(tt.reopenAs, nil)
			v2 := openTest(t, cfg)
			if want := map[bool]string{true: KeySourcePassphrase, false: KeySourceDevice}[tt.reopenAs != ""]; v2.Info().KeySource != want {
				t.Fatalf("reopened with source %s, want %s", v2.Info().KeySource, want)
			}
			checkAll(t, v2, refs)
			if tt.from == KeySourcePassphrase {
				cfg.Passphrase = passphrase("old passphrase", nil)
				if err := openTest(t, cfg).Unlock(context.Background()); tt.reopenAs != "" && !errors.Is(err, ErrWrongPassphrase) {
					t.Fatalf("the old passphrase still opens the vault: %v", err)
				}
			}
		})
	}
}

func TestRotatingAwayFromARotatedDeviceKeyDeletesItsFileOnly(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	refs := putMany(t, v, 3)
	first := rotate(t, v, KeySourceSpec{})
	firstFile := filepath.Join(cfg.StateRoot, "keys", "device-"+first.NewKeyID+".key")
	if _, err := os.Stat(firstFile); err != nil {
		t.Fatal(err)
	}
	rotate(t, v, KeySourceSpec{})
	if _, err := os.Stat(firstFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the rotated-away key file is still there (%v)", err)
	}
	if _, err := os.Stat(DeviceKeyPath(cfg.StateRoot)); err != nil {
		t.Fatalf("device.key, which other vaults may share, was removed: %v", err)
	}
	keys, _ := filepath.Glob(filepath.Join(cfg.StateRoot, "keys", "*.key"))
	if len(keys) != 2 {
		t.Fatalf("key files %v, want device.key and the active one", keys)
	}
	checkAll(t, v, refs)
}

func TestHandleOpenedBeforeARotationFollowsIt(t *testing.T) {
	cfg := testConfig(t)
	stale, rotator := openTest(t, cfg), openTest(t, cfg)
	refs := putMany(t, rotator, 3)
	rotate(t, rotator, KeySourceSpec{Source: KeySourceDevice})

	checkAll(t, stale, refs) // loads the new device key by itself
	mustPut(t, stale, "global", "after", "written by the stale handle")
	if got := mustGet(t, rotator, "global", "after"); got != "written by the stale handle" {
		t.Fatalf("rotator reads %q", got)
	}
	if b, _ := os.ReadFile(objectPath(cfg, "global", "after")); !strings.Contains(fmt.Sprintf("%x", b), readState(t, cfg).Active.KEKID) {
		t.Fatal("the stale handle sealed under the old key")
	}

	rotate(t, rotator, KeySourceSpec{Source: KeySourcePassphrase, Passphrase: passphrase("a new passphrase", nil)})
	if _, err := stale.Put(context.Background(), "global", "x", []byte("v")); !errors.Is(err, ErrKeyRotated) || !strings.Contains(err.Error(), "open the vault again") {
		t.Fatalf("Put through a handle that cannot load the new passphrase key = %v, want ErrKeyRotated", err)
	}
	if _, _, err := stale.Get(context.Background(), refs[0].Scope, refs[0].Key); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Get through that handle = %v, want ErrWrongKey", err)
	}
}

func TestRotationPastADamagedObjectStaysPendingAndNamesIt(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	refs := putMany(t, v, 5)
	bad := refs[2]
	path := objectPath(cfg, bad.Scope, bad.Key)
	b, _ := os.ReadFile(path)
	_, n, _ := envelope.ParseHeader(b)
	b[n+envelope.KEKIDSize+envelope.NonceSize] ^= 1 // the wrapped DEK
	os.WriteFile(path, b, 0o600)

	_, err := v.RotateKey(context.Background(), KeySourceSpec{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), bad.String()) || !strings.Contains(err.Error(), "stays pending") {
		t.Fatalf("RotateKey = %v, want ErrCorrupt naming %s", err, bad)
	}
	if src, pending, err := v.PendingRotation(); !pending || src != KeySourceDevice || err != nil {
		t.Fatalf("PendingRotation = %q, %v, %v", src, pending, err)
	}
	good := append(append([]Ref{}, refs[:2]...), refs[3:]...)
	v.Close()
	v2 := openTest(t, cfg) // a fresh handle reads both old- and new-key objects
	checkAll(t, v2, good)

	if _, err := v2.Delete(context.Background(), bad.Scope, bad.Key); err != nil {
		t.Fatal(err)
	}
	rep := rotate(t, v2, KeySourceSpec{})
	if !rep.Resumed || rep.Skipped != 4 || rep.Rewrapped != 0 {
		t.Fatalf("resumed rotation report = %+v", rep)
	}
	if _, pending, _ := v2.PendingRotation(); pending {
		t.Fatal("rotation still pending after it finished")
	}
	checkAll(t, v2, good)
}

func TestInterruptedRotationMustFinishBeforeAnotherStarts(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	refs := putMany(t, v, 6)
	ctx, cancel := context.WithCancel(context.Background())
	rotateHook = func(step string) {
		if step == "rewrapped" {
			cancel()
		}
	}
	_, err := v.RotateKey(ctx, KeySourceSpec{})
	rotateHook = nil
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stays pending") {
		t.Fatalf("cancelled RotateKey = %v", err)
	}
	before := hashTree(t, cfg.Root)
	called := false
	_, err = v.RotateKey(context.Background(), KeySourceSpec{Source: KeySourcePassphrase, Passphrase: func() ([]byte, error) {
		called = true
		return []byte("some passphrase"), nil
	}})
	if !errors.Is(err, ErrRotationPending) || called || hashTree(t, cfg.Root) != before {
		t.Fatalf("rotation to another source during a pending one = %v (passphrase asked: %v); want ErrRotationPending and no change", err, called)
	}
	rep := rotate(t, v, KeySourceSpec{Source: KeySourceDevice})
	if !rep.Resumed || rep.Skipped != 1 || rep.Rewrapped != 5 {
		t.Fatalf("resumed report = %+v", rep)
	}
	checkAll(t, v, refs)
}

func TestRotationIsRefusedWhenTheActiveKeyIsWrong(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	putMany(t, v, 2)
	v.Close()
	os.WriteFile(DeviceKeyPath(cfg.StateRoot), bytes.Repeat([]byte{9}, 32), 0o600)
	v2 := openTest(t, cfg)
	before := hashTree(t, cfg.Root)
	if _, err := v2.RotateKey(context.Background(), KeySourceSpec{}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("RotateKey under a replaced device key = %v, want ErrWrongKey", err)
	}
	if hashTree(t, cfg.Root) != before {
		t.Fatal("a refused rotation changed the vault")
	}
}

func TestRotationToAnUnknownSourceChangesNothing(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	putMany(t, v, 1)
	before := hashTree(t, cfg.Root)
	if _, err := v.RotateKey(context.Background(), KeySourceSpec{Source: "hsm"}); err == nil || !strings.Contains(err.Error(), `unknown key source "hsm"`) {
		t.Fatalf("RotateKey = %v", err)
	}
	if _, err := v.RotateKey(context.Background(), KeySourceSpec{Source: KeySourcePassphrase, Passphrase: passphrase("short", nil)}); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Fatalf("RotateKey to a too-short passphrase = %v", err)
	}
	if hashTree(t, cfg.Root) != before {
		t.Fatal("a refused rotation changed the vault")
	}
}
