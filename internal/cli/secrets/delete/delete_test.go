package delete

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
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

func TestDelete(t *testing.T) {
	tests := []struct {
		name    string
		stored  bool
		strict  bool
		wantOut string
		wantErr error
	}{
		{"stored", true, false, "deleted vault://global/k\n", nil},
		{"missing, --strict", false, true, "", vault.ErrNotFound},
		{"missing", false, false, "vault://global/k was not stored; nothing deleted\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, open := clitest.Vault(t)
			ctx := context.Background()
			if tt.stored {
				if _, err := v.Put(ctx, "global", "k", []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			ios, _, out, _ := iostreams.Test()
			err := deleteRun(ctx, &DeleteOptions{IO: ios, Vault: open, Ref: secret.Ref{Scope: "global", Key: "k"}, Strict: tt.strict})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if out.String() != tt.wantOut {
				t.Fatalf("stdout = %q, want %q", out, tt.wantOut)
			}
			if _, err := v.Stat(ctx, "global", "k"); !errors.Is(err, vault.ErrNotFound) {
				t.Fatalf("after delete Stat error = %v, want not found", err)
			}
		})
	}
}
