package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/spf13/pflag"
)

// TestCLIDocDescribesEveryVerbAndFlag keeps docs/CLI.md, the contract,
// in step with the commands: every verb has a heading that names it, and
// every flag a verb shows in its help is named in the document.
func TestCLIDocDescribesEveryVerbAndFlag(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "CLI.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	var headings []string
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "#") {
			headings = append(headings, line)
		}
	}
	ios, _, _, _ := iostreams.Test()
	cmd := NewCmdSecrets(cmdutil.NewFactory(ios))
	cmd.PersistentFlags().VisitAll(func(fl *pflag.Flag) {
		if !fl.Hidden && !strings.Contains(doc, "`--"+fl.Name) {
			t.Errorf("docs/CLI.md does not name the flag --%s of palyra secrets", fl.Name)
		}
	})
	for _, sub := range cmd.Commands() {
		verb := sub.Name()
		found := false
		for _, h := range headings {
			if strings.Contains(h, "palyra secrets "+verb+" ") || strings.Contains(h, "palyra secrets "+verb+"`") || strings.Contains(h, "`"+verb+"`") {
				found = true
			}
		}
		if !found {
			t.Errorf("docs/CLI.md has no heading for palyra secrets %s", verb)
		}
		sub.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			if fl.Hidden || fl.Name == "help" {
				return
			}
			if !strings.Contains(doc, "--"+fl.Name) {
				t.Errorf("docs/CLI.md does not name the flag --%s of palyra secrets %s", fl.Name, verb)
			}
		})
	}
}
