package verify

import (
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
)

func TestNewCmdVerifyParsesArgsAndFlags(t *testing.T) {
	tests := []clitest.ParseTest[VerifyOptions]{
		{Name: "no flags"},
		{Name: "every flag", Args: []string{"--json"}, Want: VerifyOptions{JSON: true}},
		{Name: "an argument", Args: []string{"global"}, WantErr: "accepts at most 0 argument(s), got 1"},
	}
	clitest.ParseTests(t, NewCmdVerify, tests, func(t *testing.T, o *VerifyOptions, f *cmdutil.Factory) {
		clitest.CheckWiring(t, f, o.IO, o.Vault, "ExistingVault")
		clitest.CheckConfig(t, f, o.Config)
		if o.Rust == nil {
			t.Error("verify is not wired to read a Rust vault (Factory.RustVault)")
		}
		o.IO, o.Vault, o.Config, o.Rust = nil, nil, nil, nil
	})
}
