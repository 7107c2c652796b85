package resolve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// secretValue is planted in every source; no error may ever contain it.
const secretValue = "s3cr3t-VALUE-9f8e7d"

// checkResult asserts the outcome of a Resolve call: the value when wantKind
// is 0, else the kind, and in every case that the error never shows the
// secret or anything the source printed on stderr.
func checkResult(t *testing.T, got secret.SensitiveBytes, err error, wantKind Kind, want string) {
	t.Helper()
	if wantKind == 0 {
		if err != nil {
			t.Fatalf("Resolve failed: %v", err)
		}
		if string(got.Reveal()) != want {
			t.Fatalf("Resolve = %q, want %q", got.Reveal(), want)
		}
		return
	}
	if err == nil {
		t.Fatalf("Resolve succeeded with %d bytes, want kind %v", got.Len(), wantKind)
	}
	if got.Len() != 0 {
		t.Errorf("failed Resolve returned %d bytes", got.Len())
	}
	if k := KindOf(err); k != wantKind {
		t.Errorf("error %q has kind %v, want %v", err, k, wantKind)
	}
	if !errors.Is(err, wantKind.sentinel()) {
		t.Errorf("errors.Is(err, %v) is false", wantKind.sentinel())
	}
	for _, form := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(form, secretValue) || strings.Contains(form, "STDERR-SECRET") {
			t.Errorf("error shows secret content: %s", form)
		}
	}
	var e *Error
	if errors.As(err, &e) && e.Ref != "" && !strings.Contains(err.Error(), e.Ref) {
		t.Errorf("error %q does not name the reference %s", err, e.Ref)
	}
}

func TestResolveEnv(t *testing.T) {
	t.Setenv("PALYRA_TEST_SECRET", secretValue)
	t.Setenv("PALYRA_TEST_EMPTY", "")
	t.Setenv("PALYRA_TEST_NEWLINE", secretValue+"\n")
	small := EnvRef("PALYRA_TEST_SECRET")
	small.MaxBytes = 5
	tests := []struct {
		name string
		ref  Ref
		kind Kind
		want string
	}{
		{"set variable", EnvRef("PALYRA_TEST_SECRET"), 0, secretValue},
		{"newline kept for env", EnvRef("PALYRA_TEST_NEWLINE"), 0, secretValue + "\n"},
		{"unset variable is missing", EnvRef("PALYRA_TEST_UNSET_XYZ"), Missing, ""},
		{"empty variable is missing", EnvRef("PALYRA_TEST_EMPTY"), Missing, ""},
		{"longer than max_bytes", small, TooLarge, ""},
		{"bad name is invalid", EnvRef("A-B"), Invalid, ""},
	}
	r := New(nil, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Resolve(context.Background(), tt.ref)
			checkResult(t, got, err, tt.kind, tt.want)
		})
	}
}

func openVault(t *testing.T) *vault.Vault {
	t.Helper()
	dir := t.TempDir()
	v, err := vault.Open(context.Background(), vault.Config{
		Root: filepath.Join(dir, "vault"), StateRoot: filepath.Join(dir, "state"), Backend: "encrypted_file",
	})
	if err != nil {
		t.Fatalf("opening vault: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func TestResolveVault(t *testing.T) {
	v := openVault(t)
	ctx := context.Background()
	if _, err := v.Put(ctx, "global", "openai_api_key", []byte(secretValue)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Put(ctx, "plugins/github", "token", []byte(secretValue+"\n")); err != nil {
		t.Fatal(err)
	}
	small := VaultRef(secret.Ref{Scope: "global", Key: "openai_api_key"})
	small.MaxBytes = 3
	tests := []struct {
		name string
		ref  Ref
		kind Kind
		want string
	}{
		{"stored secret", VaultRef(secret.Ref{Scope: "global", Key: "openai_api_key"}), 0, secretValue},
		{"value kept byte for byte", VaultRef(secret.Ref{Scope: "plugins/github", Key: "token"}), 0, secretValue + "\n"},
		{"absent secret is missing", VaultRef(secret.Ref{Scope: "global", Key: "nope"}), Missing, ""},
		{"larger than max_bytes", small, TooLarge, ""},
		{"invalid ref", VaultRef(secret.Ref{Scope: "Global", Key: "x"}), Invalid, ""},
	}
	r := New(v, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Resolve(ctx, tt.ref)
			checkResult(t, got, err, tt.kind, tt.want)
		})
	}
	_, err := r.Resolve(ctx, VaultRef(secret.Ref{Scope: "global", Key: "nope"}))
	if !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("missing vault secret: errors.Is(err, vault.ErrNotFound) is false for %v", err)
	}
}

func TestResolveVaultWithoutAVaultFails(t *testing.T) {
	got, err := New(nil, Options{}).Resolve(context.Background(), VaultRef(secret.Ref{Scope: "global", Key: "x"}))
	checkResult(t, got, err, IO, "")
}

func TestResolveRejectsInvalidRefBeforeTouchingTheSource(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	bad := ExecRef("/bin/sh", "-c", "touch "+marker)
	bad.Timeout = -1
	got, err := New(nil, Options{}).Resolve(context.Background(), bad)
	checkResult(t, got, err, Invalid, "")
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command of an invalid reference ran")
	}
}
