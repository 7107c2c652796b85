package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/internal/testutil/keyringproc"
	"github.com/palyra/palyra-vault/vault/backend/secretservice"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestKeyringScripts runs testdata/keyring/*.txtar against the real palyra
// binary and a real gnome-keyring of each script's own (keyringproc: a
// private bus, no display, no prompter), which the script may lock and
// unlock with "keyring lock" and "keyring unlock". A locked keyring there
// is one that only a prompt could unlock, and no prompt can be shown: the
// case of a keyring reached over SSH. Without gnome-keyring the test is
// skipped, or fails in CI.
func TestKeyringScripts(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("gnome-keyring is tested on Linux; this is %s", runtime.GOOS)
	}
	k, err := keyringproc.Start("palyra-cli-keyring-test")
	if err != nil {
		testutil.SkipOrFailInCI(t, err.Error())
	}
	k.Stop()
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "keyring"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			k, err := keyringproc.Start("palyra-cli-keyring-test")
			if err != nil {
				return err
			}
			e.Defer(k.Stop)
			e.Values["keyring"] = k
			e.Setenv("DBUS_SESSION_BUS_ADDRESS", k.Addr)
			e.Setenv("PALYRA_STATE_ROOT", filepath.Join(e.WorkDir, "state"))
			e.Setenv("PALYRA_VAULT_DIR", filepath.Join(e.WorkDir, "vault"))
			e.Setenv("PALYRA_VAULT_BACKEND", "auto")
			e.Setenv("GORACE", strings.TrimSpace(e.Getenv("GORACE")+" atexit_sleep_ms=0"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":  cmdExitcode,
			"vaulthash": cmdVaulthash,
			"writefile": cmdWritefile,
			"keyring":   cmdKeyring,
			"rustvault": cmdRustvault,
			"treehash":  cmdTreehash,
			"ssitems":   cmdSSItems,
		},
	})
}

// cmdKeyring locks or unlocks the script's keyring: "keyring lock" (the
// standard Service.Lock, no prompt) or "keyring unlock" (gnome-keyring's
// private UnlockWithMasterPassword, no prompt).
func cmdKeyring(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: keyring lock|unlock")
	}
	k := ts.Value("keyring").(*keyringproc.Keyring)
	var err error
	switch args[0] {
	case "lock":
		err = k.Lock()
	case "unlock":
		err = k.Unlock()
	default:
		ts.Fatalf("usage: keyring lock|unlock")
	}
	ts.Check(err)
}

// cmdSSItems writes to FILE one line per item of the script's keyring
// whose attribute NAME is VALUE (path, label, every attribute, SHA-256 of
// the secret), sorted, so that "cmp" proves the items did not change.
// The xdg:schema attribute is left out: gnome-keyring reports the one
// secret-tool gives an item (org.freedesktop.Secret.Generic) on some
// searches and not on others, with nothing changing the item in between.
//
//	ssitems FILE NAME=VALUE
func cmdSSItems(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: ssitems FILE NAME=VALUE")
	}
	name, value, ok := strings.Cut(args[1], "=")
	if !ok {
		ts.Fatalf("usage: ssitems FILE NAME=VALUE")
	}
	items, err := secretservice.Search(context.Background(), secretservice.Options{Address: ts.Getenv("DBUS_SESSION_BUS_ADDRESS")}, map[string]string{name: value})
	ts.Check(err)
	var lines []string
	for _, it := range items {
		attrs := make([]string, 0, len(it.Attributes))
		for k, v := range it.Attributes {
			if k == "xdg:schema" {
				continue
			}
			attrs = append(attrs, k+"="+v)
		}
		sort.Strings(attrs)
		lines = append(lines, fmt.Sprintf("%s %q %q %x", it.Path, it.Label, attrs, sha256.Sum256(it.Secret)))
	}
	sort.Strings(lines)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Join(lines, "\n")+"\n"), 0o600))
}
