package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
)

// These tests make items with libsecret's secret-tool in the real
// gnome-keyring-daemon that scripts/secret-service-run.sh starts, as other
// tools would, and import them.

// uniqueService returns a service attribute value no other test uses, and
// removes every item carrying it when the test ends.
func uniqueService(t *testing.T) string {
	t.Helper()
	needPrivateKeyring(t)
	if _, err := exec.LookPath("secret-tool"); err != nil {
		t.Fatal("secret-tool is missing: apt-get install libsecret-tools")
	}
	var b [6]byte
	rand.Read(b[:])
	svc := "palyra-test-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		// secret-tool clear removes one matching item per call.
		for range 10 {
			if err := exec.Command("secret-tool", "clear", "service", svc).Run(); err != nil {
				break
			}
		}
	})
	return svc
}

// secretToolStore stores value (through stdin) under label and attrs.
func secretToolStore(t *testing.T, label string, value []byte, attrs ...string) {
	t.Helper()
	cmd := exec.Command("secret-tool", append([]string{"store", "--label=" + label}, attrs...)...)
	cmd.Stdin = bytes.NewReader(value)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("secret-tool store: %v: %s", err, out)
	}
}

func secretToolLookup(t *testing.T, attrs ...string) string {
	t.Helper()
	out, err := exec.Command("secret-tool", append([]string{"lookup"}, attrs...)...).Output()
	if err != nil {
		t.Fatalf("secret-tool lookup %v: %v", attrs, err)
	}
	return string(out)
}

func TestImportKeyringCopiesGoKeyringAndPythonKeyringItemsAndLeavesThem(t *testing.T) {
	svc := uniqueService(t)
	// zalando/go-keyring's attributes, then Python keyring's.
	secretToolStore(t, "Password for 'alice@example.com' on '"+svc+"'", []byte("pw-alice"), "service", svc, "username", "alice@example.com")
	secretToolStore(t, "Password for 'Bob' on '"+svc+"'", []byte("pw-bob\twith tab"), "service", svc, "username", "Bob", "application", "Python keyring library")
	secretToolStore(t, "unrelated", []byte("other"), "service", svc+"-other", "username", "carol")
	t.Cleanup(func() { exec.Command("secret-tool", "clear", "service", svc+"-other").Run() })

	v := openTest(t, testConfig(t))
	rep, err := v.ImportKeyring(context.Background(), KeyringImportOptions{Scope: "imported/" + svc, Attributes: map[string]string{"service": svc}})
	if err != nil || rep.Imported != 2 || len(rep.Keys) != 2 {
		t.Fatalf("ImportKeyring = %+v, %v", rep, err)
	}
	for key, want := range map[string]string{"alice-example.com": "pw-alice", "bob": "pw-bob\twith tab"} {
		if got := mustGet(t, v, "imported/"+svc, key); got != want {
			t.Fatalf("%s = %q, want %q", key, got, want)
		}
	}
	if list, _ := v.List(context.Background(), ""); len(list) != 2 {
		t.Fatalf("vault holds %v, want only the two selected items", list)
	}
	if got := secretToolLookup(t, "service", svc, "username", "Bob"); got != "pw-bob\twith tab" {
		t.Fatalf("the original item now reads %q; import must not change it", got)
	}
}

func TestImportKeyringBySecretToolAttributesNamesKeysByTheChosenAttribute(t *testing.T) {
	svc := uniqueService(t)
	secretToolStore(t, "deploy token", []byte("tok-1"), "service", svc, "name", "Deploy Token")
	v := openTest(t, testConfig(t))
	_, err := v.ImportKeyring(context.Background(), KeyringImportOptions{Scope: "global", Attributes: map[string]string{"service": svc}})
	if err == nil || !strings.Contains(err.Error(), `no "username" attribute`) || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("ImportKeyring without a username attribute = %v", err)
	}
	rep, err := v.ImportKeyring(context.Background(), KeyringImportOptions{Scope: "global", Attributes: map[string]string{"service": svc}, KeyAttribute: "name"})
	if err != nil || rep.Keys[0].Key != "deploy-token" || rep.Keys[0].Label != "deploy token" {
		t.Fatalf("ImportKeyring = %+v, %v", rep, err)
	}
	if got := mustGet(t, v, "global", "deploy-token"); got != "tok-1" {
		t.Fatalf("imported %q", got)
	}
}

func TestImportKeyringWithAmbiguousKeysImportsNothing(t *testing.T) {
	svc := uniqueService(t)
	secretToolStore(t, "one", []byte("a"), "service", svc, "username", "Alice")
	secretToolStore(t, "two", []byte("b"), "service", svc, "username", "alice")
	cfg := testConfig(t)
	v := openTest(t, cfg)
	before := hashTree(t, cfg.Root)
	_, err := v.ImportKeyring(context.Background(), KeyringImportOptions{Scope: "global", Attributes: map[string]string{"service": svc}})
	if err == nil || !strings.Contains(err.Error(), `both become key "alice"`) {
		t.Fatalf("ImportKeyring = %v", err)
	}
	if hashTree(t, cfg.Root) != before {
		t.Fatal("a refused import changed the vault")
	}
}

func TestImportKeyringConflictsAndMisses(t *testing.T) {
	svc := uniqueService(t)
	secretToolStore(t, "k", []byte("from keyring"), "service", svc, "username", "k")
	v := openTest(t, testConfig(t))
	mustPut(t, v, "global", "k", "mine")
	opts := KeyringImportOptions{Scope: "global", Attributes: map[string]string{"service": svc}}
	if _, err := v.ImportKeyring(context.Background(), opts); !errors.Is(err, ErrConflict) {
		t.Fatalf("ImportKeyring onto an existing key = %v, want ErrConflict", err)
	}
	opts.OnConflict = OnConflictSkip
	if rep, err := v.ImportKeyring(context.Background(), opts); err != nil || rep.Skipped != 1 || mustGet(t, v, "global", "k") != "mine" {
		t.Fatalf("skip: %+v, %v", rep, err)
	}
	opts.OnConflict = OnConflictOverwrite
	if rep, err := v.ImportKeyring(context.Background(), opts); err != nil || rep.Overwritten != 1 || mustGet(t, v, "global", "k") != "from keyring" {
		t.Fatalf("overwrite: %+v, %v", rep, err)
	}
	opts.Attributes = map[string]string{"service": svc + "-none"}
	if _, err := v.ImportKeyring(context.Background(), opts); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ImportKeyring with no match = %v, want ErrNotFound", err)
	}
}

func TestImportKeyringWithoutAServiceIsUnavailable(t *testing.T) {
	v := openTest(t, testConfig(t))
	_, err := v.ImportKeyring(context.Background(), KeyringImportOptions{
		Scope: "global", Attributes: map[string]string{"service": "x"},
		Address: "unix:path=" + filepath.Join(testutil.TempDir(t), "no-bus"),
	})
	if !errors.Is(err, ErrBackendUnavailable) {
		t.Fatalf("ImportKeyring = %v, want ErrBackendUnavailable", err)
	}
}
