package migrate

import (
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/etcdconf"
)

func TestNewCmdMigrateParsesArgsAndFlags(t *testing.T) {
	tests := []clitest.ParseTest[MigrateOptions]{
		{Name: "to", Args: []string{"--to", "linux_secret_service"}, Want: MigrateOptions{To: backend.KindSecretService}},
		{Name: "to and json", Args: []string{"--to=encrypted_file", "--json"}, Want: MigrateOptions{To: backend.KindEncryptedFile, JSON: true}},
		{Name: "no target", WantErr: "--to is required: one of encrypted_file, linux_secret_service, macos_keychain, windows_dpapi, etcd"},
		{Name: "delete source", Args: []string{"--to", "encrypted_file", "--delete-source"}, Want: MigrateOptions{To: backend.KindEncryptedFile, DeleteSource: true}},
		{Name: "to etcd", Args: []string{"--to", "etcd", "--etcd-endpoints", "https://a:2379,https://b:2379", "--etcd-prefix", "/p/"},
			Want: MigrateOptions{To: backend.KindEtcd, EtcdFlags: true, Etcd: etcdconf.Settings{Endpoints: []string{"https://a:2379", "https://b:2379"}, Prefix: "/p/"}}},
		{Name: "etcd flags off etcd", Args: []string{"--to", "encrypted_file", "--etcd-prefix", "/p/"}, WantErr: "the --etcd-* flags go with --to etcd"},
		{Name: "delete source to etcd", Args: []string{"--to", "etcd", "--delete-source"}, WantErr: "--delete-source goes with a migration off etcd"},
		{Name: "unknown target", Args: []string{"--to", "auto"}, WantErr: `--to: must be one of encrypted_file, `},
		{Name: "an argument", Args: []string{"--to", "encrypted_file", "x"}, WantErr: "accepts at most 0 argument(s), got 1"},
	}
	clitest.ParseTests(t, NewCmdMigrate, tests, func(t *testing.T, o *MigrateOptions, f *cmdutil.Factory) {
		clitest.CheckWiring(t, f, o.IO, o.Vault, "Vault")
		o.IO, o.Vault, o.Config = nil, nil, nil
	})
}
