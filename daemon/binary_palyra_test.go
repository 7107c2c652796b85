//go:build linux

package daemon_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/daemon/api"
)

// palyraSite is a site whose palyra.toml is one of the Palyra-form
// fixtures of package config (config/testdata/palyra), copied with the
// files its relative paths name.
func palyraSite(t *testing.T, fixtureName string) *site {
	t.Helper()
	src := filepath.Join("..", "config", "testdata", "palyra")
	data, err := os.ReadFile(filepath.Join(src, fixtureName))
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(t, map[string]string{
		"vault://global/anthropic_api_key":  "anthropic-from-vault",
		"vault://global/proxy_api_key":      "proxy-from-vault",
		"vault://global/backup_api_key":     "backup-from-vault",
		"vault://global/browser_auth_token": "browser-token-from-vault",
		"vault://global/openai_api_key":     "openai-from-vault",
		"vault://global/connector_token":    "connector-from-vault",
		"vault://global/browser_state_key":  "state-key-from-vault",
	}, string(data))
	for _, rel := range []string{"secrets/admin.txt", "secrets/state.key", "tools/.keep"} {
		b, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(s.Root, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.extraEnv = []string{
		"PALYRA_FIXTURE_OPENAI=openai-from-env",
		"PALYRA_FIXTURE_ADMIN=admin-from-env",
		"PALYRA_FIXTURE_EXTRA=extra",
		"HOME=/home/palyra-fixture",
	}
	return s
}

// The real daemon reads both Palyra-form fixtures (every kind, every field,
// both table styles, every secret path of Palyra's schema, Palyra's own
// [daemon] keys) and serves each setting's value as Palyra's resolver
// would produce it; "palyra secrets audit --path" finds every reference
// resolving and nothing blocking, and "palyra secrets explain" of each
// setting says it resolves, showing no value.
func TestDaemonBinaryResolvesPalyraForm(t *testing.T) {
	tests := map[string]map[string]string{
		"a.toml": {
			"model_provider.openai_api_key":                  "openai-from-env",
			"model_provider.anthropic_api_key":               "anthropic-from-vault",
			"model_provider.providers[0].api_key":            "proxy-from-vault",
			"model_provider.providers[1].api_key":            "backup-from-vault",
			"admin.auth_token":                               "admin-token-value",
			"admin.connector_token":                          "connector-extra-tools",
			"tool_call.browser_service.auth_token":           "browser-token-from-vault",
			"tool_call.browser_service.state_key":            "state-key-value\n",
			"tool_call.browser_service.state_key_secret_ref": "state-key-value\n",
		},
		"b.toml": {
			"model_provider.openai_api_key":        "openai-from-vault",
			"model_provider.anthropic_api_key":     "/home/palyra-fixture",
			"model_provider.providers[0].api_key":  "proxy-from-vault",
			"model_provider.providers[1].api_key":  "openai-from-env",
			"admin.auth_token":                     "admin-from-env",
			"admin.connector_token":                "connector-from-vault",
			"tool_call.browser_service.state_key":  "state-key-from-vault",
			"tool_call.browser_service.auth_token": "admin-token-value",
		},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			s := palyraSite(t, name)
			p := s.start()
			for path, value := range want {
				if got := p.mustResolve(api.ResolveRequest{Path: path}); got != value {
					t.Errorf("%s = %q, want %q", path, got, value)
				}
			}
			st := p.status()
			policies := map[string]string{}
			for _, r := range st.References {
				policies[r.Setting] = r.Refresh
			}
			if name == "a.toml" {
				for setting, refresh := range map[string]string{
					"model_provider.openai_api_key":       "on_reload",
					"model_provider.providers[0].api_key": "per_use", // per_run
					"admin.connector_token":               "per_use",
					"tool_call.browser_service.state_key": "per_use", // snapshot refresh_per_run
					"admin.auth_token":                    "on_startup",
				} {
					if policies[setting] != refresh {
						t.Errorf("%s: refresh %q, want %q", setting, policies[setting], refresh)
					}
				}
			}
			if strings.Contains(p.stderr.String(), "palyra-vault settings") {
				t.Errorf("Palyra's [daemon] keys drew a warning:\n%s", p.stderr)
			}

			// The same file, audited and explained by the CLI as a user would.
			palyra := func(args ...string) (string, int) {
				cmd := exec.Command(palyraBin, append([]string{"secrets"}, args...)...)
				cmd.Env = s.env()
				out, err := cmd.CombinedOutput()
				var ee *exec.ExitError
				if err != nil && !errors.As(err, &ee) {
					t.Fatal(err)
				}
				return string(out), cmd.ProcessState.ExitCode()
			}
			out, code := palyra("audit", "--path", s.Config, "--exec", "--json")
			var rep struct {
				Summary struct {
					Total    int `json:"total_references"`
					Resolved int `json:"resolved_references"`
					Blocking int `json:"blocking_findings"`
				} `json:"summary"`
			}
			if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Summary.Total < len(want)-1 ||
				rep.Summary.Resolved != rep.Summary.Total || rep.Summary.Blocking != 0 {
				t.Errorf("audit --path %s --json: exit %d, summary %+v\n%s", name, code, rep.Summary, out)
			}
			for path := range want {
				out, code := palyra("explain", path, "--path", s.Config, "--exec")
				if code != 0 || !strings.Contains(out, "resolves") {
					t.Errorf("explain %s: exit %d\n%s", path, code, out)
				}
				for _, v := range want {
					if strings.Contains(out, strings.TrimSpace(v)) && !strings.HasPrefix(v, "/home") {
						t.Errorf("explain %s shows a value:\n%s", path, out)
					}
				}
			}
		})
	}
}

