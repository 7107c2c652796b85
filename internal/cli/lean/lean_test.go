package lean

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/cli/delegate"
	"github.com/palyra/palyra-vault/internal/iostreams"
)

// TestRunHandsWhatItDoesNotServeToPalyraExtraUnchanged checks that a
// command line the lean front declines reaches the hand-over as typed,
// with no words of its own, and that a failed hand-over is reported as
// palyra's error (the exit code of a silent *clierr.ExitError, the child's
// on Windows, passes through).
func TestRunHandsWhatItDoesNotServeToPalyraExtraUnchanged(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		handErr  error
		wantCode int
		wantErr  string
	}{
		{"help", []string{"--help"}, nil, 0, ""},
		{"no arguments", nil, nil, 0, ""},
		{"another verb", []string{"secrets", "verify", "--json"}, nil, 0, ""},
		{"an unknown flag", []string{"secrets", "get", "global", "a", "--sk-proj-x"}, nil, 0, ""},
		{"child's exit status", []string{"secrets", "run", "--", "false"}, &clierr.ExitError{Code: 7}, 7, ""},
		{"not installed", []string{"daemon"}, clierr.WithHints(delegate.ErrNotInstalled, "install it"), 1, "palyra: error: palyra-extra is not installed beside palyra\npalyra: hint: install it\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, errOut := iostreams.Test()
			var gotWords, gotArgs []string
			called := false
			code := Run(context.Background(), ios, tt.args, func(words, args []string) error {
				called, gotWords, gotArgs = true, words, args
				return tt.handErr
			})
			if !called || gotWords != nil || !slices.Equal(gotArgs, tt.args) {
				t.Fatalf("hand-over called %v with words %q, args %q; want args %q", called, gotWords, gotArgs, tt.args)
			}
			if code != tt.wantCode || errOut.String() != tt.wantErr || out.Len() != 0 {
				t.Fatalf("exit %d, stderr %q, stdout %q; want %d, %q", code, errOut, out, tt.wantCode, tt.wantErr)
			}
		})
	}
}

// TestRunServesGetItself runs "secrets get" on an empty state root: the
// lean front reports the missing vault itself (exit 3, palyra's words)
// and never hands the command line over.
func TestRunServesGetItself(t *testing.T) {
	dir := t.TempDir()
	ios, _, out, errOut := iostreams.Test()
	args := []string{"secrets", "get", "global", "a", "--reveal", "--daemon", "never", "--state-root", dir, "--vault-dir", filepath.Join(dir, "vault")}
	code := Run(context.Background(), ios, args, func(words, args []string) error {
		t.Fatalf("handed over %q", args)
		return errors.New("unreachable")
	})
	if code != 3 || out.Len() != 0 || !strings.HasPrefix(errOut.String(), "palyra: error: no vault here yet: secret not found") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestParseFlagsReadsAsPflagDoes covers the forms of the parser on its own
// (the agreement with cobra is lean_test.go in package cli).
func TestParseFlagsReadsAsPflagDoes(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantB   bool
		wantS   string
		ok      bool
	}{
		{[]string{"a", "-b", "b"}, []string{"a", "b"}, true, "", true},
		{[]string{"--bool=false", "--str", "-x"}, nil, false, "-x", true},
		{[]string{"--str=", "-"}, []string{"-"}, false, "", true},
		{[]string{"--", "--bool", "-b"}, []string{"--bool", "-b"}, false, "", true},
		{[]string{"--str"}, nil, false, "", false},
		{[]string{"--bool=yes"}, nil, false, "", false},
		{[]string{"-bb"}, nil, false, "", false},
		{[]string{"-s", "v"}, nil, false, "", false}, // a short form the flag does not have
		{[]string{"--=x"}, nil, false, "", false},
		{[]string{"---bool"}, nil, false, "", false},
		{[]string{"--help"}, nil, false, "", false},
	}
	for _, tt := range tests {
		var b bool
		var s string
		pos, ok := parseFlags(tt.args, []*flag{{name: "bool", short: 'b', boolP: &b}, {name: "str", stringP: &s}})
		if ok != tt.ok || ok && (!slices.Equal(pos, tt.wantPos) || b != tt.wantB || s != tt.wantS) {
			t.Errorf("parseFlags(%q) = %q, %v (bool %v, str %q); want %q, %v (%v, %q)", tt.args, pos, ok, b, s, tt.wantPos, tt.ok, tt.wantB, tt.wantS)
		}
	}
}
