package explain

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

func TestNewCmdExplainParsesReferences(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantCanon string
		wantErr   string
	}{
		{"vault ref", []string{"vault://global/k"}, "vault://global/k", ""},
		{"scope and key", []string{"plugins/github", "token"}, "vault://plugins/github/token", ""},
		{"env", []string{"env:HOME"}, "env:HOME", ""},
		{"inline table", []string{`{ file = "/run/x", trusted_dirs = ["/run"] }`}, "file:/run/x", ""},
		{"bare scope/key (Palyra's form)", []string{"global/k"}, "vault://global/k", ""},
		{"bare Palyra scope/key", []string{"principal:Alice@Example.com/k"}, "vault://principal:Alice@Example.com/k", ""},
		{"bare scope/bad key", []string{"global/K"}, "", "not a reference"},
		{"pasted secret", []string{"sk-proj-secret"}, "", "not a reference"},
		{"bad key", []string{"global", "K"}, "", `argument 2 (the key): invalid key: contains uppercase 'K'`},
		{"no arguments", nil, "", "got 0 arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *ExplainOptions
			cmd := NewCmdExplain(&cmdutil.Factory{IOStreams: ios}, func(o *ExplainOptions) error { got = o; return nil })
			err := clitest.Execute(cmd, tt.args...)
			if tt.wantErr != "" {
				var usage *cmdutil.UsageError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &usage) || strings.Contains(err.Error(), "sk-proj") {
					t.Fatalf("error = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Ref.Canonical() != tt.wantCanon || got.SecretID != "" {
				t.Fatalf("ref %v, %v; want %s", got.Ref.Canonical(), err, tt.wantCanon)
			}
		})
	}
}

func TestNewCmdExplainTakesPalyrasConfiguredSecretID(t *testing.T) {
	tests := []struct {
		arg            string
		wantPath, want string
	}{
		{"model_provider.openai_api_key_secret_ref:0123456789abcdef", "model_provider.openai_api_key_secret_ref", "0123456789abcdef"},
		{"admin.auth_token_secret_ref:0123456789abcdef", "admin.auth_token_secret_ref", "0123456789abcdef"},
		{"model_provider.openai_api_key_secret_ref:0123456789ABCDEF", "model_provider.openai_api_key_secret_ref:0123456789ABCDEF", ""}, // not hex as Palyra writes it
		{"model_provider.openai_api_key", "model_provider.openai_api_key", ""},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *ExplainOptions
		cmd := NewCmdExplain(&cmdutil.Factory{IOStreams: ios}, func(o *ExplainOptions) error { got = o; return nil })
		err := clitest.Execute(cmd, tt.arg)
		if tt.want == "" && strings.Contains(tt.wantPath, ":") {
			if err == nil {
				t.Errorf("%q: accepted, want a usage error", tt.arg)
			}
			continue
		}
		if err != nil || got.Path != tt.wantPath || got.SecretID != tt.want {
			t.Errorf("%q: path %q id %q err %v; want %q %q", tt.arg, got.Path, got.SecretID, err, tt.wantPath, tt.want)
		}
	}
}

func TestExplainReportsUsesAndMetadataButNeverTheValue(t *testing.T) {
	cfg := clitest.Config(t)
	v, err := vault.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Put(context.Background(), "global", "k", []byte("sk-very-secret-value")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "palyra.toml")
	os.WriteFile(path, []byte("[a]\nk_vault_ref = \"global/k\"\nother = { vault_ref = \"vault://global/k\", max_bytes = 10 }\n"), 0o600)
	ios, _, out, _ := iostreams.Test()
	opts := &ExplainOptions{IO: ios, VaultConfig: cfg, ConfigPath: path, JSON: true,
		Ref:   resolve.VaultRef(secret.Ref{Scope: "global", Key: "k"}),
		Vault: func(context.Context) (*vault.Vault, error) { return v, nil }}
	if err := explainRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "sk-very") {
		t.Fatalf("the value leaked: %s", out)
	}
	var got explainJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.UsedBy) != 2 || got.UsedBy[0].Setting != "a.k" || got.UsedBy[1].Path != "a.other" || got.UsedBy[1].Line != 3 {
		t.Fatalf("used by = %+v", got.UsedBy)
	}
	if got.Resolves == nil || !*got.Resolves || got.Size != 20 || got.Secret == nil || got.Secret.Size != 20 {
		t.Fatalf("explanation = %+v", got)
	}
}
