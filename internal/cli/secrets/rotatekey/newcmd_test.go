package rotatekey

import (
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
)

func TestNewCmdRotateKeyParsesArgsAndFlags(t *testing.T) {
	tests := []clitest.ParseTest[RotateKeyOptions]{
		{Name: "same key source"},
		{Name: "every flag", Args: []string{"--to", "passphrase", "--new-passphrase-file", "/run/new", "--json"}, Want: RotateKeyOptions{To: "passphrase", NewPassphraseFile: "/run/new", JSON: true}},
		{Name: "to os", Args: []string{"--to=os"}, Want: RotateKeyOptions{To: "os"}},
		{Name: "unknown key source", Args: []string{"--to", "tpm"}, WantErr: `--to: must be one of device, passphrase, os`},
		{Name: "an argument", Args: []string{"os"}, WantErr: "accepts at most 0 argument(s), got 1"},
	}
	clitest.ParseTests(t, NewCmdRotateKey, tests, func(t *testing.T, o *RotateKeyOptions, f *cmdutil.Factory) {
		clitest.CheckWiring(t, f, o.IO, o.Vault, "Vault")
		clitest.CheckConfig(t, f, o.Config)
		o.IO, o.Vault, o.Config = nil, nil, nil
	})
}
