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

	"github.com/palyra/palyra-vault/internal/testutil/secretservicetest"
)

// These tests cover the backup format and Import's checks, with a stand-in
// for the encryption (testSealer, testOpener): the age layer is package
// vault/backup's, which imports this package, and its tests run the same
// vaults through real age files.

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
	{`principal:Say "Hi" <&> ☃`, "-", []byte("a Palyra id may hold a quote")}, // escaped in the backup's JSON
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

// testSealTrailer ends every file testSealer writes, once it is closed.
const testSealTrailer = "\nsealed and closed\n"

// testSealer stands for an encryption: it inverts every byte written
// through it (so a plaintext byte that reached the file without it would
// show) and appends testSealTrailer on Close (so a file Export did not
// finish is refused by testOpener). It counts its Seal calls; err makes
// Seal fail.
type testSealer struct {
	calls *int
	err   error
}

func (s testSealer) Seal(w io.Writer) (io.WriteCloser, error) {
	if s.calls != nil {
		*s.calls++
	}
	if s.err != nil {
		return nil, s.err
	}
	return &invertWriter{w: w}, nil
}

type invertWriter struct{ w io.Writer }

func (iw *invertWriter) Write(p []byte) (int, error) { return iw.w.Write(invert(p)) }
func (iw *invertWriter) Close() error {
	_, err := io.WriteString(iw.w, testSealTrailer)
	return err
}

func invert(p []byte) []byte {
	out := make([]byte, len(p))
	for i, b := range p {
		out[i] = ^b
	}
	return out
}

// testSeal is what testSealer writes for plain.
func testSeal(plain string) []byte { return append(invert([]byte(plain)), testSealTrailer...) }

// testOpener opens what testSealer wrote. err makes Open fail; read, when
// set, replaces the plaintext reader (to make the decryption fail midway).
type testOpener struct {
	err  error
	read func(plain []byte) io.Reader
}

