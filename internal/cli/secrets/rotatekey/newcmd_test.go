package rotatekey

import (
	"reflect"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
)

func TestNewCmdRotateKeyParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    RotateKeyOptions
		wantErr string
	}{
		{"same key source", nil, RotateKeyOptions{}, ""},
		{"every flag", []string{"--to", "passphrase", "--passphrase-file", "/run/old", "--new-passphrase-file", "/run/new", "--json"},
			RotateKeyOptions{To: "passphrase", PassphraseFile: "/run/old", NewPassphraseFile: "/run/new", JSON: true}, ""},
		{"to os", []string{"--to=os"}, RotateKeyOptions{To: "os"}, ""},
		{"unknown key source", []string{"--to", "tpm"}, RotateKeyOptions{}, `--to "tpm": must be one of device, passphrase, os`},
		{"an argument", []string{"os"}, RotateKeyOptions{}, "accepts at most 0 argument(s), got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := clitest.Parse(NewCmdRotateKey, tt.args...)
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
