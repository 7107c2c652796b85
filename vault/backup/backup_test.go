package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/palyra/palyra-vault/internal/testhook"
	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
)

// Every passphrase backup of these tests uses the cheapest work factor;
// TestWorkFactor checks the real one.
func init() { testCheapWorkFactor = true }

// backupSecrets are the secrets the tests store: a text value, binary
// bytes, an empty value.
var backupSecrets = []struct {
	scope, key string
	value      []byte
}{
	{"global", "openai_api_key", []byte("sk-backup-test-value")},
	{"global", "empty", []byte{}},
	{"plugins/github", "token", []byte("ghp-backup\x00\x01\xff\n\"\\")},
}

// The passphrase of the tests' backups.
const testPass = "backup passphrase"

// passphrase returns a passphrase function that hands out a fresh copy of
// p on each call and records the slices it gave out, so a test can check
// they were wiped.
func passphrase(p string, given *[][]byte) func() ([]byte, error) {
	return func() ([]byte, error) {
		b := []byte(p)
		if given != nil {
			*given = append(*given, b)
		}
		return b, nil
	}
}

// openVault opens a fresh vault on the encrypted-file backend and returns
// it with its root.
func openVault(t *testing.T) (*vault.Vault, string) {
	t.Helper()
	dir := testutil.TempDir(t)
	cfg := vault.Config{Root: filepath.Join(dir, "state", "vault"), StateRoot: filepath.Join(dir, "state"), Backend: backend.KindEncryptedFile}
	v, err := vault.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v, cfg.Root
}

