package initcmd

import (
	"reflect"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
)

func TestNewCmdInitParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    InitOptions
		wantErr string
	}{
		{"defaults", nil, InitOptions{}, ""},
		{"every flag", []string{"--key-source", "passphrase", "--new-passphrase-file", "/run/pass", "--json"},
			InitOptions{KeySource: "passphrase", NewPassphraseFile: "/run/pass", JSON: true}, ""},
		{"os key source", []string{"--key-source=os"}, InitOptions{KeySource: "os"}, ""},
		{"unknown key source", []string{"--key-source", "tpm"}, InitOptions{}, `--key-source "tpm": must be one of device, passphrase, os`},
		{"an argument", []string{"passphrase"}, InitOptions{}, "accepts at most 0 argument(s), got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := clitest.Parse(NewCmdInit, tt.args...)
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
			// init completes the factory's own config, which Vault opens.
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
