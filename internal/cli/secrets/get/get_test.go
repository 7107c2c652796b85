package get

import (
	"bytes"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
)

func TestNewCmdGetParsesArgsAndFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var got *GetOptions
	cmd := NewCmdGet(&cmdutil.Factory{IOStreams: ios}, func(o *GetOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"vault://global/k", "--reveal", "--json"})
	cmd.SetOut(new(bytes.Buffer))
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Ref != (secret.Ref{Scope: "global", Key: "k"}) || !got.Reveal || !got.JSON {
		t.Fatalf("options = %+v", *got)
	}
}
