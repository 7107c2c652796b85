package vault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/filestore"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// testConfig returns a config for a fresh vault on the encrypted-file
// backend under a temp dir.
func testConfig(t *testing.T) Config {
	t.Helper()
	dir := testutil.TempDir(t)
	return Config{
		Root:      filepath.Join(dir, "state", "vault"),
		StateRoot: filepath.Join(dir, "state"),
		Backend:   backend.KindEncryptedFile,
		// The Secret Service as the test's environment names it (tests
		// that need none set DBUS_SESSION_BUS_ADDRESS before calling).
		SessionBus: ConfigFromEnv().SessionBus,
	}
}

func openTest(t *testing.T, cfg Config) *Vault {
	t.Helper()
	v, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func mustPut(t *testing.T, v *Vault, scope, key, value string) Metadata {
	t.Helper()
	m, err := v.Put(context.Background(), scope, key, []byte(value))
	if err != nil {
		t.Fatalf("Put(%s/%s): %v", scope, key, err)
	}
	return m
}

func mustGet(t *testing.T, v *Vault, scope, key string) string {
	t.Helper()
	s, _, err := v.Get(context.Background(), scope, key)
	if err != nil {
		t.Fatalf("Get(%s/%s): %v", scope, key, err)
	}
	return string(s.Reveal())
}

// hashTree hashes every name, mode and content under dir, so a test can
// prove that a failed operation changed nothing on disk.
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
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s %v\n", rel, info.Mode())
		if info.Mode().IsRegular() {
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
	return hex.EncodeToString(h.Sum(nil))
}

func TestPutGetRoundTripsBinaryValues(t *testing.T) {
	v := openTest(t, testConfig(t))
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, value := range [][]byte{[]byte("sk-test-123"), all, {0}, bytes.Repeat([]byte("x"), DefaultMaxSecretSize)} {
		if _, err := v.Put(context.Background(), "global", "k", value); err != nil {
			t.Fatal(err)
		}
		got, m, err := v.Get(context.Background(), "global", "k")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Reveal(), value) || m.Size != len(value) {
			t.Fatalf("Get returned %d bytes (size %d), want %d", got.Len(), m.Size, len(value))
		}
	}
}

func TestPutKeepsCreatedTimeAcrossUpdates(t *testing.T) {
	v := openTest(t, testConfig(t))
	clock := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	v.now = func() time.Time { return clock }
	first := mustPut(t, v, "global", "token", "one")
	clock = clock.Add(time.Hour)
	second := mustPut(t, v, "global", "token", "two")
	if !second.Created.Equal(first.Created) || !second.Updated.Equal(clock) {
		t.Fatalf("after update: created %v updated %v; want created %v updated %v", second.Created, second.Updated, first.Created, clock)
	}
	m, err := v.Stat(context.Background(), "global", "token")
	if err != nil || m != second {
		t.Fatalf("Stat = %+v, %v; want %+v", m, err, second)
	}
	if got := mustGet(t, v, "global", "token"); got != "two" {
		t.Fatalf("Get = %q", got)
	}
}

func TestListIsSortedFiltersByScopeAndReadsHeadersOnly(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	for _, r := range []Ref{{Scope: "plugins/github", Key: "token"}, {Scope: "global", Key: "b"}, {Scope: "global", Key: "a"}, {Scope: "principal:alice", Key: "k"}} {
		mustPut(t, v, r.Scope, r.Key, "value-of-"+r.Key)
	}
	all, err := v.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range all {
		got = append(got, m.Ref().String())
	}
	want := []string{"vault://global/a", "vault://global/b", "vault://plugins/github/token", "vault://principal:alice/k"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("List = %v, want %v", got, want)
	}
	global, err := v.List(context.Background(), "global")
	if err != nil || len(global) != 2 {
		t.Fatalf("List(global) = %v, %v", global, err)
	}
	// With the KEK gone, List still works: it never decrypts.
	v.keys.Wipe()
	if again, err := v.List(context.Background(), ""); err != nil || len(again) != 4 {
		t.Fatalf("List without the key = %d entries, %v", len(again), err)
	}
}

func TestDeleteReportsWhetherTheSecretExisted(t *testing.T) {
	v := openTest(t, testConfig(t))
	mustPut(t, v, "global", "k", "v")
	for _, want := range []bool{true, false} {
		existed, err := v.Delete(context.Background(), "global", "k")
		if err != nil || existed != want {
			t.Fatalf("Delete = %v, %v; want %v", existed, err, want)
		}
	}
	if _, _, err := v.Get(context.Background(), "global", "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after delete = %v, want ErrNotFound", err)
	}
}