func filledVault(t *testing.T) *vault.Vault {
	t.Helper()
	v, _ := openVault(t)
	for _, s := range backupSecrets {
		if _, err := v.Put(context.Background(), s.scope, s.key, s.value); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func export(t *testing.T, v *vault.Vault, s vault.BackupSealer) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := v.Export(context.Background(), &buf, vault.ExportOptions{Sealer: s}); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return buf.Bytes()
}

func newX25519(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// hashTree hashes every name, mode and content under dir, so a test can
// prove that a failed import changed nothing on disk.
func hashTree(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v\n", p, info.Mode())
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestAgeBackupRoundTrip(t *testing.T) {
	id, other := newX25519(t), newX25519(t)
	tests := []struct {
		name   string
		seal   vault.BackupSealer
		open   vault.BackupOpener
		stanza string // the first line of the age header after the version
	}{
		{"passphrase", ToPassphrase(passphrase(testPass, nil)), FromPassphrase(passphrase(testPass, nil)), "-> scrypt "},
		{"X25519 recipient", ToRecipients([]age.Recipient{id.Recipient()}), FromIdentities([]age.Identity{id}), "-> X25519 "},
		{"two recipients, opened by the second", ToRecipients([]age.Recipient{other.Recipient(), id.Recipient()}), FromIdentities([]age.Identity{id}), "-> X25519 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := filledVault(t)
			data := export(t, src, tt.seal)
			header := strings.SplitN(string(data), "\n", 3)
			if len(header) < 3 || header[0] != "age-encryption.org/v1" || !strings.HasPrefix(header[1], tt.stanza) {
				t.Fatalf("not an age file with a %q stanza: %q", tt.stanza, header[:min(2, len(header))])
			}
			for _, s := range backupSecrets {
				if len(s.value) > 8 && bytes.Contains(data, s.value[:8]) || bytes.Contains(data, []byte(s.scope)) || bytes.Contains(data, []byte("palyra-vault backup")) {
					t.Fatalf("the backup shows %s/%s in the clear", s.scope, s.key)
				}
			}
			dst, _ := openVault(t)
			rep, err := dst.Import(context.Background(), bytes.NewReader(data), vault.ImportOptions{Opener: tt.open})
			if err != nil || rep.Imported != len(backupSecrets) {
				t.Fatalf("Import = %+v, %v", rep, err)
			}
			for _, s := range backupSecrets {
				got, _, err := dst.Get(context.Background(), s.scope, s.key)
				if err != nil || !bytes.Equal(got.Reveal(), s.value) {
					t.Fatalf("%s/%s after import: %v", s.scope, s.key, err)
				}
			}
		})
	}
}

func TestPassphraseBackupsUseTheWorkFactorAndWipeThePassphrase(t *testing.T) {
	var given [][]byte
	data := export(t, filledVault(t), ToPassphrase(passphrase(testPass, &given)))
	stanza := strings.Fields(strings.SplitN(string(data), "\n", 3)[1])
	if len(stanza) != 4 || stanza[3] != fmt.Sprint(workFactor()) {
		t.Fatalf("scrypt stanza %q, want work factor %d", stanza, workFactor())
	}
	dst, _ := openVault(t)
	if _, err := dst.Import(context.Background(), bytes.NewReader(data), vault.ImportOptions{Opener: FromPassphrase(passphrase(testPass, &given))}); err != nil {
		t.Fatal(err)
	}
	if len(given) != 2 {
		t.Fatalf("the passphrase was asked %d times, want once by Seal and once by Open", len(given))
	}
	for i, p := range given {
		if !bytes.Equal(p, make([]byte, len(p))) {
			t.Errorf("passphrase slice %d was not wiped: %q", i, p)
		}
	}
}

// TestWorkFactor checks what a palyra built for use writes: age's default,
// even when $PALYRA_TEST_CHEAP_KDF asks for less, since this test binary is
// not marked as one (testhook.MarkTestBinary).
func TestWorkFactor(t *testing.T) {
	if testhook.InTestBinary() {
		t.Fatal("this test needs a binary that is not marked as a test")
	}
	defer func(old bool) { testCheapWorkFactor = old }(testCheapWorkFactor)
	for _, tt := range []struct {
		cheap bool
		env   string
		want  int
	}{
		{false, "", WorkFactor},
		{false, "1", WorkFactor},
		{true, "", 1},
	} {
		testCheapWorkFactor = tt.cheap
		t.Setenv(testhook.EnvCheapKDF, tt.env)
		if got := workFactor(); got != tt.want {
			t.Errorf("cheap %v, $%s=%q: work factor %d, want %d", tt.cheap, testhook.EnvCheapKDF, tt.env, got, tt.want)
		}
	}
	if WorkFactor != 18 || MaxWorkFactor != 19 {
		t.Fatalf("work factors %d and %d; docs/FORMAT.md and SECURITY.md say 18 and 19", WorkFactor, MaxWorkFactor)
	}
}

// encryptPlain makes a passphrase age file of arbitrary plaintext, to test
// what Import does with well-encrypted but malformed content.
func encryptPlain(t *testing.T, plain string) []byte {
	t.Helper()
	r, err := age.NewScryptRecipient(testPass)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(1)
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withWorkFactor returns the age file data with its scrypt stanza's work
// factor replaced by logN: a cheap way to make a file that claims an
// expensive factor (encrypting at 2^22 costs as much as decrypting). The
// header's MAC no longer matches, so only a reader that refuses the factor
// before doing the work reports anything but a bad header.
func withWorkFactor(t *testing.T, data []byte, logN int) []byte {
	t.Helper()
	header, rest, ok := bytes.Cut(data, []byte("\n---"))
	lines := strings.Split(string(header), "\n")
	if !ok || len(lines) < 3 || !strings.HasPrefix(lines[1], "-> scrypt ") {
		t.Fatalf("not a one-stanza scrypt age file: %q", header)
	}
	f := strings.Fields(lines[1])
	lines[1] = fmt.Sprintf("-> scrypt %s %d", f[2], logN)
	return append([]byte(strings.Join(lines, "\n")+"\n---"), rest...)
}

func TestImportOfABadAgeBackupImportsNothing(t *testing.T) {
	src := filledVault(t)
	good := export(t, src, ToPassphrase(passphrase(testPass, nil)))
	id := newX25519(t)
	forID := export(t, src, ToRecipients([]age.Recipient{id.Recipient()}))
	capMsg := fmt.Sprintf("and palyra accepts at most 2^%d (its own exports use 2^%d)", MaxWorkFactor, WorkFactor)
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 1; return b }
	const wrongPass = "not the passphrase"
	byPass := func(p string) vault.BackupOpener { return FromPassphrase(passphrase(p, nil)) }
	tests := []struct {
		name string
		data []byte
		open vault.BackupOpener
		want error
		msg  string
	}{
		{"wrong passphrase", good, byPass(wrongPass), vault.ErrWrongPassphrase, "wrong passphrase: it does not decrypt this backup"},
		{"a recipients backup opened with a passphrase", forID, byPass(testPass), vault.ErrWrongPassphrase, "made for age recipients, not a passphrase"},
		{"another identity", forID, FromIdentities([]age.Identity{newX25519(t)}), vault.ErrBadBackup, "none of the given identities can decrypt this backup"},
		{"a passphrase backup opened with an identity", good, FromIdentities([]age.Identity{id}), vault.ErrBadBackup, "none of the given identities"},
		{"truncated to the header", good[:len(good)/8], byPass(testPass), vault.ErrBadBackup, ""},
		{"truncated by one byte", good[:len(good)-1], byPass(testPass), vault.ErrBadBackup, "truncated or altered"},
		{"flipped payload byte", flip(len(good) - 100), byPass(testPass), vault.ErrBadBackup, "truncated or altered"},
		{"empty file", nil, byPass(testPass), vault.ErrBadBackup, "invalid backup: not a readable age file"},
		{"not an age file", []byte("palyra-vault backup v1\nend 0\n"), byPass(testPass), vault.ErrBadBackup, "not a readable age file"},
		// The format checks are package vault's, and apply whatever the
		// encryption.
		{"not a palyra backup", encryptPlain(t, "hello\n"), byPass(testPass), vault.ErrBadBackup, "not a palyra-vault backup"},
		{"no end line", encryptPlain(t, "palyra-vault backup v1\n"), byPass(testPass), vault.ErrBadBackup, "truncated"},
		{"work factor one above the cap", withWorkFactor(t, good, MaxWorkFactor+1), byPass(testPass), vault.ErrBadBackup, fmt.Sprintf("work factor is 2^%d, %s", MaxWorkFactor+1, capMsg)},
		{"work factor 2^22 (age's limit)", withWorkFactor(t, good, 22), byPass(testPass), vault.ErrBadBackup, "work factor is 2^22, " + capMsg},
		{"work factor 2^30", withWorkFactor(t, good, 30), byPass(testPass), vault.ErrBadBackup, "work factor is 2^30, " + capMsg},
		// Within the cap the work is done, with the wrong factor: the key
		// derived does not open the file key.
		{"edited work factor within the cap", withWorkFactor(t, good, 2), byPass(testPass), vault.ErrWrongPassphrase, "does not decrypt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst, root := openVault(t)
			if _, err := dst.Put(context.Background(), "global", "existing", []byte("keep me")); err != nil {
				t.Fatal(err)
			}
			before := hashTree(t, root)
			_, err := dst.Import(context.Background(), bytes.NewReader(tt.data), vault.ImportOptions{Opener: tt.open, OnConflict: vault.OnConflictOverwrite})
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Import = %v, want %v saying %q", err, tt.want, tt.msg)
			}
			if strings.Contains(err.Error(), "sk-backup") || strings.Contains(err.Error(), testPass) || strings.Contains(err.Error(), wrongPass) {
				t.Fatalf("error %q shows a secret or a passphrase", err)
			}
			if hashTree(t, root) != before {
				t.Fatal("a failed Import changed the vault")
			}
		})
	}
}

