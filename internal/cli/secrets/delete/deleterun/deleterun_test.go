package deleterun

import (
	"context"
	"errors"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

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
			err := Run(ctx, &Options{IO: ios, Vault: open, Ref: secret.Ref{Scope: "global", Key: "k"}, Strict: tt.strict})
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