func TestBadInputFailsAndChangesNothingOnDisk(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "existing", "keep-me")
	before := hashTree(t, filepath.Dir(cfg.Root))
	ctx := context.Background()
	tooBig := make([]byte, DefaultMaxSecretSize+1)
	cases := []struct {
		name string
		op   func() error
		want error
	}{
		{"put bad scope", func() error { _, err := v.Put(ctx, "Bad", "k", []byte("x")); return err }, ErrInvalidScope},
		{"put bad key", func() error { _, err := v.Put(ctx, "global", "a/b", []byte("x")); return err }, ErrInvalidKey},
		{"put too large", func() error { _, err := v.Put(ctx, "global", "existing", tooBig); return err }, ErrTooLarge},
		{"get missing", func() error { _, _, err := v.Get(ctx, "global", "nope"); return err }, ErrNotFound},
		{"get bad key", func() error { _, _, err := v.Get(ctx, "global", ""); return err }, ErrInvalidKey},
		{"delete bad scope", func() error { _, err := v.Delete(ctx, "a//b", "k"); return err }, ErrInvalidScope},
		{"list bad scope", func() error { _, err := v.List(ctx, "UP"); return err }, ErrInvalidScope},
	}
	for _, c := range cases {
		if err := c.op(); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if after := hashTree(t, filepath.Dir(cfg.Root)); after != before {
		t.Fatal("a failed operation changed the vault on disk")
	}
	if got := mustGet(t, v, "global", "existing"); got != "keep-me" {
		t.Fatalf("existing secret = %q", got)
	}
}

func TestErrorsNeverContainTheValue(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxSecretSize = 8
	v := openTest(t, cfg)
	const secret = "sk-live-supersecret"
	_, err := v.Put(context.Background(), "global", "k", []byte(secret))
	if !errors.Is(err, ErrTooLarge) || strings.Contains(err.Error(), secret) {
		t.Fatalf("Put error = %v", err)
	}
}

// objectPath returns the encrypted-file object of scope/key.
func objectPath(cfg Config, scope, key string) string {
	return filepath.Join(cfg.Root, "objects", string(envelope.ObjectID(scope, key)))
}

func TestSwappedObjectsFailAuthenticationNeverReturnTheOtherSecret(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "a", "value-a")
	mustPut(t, v, "global", "b", "value-b")
	pa, pb := objectPath(cfg, "global", "a"), objectPath(cfg, "global", "b")
	a, _ := os.ReadFile(pa)
	b, _ := os.ReadFile(pb)
	os.WriteFile(pa, b, 0o600)
	os.WriteFile(pb, a, 0o600)
	for _, k := range []string{"a", "b"} {
		s, _, err := v.Get(context.Background(), "global", k)
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Get(%s) after swap = %q, %v; want ErrCorrupt", k, s.Reveal(), err)
		}
	}
	if _, err := v.List(context.Background(), ""); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("List after swap: err = %v, want ErrCorrupt", err)
	}
}

func TestEveryFlippedByteAndEveryTruncationIsDetected(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "k", "sk-test-123")
	p := objectPath(cfg, "global", "k")
	orig, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range orig {
		mut := bytes.Clone(orig)
		mut[i] ^= 0x01
		os.WriteFile(p, mut, 0o600)
		if s, _, err := v.Get(ctx, "global", "k"); err == nil {
			t.Fatalf("flipping byte %d went unnoticed: got %q", i, s.Reveal())
		} else if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongKey) {
			t.Fatalf("flipping byte %d: err = %v, want ErrCorrupt or ErrWrongKey", i, err)
		}
	}
	for n := range len(orig) {
		os.WriteFile(p, orig[:n], 0o600)
		if _, _, err := v.Get(ctx, "global", "k"); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: err = %v, want ErrCorrupt", n, err)
		}
	}
	os.WriteFile(p, orig, 0o600)
	if got := mustGet(t, v, "global", "k"); got != "sk-test-123" {
		t.Fatalf("restored object reads %q", got)
	}
}

func TestWrongDeviceKeyIsReportedAsWrongKey(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "k", "v")
	v.Close()
	if err := os.WriteFile(DeviceKeyPath(cfg.StateRoot), bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	v2 := openTest(t, cfg)
	_, _, err := v2.Get(context.Background(), "global", "k")
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "different key-encryption key") {
		t.Fatalf("Get with another device key = %v, want ErrWrongKey", err)
	}
}

