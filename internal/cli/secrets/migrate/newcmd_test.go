package migrate

import (
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/vault/backend"
)

func TestNewCmdMigrateParsesArgsAndFlags(t *testing.T) {
	tests := []clitest.ParseTest[MigrateOptions]{
		{Name: "to", Args: []string{"--to", "linux_secret_service"}, Want: MigrateOptions{To: backend.KindSecretService}},
		{Name: "to and json", Args: []string{"--to=encrypted_file", "--json"}, Want: MigrateOptions{To: backend.KindEncryptedFile, JSON: true}},
		{Name: "no target", WantErr: "--to is required: one of encrypted_file, linux_secret_service, macos_keychain, windows_dpapi"},
		{Name: "unknown target", Args: []string{"--to", "auto"}, WantErr: `--to: must be one of encrypted_file, `},
		{Name: "an argument", Args: []string{"--to", "encrypted_file", "x"}, WantErr: "accepts at most 0 argument(s), got 1"},
	}
	clitest.ParseTests(t, NewCmdMigrate, tests, func(t *testing.T, o *MigrateOptions, f *cmdutil.Factory) {
		clitest.CheckWiring(t, f, o.IO, o.Vault, "Vault")
		o.IO, o.Vault = nil, nil
	})
}
