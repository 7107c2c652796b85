package lean

import (
	"context"
	"errors"
	"os"
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
		{"child's exit status", []string{"secrets", "inject", "-i", "t", "-o", "o"}, &clierr.ExitError{Code: 7}, 7, ""},
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

// TestRunServesRunItselfAndHandsOverWhatNeedsTOML runs "secrets run" on
// an empty state root: the lean front serves the short forms of a
// reference itself (a missing vault: exit 3, nothing run); a TOML inline
// table, in --env or in the env file, or an env file that is not a
// regular file (a pipe can be read only once) goes to palyra-extra with
// the command line as typed, and nothing is run here.
func TestRunServesRunItselfAndHandsOverWhatNeedsTOML(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	short := write("short.env", "B=env:HOME\n")
	inline := write("inline.env", "B={ env = \"HOME\" }\n")
	fifo := filepath.Join(dir, "fifo.env")
	if err := mkfifo(fifo); err != nil {
		t.Logf("no named pipe here (%v): that case is skipped", err)
		fifo = ""
	}
	ran := filepath.Join(dir, "ran")
	vaultFlags := []string{"--state-root", dir, "--vault-dir", filepath.Join(dir, "vault"), "--daemon", "never"}
	tests := []struct {
		name     string
		flags    []string
		handOver bool
	}{
		{"a vault reference", []string{"-e", "A=vault://global/a"}, false},
		{"an env file of short forms", []string{"--env-file", short, "-e", "A=vault://global/a"}, false},
		{"an inline table in --env", []string{"-e", "A=vault://global/a", "-e", `T={ env = "HOME" }`}, true},
		{"an inline table in the env file", []string{"-e", "A=vault://global/a", "--env-file", inline}, true},
		{"a missing env file", []string{"--env-file", filepath.Join(dir, "nosuch.env")}, true},
		{"a named pipe", []string{"--env-file", fifo}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if slices.Contains(tt.flags, "") {
				t.Skip("no named pipe")
			}
			args := append(append(append([]string{"secrets", "run"}, tt.flags...), vaultFlags...), "--", "touch", ran)
			ios, _, out, errOut := iostreams.Test()
			var handed []string
			code := Run(context.Background(), ios, args, func(words, args []string) error {
				if words != nil {
					t.Errorf("hand-over words %q", words)
				}
				handed = args
				return nil
			})
			if _, err := os.Stat(ran); err == nil {
				t.Fatal("the command ran although a reference is missing")
			}
			if tt.handOver {
				if !slices.Equal(handed, args) || code != 0 || out.Len()+errOut.Len() != 0 {
					t.Fatalf("handed over %q, exit %d, stdout %q, stderr %q; want %q handed over silently", handed, code, out, errOut, args)
				}
				return
			}
			if handed != nil {
				t.Fatalf("handed over %q", handed)
			}
			if code != 3 || out.Len() != 0 || !strings.Contains(errOut.String(), "palyra: error: cannot resolve A (--env #1, vault://global/a)") {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
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
		pos, ok := parseFlags(tt.args, []*flag{{name: "bool", short: 'b', boolP: &b}, {name: "str", stringP: &s}}, true)
		if ok != tt.ok || ok && (!slices.Equal(pos, tt.wantPos) || b != tt.wantB || s != tt.wantS) {
			t.Errorf("parseFlags(%q) = %q, %v (bool %v, str %q); want %q, %v (%v, %q)", tt.args, pos, ok, b, s, tt.wantPos, tt.ok, tt.wantB, tt.wantS)
		}
	}
}

// TestParseFlagsStopsAtTheFirstArgumentWhenNotInterspersed covers run's
// form (pflag's SetInterspersed(false)): flags end at the first
// positional argument, which comes back with everything after it as it
// is; a repeatable flag keeps every value in order; a short flag with a
// value takes the next argument.
func TestParseFlagsStopsAtTheFirstArgumentWhenNotInterspersed(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantB   bool
		wantL   []string
		ok      bool
	}{
		{[]string{"-l", "A=1", "cmd", "-b", "--list", "x"}, []string{"cmd", "-b", "--list", "x"}, false, []string{"A=1"}, true},
		{[]string{"--list=A", "-l", "B", "-b", "--", "cmd", "--"}, []string{"cmd", "--"}, true, []string{"A", "B"}, true},
		{[]string{"-b", "-", "-b"}, []string{"-", "-b"}, true, nil, true},
		{[]string{"", "-b"}, []string{"", "-b"}, false, nil, true},
		{[]string{"-l", "--", "cmd"}, []string{"cmd"}, false, []string{"--"}, true}, // "--" is -l's value
		{[]string{"--list", "-b"}, nil, false, []string{"-b"}, true},
		{[]string{"--list=", "cmd"}, []string{"cmd"}, false, []string{""}, true},
		{[]string{"-l"}, nil, false, nil, false},
		{[]string{"-lA=1", "cmd"}, nil, false, nil, false},
		{[]string{"-l=A=1", "cmd"}, nil, false, nil, false},
		{[]string{"--lst", "A", "cmd"}, nil, false, nil, false},
		{[]string{"-h", "cmd"}, nil, false, nil, false},
	}
	for _, tt := range tests {
		var b bool
		var l []string
		pos, ok := parseFlags(tt.args, []*flag{{name: "bool", short: 'b', boolP: &b}, {name: "list", short: 'l', stringsP: &l}}, false)
		if ok != tt.ok || ok && (!slices.Equal(pos, tt.wantPos) || b != tt.wantB || !slices.Equal(l, tt.wantL)) {
			t.Errorf("parseFlags(%q) = %q, %v (bool %v, list %q); want %q, %v (%v, %q)", tt.args, pos, ok, b, l, tt.wantPos, tt.ok, tt.wantB, tt.wantL)
		}
	}
}