func TestDeviceKeyLivesOutsideTheVaultRoot(t *testing.T) {
	cfg := testConfig(t)
	openTest(t, cfg)
	key := DeviceKeyPath(cfg.StateRoot)
	info, err := os.Stat(key)
	if err != nil {
		t.Fatal(err)
	}
	if (runtime.GOOS != "windows" && info.Mode().Perm() != 0o600) || info.Size() != 32 {
		t.Fatalf("device key mode %v size %d", info.Mode(), info.Size())
	}
	if rel, _ := filepath.Rel(cfg.Root, key); !strings.HasPrefix(rel, "..") {
		t.Fatalf("device key %s is inside the vault root %s", key, cfg.Root)
	}
}

func TestOpenRefusesUnsafeVaultRoot(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix mode bits and symlink checks; Windows access lives in ACLs (see internal/fsutil)")
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, cfg Config)
		wantMsg string
	}{
		{"group writable", func(t *testing.T, cfg Config) { os.Chmod(cfg.Root, 0o770) }, "chmod"},
		{"world writable", func(t *testing.T, cfg Config) { os.Chmod(cfg.Root, 0o707) }, "chmod"},
		{"symlink", func(t *testing.T, cfg Config) {
			real := cfg.Root + ".real"
			os.Rename(cfg.Root, real)
			os.Symlink(real, cfg.Root)
		}, "symlink"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			openTest(t, cfg).Close()
			tt.prepare(t, cfg)
			_, err := Open(context.Background(), cfg)
			if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Open = %v, want ErrPermission mentioning %q", err, tt.wantMsg)
			}
		})
	}
}

func TestMarkerWinsAndUnknownMarkerIsAClearError(t *testing.T) {
	cfg := testConfig(t)
	openTest(t, cfg).Close()
	marker := filepath.Join(cfg.Root, "backend.kind")
	b, _ := os.ReadFile(marker)
	if string(b) != "palyra-vault:encrypted_file\n" {
		t.Fatalf("marker = %q", b)
	}
	os.WriteFile(marker, []byte("palyra-vault:floppy_disk\n"), 0o600)
	before := hashTree(t, cfg.Root)
	_, err := Open(context.Background(), cfg)
	if !errors.Is(err, ErrBackendUnavailable) || !strings.Contains(err.Error(), `"floppy_disk"`) {
		t.Fatalf("Open with unknown marker = %v", err)
	}
	if hashTree(t, cfg.Root) != before {
		t.Fatal("Open with a bad marker changed the vault")
	}
}

func TestConfigFromEnvironmentOpensTheVaultItNames(t *testing.T) {
	dir := testutil.TempDir(t)
	t.Setenv(secret.EnvStateRoot, filepath.Join(dir, "st"))
	t.Setenv(EnvVaultDir, "")
	t.Setenv(EnvBackend, "encrypted_file")
	v := openTest(t, ConfigFromEnv())
	info := v.Info()
	if info.Root != filepath.Join(dir, "st", "vault") || info.Backend != backend.KindEncryptedFile || info.KeySource != "device" {
		t.Fatalf("Info = %+v", info)
	}
	t.Setenv(EnvVaultDir, filepath.Join(dir, "elsewhere"))
	v2 := openTest(t, Config{}.WithEnv())
	if v2.Info().Root != filepath.Join(dir, "elsewhere") {
		t.Fatalf("root = %s", v2.Info().Root)
	}
}

func TestTwoVaultHandlesSeeEachOthersWrites(t *testing.T) {
	cfg := testConfig(t)
	a, b := openTest(t, cfg), openTest(t, cfg)
	mustPut(t, a, "global", "k", "from-a")
	if got := mustGet(t, b, "global", "k"); got != "from-a" {
		t.Fatalf("b reads %q", got)
	}
	list, _ := b.List(context.Background(), "")
	keys := []string{}
	for _, m := range list {
		keys = append(keys, m.Key)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "k" {
		t.Fatalf("b lists %v", keys)
	}
}

func TestBackendSizeLimitIsEnforcedUpFrontNamingBackendAndLimit(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	small, err := filestore.New(cfg.Root, filestore.Options{MaxBlobSize: 700})
	if err != nil {
		t.Fatal(err)
	}
	v.backend.Close()
	v.backend = small
	limit := v.maxValueSize("global", "k")
	if _, err := v.Put(context.Background(), "global", "k", make([]byte, limit)); err != nil {
		t.Fatalf("a value of exactly the limit (%d bytes): %v", limit, err)
	}
	before := hashTree(t, cfg.Root)
	_, err = v.Put(context.Background(), "global", "k", make([]byte, limit+1))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), fmt.Sprintf("the encrypted_file backend holds at most %d", limit)) {
		t.Fatalf("Put over the backend's limit = %v", err)
	}
	if hashTree(t, cfg.Root) != before {
		t.Fatal("a refused Put changed the vault")
	}
}
