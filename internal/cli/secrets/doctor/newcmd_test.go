package doctor

import (
	"reflect"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
)

func TestNewCmdDoctorParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    DoctorOptions
		wantErr string
	}{
		{"no flags", nil, DoctorOptions{}, ""},
		{"json", []string{"--json"}, DoctorOptions{JSON: true}, ""},
		{"an argument", []string{"linux_secret_service"}, DoctorOptions{}, "accepts at most 0 argument(s), got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := clitest.Parse(NewCmdDoctor, tt.args...)
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
			if got.Probe == nil {
				t.Errorf("options have no host probe")
			}
			got.IO, got.Probe = nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}
