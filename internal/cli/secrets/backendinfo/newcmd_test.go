package backendinfo

import (
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
)

func TestNewCmdBackendParsesArgsAndFlags(t *testing.T) {
	tests := []clitest.ParseTest[BackendOptions]{
		{Name: "no flags"},
		{Name: "json", Args: []string{"--json"}, Want: BackendOptions{JSON: true}},
		{Name: "an argument", Args: []string{"encrypted_file"}, WantErr: "accepts at most 0 argument(s), got 1"},
	}
	clitest.ParseTests(t, NewCmdBackend, tests, func(t *testing.T, o *BackendOptions, f *cmdutil.Factory) {
		clitest.CheckWiring(t, f, o.IO, o.Vault, "Vault") // it shows the vault it would use, creating it
		o.IO, o.Vault = nil, nil
	})
}
