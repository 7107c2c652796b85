package cli

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/factory"
	"github.com/palyra/palyra-vault/internal/cli/lean"
	"github.com/palyra/palyra-vault/internal/cli/secrets"
	deleteCmd "github.com/palyra/palyra-vault/internal/cli/secrets/delete"
	"github.com/palyra/palyra-vault/internal/cli/secrets/delete/deleterun"
	getCmd "github.com/palyra/palyra-vault/internal/cli/secrets/get"
	"github.com/palyra/palyra-vault/internal/cli/secrets/get/getrun"
	listCmd "github.com/palyra/palyra-vault/internal/cli/secrets/list"
	"github.com/palyra/palyra-vault/internal/cli/secrets/list/listrun"
	runCmd "github.com/palyra/palyra-vault/internal/cli/secrets/run"
	"github.com/palyra/palyra-vault/internal/cli/secrets/run/runrun"
	setCmd "github.com/palyra/palyra-vault/internal/cli/secrets/set"
	"github.com/palyra/palyra-vault/internal/cli/secrets/set/setrun"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// parsed is what one parser made of a command line: the verb's options
// without their dependencies, and the Factory once the persistent flags
// took effect. nil when the parser refused or declined it.
type parsed struct {
	opts any
	f    *factory.Factory
	// err is the error of the persistent flags' pre-run, when it failed.
	err error
}

// viaCobra parses args with the cobra tree that palyra-extra runs (the
// root, the secrets group and the verb args name, built with its runF
// hook), as far as the verb's run; it returns nil when cobra fails or the
// command line names no hot verb.
func viaCobra(t *testing.T, args []string) *parsed {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	f := cmdutil.NewFactory(ios)
	var got any
	verbs := []*cobra.Command{
		getCmd.NewCmdGet(f, func(o *getCmd.GetOptions) error { got = *o; return nil }),
		setCmd.NewCmdSet(f, func(o *setCmd.SetOptions) error { got = *o; return nil }),
		listCmd.NewCmdList(f, func(o *listCmd.ListOptions) error { got = *o; return nil }),
		deleteCmd.NewCmdDelete(f, func(o *deleteCmd.DeleteOptions) error { got = *o; return nil }),
		runCmd.NewCmdRun(f, func(o *runCmd.RunOptions) error { got = *o; return nil }),
	}
	root := newCmdRootAlone(f)
	group := secrets.NewCmdGroup(f)
	group.AddCommand(verbs...)
	root.AddCommand(group)
	root.SetFlagErrorFunc(flagErrorFor(args))
	root.SetArgs(args)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	cmd, err := root.ExecuteContextC(context.Background())
	if err != nil && cmd != nil && cmd.Parent() == group && got == nil && cmd.Flags().Parsed() {
		// Parsed, then failed before the verb ran: the pre-run's error.
		return &parsed{err: err}
	}
	if err != nil || got == nil {
		return nil
	}
	return &parsed{opts: withoutDeps(got), f: f}
}

// viaLean parses args with the lean front and prepares a Factory as it
// would before running the verb; nil when it declines.
func viaLean(t *testing.T, args []string) *parsed {
	t.Helper()
	inv, ok := lean.Parse(args)
	if !ok {
		return nil
	}
	ios, _, _, _ := iostreams.Test()
	f := factory.New(ios)
	if err := inv.Prepare(f); err != nil {
		return &parsed{err: err}
	}
	var opts any
	switch {
	case inv.Get != nil:
		opts = *inv.Get
	case inv.Set != nil:
		opts = *inv.Set
	case inv.List != nil:
		opts = *inv.List
	case inv.Delete != nil:
		opts = *inv.Delete
	case inv.Run != nil:
		opts = *inv.Run
	default:
		t.Fatalf("lean: %q parsed to no verb", args)
	}
	return &parsed{opts: withoutDeps(opts), f: f}
}

