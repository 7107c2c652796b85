package list

import (
	"reflect"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
)

func TestNewCmdListParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    ListOptions
		wantErr string
	}{
		{"every scope", nil, ListOptions{}, ""},
		{"one scope", []string{"plugins/github"}, ListOptions{Scope: "plugins/github"}, ""},
		{"json", []string{"global", "--json"}, ListOptions{Scope: "global", JSON: true}, ""},
		{"bad scope", []string{"Global"}, ListOptions{}, `invalid scope "Global"`},
		{"two scopes", []string{"global", "other"}, ListOptions{}, "accepts at most 1 argument(s), got 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := clitest.Parse(NewCmdList, tt.args...)
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
			// Listing never creates a vault.
			if o := clitest.Opener(got.Vault); o != "ExistingVault" {
				t.Errorf("opens the vault with %s, want ExistingVault", o)
			}
			got.IO, got.Vault = nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}
