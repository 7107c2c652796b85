// Package secretservicetest is the one test of whether a test may use the
// Secret Service: a private gnome-keyring-daemon on a private session bus,
// as scripts/secret-service-run.sh starts it, and not the user's own
// keyring (tests make and delete items). Tests outside the secretservice
// package call Require; that package's own tests start their keyring
// themselves.
package secretservicetest

import (
	"context"
	"os"
	"runtime"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/vault/backend/secretservice"
)

// Require returns the session bus address of the private Secret Service
// the test may use. When there is none (not Linux, not under
// scripts/secret-service-run.sh, or the service does not answer) it skips
// the test, or fails it in CI, where the suite always runs with the real
// service (testutil.SkipOrFailInCI).
func Require(t testing.TB) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("the Secret Service is tested on Linux; this is %s", runtime.GOOS)
	}
	const how = "run under scripts/secret-service-run.sh"
	if os.Getenv("SS_DIR") == "" {
		testutil.SkipOrFailInCI(t, "no private Secret Service ($SS_DIR is unset): "+how)
	}
	addr := secretservice.SessionBusAddress(os.Getenv)
	if err := secretservice.Probe(context.Background(), secretservice.Options{Address: addr}); err != nil {
		testutil.SkipOrFailInCI(t, "the private Secret Service does not answer ("+how+"): "+err.Error())
	}
	return addr
}
