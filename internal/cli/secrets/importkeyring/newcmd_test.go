package importkeyring

import (
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/vault"
)

func TestNewCmdImportKeyringParsesArgsAndFlags(t *testing.T) {
	tests := []clitest.ParseTest[ImportKeyringOptions]{
		{Name: "service", Args: []string{"--scope", "global", "--service", "gh"}, Want: ImportKeyringOptions{Scope: "global", Service: "gh", OnConflict: vault.OnConflictFail}},
		{Name: "attributes", Args: []string{"--scope", "plugins/deploy", "--attr", "app=deploy", "--attr", "env=", "--key-attribute", "name", "--on-conflict", "overwrite", "--json"}, Want: ImportKeyringOptions{Scope: "plugins/deploy", Attrs: []string{"app=deploy", "env="}, KeyAttribute: "name", OnConflict: vault.OnConflictOverwrite, JSON: true}},
		{Name: "no scope", Args: []string{"--service", "gh"}, WantErr: "--scope: "},
		{Name: "bad scope", Args: []string{"--scope", "Plugins", "--service", "gh"}, WantErr: `--scope: invalid scope: segment 1 contains uppercase 'P'`},
		{Name: "no selection", Args: []string{"--scope", "global"}, WantErr: "choose the items with --service NAME or --attr NAME=VALUE"},
		{Name: "attribute without value", Args: []string{"--scope", "global", "--attr", "app"}, WantErr: `--attr: each must be NAME=VALUE, with a name`},
		{Name: "attribute without name", Args: []string{"--scope", "global", "--attr", "=deploy"}, WantErr: `--attr: each must be NAME=VALUE, with a name`},
		{Name: "unknown conflict policy", Args: []string{"--scope", "global", "--service", "gh", "--on-conflict", "merge"}, WantErr: `--on-conflict: must be one of fail, skip, overwrite`},
		{Name: "an argument", Args: []string{"--scope", "global", "--service", "gh", "extra"}, WantErr: "accepts at most 0 argument(s), got 1"},
	}
	clitest.ParseTests(t, NewCmdImportKeyring, tests, func(t *testing.T, o *ImportKeyringOptions, f *cmdutil.Factory) {
		clitest.CheckWiring(t, f, o.IO, o.Vault, "Vault")
		clitest.CheckConfig(t, f, o.Config)
		o.IO, o.Vault, o.Config = nil, nil, nil
	})
}
