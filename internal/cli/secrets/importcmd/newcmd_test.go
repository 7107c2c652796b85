package importcmd

import (
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/vault"
)

func TestNewCmdImportParsesArgsAndFlags(t *testing.T) {
	tests := []clitest.ParseTest[ImportOptions]{
		{Name: "file only", Args: []string{"backup.age"}, Want: ImportOptions{File: "backup.age", OnConflict: vault.OnConflictFail}},
		{Name: "identities", Args: []string{"b.age", "--identity", "k1.txt", "--identity", "k2.txt", "--on-conflict", "skip", "--json"}, Want: ImportOptions{File: "b.age", OnConflict: vault.OnConflictSkip, IdentityFiles: []string{"k1.txt", "k2.txt"}, JSON: true}},
		{Name: "backup passphrase", Args: []string{"--backup-passphrase-file", "/run/backup", "--on-conflict=overwrite", "b.age"}, Want: ImportOptions{File: "b.age", OnConflict: vault.OnConflictOverwrite, BackupPassphraseFile: "/run/backup"}},
		{Name: "no file", WantErr: "needs exactly one argument, the backup file (got 0)"},
		{Name: "two files", Args: []string{"a.age", "b.age"}, WantErr: "needs exactly one argument, the backup file (got 2)"},
		{Name: "unknown conflict policy", Args: []string{"b.age", "--on-conflict", "merge"}, WantErr: `--on-conflict: must be one of fail, skip, overwrite`},
		{Name: "identity and passphrase", Args: []string{"b.age", "--identity", "k.txt", "--backup-passphrase-file", "/run/backup"}, WantErr: "--identity and --backup-passphrase-file exclude each other"},
	}
	clitest.ParseTests(t, NewCmdImport, tests, func(t *testing.T, o *ImportOptions, f *cmdutil.Factory) {
		clitest.CheckWiring(t, f, o.IO, o.Vault, "Vault")
		clitest.CheckConfig(t, f, o.Config)
		o.IO, o.Vault, o.Config = nil, nil, nil
	})
}