// withoutDeps returns the options o with their dependencies (streams,
// openers, the daemon lookup) cleared, leaving what the command line said.
func withoutDeps(o any) any {
	switch o := o.(type) {
	case getrun.Options:
		o.IO, o.Vault, o.Rust, o.Lookup = nil, nil, nil, nil
		return o
	case setrun.Options:
		o.IO, o.Vault = nil, nil
		return o
	case listrun.Options:
		o.IO, o.Vault, o.Rust = nil, nil, nil
		return o
	case deleterun.Options:
		o.IO, o.Vault = nil, nil
		return o
	case runrun.Options:
		// VaultConfig is compared apart, from the Factory; ParseRef is
		// tomlref.Parse in cobra and nil (the short forms) in the lean
		// front, which hands inline tables over (package lean).
		o.IO, o.Vault, o.Lookup, o.ParseRef, o.VaultConfig = nil, nil, nil, nil, vault.Config{}
		if len(o.Command) == 0 {
			o.Command = nil // pflag's no arguments are empty, the lean parser's nil
		}
		return o
	}
	return o
}

// TestLeanParserAgreesWithCobra checks the lean front of palyra against
// the cobra tree of palyra-extra: for each command line the lean parser
// either declines (palyra-extra then runs it) or produces exactly the
// options and vault configuration that cobra produces. The table also says
// which command lines the lean front must serve, so that it cannot pass by
// declining everything.
func TestLeanParserAgreesWithCobra(t *testing.T) {
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{vault.EnvVaultDir, secret.EnvStateRoot, vault.EnvBackend, secrets.EnvLockTimeout, "PALYRA_VAULT_PASSPHRASE"} {
		t.Setenv(env, "")
	}
	vd, sr := filepath.Join(dir, "v"), filepath.Join(dir, "s")
	tests := []struct {
		args  string // split on spaces; "''" is an empty argument
		serve bool
	}{
		{"secrets get global a", true},
		{"secrets get vault://global/a --reveal", true},
		{"secrets get global a --reveal --json", true},
		{"secrets get --reveal global a", true},
		{"secrets get global --reveal a", true},
		{"secrets get global a --reveal=true", true},
		{"secrets get global a --reveal=false", true},
		{"secrets get global a --reveal=1", true},
		{"secrets get global a --daemon never", true},
		{"secrets get global a --daemon=require", true},
		{"secrets get -- global a", true},
		{"secrets get GLOBAL a", true},
		{"secrets get global a --vault-dir " + vd + " --state-root " + sr, true},
		{"secrets get global a --vault-dir=" + vd + " --backend encrypted_file", true},
		{"secrets get global a --vault-passphrase-file " + passFile, true},
		{"secrets get global a --lock-timeout 5s", true},
		{"secrets get global a --lock-timeout=0", true},
		{"secrets get global a --output-format json", true},
		{"secrets get global a --output-format ndjson --json=false", true},
		{"--output-format json secrets get global a", true},
		{"--output-format=ndjson secrets get global a --reveal", true},
		{"secrets get global a --palyra-vault " + vd, true},
		{"secrets get global a --vault-dir --reveal", true}, // pflag: "--reveal" is the vault dir
		{"secrets get global a --vault-dir", false},
		{"secrets get global a --daemon", false},
		{"secrets get global a --daemon sometimes", false},
		{"secrets get global a --reveal=maybe", false},
		{"secrets get global a --lock-timeout soon", false},
		{"secrets get global a --output-format yaml", false},
		{"secrets get global a --help", false},
		{"secrets get global a -h", false},
		{"secrets get global", false},
		{"secrets get global a b", false},
		{"secrets get Global/a", false},
		{"secrets get global a --value", false},
		{"secrets get global a --passphrase-file " + passFile, false},
		{"secrets get -- global --reveal", true}, // the key "--reveal"
		{"secrets get -- global a --reveal", false},
		{"secrets get global a -", false},
		{"secrets get - a", false},
		{"secrets get global a --lock-timeout -1s", true}, // refused when it takes effect, alike
		{"secrets --vault-dir " + vd + " get global a", false},
		{"--vault-dir " + vd + " secrets get global a", false},
		{"secrets get global a --backend nosuch", true}, // the same usage error, from the same function
		{"secrets set global a", true},
		{"secrets set vault://global/a --trim-newline --json", true},
		{"secrets set global a --keep-newline --value-stdin", true},
		{"secrets set global a --trim-newline --keep-newline", false},
		{"secrets set global a --reveal", false},
		{"secrets set global a sk-secret", false},
		{"secrets list", true},
		{"secrets list global", true},
		{"secrets list plugins -r", true},
		{"secrets list -r plugins --json-array", true},
		{"secrets list --recursive=false plugins", true},
		{"secrets list --output-format json", true},
		{"secrets list --json=false --output-format json", true},
		{"secrets list -rf", false},
		{"secrets list -r=true", false},
		{"secrets list global other", false},
		{"secrets list Plugins", false},
		{"secrets delete global a", true},
		{"secrets rm global a", true},
		{"secrets delete global a --strict", true},
		{"secrets delete global a -f", true},
		{"secrets delete global a --missing-ok --json", true},
		{"secrets delete global a --force=true", true},
		{"secrets delete global a --strict -f", false},
		{"secrets delete global a -r", false},
		{"secrets delete", false},
		{"secrets run -e A=vault://global/a -- /bin/true", true},
		{"secrets run -e A=vault://global/a -- env -u X", true},
		{"secrets run --env A=vault://global/a --env=B=env:HOME printenv --json", true},
		{"secrets run -e A=vault://global/a printenv -e B", true},
		{"secrets run -e A=vault://global/a -- -e", true},
		{"secrets run -e A=vault://global/a env -- ls -l", true},
		{"secrets run -e A=vault://global/a sh -c --help", true},
		{"secrets run -e A=vault://global/a -- --help", true},
		{"secrets run -e A=vault://global/a help", true},
		{"secrets run -e A=vault://global/a -", true},
		{"secrets run -e -- true", true},                       // pflag: "--" is -e's value
		{"secrets run -e A=vault://global/a -e -e true", true}, // the second -e's value is "-e"
		{"secrets run --env-file refs.env --trusted-dir /run/secrets --trusted-dir=/etc/x -- true", true},
		{"secrets run --pass-env PALYRA_VAULT_PASSPHRASE -e A=env:HOME -- true", true},
		{"secrets run --no-masking -e A=env:HOME -- true", true},
		{"secrets run --no-masking=false -e A=env:HOME true", true},
		{"secrets run --no-masking false", true}, // the command "false"
		{"secrets run --dry-run -e A=vault://global/a", true},
		{"secrets run --dry-run --json -e A=vault://global/a", true},
		{"secrets run --dry-run -e A=vault://global/a --output-format json", true},
		{"--output-format ndjson secrets run --dry-run -e A=vault://global/a", true},
		{"secrets run --dry-run --json=false -e A=vault://global/a --output-format json", true},
		{"secrets run --daemon never -e A=vault://global/a -- true", true},
		{"secrets run --daemon=require -e A=vault://global/a true", true},
		{"secrets run -e A=vault://global/a --vault-dir " + vd + " --state-root " + sr + " -- true", true},
		{"secrets run -e A=vault://global/a --vault-passphrase-file " + passFile + " --lock-timeout 1s -- true", true},
		{"secrets run -e A=vault://global/a --backend nosuch -- true", true}, // the same usage error, from the same function
		{"secrets run -e A=vault://global/a --palyra-vault " + vd + " -- true", true},
		{"secrets run -e T={exec=[\"pass\"]} -- true", true}, // served, then handed over as it runs (package lean)
		{"secrets run -e A=sk-not-a-ref -- true", true},      // a usage error as it runs, from the same function
		{"secrets run -e A=vault://global/a", false},         // no command
		{"secrets run", false},
		{"secrets run --json -e A=vault://global/a -- true", false},
		{"--output-format json secrets run -e A=vault://global/a -- true", true}, // --json shapes the dry run only: not set
		{"secrets run -e A=vault://global/a --output-format ndjson -- true", true},
		{"secrets run --trusted-dir relative -- true", false},
		{"secrets run --pass-env HOME -- true", false},
		{"secrets run --daemon sometimes -- true", false},
		{"secrets run --dry-run=maybe -- true", false},
		{"secrets run -e", false},
		{"secrets run -eA=vault://global/a -- true", false},
		{"secrets run -e=A=vault://global/a -- true", false},
		{"secrets run --env-file", false},
		{"secrets run --help", false},
		{"secrets run -h -- true", false},
		{"secrets run --reveal -- true", false},
		{"secrets run -r -- true", false},
		{"secrets explain global a", false},
		{"secrets", false},
		{"help secrets get", false},
		{"completion bash", false},
		{"daemon", false},
		{"secrets export -o x", false},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			args := strings.Fields(tt.args)
			for i, a := range args {
				if a == "''" {
					args[i] = ""
				}
			}
			l := viaLean(t, args)
			if (l != nil) != tt.serve {
				t.Fatalf("lean front serves %q: %v, want %v", args, l != nil, tt.serve)
			}
			if l == nil {
				return
			}
			c := viaCobra(t, args)
			if c == nil {
				t.Fatalf("lean front serves %q, which cobra refuses", args)
			}
			if l.err != nil || c.err != nil {
				// A flag that parses but is refused when it takes effect
				// (--backend nosuch): the same error from the same function.
				if l.err == nil || c.err == nil || l.err.Error() != c.err.Error() {
					t.Fatalf("preparing: lean %v, cobra %v", l.err, c.err)
				}
				return
			}
			if !reflect.DeepEqual(l.opts, c.opts) {
				t.Errorf("options differ:\nlean  %+v\ncobra %+v", l.opts, c.opts)
			}
			lc, cc := l.f.VaultConfig, c.f.VaultConfig
			if lc.Root != cc.Root || lc.StateRoot != cc.StateRoot || lc.Backend != cc.Backend || lc.LockTimeout != cc.LockTimeout {
				t.Errorf("vault config differs:\nlean  root %q state %q backend %q lock %v\ncobra root %q state %q backend %q lock %v",
					lc.Root, lc.StateRoot, lc.Backend, lc.LockTimeout, cc.Root, cc.StateRoot, cc.Backend, cc.LockTimeout)
			}
			if l.f.PalyraVault != c.f.PalyraVault || l.f.PalyraIdentityStore != c.f.PalyraIdentityStore {
				t.Errorf("Rust vault flags differ: lean %q %q, cobra %q %q", l.f.PalyraVault, l.f.PalyraIdentityStore, c.f.PalyraVault, c.f.PalyraIdentityStore)
			}
			if l.f.IOStreams.CompactJSON != c.f.IOStreams.CompactJSON {
				t.Errorf("compact JSON: lean %v, cobra %v", l.f.IOStreams.CompactJSON, c.f.IOStreams.CompactJSON)
			}
			lp, lerr := lc.Passphrase()
			cp, cerr := cc.Passphrase()
			if string(lp) != string(cp) || (lerr == nil) != (cerr == nil) || (lerr != nil && lerr.Error() != cerr.Error()) {
				t.Errorf("passphrase: lean %q, %v; cobra %q, %v", lp, lerr, cp, cerr)
			}
		})
	}
}

