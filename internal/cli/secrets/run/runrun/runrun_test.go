package runrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/resolve/tomlref"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// fixture is a vault holding two secrets and run options that use it.
type fixture struct {
	opts        *Options
	out, errOut *bytes.Buffer
	dir         string
}

const (
	secretA = "sk-test-0123456789"
	secretB = "ghp_abcdefghijklmnop"
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	cfg := clitest.Config(t)
	v, err := vault.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	for k, val := range map[string]string{"a": secretA, "b": secretB} {
		if _, err := v.Put(context.Background(), "global", k, []byte(val)); err != nil {
			t.Fatal(err)
		}
	}
	ios, _, out, errOut := iostreams.Test()
	return &fixture{
		opts: &Options{
			IO: ios, VaultConfig: cfg,
			Vault:    func(context.Context) (*vault.Vault, error) { return v, nil },
			Env:      []string{"A=vault://global/a", "B=vault://global/b"},
			ParseRef: tomlref.Parse, // as the cobra command

		},
		out: out, errOut: errOut, dir: t.TempDir(),
	}
}

func (f *fixture) run(t *testing.T, script string) error {
	t.Helper()
	f.opts.Command = []string{"sh", "-c", script}
	return Run(context.Background(), f.opts)
}

func TestRunMasksSecretsInStdoutAndStderr(t *testing.T) {
	f := newFixture(t)
	// Each printf is a separate write: the secret reaches palyra split.
	err := f.run(t, `printf 'a=%.7s' "$A"; printf '%s\n' "${A#???????}"; printf 'b=%s\n' "$B" >&2; printf 'both:%s%s\n' "$A" "$B"`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.out.String(), "a=[REDACTED]\nboth:[REDACTED][REDACTED]\n"; got != want {
		t.Fatalf("stdout = %q, want %q", got, want)
	}
	if got, want := f.errOut.String(), "b=[REDACTED]\n"; got != want {
		t.Fatalf("stderr = %q, want %q", got, want)
	}
}

func TestRunSetsVariablesOnlyInTheChild(t *testing.T) {
	f := newFixture(t)
	f.opts.NoMasking = true
	if err := f.run(t, `printf '%s|%s' "$A" "$B"`); err != nil {
		t.Fatal(err)
	}
	if got := f.out.String(); got != secretA+"|"+secretB {
		t.Fatalf("child saw %q", got)
	}
	if _, ok := os.LookupEnv("A"); ok {
		t.Fatal("A was set in palyra's own environment")
	}
}

func TestRunPassesOnTheChildsExitStatus(t *testing.T) {
	tests := []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"exit 255", 255},
		{"kill -TERM $$", 128 + 15},
		{"kill -KILL $$", 128 + 9},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			f := newFixture(t)
			err := f.run(t, tt.script)
			code, silent, ok := clierr.ExitCode(err)
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("error = %v", err)
				}
				return
			}
			if !ok || !silent || code != tt.want {
				t.Fatalf("error = %v (code %d, silent %v), want silent exit %d", err, code, silent, tt.want)
			}
		})
	}
}

func TestRunReportsAProgramThatCannotStart(t *testing.T) {
	f := newFixture(t)
	f.opts.Command = []string{"palyra-no-such-program"}
	code, silent, _ := clierr.ExitCode(Run(context.Background(), f.opts))
	if code != ExitCommandNotFound || silent {
		t.Fatalf("code %d silent %v, want %d with a message", code, silent, ExitCommandNotFound)
	}
	notExec := filepath.Join(f.dir, "script")
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o600)
	f.opts.Command = []string{notExec}
	if code, _, _ := clierr.ExitCode(Run(context.Background(), f.opts)); code != ExitCannotExecute {
		t.Fatalf("code %d, want %d", code, ExitCannotExecute)
	}
}

