package verify

import (
	"reflect"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
)

func TestNewCmdVerifyParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    VerifyOptions
		wantErr string
	}{
		{"no flags", nil, VerifyOptions{}, ""},
		{"every flag", []string{"--passphrase-file", "/run/pass", "--json"}, VerifyOptions{PassphraseFile: "/run/pass", JSON: true}, ""},
		{"an argument", []string{"global"}, VerifyOptions{}, "accepts at most 0 argument(s), got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := clitest.Parse(NewCmdVerify, tt.args...)
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
