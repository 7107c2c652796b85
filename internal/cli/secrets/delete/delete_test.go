package delete

import (
	"bytes"
	"errors"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
)

func TestNewCmdDeleteFlags(t *testing.T) {
	tests := []struct {
		args       []string
		wantStrict bool
		wantUsage  bool
	}{
		{[]string{"global", "k"}, false, false},
		{[]string{"global", "k", "--missing-ok"}, false, false},
		{[]string{"global", "k", "--force"}, false, false},
		{[]string{"global", "k", "-f"}, false, false},
		{[]string{"global", "k", "--strict"}, true, false},
		{[]string{"global", "k", "--strict", "-f"}, false, true},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *DeleteOptions
		cmd := NewCmdDelete(&cmdutil.Factory{IOStreams: ios}, func(o *DeleteOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SetOut(new(bytes.Buffer))
		err := cmd.Execute()
		var usage *cmdutil.UsageError
		if tt.wantUsage {
			if !errors.As(err, &usage) {
				t.Errorf("%v: error = %v, want a usage error", tt.args, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if got.Strict != tt.wantStrict {
			t.Errorf("%v: Strict = %v, want %v", tt.args, got.Strict, tt.wantStrict)
		}
	}
}
