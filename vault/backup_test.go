package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/palyra/palyra-vault/internal/testutil/secretservicetest"
)

// backupSecrets are the secrets the backup tests store: binary bytes,
// an empty value, the largest value a vault accepts.
var backupSecrets = []struct {
	scope, key string
	value      []byte
}{
	{"global", "openai_api_key", []byte("sk-backup-test-value")},
	{"global", "empty", []byte{}},
	{"plugins/github", "token", []byte{0, 1, 2, 0xff, '\n', '"', '\\'}},
	{"principal:alice", "big", bytes.Repeat([]byte("0123456789abcdef"), DefaultMaxSecretSize/16)},
}

func fillBackupVault(t *testing.T, v *Vault) map[Ref]Metadata {
	t.Helper()
	out := map[Ref]Metadata{}
	for i, s := range backupSecrets {
		v.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6+i, time.UTC) }
		m, err := v.Put(context.Background(), s.scope, s.key, s.value)
		if err != nil {
			t.Fatal(err)
		}
		out[m.Ref()] = m
	}
	v.now = func() time.Time { return time.Now().UTC() }
	return out
}

func export(t *testing.T, v *Vault, opts ExportOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := v.Export(context.Background(), &buf, opts); err != nil {
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

func TestExportThenImportRestoresEverySecretWithItsMetadata(t *testing.T) {
	id := newX25519(t)
	tests := []struct {
		name   string
		export ExportOptions
		imp    ImportOptions
		target func(t *testing.T) Config
	}{
		{"passphrase into a device vault", ExportOptions{Passphrase: passphrase("backup passphrase", nil)},
			ImportOptions{Passphrase: passphrase("backup passphrase", nil)}, testConfig},
		{"age recipient into a passphrase vault", ExportOptions{Recipients: []age.Recipient{id.Recipient()}},
			ImportOptions{Identities: []age.Identity{id}}, func(t *testing.T) Config { return passphraseConfig(t, "target vault pass") }},
		{"passphrase into a Secret Service vault", ExportOptions{Passphrase: passphrase("backup passphrase", nil)},
			ImportOptions{Passphrase: passphrase("backup passphrase", nil)}, secretServiceConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := openTest(t, testConfig(t))
			want := fillBackupVault(t, src)
			data := export(t, src, tt.export)
			for _, s := range backupSecrets {
				if len(s.value) > 8 && bytes.Contains(data, s.value[:8]) || bytes.Contains(data, []byte(s.scope)) {
					t.Fatalf("the backup shows %s/%s in the clear", s.scope, s.key)
				}
			}
			dst := openTest(t, tt.target(t))
			rep, err := dst.Import(context.Background(), bytes.NewReader(data), tt.imp)
			if err != nil || rep.Imported != len(backupSecrets) {
				t.Fatalf("Import = %+v, %v", rep, err)
			}
			for _, s := range backupSecrets {
				got, md, err := dst.Get(context.Background(), s.scope, s.key)
				if err != nil || !bytes.Equal(got.Reveal(), s.value) {
					t.Fatalf("%s/%s after import: %v", s.scope, s.key, err)
				}
				if w := want[Ref{Scope: s.scope, Key: s.key}]; !md.Created.Equal(w.Created) || !md.Updated.Equal(w.Updated) || md.Size != w.Size {
					t.Fatalf("%s/%s metadata %+v, want %+v", s.scope, s.key, md, w)
				}
			}
		})
	}
}

// secretServiceConfig is a vault on the linux_secret_service backend of the
// private keyring that scripts/secret-service-run.sh starts.
func secretServiceConfig(t *testing.T) Config {
	t.Helper()
	needPrivateKeyring(t)
	cfg := testConfig(t)
	cfg.Backend = "linux_secret_service"
	return cfg
}

// needPrivateKeyring skips the test unless a private Secret Service (from
// scripts/secret-service-run.sh) is running; in CI it fails instead.
func needPrivateKeyring(t *testing.T) {
	t.Helper()
	secretservicetest.Require(t)
}

func TestExportOfOneScopeHoldsOnlyThatScope(t *testing.T) {
	src := openTest(t, testConfig(t))
	fillBackupVault(t, src)
	data := export(t, src, ExportOptions{Scope: "global", Passphrase: passphrase("backup passphrase", nil)})
	dst := openTest(t, testConfig(t))
	if rep, err := dst.Import(context.Background(), bytes.NewReader(data), ImportOptions{Passphrase: passphrase("backup passphrase", nil)}); err != nil || rep.Imported != 2 {
		t.Fatalf("Import = %+v, %v", rep, err)
	}
	list, _ := dst.List(context.Background(), "")
	for _, m := range list {
		if m.Scope != "global" {
			t.Fatalf("imported %s from a global-only backup", m.Ref())
		}
	}
}

// encryptPlain makes an age backup of arbitrary plaintext, to test what
// Import does with well-encrypted but malformed content.
func encryptPlain(t *testing.T, plain string) []byte {
	t.Helper()
	r, _ := age.NewScryptRecipient("backup passphrase")
	r.SetWorkFactor(1)
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, plain)
	w.Close()
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

func TestImportOfABadBackupImportsNothing(t *testing.T) {
	src := openTest(t, testConfig(t))
	fillBackupVault(t, src)
	good := export(t, src, ExportOptions{Passphrase: passphrase("backup passphrase", nil)})
	capMsg := fmt.Sprintf("and palyra accepts at most 2^%d (its own exports use 2^%d)", backupScryptMaxWorkFactor, backupScryptWorkFactor)
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 1; return b }
	rec := `{"scope":"global","key":"k","created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z","value":"dg=="}`
	tests := []struct {
		name string
		data []byte
		pass string
		want error
		msg  string
	}{
		{"wrong passphrase", good, "not the passphrase", ErrWrongPassphrase, "does not decrypt"},
		{"truncated to the header", good[:len(good)/8], "backup passphrase", ErrBadBackup, ""},
		{"truncated by one byte", good[:len(good)-1], "backup passphrase", ErrBadBackup, ""},
		{"flipped payload byte", flip(len(good) - 100), "backup passphrase", ErrBadBackup, ""},
		{"empty file", nil, "backup passphrase", ErrBadBackup, "not a readable age file"},
		{"not a palyra backup", encryptPlain(t, "hello\n"), "backup passphrase", ErrBadBackup, "not a palyra-vault backup"},
		{"no end line", encryptPlain(t, backupMagic+"\n"+rec+"\n"), "backup passphrase", ErrBadBackup, "truncated"},
		{"wrong count", encryptPlain(t, backupMagic+"\n"+rec+"\nend 2\n"), "backup passphrase", ErrBadBackup, "end line says"},
		{"data after end", encryptPlain(t, backupMagic+"\n"+rec+"\nend 1\nmore\n"), "backup passphrase", ErrBadBackup, "after the end line"},
		{"duplicate", encryptPlain(t, backupMagic+"\n"+rec+"\n"+rec+"\nend 2\n"), "backup passphrase", ErrBadBackup, "appears twice"},
		{"bad scope", encryptPlain(t, backupMagic+"\n"+strings.Replace(rec, "global", "Global", 1)+"\nend 1\n"), "backup passphrase", ErrBadBackup, "invalid scope"},
		{"unknown field", encryptPlain(t, backupMagic+"\n"+strings.Replace(rec, `"key"`, `"extra":1,"key"`, 1)+"\nend 1\n"), "backup passphrase", ErrBadBackup, "unknown field"},
		{"no times", encryptPlain(t, backupMagic+"\n"+`{"scope":"global","key":"k","value":"dg=="}`+"\nend 1\n"), "backup passphrase", ErrBadBackup, "time"},
		{"work factor one above the cap", withWorkFactor(t, good, backupScryptMaxWorkFactor+1), "backup passphrase", ErrBadBackup, fmt.Sprintf("work factor is 2^%d, %s", backupScryptMaxWorkFactor+1, capMsg)},
		{"work factor 2^22 (age's limit)", withWorkFactor(t, good, 22), "backup passphrase", ErrBadBackup, "work factor is 2^22, " + capMsg},
		{"work factor 2^30", withWorkFactor(t, good, 30), "backup passphrase", ErrBadBackup, "work factor is 2^30, " + capMsg},
		// Within the cap the work is done, with the wrong factor: the key
		// derived does not open the file key.
		{"edited work factor within the cap", withWorkFactor(t, good, 2), "backup passphrase", ErrWrongPassphrase, "does not decrypt"},
		{"value too large", encryptPlain(t, backupMagic+"\n"+strings.Replace(rec, "dg==", strings.Repeat("AAAA", DefaultMaxSecretSize/3+1), 1)+"\nend 1\n"), "backup passphrase", ErrTooLarge, "nothing was imported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			dst := openTest(t, cfg)
			mustPut(t, dst, "global", "existing", "keep me")
			before := hashTree(t, cfg.Root)
			_, err := dst.Import(context.Background(), bytes.NewReader(tt.data), ImportOptions{Passphrase: passphrase(tt.pass, nil), OnConflict: OnConflictOverwrite})
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Import = %v, want %v saying %q", err, tt.want, tt.msg)
			}
			if strings.Contains(err.Error(), "sk-backup") || strings.Contains(err.Error(), tt.pass) {
				t.Fatalf("error %q shows a secret", err)
			}
			if hashTree(t, cfg.Root) != before {
				t.Fatal("a failed Import changed the vault")
			}
		})
	}
}

