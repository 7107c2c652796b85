package extra_test

import (
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/delegate"
	"github.com/palyra/palyra-vault/internal/cli/extra"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/spf13/cobra"
)

// tree returns every command of the palyra tree by path: palyra's own
// (with stubs) when withExtra is false, palyra-extra's when true.
func tree(t *testing.T, withExtra bool) map[string]*cobra.Command {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	f := cmdutil.NewFactory(ios)
	if withExtra {
		f.Extra = extra.Commands()
	}
	cmds := map[string]*cobra.Command{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() == "help" {
			return
		}
		cmds[c.CommandPath()] = c
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cli.NewCmdRoot(f))
	return cmds
}

// TestEveryCommandHasExamplesAndJSON walks the whole command tree (palyra-
// extra's, which builds every command for real): every command has
// examples, and every secrets verb has --json.
func TestEveryCommandHasExamplesAndJSON(t *testing.T) {
	cmds := tree(t, true)
	for path, c := range cmds {
		if path == "palyra" {
			continue
		}
		if c.Example == "" {
			t.Errorf("%s has no examples", path)
		}
		if strings.HasPrefix(path, "palyra secrets ") && c.Flags().Lookup("json") == nil {
			t.Errorf("%s has no --json", path)
		}
	}
	if len(cmds) < 20 {
		t.Fatalf("walked %d commands, want at least 20", len(cmds))
	}
}

// TestPalyraAndPalyraExtraShowTheSameCommands checks that palyra's tree,
// where the delegated commands are stubs, lists the same commands with the
// same names and one-line descriptions as palyra-extra's, and that exactly
// the delegated commands are stubs.
func TestPalyraAndPalyraExtraShowTheSameCommands(t *testing.T) {
	light, full := tree(t, false), tree(t, true)
	delegated := map[string]bool{}
	for _, d := range []delegate.Command{delegate.Daemon, delegate.Export, delegate.Import, delegate.HostKey, delegate.Members, delegate.MembersList, delegate.MembersAdd, delegate.MembersRemove} {
		delegated["palyra "+d.Path] = true
	}
	for path, real := range full {
		stub, ok := light[path]
		if !ok {
			t.Errorf("palyra lacks %s, which palyra-extra has", path)
			continue
		}
		if stub.Use != real.Use || stub.Short != real.Short {
			t.Errorf("%s: palyra shows %q / %q, palyra-extra %q / %q", path, stub.Use, stub.Short, real.Use, real.Short)
		}
		if stub.DisableFlagParsing != delegated[path] {
			t.Errorf("%s: stub in palyra = %v, want %v", path, stub.DisableFlagParsing, delegated[path])
		}
		if real.DisableFlagParsing {
			t.Errorf("%s is a stub in palyra-extra too", path)
		}
	}
	for path := range light {
		if _, ok := full[path]; !ok {
			t.Errorf("palyra has %s, which palyra-extra lacks", path)
		}
	}
	for path := range delegated {
		if _, ok := full[path]; !ok {
			t.Errorf("delegated command %s is not in the tree", path)
		}
	}
}
