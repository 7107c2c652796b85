package status

import (
	"reflect"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/spf13/cobra"
)

func TestNewCmdStatusParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    StatusOptions
		wantErr string
	}{
		{"no flags", nil, StatusOptions{}, ""},
		{"json", []string{"--json"}, StatusOptions{JSON: true}, ""},
		{"an argument", []string{"now"}, StatusOptions{}, "accepts at most 0 argument(s), got 1"},
	}
	socket := func() (string, error) { return "/run/palyra/daemon.sock", nil }
	newCmd := func(f *cmdutil.Factory, runF func(*StatusOptions) error) *cobra.Command {
		return NewCmdStatus(f, socket, runF)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := clitest.Parse(newCmd, tt.args...)
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
			if got.Socket == nil {
				t.Fatal("options have no socket")
			}
			if s, err := got.Socket(); s != "/run/palyra/daemon.sock" || err != nil {
				t.Errorf("options' socket = %q, %v; want the one given to NewCmdStatus", s, err)
			}
			got.IO, got.Socket = nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}
