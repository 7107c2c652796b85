package getrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

func setup(t *testing.T, value string) (*Options, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	v, open := clitest.Vault(t)
	if _, err := v.Put(context.Background(), "global", "k", []byte(value)); err != nil {
		t.Fatal(err)
	}
	ios, _, out, errOut := iostreams.Test()
	return &Options{IO: ios, Vault: open, Ref: secret.Ref{Scope: "global", Key: "k"}}, out, errOut
}

func TestGetIsRedactedByDefault(t *testing.T) {
	for _, tty := range []bool{false, true} {
		opts, out, errOut := setup(t, "sk-secret-value")
		opts.IO.SetStdoutTTY(tty)
		if err := Run(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String()+errOut.String(), "sk-secret") {
			t.Fatalf("redacted get printed the value: %q %q", out, errOut)
		}
		for _, want := range []string{"ref:      vault://global/k\n", "value:    [REDACTED]\n"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output %q lacks %q", out, want)
			}
		}
		// As Palyra's text, not the value's length.
		if strings.Contains(out.String(), "15") || strings.Contains(out.String(), "size") {
			t.Errorf("redacted get shows the value's size: %q", out)
		}
	}
}

func TestGetRevealWritesExactBytesAndWarnsOnlyOnATerminal(t *testing.T) {
	tests := []struct {
		name     string
		tty      bool
		wantWarn bool
	}{
		{"piped: no warning", false, false},
		{"terminal: warning on stderr", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, out, errOut := setup(t, "sk-1\n\x00")
			opts.Reveal = true
			opts.IO.SetStdoutTTY(tt.tty)
			if err := Run(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			if out.String() != "sk-1\n\x00" {
				t.Fatalf("stdout = %q, want the exact value", out)
			}
			warned := strings.Contains(errOut.String(), "palyra: warning: printing the value of vault://global/k to the terminal")
			if warned != tt.wantWarn {
				t.Fatalf("stderr = %q, want warning: %v", errOut, tt.wantWarn)
			}
			if strings.Contains(errOut.String(), "sk-1") {
				t.Fatalf("stderr shows the value: %q", errOut)
			}
		})
	}
}

func TestGetJSON(t *testing.T) {
	tests := []struct {
		name         string
		value        string
		reveal       bool
		wantValue    *string
		wantEncoding string
	}{
		{"redacted", "sk-1", false, nil, ""},
		{"utf-8 revealed", "sk-ü", true, ptr("sk-ü"), "utf-8"},
		{"binary revealed as base64", "\x00\xff", true, ptr("AP8="), "base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, out, _ := setup(t, tt.value)
			opts.JSON, opts.Reveal = true, tt.reveal
			if err := Run(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("output %q is not JSON: %v", out, err)
			}
			if got["ref"] != "vault://global/k" || got["redacted"] != !tt.reveal || got["size"] != float64(len(tt.value)) {
				t.Fatalf("JSON = %v", got)
			}
			v, has := got["value"]
			if (tt.wantValue == nil) == has || (has && v != *tt.wantValue) || (tt.wantEncoding != "" && got["encoding"] != tt.wantEncoding) {
				t.Fatalf("JSON value = %v (present %v), encoding %v; want %v, %q", v, has, got["encoding"], tt.wantValue, tt.wantEncoding)
			}
		})
	}
}

func TestGetMissingIsNotFoundWithListHint(t *testing.T) {
	_, open := clitest.Vault(t)
	ios, _, out, _ := iostreams.Test()
	err := Run(context.Background(), &Options{IO: ios, Vault: open, Ref: secret.Ref{Scope: "plugins/github", Key: "token"}})
	if !errors.Is(err, vault.ErrNotFound) || err.Error() != "secret not found: vault://plugins/github/token" {
		t.Fatalf("error = %v, want not found naming the ref", err)
	}
	if h := clierr.Hints(err); len(h) != 1 || h[0] != `run "palyra secrets list plugins/github" to see what is stored` {
		t.Fatalf("hints = %q", h)
	}
	if out.Len() != 0 {
		t.Fatalf("stdout = %q, want nothing", out)
	}
}

func ptr(s string) *string { return &s }
