package list

import (
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
)

func TestNewCmdListParsesArgsAndFlags(t *testing.T) {
	tests := []clitest.ParseTest[ListOptions]{
		{Name: "every scope"},
		{Name: "one scope", Args: []string{"plugins/github"}, Want: ListOptions{Scope: "plugins/github"}},
		{Name: "json", Args: []string{"global", "--json"}, Want: ListOptions{Scope: "global", JSON: true}},
		{Name: "recursive", Args: []string{"plugins", "--recursive"}, Want: ListOptions{Scope: "plugins", Recursive: true}},
		{Name: "recursive, short", Args: []string{"-r", "plugins"}, Want: ListOptions{Scope: "plugins", Recursive: true}},
		{Name: "palyra scope, canonicalised", Args: []string{"principal: Alice@Example.com "}, Want: ListOptions{Scope: "principal:Alice@Example.com"}},
		{Name: "bad scope", Args: []string{"Plugins"}, WantErr: `argument 1 (the scope): invalid scope: segment 1 contains uppercase 'P'`},
		{Name: "two scopes", Args: []string{"global", "other"}, WantErr: "accepts at most 1 argument(s), got 2"},
	}
	clitest.ParseTests(t, NewCmdList, tests, func(t *testing.T, o *ListOptions, f *cmdutil.Factory) {
		clitest.CheckWiring(t, f, o.IO, o.Vault, "ExistingVault") // listing never creates a vault
		if o.Rust == nil {
			t.Error("list is not wired to read a Rust vault (Factory.RustVault)")
		}
		o.IO, o.Vault, o.Rust = nil, nil, nil
	})
}