func TestSealersAndOpenersWithoutAKeyFailCleanly(t *testing.T) {
	v := filledVault(t)
	fail := func() ([]byte, error) { return nil, errors.New("no terminal to prompt on") }
	for _, tt := range []struct {
		name string
		seal vault.BackupSealer
		msg  string
	}{
		{"no recipients", ToRecipients(nil), "no age recipients to encrypt the backup to; nothing was written"},
		{"no passphrase function", ToPassphrase(nil), "the backup passphrase is needed but no passphrase function was given"},
		{"the passphrase cannot be read", ToPassphrase(fail), "reading backup passphrase: no terminal to prompt on"},
		{"empty passphrase", ToPassphrase(passphrase("", nil)), "backup passphrase must not be empty"},
		{"short passphrase", ToPassphrase(passphrase("q7#zx", nil)), "backup passphrase is 5 bytes, it must be at least 8"},
	} {
		var buf bytes.Buffer
		_, err := v.Export(context.Background(), &buf, vault.ExportOptions{Sealer: tt.seal})
		if err == nil || !strings.Contains(err.Error(), tt.msg) || buf.Len() != 0 {
			t.Errorf("%s: Export = %v with %d bytes written, want %q and nothing written", tt.name, err, buf.Len(), tt.msg)
		} else if strings.Contains(err.Error(), "q7#zx") {
			t.Errorf("%s: error %q shows the passphrase", tt.name, err)
		}
	}
	data := export(t, v, ToPassphrase(passphrase(testPass, nil)))
	for _, tt := range []struct {
		name string
		open vault.BackupOpener
		msg  string
	}{
		{"no identities", FromIdentities(nil), "no age identities to decrypt the backup with; nothing was imported"},
		{"no passphrase function", FromPassphrase(nil), "the backup passphrase is needed but no passphrase function was given"},
		{"the passphrase cannot be read", FromPassphrase(fail), "reading backup passphrase: no terminal to prompt on"},
		{"empty passphrase", FromPassphrase(passphrase("", nil)), "backup passphrase must not be empty"},
	} {
		dst, root := openVault(t)
		before := hashTree(t, root)
		_, err := dst.Import(context.Background(), bytes.NewReader(data), vault.ImportOptions{Opener: tt.open})
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: Import = %v, want %q", tt.name, err, tt.msg)
		}
		if hashTree(t, root) != before {
			t.Errorf("%s: a failed Import changed the vault", tt.name)
		}
	}
}