// An unparseable *_secret_ref table and a setting given twice stop the
// start, naming the path and the rule (both paths for the duplicate).
func TestDaemonBinaryStartFailsOnBrokenOrDuplicatedSecretRef(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{"unknown kind", "[admin.auth_token_secret_ref]\nkind = \"keychain\"\n",
			`admin.auth_token_secret_ref (line 1): invalid: field "kind": must be one of vault, env, file or exec`},
		{"over our cap", "[model_provider]\nopenai_api_key_secret_ref = { kind = \"env\", variable = \"X\", max_bytes = 5000000 }\n",
			`model_provider.openai_api_key_secret_ref (line 2): invalid: field "max_bytes": must be an integer between 1 and 4194304 (this vault's cap)`},
		{"not a table", "[model_provider]\nopenai_api_key_secret_ref = \"global/openai_api_key\"\n",
			`model_provider.openai_api_key_secret_ref (line 2): invalid: a field ending in _secret_ref must hold a table`},
		{"duplicate", "[model_provider]\nopenai_api_key = \"sk-test-plaintext\"\nopenai_api_key_secret_ref = { kind = \"env\", variable = \"PALYRA_FIXTURE_OPENAI\" }\n",
			`model_provider.openai_api_key (line 3): invalid: setting given twice: model_provider.openai_api_key (line 2, a plaintext value) and model_provider.openai_api_key_secret_ref (line 3); keep one of them`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := palyraSite(t, "a.toml")
			s.WriteConfig(tt.config)
			cmd, out := s.command()
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1\n%s", err, out)
			}
			if !strings.Contains(out.String(), "palyra: error: "+tt.want) {
				t.Fatalf("output lacks %q:\n%s", tt.want, out)
			}
			if strings.Contains(out.String(), "sk-test-plaintext") {
				t.Fatal("a value reached stderr")
			}
		})
	}
}

// Our settings in palyra.toml's [daemon] table still work, with a warning
// saying where they moved; in palyra-vault.toml they work silently; in
// both, the start fails naming both files.
func TestDaemonBinarySettingsFile(t *testing.T) {
	legacy := "[daemon]\nport = 7142\naudit_keep = 3\n\n[t]\nx_vault_ref = \"global/openai_api_key\"\n"
	t.Run("legacy", func(t *testing.T) {
		s := palyraSite(t, "a.toml")
		s.WriteConfig(legacy)
		p := s.start()
		p.waitForLog("moved to " + filepath.Join(s.Root, "palyra-vault.toml"))
	})
	t.Run("settings file", func(t *testing.T) {
		s := palyraSite(t, "a.toml")
		s.WriteConfig("[daemon]\nport = 7142\n\n[t]\nx_vault_ref = \"global/openai_api_key\"\n")
		if err := os.WriteFile(filepath.Join(s.Root, "palyra-vault.toml"), []byte("[daemon]\naudit_keep = 3\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		p := s.start()
		if got := p.mustResolve(api.ResolveRequest{Path: "t.x"}); got != "openai-from-vault" {
			t.Fatalf("t.x = %q", got)
		}
		if strings.Contains(p.stderr.String(), "moved to") {
			t.Errorf("a warning without legacy settings:\n%s", p.stderr)
		}
	})
	t.Run("both", func(t *testing.T) {
		s := palyraSite(t, "a.toml")
		s.WriteConfig(legacy)
		if err := os.WriteFile(filepath.Join(s.Root, "palyra-vault.toml"), []byte("[daemon]\naudit_keep = 3\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd, out := s.command()
		if err := cmd.Run(); err == nil {
			t.Fatalf("the daemon started with settings in both files\n%s", out)
		}
		if !strings.Contains(out.String(), "palyra-vault settings are in both "+filepath.Join(s.Root, "palyra-vault.toml")) {
			t.Fatalf("output:\n%s", out)
		}
	})
	t.Run("group-writable settings file", func(t *testing.T) {
		s := palyraSite(t, "a.toml")
		s.WriteConfig("[t]\nx_vault_ref = \"global/openai_api_key\"\n")
		f := filepath.Join(s.Root, "palyra-vault.toml")
		if err := os.WriteFile(f, []byte("[daemon]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f, 0o620); err != nil {
			t.Fatal(err)
		}
		cmd, out := s.command()
		if err := cmd.Run(); err == nil || !strings.Contains(out.String(), "is writable by group or others") {
			t.Fatalf("err %v, output:\n%s", err, out)
		}
	})
}
