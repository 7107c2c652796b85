package initcmd

import (
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
)

func TestNewCmdInitParsesArgsAndFlags(t *testing.T) {
	tests := []clitest.ParseTest[InitOptions]{
		{Name: "defaults"},
		{Name: "every flag", Args: []string{"--key-source", "passphrase", "--new-passphrase-file", "/run/pass", "--json"}, Want: InitOptions{KeySource: "passphrase", NewPassphraseFile: "/run/pass", JSON: true}},
		{Name: "os key source", Args: []string{"--key-source=os"}, Want: InitOptions{KeySource: "os"}},
		{Name: "unknown key source", Args: []string{"--key-source", "tpm"}, WantErr: `--key-source: must be one of device, passphrase, os`},
		{Name: "an argument", Args: []string{"passphrase"}, WantErr: "accepts at most 0 argument(s), got 1"},
	}
	clitest.ParseTests(t, NewCmdInit, tests, func(t *testing.T, o *InitOptions, f *cmdutil.Factory) {
		clitest.CheckWiring(t, f, o.IO, o.Vault, "Vault")
		// init completes the factory's own config, which Vault opens.
		clitest.CheckConfig(t, f, o.Config)
		o.IO, o.Vault, o.Config = nil, nil, nil
	})
}
