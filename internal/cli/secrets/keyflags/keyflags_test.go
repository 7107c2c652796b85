package keyflags

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/spf13/pflag"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPassphraseFileLosesOneFinalNewlineOnly(t *testing.T) {
	tests := []struct {
		content, want, wantErr string
	}{
		{"correct horse", "correct horse", ""},
		{"correct horse\n", "correct horse", ""},
		{"correct horse\r\n", "correct horse", ""},
		{"correct horse\n\n", "correct horse\n", ""},
		{"  spaced  \n", "  spaced  ", ""},
		{"", "", "is empty"},
		{"\n", "", "is empty"},
		{strings.Repeat("x", 1025), "", "longer than 1024 bytes"},
	}
	for _, tt := range tests {
		got, err := Source{File: writeFile(t, tt.content), What: "vault passphrase"}.Func()()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "xxxx") {
				t.Errorf("file %q: err = %v, want %q", tt.content, err, tt.wantErr)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("file %q: got %q, %v; want %q", tt.content, got, err, tt.want)
		}
	}
}

// prompter answers prompts from a list and records them.
type prompter struct {
	answers []string
	asked   []string
}

func (p *prompter) prompt(prompt string) ([]byte, error) {
	p.asked = append(p.asked, prompt)
	if len(p.answers) == 0 {
		return nil, errors.New("no more answers")
	}
	a := p.answers[0]
	p.answers = p.answers[1:]
	return []byte(a), nil
}

func terminal(p *prompter) *iostreams.IOStreams {
	ios, _, _, _ := iostreams.Test()
	ios.SetStdinTTY(true)
	ios.SetSecretPrompter(p.prompt)
	return ios
}

func TestPassphraseComesFromFileThenEnvironmentThenPrompt(t *testing.T) {
	env := map[string]string{"PASS": "from env"}
	getenv := func(k string) string { return env[k] }
	p := &prompter{answers: []string{"from prompt"}}
	src := Source{IO: terminal(p), Env: "PASS", Prompt: "Passphrase: ", What: "vault passphrase", Getenv: getenv}

	src.File = writeFile(t, "from file\n")
	if got, _ := src.Func()(); string(got) != "from file" {
		t.Fatalf("with a file: %q", got)
	}
	src.File = ""
	if got, _ := src.Func()(); string(got) != "from env" {
		t.Fatalf("with the environment: %q", got)
	}
	delete(env, "PASS")
	if got, _ := src.Func()(); string(got) != "from prompt" || len(p.asked) != 1 || p.asked[0] != "Passphrase: " {
		t.Fatalf("with a terminal: %q after prompts %q", got, p.asked)
	}
}

func TestNewPassphraseIsAskedTwiceAndMustMatch(t *testing.T) {
	p := &prompter{answers: []string{"new one", "new one"}}
	src := Source{IO: terminal(p), Env: "UNSET_FOR_TEST", Confirm: true, Prompt: "New: ", What: "new vault passphrase", Getenv: func(string) string { return "" }}
	if got, err := src.Func()(); err != nil || string(got) != "new one" || len(p.asked) != 2 {
		t.Fatalf("got %q, %v after %q", got, err, p.asked)
	}
	p.answers = []string{"new one", "new two"}
	_, err := src.Func()()
	if err == nil || !strings.Contains(err.Error(), "the two entries of the new vault passphrase differ") || strings.Contains(err.Error(), "new two") {
		t.Fatalf("mismatch: %v", err)
	}
}

func TestNoPassphraseAndNoTerminalSaysHowToGiveOne(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	_, err := Source{IO: ios, Env: "PALYRA_X", What: "vault passphrase", FileFlag: "--passphrase-file", Getenv: func(string) string { return "" }}.Func()()
	if err == nil || !strings.Contains(err.Error(), "no terminal") {
		t.Fatalf("err = %v", err)
	}
	if h := cmdutil.Hints(err); len(h) != 1 || !strings.Contains(h[0], "--passphrase-file FILE, or set $PALYRA_X") {
		t.Fatalf("hints = %q", h)
	}
}

func TestVaultPassphraseSourcesAskWhatTheyName(t *testing.T) {
	tests := []struct {
		name       string
		read       func(*iostreams.IOStreams) func() ([]byte, error)
		env        string
		wantPrompt []string
		wantHint   string
	}{
		{"vault", func(io *iostreams.IOStreams) func() ([]byte, error) {
			return VaultPassphrase(io, "", "--vault-passphrase-file")
		},
			EnvPassphrase, []string{"Vault passphrase: "}, "--vault-passphrase-file FILE, or set $" + EnvPassphrase},
		{"new vault", func(io *iostreams.IOStreams) func() ([]byte, error) { return NewVaultPassphrase(io, "") },
			EnvNewPassphrase, []string{"New vault passphrase: ", "Enter it again to confirm: "}, "--new-passphrase-file FILE, or set $" + EnvNewPassphrase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvPassphrase, "")
			t.Setenv(EnvNewPassphrase, "")
			p := &prompter{answers: []string{"typed", "typed"}}
			if got, err := tt.read(terminal(p))(); err != nil || string(got) != "typed" || strings.Join(p.asked, "|") != strings.Join(tt.wantPrompt, "|") {
				t.Fatalf("on a terminal: %q, %v after prompts %q; want prompts %q", got, err, p.asked, tt.wantPrompt)
			}
			ios, _, _, _ := iostreams.Test()
			_, err := tt.read(ios)()
			if h := cmdutil.Hints(err); len(h) != 1 || !strings.Contains(h[0], tt.wantHint) {
				t.Fatalf("without a terminal: hints %q, want one containing %q", h, tt.wantHint)
			}
			t.Setenv(tt.env, "from env")
			if got, err := tt.read(ios)(); err != nil || string(got) != "from env" {
				t.Fatalf("with $%s set: %q, %v", tt.env, got, err)
			}
		})
	}
}

func TestVaultPassphraseFileHasOneNameAndAnOldAlias(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     string
		wantErr  string
		wantWarn bool
	}{
		{"none", nil, "", "", false},
		{"the name", []string{"--vault-passphrase-file", "a"}, "a", "", false},
		{"the old name", []string{"--passphrase-file", "b"}, "b", "", true},
		{"both", []string{"--vault-passphrase-file", "a", "--passphrase-file", "b"}, "", "give only --vault-passphrase-file", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
			var p string
			AddVaultPassphraseFile(fs, &p)
			AddOldPassphraseFile(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if !fs.Lookup(OldPassphraseFileFlag).Hidden {
				t.Error("the old name is not hidden")
			}
			var warn strings.Builder
			got, err := VaultPassphraseFile(fs, &warn)
			if tt.wantErr != "" {
				var uerr *cmdutil.UsageError
				if !errors.As(err, &uerr) || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), " a") {
					t.Fatalf("err = %v, want a usage error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
			if gotWarn := strings.Contains(warn.String(), "palyra: warning: --passphrase-file is the old name of --vault-passphrase-file"); gotWarn != tt.wantWarn {
				t.Fatalf("warning %q, want one: %v", warn.String(), tt.wantWarn)
			}
		})
	}
}