func TestRunResolvesEverythingBeforeStartingAnything(t *testing.T) {
	f := newFixture(t)
	marker := filepath.Join(f.dir, "ran")
	f.opts.Env = append(f.opts.Env, "C=vault://global/missing", "D=env:PALYRA_TEST_UNSET_VARIABLE")
	err := f.run(t, "touch "+marker)
	if err == nil {
		t.Fatal("run succeeded with missing references")
	}
	if _, statErr := os.Stat(marker); statErr == nil {
		t.Fatal("the command ran although a reference failed")
	}
	msg := err.Error()
	if !strings.Contains(msg, "cannot resolve 2 references:") || !strings.Contains(msg, "C (--env #3, vault://global/missing)") ||
		!strings.Contains(msg, "D (--env #4, env:PALYRA_TEST_UNSET_VARIABLE)") {
		t.Fatalf("error = %q", msg)
	}
	if !errors.Is(err, vault.ErrNotFound) || !errors.Is(err, resolve.ErrMissing) {
		t.Fatalf("error %v does not wrap the first failure's kind", err)
	}
	if strings.Contains(msg, secretA) || strings.Contains(f.out.String()+f.errOut.String(), secretA) {
		t.Fatal("a value leaked")
	}
}

func TestRunLeavesAnOptionalMissingVariableUnset(t *testing.T) {
	f := newFixture(t)
	f.opts.Env = []string{`OPT={ env = "PALYRA_TEST_UNSET_VARIABLE", required = false }`}
	if err := f.run(t, `echo "${OPT-unset}"`); err != nil {
		t.Fatal(err)
	}
	if f.out.String() != "unset\n" {
		t.Fatalf("stdout = %q", f.out)
	}
	if !strings.Contains(f.errOut.String(), "palyra: warning: OPT is not set: its optional reference (env:PALYRA_TEST_UNSET_VARIABLE) has no value") {
		t.Fatalf("stderr = %q", f.errOut)
	}
}

// Without ParseRef (the lean front, which links no TOML decoder) a
// reference written as an inline table, in --env or in the env file,
// fails with resolve.ErrInlineTable before anything is resolved or run,
// for the caller to hand the command line to palyra-extra; the short
// forms run.
func TestRunWithoutTOMLStopsAtAnInlineTableBeforeAnything(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		file    string
		wantErr bool
	}{
		{"short forms", []string{"A=vault://global/a", "H=env:HOME"}, "", false},
		{"inline in --env", []string{"A=vault://global/a", `X={ exec = ["touch", "resolved"] }`}, "", true},
		{"inline in the env file", []string{"A=vault://global/a"}, "X={ env = \"HOME\" }\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.opts.ParseRef = nil
			f.opts.Env = tt.env
			if tt.file != "" {
				f.opts.EnvFile = filepath.Join(f.dir, "refs.env")
				if err := os.WriteFile(f.opts.EnvFile, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			looked := false
			f.opts.Lookup = lookupFunc(func() { looked = true })
			err := f.run(t, "touch "+filepath.Join(f.dir, "ran"))
			if errors.Is(err, resolve.ErrInlineTable) != tt.wantErr || !tt.wantErr && (err != nil || !looked) {
				t.Fatalf("error = %v, want ErrInlineTable: %v", err, tt.wantErr)
			}
			_, ranErr := os.Stat(filepath.Join(f.dir, "ran"))
			if tt.wantErr && (looked || ranErr == nil || f.out.Len()+f.errOut.Len() != 0) {
				t.Fatalf("after ErrInlineTable: vault read %v, command ran %v, output %q %q", looked, ranErr == nil, f.out, f.errOut)
			}
		})
	}
}

// lookupFunc is a resolve.VaultLookup that calls itself and finds every
// secret with the value "v".
type lookupFunc func()

func (l lookupFunc) Get(ctx context.Context, scope, key string) (secret.SensitiveBytes, vault.Metadata, error) {
	l()
	return secret.NewSensitiveBytes([]byte("v")), vault.Metadata{Scope: scope, Key: key, Size: 1}, nil
}

func TestRunNeverCreatesAVault(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	cfg := clitest.Config(t)
	opened := false
	opts := &Options{
		IO: ios, VaultConfig: cfg,
		Vault:   func(context.Context) (*vault.Vault, error) { opened = true; return nil, errors.New("must not open") },
		Env:     []string{"A=vault://global/a"},
		Command: []string{"true"},
	}
	err := Run(context.Background(), opts)
	if err == nil || !errors.Is(err, vault.ErrNotFound) || !strings.Contains(err.Error(), "no vault") {
		t.Fatalf("error = %v, want a missing reference in no vault", err)
	}
	if opened {
		t.Fatal("the vault opener was called for a vault that does not exist")
	}
	if _, err := os.Stat(cfg.Root); err == nil {
		t.Fatal("a vault root was created")
	}
}

