package inject

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
)

func TestNewCmdInjectParsesFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantIn  string
		wantOut string
		wantErr string
	}{
		{"short flags", []string{"-i", "t.tmpl", "-o", "out"}, "t.tmpl", "out", ""},
		{"long flags", []string{"--in", "-", "--out", "-"}, "-", "-", ""},
		{"no input", []string{"-o", "out"}, "", "", "missing -i TEMPLATE"},
		{"json to stdout", []string{"-i", "t", "--json"}, "", "", "--json describes the file written with -o"},
		{"relative trusted dir", []string{"-i", "t", "--trusted-dir", "x"}, "", "", `--trusted-dir "x": must be an absolute path`},
		{"stray argument", []string{"-i", "t", "sk-secret"}, "", "", "accepts at most 0 argument(s), got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *InjectOptions
			cmd := NewCmdInject(&cmdutil.Factory{IOStreams: ios}, func(o *InjectOptions) error { got = o; return nil })
			err := clitest.Execute(cmd, tt.args...)
			if tt.wantErr != "" {
				var usage *cmdutil.UsageError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &usage) || strings.Contains(err.Error(), "sk-secret") {
					t.Fatalf("error = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Input != tt.wantIn || got.Output != tt.wantOut {
				t.Fatalf("options %+v, %v", got, err)
			}
		})
	}
}

func TestInjectWritesNothingWhenAnyReferenceFails(t *testing.T) {
	cfg := clitest.Config(t)
	v, err := vault.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	v.Put(context.Background(), "global", "a", []byte("sk-value-a"))
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "t.tmpl")
	out := filepath.Join(dir, "out")
	os.WriteFile(tmpl, []byte("a={{ vault://global/a }}\nb={{ vault://global/b }}\n"), 0o600)

	ios, _, stdout, _ := iostreams.Test()
	opts := &InjectOptions{IO: ios, VaultConfig: cfg, Input: tmpl, Output: out,
		Vault: func(context.Context) (*vault.Vault, error) { return v, nil }}
	err = injectRun(context.Background(), opts)
	if !errors.Is(err, vault.ErrNotFound) || !strings.Contains(err.Error(), "line 2, column 3 (vault://global/b)") {
		t.Fatalf("error = %v", err)
	}
	if _, statErr := os.Stat(out); statErr == nil {
		t.Fatal("the output was created")
	}
	if stdout.Len() != 0 || strings.Contains(err.Error(), "sk-value") {
		t.Fatalf("a value leaked: %q %v", stdout, err)
	}

	v.Put(context.Background(), "global", "b", []byte("sk-value-b"))
	if err := injectRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	if string(data) != "a=sk-value-a\nb=sk-value-b\n" {
		t.Fatalf("output = %q", data)
	}
	if fi, _ := os.Stat(out); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("output mode %v, want 0600", fi.Mode().Perm())
	}
}
