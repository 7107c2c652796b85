package vault

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestVaultLinksNoAge keeps filippo.io/age out of package vault (issue 9):
// every program that links the vault pays age's package initialisation at
// start-up, and only backups need it, so their age layer lives in package
// vault/backup. It asks the go tool for the package's dependencies, so it
// fails as soon as an import drags age back in.
func TestVaultLinksNoAge(t *testing.T) {
	if runtime.GOOS == "windows" {
		// CI runs this package's tests for Windows under Wine, where there is
		// no go tool; the Linux run checks the same imports.
		t.Skip("no go tool in the Windows (Wine) test run; the Linux run checks the dependencies")
	}
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := map[string]bool{}
	for dep := range strings.Lines(string(out)) {
		deps[strings.TrimSpace(dep)] = true
	}
	if !deps["github.com/palyra/palyra-vault/vault/internal/envelope"] {
		t.Fatalf("go list -deps . does not list the vault's own envelope package; is this the vault?\n%s", out)
	}
	for dep := range deps {
		if dep == "filippo.io/age" || strings.HasPrefix(dep, "filippo.io/age/") {
			t.Errorf("package vault depends on %s; keep age in package vault/backup", dep)
		}
	}
}
