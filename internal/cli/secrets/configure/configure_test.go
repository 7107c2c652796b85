package configure

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/config"
	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

func TestNewCmdConfigureParsesArgsAndFlags(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantSetting string
		wantPreset  string
		wantRef     secret.Ref
		wantBackups int
		wantErr     string
	}{
		{"preset", []string{"openai-api-key", "global", "openai_api_key"}, "model_provider.openai_api_key", "openai-api-key", secret.Ref{Scope: "global", Key: "openai_api_key"}, 5, ""},
		{"dotted setting and ref", []string{"a.b.token", "vault://plugins/github/token", "--backups", "2"}, "a.b.token", "", secret.Ref{Scope: "plugins/github", Key: "token"}, 2, ""},
		{"quoted key", []string{`servers."eu.west".token`, "global", "k"}, `servers."eu.west".token`, "", secret.Ref{Scope: "global", Key: "k"}, 5, ""},
		{"unknown preset", []string{"openai-key", "global", "k"}, "", "", secret.Ref{}, 0, `argument 1 (the setting): unknown preset`},
		{"ref field named", []string{"a.token_vault_ref", "global", "k"}, "", "", secret.Ref{}, 0, "name the setting itself"},
		{"bad dotted name", []string{"a..b", "global", "k"}, "", "", secret.Ref{}, 0, "must be TOML keys joined by dots"},
		{"bad key", []string{"a.b", "global", "K"}, "", "", secret.Ref{}, 0, `argument 3 (the key): invalid key: contains uppercase 'K'`},
		{"secret as an argument", []string{"a.b", "global", "k", "sk-secret"}, "", "", secret.Ref{}, 0, "got 4 arguments"},
		{"too few", []string{"a.b"}, "", "", secret.Ref{}, 0, "got 1 arguments"},
		{"backups out of range", []string{"a.b", "global", "k", "--backups", "101"}, "", "", secret.Ref{}, 0, "--backups 101: must be between 0 and 100"},
		{"from-config with trim", []string{"a.b", "global", "k", "--from-config", "--trim-newline"}, "", "", secret.Ref{}, 0, "cannot be combined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *ConfigureOptions
			cmd := NewCmdConfigure(&cmdutil.Factory{IOStreams: ios}, func(o *ConfigureOptions) error { got = o; return nil })
			err := clitest.Execute(cmd, tt.args...)
			if tt.wantErr != "" {
				var usage *cmdutil.UsageError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &usage) {
					t.Fatalf("error = %v, want a usage error containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "sk-secret") {
					t.Fatalf("error repeats an argument: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Setting != tt.wantSetting || got.Preset != tt.wantPreset || got.Ref != tt.wantRef || got.Backups != tt.wantBackups {
				t.Fatalf("options = %+v", *got)
			}
		})
	}
}

const plainConfig = "# keep me\n[model_provider]\nopenai_api_key = \"sk-plain-0123456789\" # prod\n"

