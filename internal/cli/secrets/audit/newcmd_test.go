package audit

import (
	"reflect"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/vault"
)

func TestNewCmdAuditParsesArgsAndFlags(t *testing.T) {
	tests := []clitest.ParseTest[AuditOptions]{
		{Name: "defaults"},
		{Name: "every flag", Args: []string{"--config", "deploy/palyra.toml", "--strict", "--exec", "--trusted-dir", "/etc/palyra", "--trusted-dir", "~/secrets", "--json"}, Want: AuditOptions{ConfigPath: "deploy/palyra.toml", Strict: true, Exec: true, TrustedDirs: []string{"/etc/palyra", "~/secrets"}, JSON: true}},
		{Name: "relative trusted dir", Args: []string{"--trusted-dir", "secrets"}, WantErr: `--trusted-dir "secrets": must be an absolute path (or start with ~/)`},
		{Name: "an argument", Args: []string{"palyra.toml"}, WantErr: "accepts at most 0 argument(s), got 1"},
	}
	clitest.ParseTests(t, NewCmdAudit, tests, func(t *testing.T, o *AuditOptions, f *cmdutil.Factory) {
		clitest.CheckWiring(t, f, o.IO, o.Vault, "Vault")
		if !reflect.DeepEqual(o.VaultConfig, f.VaultConfig) {
			t.Errorf("options carry vault config %+v, want the factory's %+v", o.VaultConfig, f.VaultConfig)
		}
		o.IO, o.Vault, o.VaultConfig = nil, nil, vault.Config{}
	})
}