func (o testOpener) Open(r io.Reader) (io.Reader, error) {
	if o.err != nil {
		return nil, o.err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	body, ok := bytes.CutSuffix(data, []byte(testSealTrailer))
	if !ok {
		return nil, fmt.Errorf("%w: test seal not closed", ErrBadBackup)
	}
	plain := invert(body)
	if o.read != nil {
		return o.read(plain), nil
	}
	return bytes.NewReader(plain), nil
}

// failingReader returns data, then err where io.EOF would be.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestExportThenImportRestoresEverySecretWithItsMetadata(t *testing.T) {
	tests := []struct {
		name   string
		target func(t *testing.T) Config
	}{
		{"into a device vault", testConfig},
		{"into a passphrase vault", func(t *testing.T) Config { return passphraseConfig(t, "target vault pass") }},
		{"into a Secret Service vault", secretServiceConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := openTest(t, testConfig(t))
			want := fillBackupVault(t, src)
			data := export(t, src, ExportOptions{Sealer: testSealer{}})
			if !bytes.HasSuffix(data, []byte(testSealTrailer)) {
				t.Fatal("Export did not close the sealer")
			}
			for _, s := range backupSecrets {
				if len(s.value) > 8 && bytes.Contains(data, s.value[:8]) || bytes.Contains(data, []byte(s.scope)) || bytes.Contains(data, []byte(backupMagic)) {
					t.Fatalf("the backup shows %s/%s in the clear: Export wrote around the sealer", s.scope, s.key)
				}
			}
			dst := openTest(t, tt.target(t))
			rep, err := dst.Import(context.Background(), bytes.NewReader(data), ImportOptions{Opener: testOpener{}})
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

// TestBackupPlaintextFormat pins the plaintext of docs/FORMAT.md ("Backup
// files") byte for byte.
func TestBackupPlaintextFormat(t *testing.T) {
	v := openTest(t, testConfig(t))
	v.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC) }
	mustPut(t, v, "global", "k", "v")
	mustPut(t, v, "plugins/github", "token", "\x00\xff")
	var plain bytes.Buffer
	_, err := testOpener{read: func(p []byte) io.Reader { plain.Write(p); return bytes.NewReader(p) }}.
		Open(bytes.NewReader(export(t, v, ExportOptions{Sealer: testSealer{}})))
	if err != nil {
		t.Fatal(err)
	}
	want := "palyra-vault backup v1\n" +
		`{"scope":"global","key":"k","created":"2026-01-02T03:04:05.000000006Z","updated":"2026-01-02T03:04:05.000000006Z","value":"dg=="}` + "\n" +
		`{"scope":"plugins/github","key":"token","created":"2026-01-02T03:04:05.000000006Z","updated":"2026-01-02T03:04:05.000000006Z","value":"AP8="}` + "\n" +
		"end 2\n"
	if plain.String() != want {
		t.Fatalf("plaintext:\n%s\nwant:\n%s", plain.String(), want)
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
	data := export(t, src, ExportOptions{Scope: "global", Sealer: testSealer{}})
	dst := openTest(t, testConfig(t))
	if rep, err := dst.Import(context.Background(), bytes.NewReader(data), ImportOptions{Opener: testOpener{}}); err != nil || rep.Imported != 2 {
		t.Fatalf("Import = %+v, %v", rep, err)
	}
	list, _ := dst.List(context.Background(), "")
	for _, m := range list {
		if m.Scope != "global" {
			t.Fatalf("imported %s from a global-only backup", m.Ref())
		}
	}
}

func TestImportOfABadBackupImportsNothing(t *testing.T) {
	src := openTest(t, testConfig(t))
	fillBackupVault(t, src)
	good := export(t, src, ExportOptions{Sealer: testSealer{}})
	rec := `{"scope":"global","key":"k","created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z","value":"dg=="}`
	whole := backupMagic + "\n" + rec + "\nend 1\n"
	broken := errors.New("chunk 3: authentication failed")
	tests := []struct {
		name   string
		data   []byte
		opener testOpener
		want   error
		msg    string
	}{
		{"the opener refuses the passphrase", good, testOpener{err: fmt.Errorf("%w: it does not decrypt this backup", ErrWrongPassphrase)}, ErrWrongPassphrase, "does not decrypt"},
		{"the opener refuses the file", good, testOpener{err: fmt.Errorf("%w: not a readable age file", ErrBadBackup)}, ErrBadBackup, "not a readable age file"},
		{"decryption fails midway", good, testOpener{read: func(p []byte) io.Reader { return &failingReader{p[:len(p)/2], broken} }}, ErrBadBackup, "decrypting: chunk 3: authentication failed (the backup was truncated or altered)"},
		{"decryption fails after the end line", good, testOpener{read: func(p []byte) io.Reader { return &failingReader{p, broken} }}, ErrBadBackup, "decrypting after the end line: chunk 3"},
		{"empty plaintext", testSeal(""), testOpener{}, ErrBadBackup, "line 1: the backup ends without its end line (truncated)"},
		{"not a palyra backup", testSeal("hello\n"), testOpener{}, ErrBadBackup, `not a palyra-vault backup (first line "hello")`},
		{"no end line", testSeal(backupMagic + "\n" + rec + "\n"), testOpener{}, ErrBadBackup, "truncated"},
		{"last line without LF", testSeal(strings.TrimSuffix(whole, "\n")), testOpener{}, ErrBadBackup, "line 3: the backup ends without its end line"},
		{"wrong count", testSeal(backupMagic + "\n" + rec + "\nend 2\n"), testOpener{}, ErrBadBackup, "end line says"},
		{"data after end", testSeal(whole + "more\n"), testOpener{}, ErrBadBackup, "after the end line"},
		{"duplicate", testSeal(backupMagic + "\n" + rec + "\n" + rec + "\nend 2\n"), testOpener{}, ErrBadBackup, "appears twice"},
		{"bad scope", testSeal(strings.Replace(whole, "global", "Global", 1)), testOpener{}, ErrBadBackup, "invalid scope"},
		{"unknown field", testSeal(strings.Replace(whole, `"key"`, `"extra":1,"key"`, 1)), testOpener{}, ErrBadBackup, "unknown field"},
		{"data after the record", testSeal(strings.Replace(whole, rec, rec+"{}", 1)), testOpener{}, ErrBadBackup, "data after the record"},
		{"no times", testSeal(backupMagic + "\n" + `{"scope":"global","key":"k","value":"dg=="}` + "\nend 1\n"), testOpener{}, ErrBadBackup, "time"},
		{"value too large", testSeal(strings.Replace(whole, "dg==", strings.Repeat("AAAA", DefaultMaxSecretSize/3+1), 1)), testOpener{}, ErrTooLarge, "nothing was imported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			dst := openTest(t, cfg)
			mustPut(t, dst, "global", "existing", "keep me")
			before := hashTree(t, cfg.Root)
			_, err := dst.Import(context.Background(), bytes.NewReader(tt.data), ImportOptions{Opener: tt.opener, OnConflict: OnConflictOverwrite})
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Import = %v, want %v saying %q", err, tt.want, tt.msg)
			}
			if strings.Contains(err.Error(), "sk-backup") || strings.Contains(err.Error(), "dg==") {
				t.Fatalf("error %q shows a secret", err)
			}
			if hashTree(t, cfg.Root) != before {
				t.Fatal("a failed Import changed the vault")
			}
		})
	}
}

