package doctor

import (
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
)

func TestNewCmdDoctorParsesArgsAndFlags(t *testing.T) {
	tests := []clitest.ParseTest[DoctorOptions]{
		{Name: "no flags"},
		{Name: "json", Args: []string{"--json"}, Want: DoctorOptions{JSON: true}},
		{Name: "an argument", Args: []string{"linux_secret_service"}, WantErr: "accepts at most 0 argument(s), got 1"},
	}
	clitest.ParseTests(t, NewCmdDoctor, tests, func(t *testing.T, o *DoctorOptions, f *cmdutil.Factory) {
		clitest.CheckWiring(t, f, o.IO, nil, "")
		if o.Probe == nil {
			t.Errorf("options have no host probe")
		}
		o.IO, o.Probe = nil, nil
	})
}
