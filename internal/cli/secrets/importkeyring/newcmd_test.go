package importkeyring

import (
	"reflect"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/vault"
)

func TestNewCmdImportKeyringParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    ImportKeyringOptions
		wantErr string
	}{
		{"service", []string{"--scope", "global", "--service", "gh"}, ImportKeyringOptions{Scope: "global", Service: "gh", OnConflict: vault.OnConflictFail}, ""},
		{"attributes", []string{"--scope", "plugins/deploy", "--attr", "app=deploy", "--attr", "env=", "--key-attribute", "name", "--on-conflict", "overwrite", "--passphrase-file", "/run/pass", "--json"},
			ImportKeyringOptions{Scope: "plugins/deploy", Attrs: []string{"app=deploy", "env="}, KeyAttribute: "name", OnConflict: vault.OnConflictOverwrite, PassphraseFile: "/run/pass", JSON: true}, ""},
		{"no scope", []string{"--service", "gh"}, ImportKeyringOptions{}, "--scope: "},
		{"bad scope", []string{"--scope", "Global", "--service", "gh"}, ImportKeyringOptions{}, `--scope: invalid scope "Global"`},
		{"no selection", []string{"--scope", "global"}, ImportKeyringOptions{}, "choose the items with --service NAME or --attr NAME=VALUE"},
		{"attribute without value", []string{"--scope", "global", "--attr", "app"}, ImportKeyringOptions{}, `--attr "app": must be NAME=VALUE`},
		{"attribute without name", []string{"--scope", "global", "--attr", "=deploy"}, ImportKeyringOptions{}, `--attr "=deploy": must be NAME=VALUE`},
		{"unknown conflict policy", []string{"--scope", "global", "--service", "gh", "--on-conflict", "merge"}, ImportKeyringOptions{}, `--on-conflict "merge": must be one of fail, skip, overwrite`},
		{"an argument", []string{"--scope", "global", "--service", "gh", "extra"}, ImportKeyringOptions{}, "accepts at most 0 argument(s), got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := clitest.Parse(NewCmdImportKeyring, tt.args...)
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