// setup returns options that configure model_provider.openai_api_key (by
// its dotted name, not the preset, whose edits TestConfigurePresetMakesPalyrasEdits
// covers) in a fresh config file and vault, reading value from stdin.
func setup(t *testing.T, value string) (*ConfigureOptions, *vault.Vault, string, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	v, open := clitest.Vault(t)
	path := filepath.Join(t.TempDir(), "palyra.toml")
	if err := os.WriteFile(path, []byte(plainConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	ios, in, out, errOut := iostreams.Test()
	in.WriteString(value)
	opts := &ConfigureOptions{
		IO: ios, Vault: open, UpdateConfig: config.UpdateConfig,
		Setting: "model_provider.openai_api_key",
		Ref:     secret.Ref{Scope: "global", Key: "openai_api_key"}, ConfigPath: path, Backups: 5,
	}
	return opts, v, path, out, errOut
}

func TestConfigureWriteFailureAfterStoreSaysSecretIsStoredAndFileUnchanged(t *testing.T) {
	opts, v, path, out, errOut := setup(t, "sk-new-0123456789")
	opts.UpdateConfig = func(context.Context, string, config.UpdateOptions, config.EditFunc) (bool, bool, error) {
		return false, false, errors.New("disk full")
	}
	err := configureRun(context.Background(), opts)
	if err == nil {
		t.Fatal("configure succeeded although the config write failed")
	}
	msg := err.Error()
	for _, want := range []string{"the secret was stored as vault://global/openai_api_key", "writing the configuration failed: disk full", path + " is unchanged"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	hints := strings.Join(cmdutil.Hints(err), "\n")
	if !strings.Contains(hints, `run "palyra secrets configure model_provider.openai_api_key global openai_api_key --config `) ||
		!strings.Contains(hints, `set model_provider.openai_api_key_vault_ref = "vault://global/openai_api_key"`) {
		t.Errorf("hints do not say how to finish: %q", hints)
	}
	for _, s := range []string{msg, hints, out.String(), errOut.String()} {
		if strings.Contains(s, "sk-new") || strings.Contains(s, "sk-plain") {
			t.Fatalf("output holds a secret: %q", s)
		}
	}
	got, _, err := v.Get(context.Background(), "global", "openai_api_key")
	if err != nil || string(got.Reveal()) != "sk-new-0123456789" {
		t.Fatalf("stored value = %q, %v", got.Reveal(), err)
	}
	if data, _ := os.ReadFile(path); string(data) != plainConfig {
		t.Fatalf("config changed: %q", data)
	}
}

// Under the configuration's lock, configure applies its change to the file
// as it is then: an edit made while the secret was stored is kept, unless it
// changed the setting itself (then nothing is written).
func TestConfigureAppliesItsChangeToTheFileAsItIsUnderTheLock(t *testing.T) {
	const ref = `openai_api_key_vault_ref = "vault://global/openai_api_key"`
	tests := []struct {
		name    string
		edit    *string // the file written meanwhile; nil removes it
		want    string  // the file afterwards
		wantErr string
	}{
		{
			name: "another setting added",
			edit: ptr(plainConfig + "[other]\ntoken_vault_ref = \"vault://global/t\"\n"),
			want: "# keep me\n[model_provider]\n" + ref + " # prod\n[other]\ntoken_vault_ref = \"vault://global/t\"\n",
		},
		{
			name: "already pointed at the same ref",
			edit: ptr("[model_provider]\n" + ref + "\n"),
			want: "[model_provider]\n" + ref + "\n",
		},
		{
			name:    "the plaintext itself edited",
			edit:    ptr(strings.Replace(plainConfig, "sk-plain", "sk-other", 1)),
			want:    strings.Replace(plainConfig, "sk-plain", "sk-other", 1),
			wantErr: "the setting changed while the secret was being stored",
		},
		{
			name:    "the setting pointed elsewhere",
			edit:    ptr("[model_provider]\nopenai_api_key_vault_ref = \"vault://global/x\"\n"),
			want:    "[model_provider]\nopenai_api_key_vault_ref = \"vault://global/x\"\n",
			wantErr: "the setting changed while the secret was being stored",
		},
		{
			name:    "the file removed",
			wantErr: "the file was removed while the secret was being stored",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, _, path, _, _ := setup(t, "sk-new-0123456789")
			open := opts.Vault
			opts.Vault = func(ctx context.Context) (*vault.Vault, error) {
				// Another editor saves the file after configure computed
				// its edit.
				var err error
				if tt.edit == nil {
					err = os.Remove(path)
				} else {
					err = os.WriteFile(path, []byte(*tt.edit), 0o600)
				}
				if err != nil {
					t.Fatal(err)
				}
				return open(ctx)
			}
			err := configureRun(context.Background(), opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "the secret was stored as") {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if tt.edit == nil {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("config = %q, %v; want it still removed", data, err)
				}
				return
			}
			if string(data) != tt.want {
				t.Fatalf("config = %q, want %q", data, tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// The openai-api-key preset makes Palyra's edits: the bare form, the
// provider's kind and base URL, no auth profile; the backup and comments
// stay.
func TestConfigurePresetMakesPalyrasEdits(t *testing.T) {
	opts, _, path, out, _ := setup(t, "sk-new-0123456789")
	opts.Preset = "openai-api-key"
	if err := os.WriteFile(path, []byte(plainConfig+"auth_profile_ref = \"p\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := configureRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := "# keep me\n[model_provider]\nopenai_api_key_vault_ref = \"global/openai_api_key\" # prod\n" +
		"kind = \"openai_compatible\"\nopenai_base_url = \"https://api.openai.com/v1\"\n"
	if data, _ := os.ReadFile(path); string(data) != want {
		t.Fatalf("config = %q, want %q", data, want)
	}
	if data, _ := os.ReadFile(path + ".bak.1"); !strings.Contains(string(data), "auth_profile_ref") {
		t.Fatalf("backup = %q, want the previous file", data)
	}
	if !strings.Contains(out.String(), `openai_api_key_vault_ref = "global/openai_api_key"`) {
		t.Errorf("output %q does not show the bare form written", out)
	}
}

func TestConfigureFromConfigMovesThePlaintext(t *testing.T) {
	opts, v, path, out, _ := setup(t, "")
	opts.FromConfig = true
	if err := configureRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	got, _, err := v.Get(context.Background(), "global", "openai_api_key")
	if err != nil || string(got.Reveal()) != "sk-plain-0123456789" {
		t.Fatalf("stored value = %q, %v", got.Reveal(), err)
	}
	want := "# keep me\n[model_provider]\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\" # prod\n"
	if data, _ := os.ReadFile(path); string(data) != want {
		t.Fatalf("config = %q, want %q", data, want)
	}
	if data, _ := os.ReadFile(path + ".bak.1"); string(data) != plainConfig {
		t.Fatalf("backup = %q, want the previous file", data)
	}
	if strings.Contains(out.String(), "sk-plain") {
		t.Fatalf("output holds the value: %q", out)
	}
}

func TestPreviousValueClassifiesTheSetting(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"empty file", "", "none"},
		{"absent", "[a]\nx = 1\n", "none"},
		{"plaintext", "[a]\nb = \"v\"\n", "plaintext"},
		{"inline reference", "[a]\nb = { env = \"X\" }\n", "reference"},
		{"earlier vault ref", "[a]\nb_vault_ref = \"global/k\"\n", "vault_ref"},
		{"parent not a table", "a = 1\n", "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := previousValue([]byte(tt.src), "a.b")
			if err != nil || got != tt.want {
				t.Fatalf("previousValue = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFieldNameQuotesKeysThatAreNotBare(t *testing.T) {
	tests := map[string]string{
		"model_provider.openai_api_key": "model_provider.openai_api_key_vault_ref",
		`servers."eu.west".token`:       `servers."eu.west".token_vault_ref`,
		`a."b c"`:                       `a."b c_vault_ref"`,
	}
	for in, want := range tests {
		if got := fieldName(in); got != want {
			t.Errorf("fieldName(%q) = %q, want %q", in, got, want)
		}
	}
}
