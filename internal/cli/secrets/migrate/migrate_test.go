package migrate

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/internal/testutil/secretservicetest"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
)

// requireSecretService skips without a reachable Secret Service, and fails
// under CI, where a missing real component is a failure.
func requireSecretService(t *testing.T) {
	t.Helper()
	secretservicetest.Require(t)
}

func TestMigrateToTheSecretServiceAndBackReportsEachStep(t *testing.T) {
	requireSecretService(t)
	v, open := clitest.Vault(t)
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		if _, err := v.Put(ctx, "global", k, []byte("secret-"+k)); err != nil {
			t.Fatal(err)
		}
	}
	ios, _, out, _ := iostreams.Test()
	if err := migrateRun(ctx, &MigrateOptions{IO: ios, Vault: open, To: backend.KindSecretService}); err != nil {
		t.Fatal(err)
	}
	if want := "migrated 3 secrets from encrypted_file to linux_secret_service (each read back and compared); removed 3 old copies\n"; out.String() != want {
		t.Fatalf("output %q, want %q", out, want)
	}
	if got, _, err := v.Get(ctx, "global", "b"); err != nil || string(got.Reveal()) != "secret-b" {
		t.Fatalf("after migrating, Get = %v", err)
	}

	out.Reset()
	if err := migrateRun(ctx, &MigrateOptions{IO: ios, Vault: open, To: backend.KindEncryptedFile, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var rep vault.MigrateReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if rep.From != backend.KindSecretService || rep.To != backend.KindEncryptedFile || rep.Copied != 3 || rep.Removed != 3 {
		t.Fatalf("report %+v", rep)
	}
	if strings.Contains(out.String(), "secret-") {
		t.Fatalf("output leaks a value: %s", out)
	}
}
