package audit

import (
	"reflect"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/vault"
)

func TestNewCmdAuditParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    AuditOptions
		wantErr string
	}{
		{"defaults", nil, AuditOptions{}, ""},
		{"every flag", []string{"--config", "deploy/palyra.toml", "--strict", "--exec", "--trusted-dir", "/etc/palyra", "--trusted-dir", "~/secrets", "--json"},
			AuditOptions{ConfigPath: "deploy/palyra.toml", Strict: true, Exec: true, TrustedDirs: []string{"/etc/palyra", "~/secrets"}, JSON: true}, ""},
		{"relative trusted dir", []string{"--trusted-dir", "secrets"}, AuditOptions{}, `--trusted-dir "secrets": must be an absolute path (or start with ~/)`},
		{"an argument", []string{"palyra.toml"}, AuditOptions{}, "accepts at most 0 argument(s), got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := clitest.Parse(NewCmdAudit, tt.args...)
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
			if !reflect.DeepEqual(got.VaultConfig, f.VaultConfig) {
				t.Errorf("options carry vault config %+v, want the factory's %+v", got.VaultConfig, f.VaultConfig)
			}
			if o := clitest.Opener(got.Vault); o != "Vault" {
				t.Errorf("opens the vault with %s, want Vault", o)
			}
			got.IO, got.Vault, got.VaultConfig = nil, nil, vault.Config{}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}