func TestImportConflictPolicies(t *testing.T) {
	src := openTest(t, testConfig(t))
	fillBackupVault(t, src)
	data := export(t, src, ExportOptions{Sealer: testSealer{}})
	tests := []struct {
		policy   string
		want     ImportReport
		wantErr  error
		existing string // value of global/openai_api_key afterwards
	}{
		{"", ImportReport{}, ErrConflict, "mine"},
		{OnConflictFail, ImportReport{}, ErrConflict, "mine"},
		{OnConflictSkip, ImportReport{Imported: len(backupSecrets) - 1, Skipped: 1}, nil, "mine"},
		{OnConflictOverwrite, ImportReport{Imported: len(backupSecrets) - 1, Overwritten: 1}, nil, "sk-backup-test-value"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("policy %q", tt.policy), func(t *testing.T) {
			cfg := testConfig(t)
			dst := openTest(t, cfg)
			mustPut(t, dst, "global", "openai_api_key", "mine")
			before := hashTree(t, cfg.Root)
			rep, err := dst.Import(context.Background(), bytes.NewReader(data), ImportOptions{Opener: testOpener{}, OnConflict: tt.policy})
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
	if _, err := openTest(t, testConfig(t)).Import(context.Background(), bytes.NewReader(data), ImportOptions{Opener: testOpener{}, OnConflict: "merge"}); err == nil || !strings.Contains(err.Error(), `on-conflict "merge"`) {
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
	seals := 0
	_, err := v.Export(context.Background(), &buf, ExportOptions{Sealer: testSealer{calls: &seals}})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "vault://global/empty") || buf.Len() != 0 {
		t.Fatalf("Export = %v with %d bytes written, want ErrCorrupt naming the secret and nothing written", err, buf.Len())
	}
	if seals != 0 {
		t.Fatal("Export called the sealer (which may ask for a passphrase) for a backup it could not make")
	}
	rep, err := v.Export(context.Background(), &buf, ExportOptions{Sealer: testSealer{}, SkipUnreadable: true})
	if err != nil || rep.Secrets != len(backupSecrets)-1 || len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], "global/empty") {
		t.Fatalf("Export skipping = %+v, %v", rep, err)
	}
}

func TestExportAndImportNeedTheirEncryption(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "k", "sk-backup-value")
	sealFailed := errors.New("reading backup passphrase: no terminal")
	for _, tt := range []struct {
		name string
		opts ExportOptions
		msg  string
	}{
		{"no sealer", ExportOptions{}, "no sealer to encrypt the backup (ExportOptions.Sealer is nil); nothing was written"},
		{"the sealer fails", ExportOptions{Sealer: testSealer{err: sealFailed}}, sealFailed.Error()},
	} {
		var buf bytes.Buffer
		if _, err := v.Export(context.Background(), &buf, tt.opts); err == nil || !strings.Contains(err.Error(), tt.msg) || buf.Len() != 0 {
			t.Errorf("%s: Export = %v with %d bytes written, want %q and nothing written", tt.name, err, buf.Len(), tt.msg)
		}
	}
	data := export(t, v, ExportOptions{Sealer: testSealer{}})
	before := hashTree(t, cfg.Root)
	if _, err := v.Import(context.Background(), bytes.NewReader(data), ImportOptions{OnConflict: OnConflictOverwrite}); err == nil || !strings.Contains(err.Error(), "ImportOptions.Opener is nil") {
		t.Errorf("Import without an opener = %v", err)
	}
	if hashTree(t, cfg.Root) != before {
		t.Fatal("a failed Import changed the vault")
	}
}
