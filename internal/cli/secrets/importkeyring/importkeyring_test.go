package importkeyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/internal/testutil/secretservicetest"
)

// The command runs against the real gnome-keyring-daemon that
// scripts/secret-service-run.sh starts, with items made by secret-tool.
func needKeyring(t *testing.T) {
	t.Helper()
	secretservicetest.Require(t)
}

func TestImportKeyringPrintsEachImportedRefAndLeavesTheItems(t *testing.T) {
	needKeyring(t)
	var b [6]byte
	rand.Read(b[:])
	svc := "palyra-cli-test-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		for range 4 {
			exec.Command("secret-tool", "clear", "service", svc).Run()
		}
	})
	for user, value := range map[string]string{"alice": "pw-a", "Bob@Example": "pw-b"} {
		cmd := exec.Command("secret-tool", "store", "--label=login "+user, "service", svc, "username", user)
		cmd.Stdin = strings.NewReader(value)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("secret-tool store: %v: %s", err, out)
		}
	}
	v, open := clitest.Vault(t)
	ios, _, out, errOut := iostreams.Test()
	cfg := clitest.Config(t)
	opts := &ImportKeyringOptions{IO: ios, Config: &cfg, Vault: open, Scope: "plugins/" + svc, Service: svc, OnConflict: "fail"}
	if err := importRun(context.Background(), opts); err != nil {
		t.Fatalf("importRun: %v", err)
	}
	want := "vault://plugins/" + svc + "/alice\tlogin alice\nvault://plugins/" + svc + "/bob-example\tlogin Bob@Example\n"
	if out.String() != want {
		t.Fatalf("stdout = %q, want %q", out, want)
	}
	if !strings.Contains(errOut.String(), "imported 2 secrets (0 overwritten, 0 skipped); the keyring items are unchanged") || strings.Contains(out.String()+errOut.String(), "pw-") {
		t.Fatalf("stderr = %q", errOut)
	}
	s, _, err := v.Get(context.Background(), "plugins/"+svc, "bob-example")
	if err != nil || !bytes.Equal(s.Reveal(), []byte("pw-b")) {
		t.Fatalf("Get = %v", err)
	}
	if got, _ := exec.Command("secret-tool", "lookup", "service", svc, "username", "alice").Output(); string(got) != "pw-a" {
		t.Fatalf("the keyring item now reads %q", got)
	}

	// Again: the secrets exist, and the error says what to do.
	err = importRun(context.Background(), opts)
	if h := cmdutil.Hints(err); err == nil || len(h) == 0 || !strings.Contains(h[0], "--on-conflict skip") {
		t.Fatalf("second import = %v, hints %q", err, h)
	}
}
