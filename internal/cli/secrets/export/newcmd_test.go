package export

import (
	"reflect"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
)

func TestNewCmdExportParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    ExportOptions
		wantErr string
	}{
		{"output only", []string{"-o", "backup.age"}, ExportOptions{Output: "backup.age"}, ""},
		{"recipients", []string{"--output", "b.age", "--scope", "plugins/github", "--recipient", "age1a", "--recipient", "age1b", "--passphrase-file", "/run/pass", "--force", "--skip-unreadable", "--json"},
			ExportOptions{Output: "b.age", Scope: "plugins/github", Recipients: []string{"age1a", "age1b"}, PassphraseFile: "/run/pass", Force: true, SkipUnreadable: true, JSON: true}, ""},
		{"backup passphrase", []string{"-o", "b.age", "--backup-passphrase-file", "/run/backup"}, ExportOptions{Output: "b.age", BackupPassphraseFile: "/run/backup"}, ""},
		{"no output", []string{"--scope", "global"}, ExportOptions{}, "--output (-o) is required"},
		{"bad scope", []string{"-o", "b.age", "--scope", "Global"}, ExportOptions{}, `invalid scope "Global"`},
		{"recipient and passphrase", []string{"-o", "b.age", "--recipient", "age1a", "--backup-passphrase-file", "/run/backup"}, ExportOptions{}, "--recipient and --backup-passphrase-file exclude each other"},
		{"an argument", []string{"-o", "b.age", "global"}, ExportOptions{}, "accepts at most 0 argument(s), got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := clitest.Parse(NewCmdExport, tt.args...)
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
