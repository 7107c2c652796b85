package keysource

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newDeviceVault keys a vault root with the state root's device key and
// returns the root, the site and the state ReadState gives back.
func newDeviceVault(t *testing.T) (string, Site, *State) {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "vault")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	site := Site{StateRoot: filepath.Join(dir, "state"), VaultID: testVaultID}
	kek, spec, err := deviceSource{}.New(context.Background(), site, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	clear(kek[:])
	if err := WriteState(root, &State{VaultID: testVaultID, Active: spec}); err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(root)
	if err != nil || st == nil {
		t.Fatalf("ReadState: %v, %v", st, err)
	}
	return root, site, st
}

// A ring made from ReadState's state does not read keysource.json again
// while the path names the same file, unchanged: shown by changing the
// file in place behind its stamp's back (same inode, size, mode and
// modification time), which no writer of the vault ever does.
func TestKeyringDoesNotRereadAnUnchangedKeySourceFile(t *testing.T) {
	root, site, st := newDeviceVault(t)
	kr := NewKeyring(root, site, st, nil)
	path := Path(root)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	other := strings.Repeat("0", 32)
	forged := bytes.Replace(data, []byte(st.Active.KEKID), []byte(other), 1)
	if err := os.WriteFile(path, forged, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := kr.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := kr.state.Active.KEKID; got != st.Active.KEKID {
		t.Fatalf("the ring reread the unchanged file: active kek_id %s, want %s", got, st.Active.KEKID)
	}
	if _, err := kr.Sealing(context.Background()); err != nil {
		t.Fatalf("Sealing: %v", err)
	}
}

// A file replaced since ReadState (as every writer replaces it: a rename)
// is read again by the ring's first load.
func TestKeyringRereadsAReplacedKeySourceFile(t *testing.T) {
	root, site, st := newDeviceVault(t)
	kr := NewKeyring(root, site, st, nil)
	next := *st
	next.stamp = nil
	next.Retired = &Spec{Source: Device, KEKID: testKEKID2, File: "device-" + testKEKID2 + ".key"}
	if err := WriteState(root, &next); err != nil {
		t.Fatal(err)
	}
	if err := kr.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if kr.state.Retired == nil || kr.state.Retired.KEKID != testKEKID2 {
		t.Fatalf("the ring kept the state read before the file was replaced: %+v", kr.state)
	}
}
