package run

import (
	"errors"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
)

func TestNewCmdRunParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantCmd []string
		wantEnv []string
		wantErr string
	}{
		{"after --", []string{"--env", "A=env:HOME", "--", "sh", "-c", "echo $A"}, []string{"sh", "-c", "echo $A"}, []string{"A=env:HOME"}, ""},
		{"flags after the program belong to it", []string{"-e", "A=env:HOME", "ls", "--env", "-l"}, []string{"ls", "--env", "-l"}, []string{"A=env:HOME"}, ""},
		{"inline table with commas", []string{"--env", `T={ exec = ["a", "b"] }`, "--", "true"}, []string{"true"}, []string{`T={ exec = ["a", "b"] }`}, ""},
		{"no command", []string{"--env", "A=env:HOME"}, nil, nil, "missing the command to run"},
		{"json without dry-run", []string{"--json", "--", "true"}, nil, nil, "--json prints the --dry-run report"},
		{"relative trusted dir", []string{"--trusted-dir", "secrets", "--", "true"}, nil, nil, `--trusted-dir "secrets": must be an absolute path`},
		{"pass-env of key material", []string{"--pass-env", "PALYRA_VAULT_PASSPHRASE", "--", "true"}, []string{"true"}, nil, ""},
		{"pass-env of another variable", []string{"--pass-env", "HOME", "--", "true"}, nil, nil, "--pass-env #1: only a variable that carries key material"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *RunOptions
			cmd := NewCmdRun(&cmdutil.Factory{IOStreams: ios}, func(o *RunOptions) error { got = o; return nil })
			err := clitest.Execute(cmd, tt.args...)
			if tt.wantErr != "" {
				var usage *cmdutil.UsageError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &usage) {
					t.Fatalf("error = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.Command, "|") != strings.Join(tt.wantCmd, "|") || strings.Join(got.Env, "|") != strings.Join(tt.wantEnv, "|") {
				t.Fatalf("command %q env %q", got.Command, got.Env)
			}
		})
	}
}