func TestRunFlagOverridesEnvFile(t *testing.T) {
	f := newFixture(t)
	file := filepath.Join(f.dir, "refs.env")
	os.WriteFile(file, []byte("A=vault://global/b\nB=vault://global/b\n"), 0o600)
	f.opts.EnvFile = file
	f.opts.Env = []string{"A=vault://global/a"}
	f.opts.NoMasking = true
	if err := f.run(t, `printf '%s|%s' "$A" "$B"`); err != nil {
		t.Fatal(err)
	}
	if got := f.out.String(); got != secretA+"|"+secretB {
		t.Fatalf("child saw %q", got)
	}
}

func TestRunDryRunReportsWithoutValues(t *testing.T) {
	f := newFixture(t)
	f.opts.DryRun, f.opts.JSON = true, true
	f.opts.Env = append(f.opts.Env, `X={ exec = ["printf", "sk-from-exec"] }`)
	if err := Run(context.Background(), f.opts); err != nil {
		t.Fatal(err)
	}
	var got []dryRunJSON
	if err := json.Unmarshal(f.out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Name != "A" || got[0].Ref != "vault://global/a" || got[0].Size != len(secretA) ||
		got[2].Source != "exec" || !strings.HasPrefix(got[2].Ref, "exec#") {
		t.Fatalf("report = %+v", got)
	}
	if s := f.out.String(); strings.Contains(s, secretA) || strings.Contains(s, "sk-from-exec") || strings.Contains(s, "printf") {
		t.Fatalf("report holds a value or an argv: %s", s)
	}
}

func TestRunWithoutSecretsConnectsStreamsDirectly(t *testing.T) {
	f := newFixture(t)
	f.opts.Env = nil
	f.opts.IO.In.(*bytes.Buffer).WriteString("from stdin")
	if err := f.run(t, `cat; echo " and out"; echo err >&2`); err != nil {
		t.Fatal(err)
	}
	if f.out.String() != "from stdin and out\n" || f.errOut.String() != "err\n" {
		t.Fatalf("stdout %q stderr %q", f.out, f.errOut)
	}
}

func TestToCRLF(t *testing.T) {
	tests := map[string]string{"a\nb": "a\r\nb", "a\r\nb": "", "ab": "", "\n": "\r\n"}
	for in, want := range tests {
		if got := string(toCRLF([]byte(in))); got != want {
			t.Errorf("toCRLF(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestChildEnvHoldsBackKeyMaterialUnlessPassed(t *testing.T) {
	env := []string{"HOME=/home/u", "PALYRA_VAULT_PASSPHRASE=p1", "PALYRA_VAULT_NEW_PASSPHRASE=p2",
		"PALYRA_BACKUP_PASSPHRASE=p3", "palyra_vault_passphrase=p4", "PALYRA_VAULT_DIR=/v", "=C:=C:\\"}
	tests := []struct {
		name string
		pass []string
		want []string
	}{
		{"nothing passed", nil, []string{"HOME=/home/u", "PALYRA_VAULT_DIR=/v", "=C:=C:\\"}},
		{"one passed by name", []string{"PALYRA_BACKUP_PASSPHRASE"},
			[]string{"HOME=/home/u", "PALYRA_BACKUP_PASSPHRASE=p3", "PALYRA_VAULT_DIR=/v", "=C:=C:\\"}},
		{"case ignored, as on Windows", []string{"palyra_vault_passphrase"},
			[]string{"HOME=/home/u", "PALYRA_VAULT_PASSPHRASE=p1", "palyra_vault_passphrase=p4", "PALYRA_VAULT_DIR=/v", "=C:=C:\\"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := childEnv(env, tt.pass); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("childEnv = %q, want %q", got, tt.want)
			}
		})
	}
}
