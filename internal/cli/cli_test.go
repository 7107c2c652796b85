package cli

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
)

// run runs palyra in-process against the vault described by cfg.
func run(t *testing.T, cfg vault.Config, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	full := append([]string{"secrets", "--vault-dir", cfg.Root, "--state-root", cfg.StateRoot, "--backend", string(cfg.Backend)}, args...)
	code = Run(context.Background(), ios, full)
	return code, out.String(), errOut.String()
}

func TestRunEndToEnd(t *testing.T) {
	cfg := clitest.Config(t)
	if code, out, errOut := run(t, cfg, "sk-e2e-1", "set", "global", "k"); code != ExitOK || !strings.HasPrefix(out, "stored vault://global/k (backend ") || errOut != "" {
		t.Fatalf("set: %d %q %q", code, out, errOut)
	}
	if code, out, _ := run(t, cfg, "", "get", "vault://global/k", "--reveal"); code != ExitOK || out != "sk-e2e-1" {
		t.Fatalf("get --reveal: %d %q", code, out)
	}
	if code, _, errOut := run(t, cfg, "", "get", "global", "missing"); code != ExitNotFound || !strings.Contains(errOut, "palyra: hint: run \"palyra secrets list global\"") {
		t.Fatalf("get missing: %d %q", code, errOut)
	}
	if code, _, errOut := run(t, cfg, "", "delete", "global", "Bad"); code != ExitUsage || !strings.Contains(errOut, "palyra: hint: run \"palyra secrets delete --help\" for usage\n") {
		t.Fatalf("delete bad key: %d %q", code, errOut)
	}
	if code, out, _ := run(t, cfg, "", "list", "--json"); code != ExitOK || !strings.HasPrefix(out, `{"scope":"","count":1,"backend":"encrypted_file","entries":[{"ref":"vault://global/k"`) {
		t.Fatalf("list --json: %d %q", code, out)
	}
}

// TestFailedSetNeverPrintsTheValue runs set with a recognisable value into
// every kind of failure and checks that the value appears in no output.
func TestFailedSetNeverPrintsTheValue(t *testing.T) {
	const value = "sk-canary-6f1d2e"
	tests := []struct {
		name     string
		args     []string
		stdin    string
		prepare  func(t *testing.T, cfg vault.Config)
		wantCode int
	}{
		{"bad scope", []string{"set", "BAD", "k"}, value, nil, ExitUsage},
		{"bad key", []string{"set", "global", "K!"}, value, nil, ExitUsage},
		{"bad ref", []string{"set", "vault://global"}, value, nil, ExitUsage},
		{"unknown flag", []string{"set", "global", "k", "--nope"}, value, nil, ExitUsage},
		{"value repeated as an argument", []string{"set", "global", "k", value}, value, nil, ExitUsage},
		{"value as a flag", []string{"set", "global", "k", "--value=" + value}, value, nil, ExitUsage},
		{"value as a short flag group", []string{"set", "global", "k", "-v" + value}, value, nil, ExitUsage},
		{"value in a bool flag", []string{"set", "global", "k", "--json=" + value}, value, nil, ExitUsage},
		{"too large", []string{"set", "global", "k"}, strings.Repeat(value, vault.DefaultMaxSecretSize/len(value)+1), nil, ExitError},
		{"unsafe vault root", []string{"set", "global", "k"}, value, func(t *testing.T, cfg vault.Config) {
			mustOpenClose(t, cfg)
			if err := os.Chmod(cfg.Root, 0o777); err != nil {
				t.Fatal(err)
			}
		}, ExitError},
		{"unknown backend marker", []string{"set", "global", "k"}, value, func(t *testing.T, cfg vault.Config) {
			mustOpenClose(t, cfg)
			if err := os.WriteFile(cfg.Root+"/backend.kind", []byte("nope\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clitest.Config(t)
			if tt.prepare != nil {
				tt.prepare(t, cfg)
			}
			code, out, errOut := run(t, cfg, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if strings.Contains(out, "sk-canary") || strings.Contains(errOut, "sk-canary") {
				t.Fatalf("value leaked: stdout %q stderr %q", out, errOut)
			}
			if !strings.HasPrefix(errOut, "palyra: error: ") {
				t.Fatalf("stderr %q does not start with the error prefix", errOut)
			}
		})
	}
}

func mustOpenClose(t *testing.T, cfg vault.Config) {
	t.Helper()
	v, err := vault.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
}
