package export

import (
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
)

func TestNewCmdExportParsesArgsAndFlags(t *testing.T) {
	tests := []clitest.ParseTest[ExportOptions]{
		{Name: "output only", Args: []string{"-o", "backup.age"}, Want: ExportOptions{Output: "backup.age"}},
		{Name: "recipients", Args: []string{"--output", "b.age", "--scope", "plugins/github", "--recipient", "age1a", "--recipient", "age1b", "--force", "--skip-unreadable", "--json"}, Want: ExportOptions{Output: "b.age", Scope: "plugins/github", Recipients: []string{"age1a", "age1b"}, Force: true, SkipUnreadable: true, JSON: true}},
		{Name: "backup passphrase", Args: []string{"-o", "b.age", "--backup-passphrase-file", "/run/backup"}, Want: ExportOptions{Output: "b.age", BackupPassphraseFile: "/run/backup"}},
		{Name: "no output", Args: []string{"--scope", "global"}, WantErr: "--output (-o) is required"},
		{Name: "bad scope", Args: []string{"-o", "b.age", "--scope", "Plugins"}, WantErr: `--scope: invalid scope: segment 1 contains uppercase 'P'`},
		{Name: "recipient and passphrase", Args: []string{"-o", "b.age", "--recipient", "age1a", "--backup-passphrase-file", "/run/backup"}, WantErr: "--recipient and --backup-passphrase-file exclude each other"},
		{Name: "an argument", Args: []string{"-o", "b.age", "global"}, WantErr: "accepts at most 0 argument(s), got 1"},
	}
	clitest.ParseTests(t, NewCmdExport, tests, func(t *testing.T, o *ExportOptions, f *cmdutil.Factory) {
		clitest.CheckWiring(t, f, o.IO, o.Vault, "Vault")
		clitest.CheckConfig(t, f, o.Config)
		o.IO, o.Vault, o.Config = nil, nil, nil
	})
}