// TestLeanFlagsAreTheCobraFlags checks that for each verb the lean front
// serves, it knows exactly the flags (long names and short forms) that the
// cobra command accepts, its own and inherited, less --help: a flag added
// to one and not the other fails here.
func TestLeanFlagsAreTheCobraFlags(t *testing.T) {
	for _, verb := range []string{"get", "set", "list", "delete", "run"} {
		t.Run(verb, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := cmdutil.NewFactory(ios)
			root := newCmdRootAlone(f)
			group, ok := secrets.NewCmdSecretsVerb(f, verb)
			if !ok {
				t.Fatalf("no verb %q", verb)
			}
			root.AddCommand(group)
			cmd, _, err := root.Find([]string{"secrets", verb})
			if err != nil {
				t.Fatal(err)
			}
			cmd.InitDefaultHelpFlag()
			var want []string
			cmd.InheritedFlags().VisitAll(func(fl *pflag.Flag) { want = append(want, flagName(fl.Name, fl.Shorthand)) })
			cmd.LocalNonPersistentFlags().VisitAll(func(fl *pflag.Flag) {
				if fl.Name != "help" {
					want = append(want, flagName(fl.Name, fl.Shorthand))
				}
			})
			got := lean.FlagNames(verb)
			slices.Sort(want)
			slices.Sort(got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("lean front's flags of %s:\n%q\ncobra's:\n%q", verb, got, want)
			}
		})
	}
}

func flagName(name, short string) string {
	if short != "" {
		return name + "/-" + short
	}
	return name
}