func TestImportWithAnotherIdentityFailsCleanly(t *testing.T) {
	src := openTest(t, testConfig(t))
	fillBackupVault(t, src)
	data := export(t, src, ExportOptions{Recipients: []age.Recipient{newX25519(t).Recipient()}})
	_, err := openTest(t, testConfig(t)).Import(context.Background(), bytes.NewReader(data), ImportOptions{Identities: []age.Identity{newX25519(t)}})
	if !errors.Is(err, ErrBadBackup) || !strings.Contains(err.Error(), "none of the given identities") {
		t.Fatalf("Import = %v", err)
	}
}

func TestImportConflictPolicies(t *testing.T) {
	src := openTest(t, testConfig(t))
	fillBackupVault(t, src)
	data := export(t, src, ExportOptions{Passphrase: passphrase("backup passphrase", nil)})
	tests := []struct {
		policy   string
		want     ImportReport
		wantErr  error
		existing string // value of global/openai_api_key afterwards
	}{
		{"", ImportReport{}, ErrConflict, "mine"},
		{OnConflictFail, ImportReport{}, ErrConflict, "mine"},
		{OnConflictSkip, ImportReport{Imported: 3, Skipped: 1}, nil, "mine"},
		{OnConflictOverwrite, ImportReport{Imported: 3, Overwritten: 1}, nil, "sk-backup-test-value"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("policy %q", tt.policy), func(t *testing.T) {
			cfg := testConfig(t)
			dst := openTest(t, cfg)
			mustPut(t, dst, "global", "openai_api_key", "mine")
			before := hashTree(t, cfg.Root)
			rep, err := dst.Import(context.Background(), bytes.NewReader(data), ImportOptions{Passphrase: passphrase("backup passphrase", nil), OnConflict: tt.policy})
			if !errors.Is(err, tt.wantErr) || rep != tt.want {
				t.Fatalf("Import = %+v, %v; want %+v, %v", rep, err, tt.want, tt.wantErr)
			}
			if tt.wantErr != nil {
				if !strings.Contains(err.Error(), "vault://global/openai_api_key") || hashTree(t, cfg.Root) != before {
					t.Fatalf("conflict error %q must name the secret and change nothing", err)
				}
			}
			if got := mustGet(t, dst, "global", "openai_api_key"); got != tt.existing {
				t.Fatalf("existing secret is %q, want %q", got, tt.existing)
			}
		})
	}
	if _, err := openTest(t, testConfig(t)).Import(context.Background(), bytes.NewReader(data), ImportOptions{Passphrase: passphrase("backup passphrase", nil), OnConflict: "merge"}); err == nil || !strings.Contains(err.Error(), `on-conflict "merge"`) {
		t.Fatalf("unknown policy: %v", err)
	}
}

