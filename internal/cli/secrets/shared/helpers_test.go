package shared

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
)

func TestReadValueReadsStdinExactlyAndRefusesEmptyOrLarge(t *testing.T) {
	tests := []struct {
		name, in string
		trim     bool
		want     string
		wantErr  string
	}{
		{"bytes kept", "sk-1\n", false, "sk-1\n", ""},
		{"one newline trimmed", "sk-1\r\n", true, "sk-1", ""},
		{"empty", "", false, "", "empty value on stdin; nothing was stored"},
		{"only a newline, trimmed", "\n", true, "", "empty value on stdin after --trim-newline"},
		{"one byte too large", "123456789", false, "", "more than 8 bytes; nothing was stored"},
		{"limit after trimming", "12345678\r\n", true, "12345678", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, in, _, _ := iostreams.Test()
			in.WriteString(tt.in)
			got, err := ReadValue(ValueInput{IO: ios, TrimNewline: tt.trim, MaxSize: 8, Usage: "palyra secrets x"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("ReadValue = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestReadValuePromptsTwiceOnATerminal(t *testing.T) {
	for _, tc := range []struct {
		entries []string
		wantErr string
	}{
		{[]string{"sk-typed", "sk-typed"}, ""},
		{[]string{"sk-typed", "sk-other"}, "the two entries differ; nothing was stored"},
		{[]string{""}, "empty value; nothing was stored"},
	} {
		ios, _, _, _ := iostreams.Test()
		ios.SetStdinTTY(true)
		var prompts []string
		ios.SetSecretPrompter(func(p string) ([]byte, error) {
			prompts = append(prompts, p)
			if len(prompts) > len(tc.entries) {
				return nil, errors.New("asked too often")
			}
			return []byte(tc.entries[len(prompts)-1]), nil
		})
		got, err := ReadValue(ValueInput{IO: ios, MaxSize: 64, Ref: secret.Ref{Scope: "global", Key: "k"}})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "sk-") {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			continue
		}
		if err != nil || string(got) != "sk-typed" || prompts[0] != "Value for vault://global/k: " {
			t.Fatalf("ReadValue = %q, %v; prompts %q", got, err, prompts)
		}
	}
}

func TestExistingVaultNeverCreatesAVault(t *testing.T) {
	dir := t.TempDir()
	cfg := vault.Config{Root: filepath.Join(dir, "vault"), StateRoot: filepath.Join(dir, "state"), Backend: backend.KindEncryptedFile}
	opened := 0
	ev := &ExistingVault{Config: cfg, Open: func(ctx context.Context) (*vault.Vault, error) {
		opened++
		return vault.Open(ctx, cfg)
	}}
	_, _, err := ev.Get(context.Background(), "global", "k")
	if !errors.Is(err, ErrNoVault) || !errors.Is(err, vault.ErrNotFound) || !strings.Contains(err.Error(), "no vault here yet: secret not found (looked in "+cfg.Root+")") {
		t.Fatalf("error = %v", err)
	}
	if _, err := os.Stat(cfg.Root); err == nil || opened != 0 {
		t.Fatalf("a vault was created (opened %d times)", opened)
	}

	v, err := vault.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	v.Put(context.Background(), "global", "k", []byte("value"))
	v.Close()
	ev = &ExistingVault{Config: cfg, Open: ev.Open}
	got, md, err := ev.Get(context.Background(), "global", "k")
	if err != nil || string(got.Reveal()) != "value" || md.Size != 5 {
		t.Fatalf("Get = %q, %+v, %v", got.Reveal(), md, err)
	}
	if _, err := ev.Stat(context.Background(), "global", "k"); err != nil || opened != 1 {
		t.Fatalf("Stat: %v (opened %d times, want once)", err, opened)
	}
	if v, _ := ev.Vault(context.Background()); v != nil {
		v.Close()
	}
}

func TestShellQuote(t *testing.T) {
	tests := map[string]string{
		"palyra.toml":             "palyra.toml",
		"/a/b-c_d.toml":           "/a/b-c_d.toml",
		"my config.toml":          "'my config.toml'",
		`servers."eu.west".token`: `'servers."eu.west".token'`,
		"it's":                    `'it'\''s'`,
		"":                        "''",
		"$HOME":                   "'$HOME'",
	}
	for in, want := range tests {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestReadValueWarnsOfAKeptNewlineOnAPipeOnly(t *testing.T) {
	tests := []struct {
		name            string
		in              string
		trim, keep, tty bool
		want            string
		wantWarn        bool
	}{
		{"piped, newline kept with a word", "sk-1\n", false, false, false, "sk-1\n", true},
		{"piped, CRLF kept with a word", "sk-1\r\n", false, false, false, "sk-1\r\n", true},
		{"piped, --keep-newline", "sk-1\n", false, true, false, "sk-1\n", false},
		{"piped, --trim-newline", "sk-1\n", true, false, false, "sk-1", false},
		{"piped, two newlines trimmed to one", "sk-1\n\n", true, false, false, "sk-1\n", false},
		{"piped, no newline", "sk-1", false, false, false, "sk-1", false},
		{"piped, newline inside", "sk\n1", false, false, false, "sk\n1", false},
		{"--value-stdin on a terminal", "sk-1\n", false, false, true, "sk-1\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, in, _, errOut := iostreams.Test()
			ios.SetStdinTTY(tt.tty)
			in.WriteString(tt.in)
			got, err := ReadValue(ValueInput{IO: ios, ForceStdin: true, TrimNewline: tt.trim, KeepNewline: tt.keep, MaxSize: 64})
			if err != nil || string(got) != tt.want {
				t.Fatalf("ReadValue = %q, %v; want %q", got, err, tt.want)
			}
			warn := errOut.String()
			if tt.wantWarn != (warn == NewlineWarning+"\n") || (!tt.wantWarn && warn != "") {
				t.Fatalf("stderr %q, want a warning: %v", warn, tt.wantWarn)
			}
			if strings.Contains(warn, "sk-1") || strings.Contains(warn, "5") || strings.Contains(warn, "6") {
				t.Fatalf("the warning tells of the value: %q", warn)
			}
		})
	}
	if !strings.Contains(NewlineWarning, "--trim-newline") || !strings.Contains(NewlineWarning, "--keep-newline") {
		t.Fatalf("the warning does not name both flags: %q", NewlineWarning)
	}
}

func TestNewlineFlagsExcludeEachOther(t *testing.T) {
	for _, tt := range []struct {
		trim, keep, wantErr bool
	}{{false, false, false}, {true, false, false}, {false, true, false}, {true, true, true}} {
		if err := CheckNewlineFlags(tt.trim, tt.keep); (err != nil) != tt.wantErr {
			t.Errorf("trim %v keep %v: err = %v", tt.trim, tt.keep, err)
		}
	}
}

func TestRefArgsAreReadyForAShell(t *testing.T) {
	for r, want := range map[secret.Ref]string{
		{Scope: "global", Key: "openai_api_key"}:                 "global openai_api_key",
		{Scope: "principal:Alice@Example.com", Key: "_token"}:    "principal:Alice@Example.com _token",
		{Scope: "channel:Slack:T01 ops", Key: ".env"}:            "'channel:Slack:T01 ops' .env",
		{Scope: "principal:O'Brien", Key: "k"}:                   `'principal:O'\''Brien' k`,
		{Scope: "global", Key: "-rf"}:                            "vault://global/-rf",
		{Scope: "channel:Slack:T01 ops", Key: "-"}:               "'vault://channel:Slack:T01 ops/-'",
		{Scope: "skill:x", Key: ".."}:                            "skill:x ..",
		{Scope: "principal:$(touch pwned)", Key: "k"}:            "'principal:$(touch pwned)' k",
		{Scope: "plugins/github", Key: "token"}:                  "plugins/github token",
		{Scope: "principal:" + strings.Repeat("é", 3), Key: "k"}: "'principal:ééé' k",
	} {
		if got := RefArgs(r); got != want {
			t.Errorf("RefArgs(%#v) = %q, want %q", r, got, want)
		}
	}
	if got := ListHint("channel:Slack:T01 ops"); !strings.Contains(got, `"palyra secrets list 'channel:Slack:T01 ops'"`) {
		t.Errorf("ListHint = %q, want the scope quoted", got)
	}
}
