package importcmd

import (
	"reflect"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/vault"
)

func TestNewCmdImportParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    ImportOptions
		wantErr string
	}{
		{"file only", []string{"backup.age"}, ImportOptions{File: "backup.age", OnConflict: vault.OnConflictFail}, ""},
		{"identities", []string{"b.age", "--identity", "k1.txt", "--identity", "k2.txt", "--on-conflict", "skip", "--passphrase-file", "/run/pass", "--json"},
			ImportOptions{File: "b.age", OnConflict: vault.OnConflictSkip, IdentityFiles: []string{"k1.txt", "k2.txt"}, PassphraseFile: "/run/pass", JSON: true}, ""},
		{"backup passphrase", []string{"--backup-passphrase-file", "/run/backup", "--on-conflict=overwrite", "b.age"},
			ImportOptions{File: "b.age", OnConflict: vault.OnConflictOverwrite, BackupPassphraseFile: "/run/backup"}, ""},
		{"no file", nil, ImportOptions{}, "needs exactly one argument, the backup file (got 0)"},
		{"two files", []string{"a.age", "b.age"}, ImportOptions{}, "needs exactly one argument, the backup file (got 2)"},
		{"unknown conflict policy", []string{"b.age", "--on-conflict", "merge"}, ImportOptions{}, `--on-conflict "merge": must be one of fail, skip, overwrite`},
		{"identity and passphrase", []string{"b.age", "--identity", "k.txt", "--backup-passphrase-file", "/run/backup"}, ImportOptions{}, "--identity and --backup-passphrase-file exclude each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := clitest.Parse(NewCmdImport, tt.args...)
			if tt.wantErr != "" {
				clitest.CheckUsageError(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.IO != f.IOStreams {
				t.Errorf("options carry other streams than the factory's")
			}
			if got.Config != &f.VaultConfig {
				t.Errorf("options carry a config other than the factory's")
			}
			if o := clitest.Opener(got.Vault); o != "Vault" {
				t.Errorf("opens the vault with %s, want Vault", o)
			}
			got.IO, got.Config, got.Vault = nil, nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}
