package api_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientLinksNothingHeavy keeps the daemon's client light: a program
// that only asks the daemon for a secret must not link the vault, its
// backends, key derivation, D-Bus or net/http (issue "A lighter core"). It asks the go
// tool for the package's dependencies, so it fails as soon as an import
// drags one in.
func TestClientLinksNothingHeavy(t *testing.T) {
	for _, pkg := range []string{".", "../../secret"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		forbidden := []string{
			"github.com/palyra/palyra-vault/vault", // the library and every backend under it
			"filippo.io/age",
			"golang.org/x/crypto/argon2",
			"github.com/godbus/dbus",
			"github.com/spf13/cobra",
			"net/http", // the client speaks its HTTP by hand (httpwire.go)
			"crypto/tls",
		}
		for dep := range strings.Lines(string(out)) {
			dep = strings.TrimSpace(dep)
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s; keep it off the daemon client's imports", pkg, dep)
				}
			}
		}
	}
}
