package status

import (
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/spf13/cobra"
)

func TestNewCmdStatusParsesArgsAndFlags(t *testing.T) {
	tests := []clitest.ParseTest[StatusOptions]{
		{Name: "no flags"},
		{Name: "json", Args: []string{"--json"}, Want: StatusOptions{JSON: true}},
		{Name: "an argument", Args: []string{"now"}, WantErr: "accepts at most 0 argument(s), got 1"},
	}
	socket := func() (string, error) { return "/run/palyra/daemon.sock", nil }
	newCmd := func(f *cmdutil.Factory, runF func(*StatusOptions) error) *cobra.Command {
		return NewCmdStatus(f, socket, runF)
	}
	clitest.ParseTests(t, newCmd, tests, func(t *testing.T, o *StatusOptions, f *cmdutil.Factory) {
		clitest.CheckWiring(t, f, o.IO, nil, "")
		if o.Socket == nil {
			t.Fatal("options have no socket")
		}
		if s, err := o.Socket(); s != "/run/palyra/daemon.sock" || err != nil {
			t.Errorf("options' socket = %q, %v; want the one given to NewCmdStatus", s, err)
		}
		o.IO, o.Socket = nil, nil
	})
}
