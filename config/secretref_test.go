package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/resolve"
)

// Every secret path of Palyra's schema, across the two fixtures, is found
// with its setting and source; relative paths are anchored at the file's
// directory; model_provider.kind and providers' kind are left alone.
func TestReferencesReadsPalyrasForm(t *testing.T) {
	dir, err := filepath.Abs("testdata/palyra")
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ path, setting, source string }
	tests := map[string][]want{
		"a.toml": {
			{"model_provider.openai_api_key_secret_ref", "model_provider.openai_api_key", "env"},
			{"model_provider.anthropic_api_key_vault_ref", "model_provider.anthropic_api_key", "vault"},
			{"model_provider.providers[0].api_key_secret_ref", "model_provider.providers[0].api_key", "vault"},
			{"model_provider.providers[1].api_key_vault_ref", "model_provider.providers[1].api_key", "vault"},
			{"admin.auth_token_secret_ref", "admin.auth_token", "file"},
			{"admin.connector_token_secret_ref", "admin.connector_token", "exec"},
			{"tool_call.browser_service.auth_token_secret_ref", "tool_call.browser_service.auth_token", "vault"},
			{"tool_call.browser_service.state_key_secret_ref", "tool_call.browser_service.state_key", "file"},
		},
		"b.toml": {
			{"model_provider.openai_api_key_vault_ref", "model_provider.openai_api_key", "vault"},
			{"model_provider.anthropic_api_key_secret_ref", "model_provider.anthropic_api_key", "exec"},
			{"model_provider.providers[0].api_key_vault_ref", "model_provider.providers[0].api_key", "vault"},
			{"model_provider.providers[1].api_key_secret_ref", "model_provider.providers[1].api_key", "env"},
			{"admin.auth_token_secret_ref", "admin.auth_token", "env"},
			{"admin.connector_token_secret_ref", "admin.connector_token", "vault"},
			{"tool_call.browser_service.state_key_vault_ref", "tool_call.browser_service.state_key", "vault"},
			{"tool_call.browser_service.auth_token_secret_ref", "tool_call.browser_service.auth_token", "file"},
		},
	}
	for name, wants := range tests {
		t.Run(name, func(t *testing.T) {
			d, err := Load(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			found, err := References(d)
			if err != nil {
				t.Fatalf("References: %v", err)
			}
			got := map[string]Found{}
			for _, f := range found {
				got[f.Path] = f
			}
			if len(found) != len(wants) {
				t.Errorf("%d references, want %d: %v", len(found), len(wants), found)
			}
			for _, w := range wants {
				f, ok := got[w.path]
				if !ok {
					t.Errorf("%s not found", w.path)
					continue
				}
				if f.Setting != w.setting || string(f.Ref.Source) != w.source || f.Line == 0 {
					t.Errorf("%s: setting %q source %q line %d, want %q %q", w.path, f.Setting, f.Ref.Source, f.Line, w.setting, w.source)
				}
				if strings.HasSuffix(w.path, resolve.SecretRefSuffix) != (f.Ref.Form == resolve.FormSecretRef) {
					t.Errorf("%s: form %v", w.path, f.Ref.Form)
				}
				switch f.Ref.Source {
				case resolve.SourceFile:
					if !strings.HasPrefix(f.Ref.File, dir+string(filepath.Separator)) || !strings.HasPrefix(f.Ref.TrustedDirs[0], dir) {
						t.Errorf("%s: paths not anchored at %s: %s %v", w.path, dir, f.Ref.File, f.Ref.TrustedDirs)
					}
				case resolve.SourceExec:
					if !strings.HasPrefix(f.Ref.Dir, dir) {
						t.Errorf("%s: the command runs in %q, not under %s", w.path, f.Ref.Dir, dir)
					}
				}
			}
		})
	}
}

func TestReferencesReportsBrokenSecretRefsAndDuplicates(t *testing.T) {
	tests := []struct{ name, toml, path, want string }{
		{"not a table", "[a]\nx_secret_ref = \"global/x\"\n", "a.x_secret_ref", "must hold a table tagged by kind"},
		{"no kind, standard table", "[a.x_secret_ref]\nvariable = \"X\"\n", "a.x_secret_ref", `field "kind" is missing`},
		{"bad field", "[a]\nx_secret_ref = { kind = \"file\", path = \"p\" }\n", "a.x_secret_ref", `field "trusted_dirs": must list at least one`},
		{"over our cap", "[a]\nx_secret_ref = { kind = \"env\", variable = \"X\", max_bytes = 99999999 }\n", "a.x_secret_ref", "this vault's cap"},
		{"plaintext and secret_ref", "[a]\nx = \"plain\"\nx_secret_ref = { kind = \"env\", variable = \"X\" }\n", "a.x",
			"setting given twice: a.x (line 2, a plaintext value) and a.x_secret_ref (line 3); keep one of them"},
		{"two references", "[a]\nx_vault_ref = \"global/x\"\n[a.x_secret_ref]\nkind = \"env\"\nvariable = \"X\"\n", "a.x",
			"setting given twice: a.x_secret_ref (line 3) and a.x_vault_ref (line 2)"},
		{"plaintext and vault_ref", "[a]\nx_vault_ref = \"global/x\"\nx = \"plain\"\n", "a.x", "a.x (line 3, a plaintext value) and a.x_vault_ref (line 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			found, err := References(d)
			res := RefErrors(err)
			if len(res) != 1 {
				t.Fatalf("errors %v, want one", err)
			}
			if res[0].Path != tt.path || !strings.Contains(res[0].Error(), tt.want) {
				t.Errorf("error %q at %q, want %q at %q", res[0], res[0].Path, tt.want, tt.path)
			}
			if len(found) != 0 {
				t.Errorf("a broken or duplicated reference was returned: %v", found)
			}
			if strings.Contains(res[0].Error(), "given twice") {
				if !errors.Is(res[0], ErrDuplicateSetting) {
					t.Errorf("%v does not wrap ErrDuplicateSetting", res[0])
				}
			}
		})
	}
	// A blank plaintext is no value, as in Palyra; a table with kind under
	// another key is ordinary configuration.
	d, err := Parse([]byte("[a]\nx = \" \"\nx_secret_ref = { kind = \"env\", variable = \"X\" }\n[model_provider]\nkind = \"openai_compatible\"\n[b]\nc = { kind = \"env\", variable = \"X\" }\n"))
	if err != nil {
		t.Fatal(err)
	}
	if found, err := References(d); err != nil || len(found) != 1 {
		t.Errorf("References = %v, %v; want the one secret_ref", found, err)
	}
}

// Palyra's principal ids may hold '@' (issue 11, item 3, in package
// secret): both of its reference forms read such a name.
func TestReferencesAcceptPalyrasPrincipalNames(t *testing.T) {
	d, err := Parse([]byte(`[model_provider]
openai_api_key_vault_ref = "principal:alice@example.com/token"
anthropic_api_key_secret_ref = { kind = "vault", vault_ref = "principal:alice@example.com/token" }
`))
	if err != nil {
		t.Fatal(err)
	}
	found, err := References(d)
	if err != nil || len(found) != 2 {
		t.Fatalf("References = %v, %v", found, err)
	}
	for _, f := range found {
		if f.Ref.Vault.Scope != "principal:alice@example.com" || f.Ref.Vault.Key != "token" {
			t.Errorf("%s: %s/%s", f.Path, f.Ref.Vault.Scope, f.Ref.Vault.Key)
		}
	}
	if in := PalyraIncompatibilities(d); len(in) != 0 {
		t.Errorf("incompatibilities %+v", in)
	}
}
