package backendinfo

import (
	"reflect"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
)

func TestNewCmdBackendParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    BackendOptions
		wantErr string
	}{
		{"no flags", nil, BackendOptions{}, ""},
		{"json", []string{"--json"}, BackendOptions{JSON: true}, ""},
		{"an argument", []string{"encrypted_file"}, BackendOptions{}, "accepts at most 0 argument(s), got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := clitest.Parse(NewCmdBackend, tt.args...)
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
			// The command shows the vault it would use, creating it if need be.
			if o := clitest.Opener(got.Vault); o != "Vault" {
				t.Errorf("opens the vault with %s, want Vault", o)
			}
			got.IO, got.Vault = nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}
