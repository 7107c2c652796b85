package cli

import (
	"context"
	"slices"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// TestPartialTreeActsAsTheWholeTree runs command lines through the tree
// Run builds for them (newCmdRootFor, which builds only the verb a command
// line names) and through the whole tree, and wants the same exit code,
// stdout and stderr: help, flag errors, argument errors and real reads of
// an empty vault, for every verb and alias.
func TestPartialTreeActsAsTheWholeTree(t *testing.T) {
	cfg := clitest.Config(t)
	t.Setenv(vault.EnvVaultDir, cfg.Root)
	t.Setenv(secret.EnvStateRoot, cfg.StateRoot)
	t.Setenv(vault.EnvBackend, string(cfg.Backend))

	ios, _, _, _ := iostreams.Test()
	var names []string
	for _, c := range secretsGroup(t, NewCmdRoot(cmdutil.NewFactory(ios))).Commands() {
		names = append(names, c.Name())
		names = append(names, c.Aliases...)
	}
	if len(names) < 15 {
		t.Fatalf("found %d secrets verbs, want at least 15", len(names))
	}
	var lines [][]string
	for _, n := range names {
		lines = append(lines,
			[]string{"secrets", n, "--help"},
			[]string{"secrets", n, "-h"},
			[]string{"secrets", n, "--no-such-flag"},
			[]string{"secrets", n, "--value", "x"},
			[]string{"secrets", n, "--backend", "nope", "--help"},
		)
	}
	lines = append(lines,
		[]string{"--version"},
		[]string{"secrets", "get", "global", "missing"},
		[]string{"secrets", "get", "vault://global/missing", "--reveal", "--daemon", "never"},
		[]string{"secrets", "get", "global"},
		[]string{"secrets", "get", "a", "b", "c"},
		[]string{"secrets", "get", "global", "Bad"},
		[]string{"secrets", "get", "global", "k", "--daemon", "sometimes"},
		[]string{"secrets", "rm", "global", "missing"},
		[]string{"secrets", "delete", "global", "missing", "--missing-ok", "--json"},
		[]string{"secrets", "list", "--json"},
		[]string{"secrets", "list", "global"},
		[]string{"secrets", "set", "global", "k", "--value", "sk-x"},
		[]string{"secrets", "get", "--state-root", cfg.StateRoot, "global", "missing"},
		[]string{"secrets", "get", "help"},
		[]string{"--output-format", "json", "secrets", "list", "global"},
		[]string{"--output-format=ndjson", "secrets", "list", "global"},
		[]string{"--output-format", "yaml", "secrets", "list", "global"},
		[]string{"secrets", "list", "global", "--output-format", "json"},
	)
	for _, args := range lines {
		partial := runBuilt(t, newCmdRootFor, args)
		whole := runBuilt(t, func(f *cmdutil.Factory, _ []string) *cobra.Command { return NewCmdRoot(f) }, args)
		if partial != whole {
			t.Errorf("palyra %q:\npartial tree: %+v\nwhole tree:   %+v", args, partial, whole)
		}
	}
}

type result struct {
	code           int
	stdout, stderr string
}

func runBuilt(t *testing.T, build func(*cmdutil.Factory, []string) *cobra.Command, args []string) result {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	code := runWith(context.Background(), ios, slices.Clone(args), nil, build)
	return result{code, out.String(), errOut.String()}
}

// TestPartialTree checks that the command lines the start-up targets
// measure build only what they run, and that the others get everything.
func TestPartialTree(t *testing.T) {
	tests := []struct {
		args  []string
		verbs []string // of "secrets"; nil: no secrets group at all
		whole bool
	}{
		{args: []string{"--version"}},
		{args: []string{"secrets", "get", "global", "a", "--reveal"}, verbs: []string{"get"}},
		{args: []string{"secrets", "rm", "global", "a"}, verbs: []string{"delete"}},
		{args: []string{"secrets", "set", "--help"}, verbs: []string{"set"}},
		{args: []string{"secrets", "--vault-dir", "v", "get", "global", "a"}, whole: true},
		{args: []string{"--output-format", "json", "secrets", "list", "global"}, verbs: []string{"list"}},
		{args: []string{"--output-format=json", "secrets", "get", "global", "a"}, verbs: []string{"get"}},
		{args: []string{"--output-format"}, whole: true},
		{args: []string{"secrets", "nope"}, whole: true},
		{args: []string{"secrets"}, whole: true},
		{args: []string{"--help"}, whole: true},
		{args: []string{"help", "secrets", "get"}, whole: true},
		{args: []string{"__complete", "secrets", "get", ""}, whole: true},
		{args: []string{"--version", "secrets"}, whole: true},
		{args: []string{"completion", "bash"}, whole: true},
	}
	ios, _, _, _ := iostreams.Test()
	wholeCount := len(NewCmdRoot(cmdutil.NewFactory(ios)).Commands())
	for _, tt := range tests {
		root := newCmdRootFor(cmdutil.NewFactory(ios), tt.args)
		switch {
		case tt.whole:
			if n := len(root.Commands()); n != wholeCount {
				t.Errorf("palyra %q: root has %d commands, want the whole tree's %d", tt.args, n, wholeCount)
			}
		case tt.verbs == nil:
			if root.HasSubCommands() {
				t.Errorf("palyra %q: root has subcommands %v, want none", tt.args, root.Commands())
			}
		default:
			var got []string
			for _, c := range secretsGroup(t, root).Commands() {
				got = append(got, c.Name())
			}
			if len(root.Commands()) != 1 || !slices.Equal(got, tt.verbs) {
				t.Errorf("palyra %q: built %v with secrets verbs %v, want only secrets with %v", tt.args, root.Commands(), got, tt.verbs)
			}
		}
	}
}

func secretsGroup(t *testing.T, root *cobra.Command) *cobra.Command {
	t.Helper()
	for _, c := range root.Commands() {
		if c.Name() == "secrets" {
			return c
		}
	}
	t.Fatal("no secrets command")
	return nil
}
