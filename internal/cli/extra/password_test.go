package extra

import (
	"testing"

	"github.com/palyra/palyra-vault/internal/iostreams"
)

// TestEtcdPasswordComesFromTheEnvironmentElseNowhereWithoutATerminal checks
// the order of the etcd password's sources that palyra-extra gives the
// backend (which reads no environment itself): $PALYRA_ETCD_PASSWORD's
// value when set; without it and without a terminal, none.
func TestEtcdPasswordComesFromTheEnvironmentElseNowhereWithoutATerminal(t *testing.T) {
	ios, _, _, _ := iostreams.Test() // no terminal
	pw := etcdPassword(ios, "from-env")
	if pw == nil {
		t.Fatal("no password source with the variable set")
	}
	if got, err := pw("palyra"); err != nil || string(got) != "from-env" {
		t.Fatalf("password = %q, %v", got, err)
	}
	if etcdPassword(ios, "") != nil {
		t.Fatal("a password source without the variable and without a terminal")
	}
}
