package migrate

import (
	"reflect"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/vault/backend"
)

func TestNewCmdMigrateParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    MigrateOptions
		wantErr string
	}{
		{"to", []string{"--to", "linux_secret_service"}, MigrateOptions{To: backend.KindSecretService}, ""},
		{"to and json", []string{"--to=encrypted_file", "--json"}, MigrateOptions{To: backend.KindEncryptedFile, JSON: true}, ""},
		{"no target", nil, MigrateOptions{}, "--to is required: one of encrypted_file, linux_secret_service, macos_keychain, windows_dpapi"},
		{"unknown target", []string{"--to", "auto"}, MigrateOptions{}, `--to "auto": must be one of encrypted_file, `},
		{"an argument", []string{"--to", "encrypted_file", "x"}, MigrateOptions{}, "accepts at most 0 argument(s), got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := clitest.Parse(NewCmdMigrate, tt.args...)
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
			if o := clitest.Opener(got.Vault); o != "Vault" {
				t.Errorf("opens the vault with %s, want Vault", o)
			}
			got.IO, got.Vault = nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}