func TestExportRefusesAnUnreadableSecretUnlessAskedToSkipIt(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	fillBackupVault(t, v)
	path := objectPath(cfg, "global", "empty")
	b, _ := os.ReadFile(path)
	b[len(b)-1] ^= 1
	os.WriteFile(path, b, 0o600)
	var buf bytes.Buffer
	_, err := v.Export(context.Background(), &buf, ExportOptions{Passphrase: passphrase("backup passphrase", nil)})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "vault://global/empty") || buf.Len() != 0 {
		t.Fatalf("Export = %v with %d bytes written, want ErrCorrupt naming the secret and nothing written", err, buf.Len())
	}
	rep, err := v.Export(context.Background(), &buf, ExportOptions{Passphrase: passphrase("backup passphrase", nil), SkipUnreadable: true})
	if err != nil || rep.Secrets != 3 || len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], "global/empty") {
		t.Fatalf("Export skipping = %+v, %v", rep, err)
	}
}

func TestExportNeedsExactlyOneWayToEncrypt(t *testing.T) {
	v := openTest(t, testConfig(t))
	for name, opts := range map[string]ExportOptions{
		"neither": {},
		"both":    {Passphrase: passphrase("backup passphrase", nil), Recipients: []age.Recipient{newX25519(t).Recipient()}},
	} {
		if _, err := v.Export(context.Background(), io.Discard, opts); err == nil || !strings.Contains(err.Error(), "either a passphrase or age recipients") {
			t.Errorf("%s: Export = %v", name, err)
		}
	}
}
