// Package lean is the palyra command's front: a small hand-written parser
// that serves the command lines scripts run most ("palyra --version",
// "palyra secrets get", set, list, delete and run) and hands every other
// command line, unchanged, to palyra-extra (package delegate), which holds
// palyra's whole cobra command tree.
//
// Why: a process pays, before main, the initialisation and the page
// faults of every package its binary links, and cobra with pflag and
// text/template costs more than a bare Go program's whole start-up
// (docs/PERFORMANCE.md, "Start-up"). The palyra binary links this package
// and what the hot verbs need, and no command-line library.
//
// The parser is conservative. It serves a command line only when it
// understands every argument: the verb right after "secrets" (an alias
// too), the verb's own flags and the persistent flags it accepts
// (--output-format, and the vault flags of "palyra secrets"), in the forms
// pflag reads ("--flag value", "--flag=value", the short forms that exist,
// "--", flags after positional arguments, except for run, whose flags end
// at the command it runs), and positional arguments that the verb
// accepts. Anything else (--help, help, completion, another verb, a flag
// it does not know, a value pflag would refuse, a scope or key that breaks
// the naming rules) goes to palyra-extra, whose help and usage errors are
// palyra's. Each verb's behaviour is one implementation (its getrun,
// setrun, listrun, deleterun or runrun package, with the vault preparation
// of package vaultflags and the error report of package report), shared
// with the cobra command; lean_test.go in package cli checks that for a
// table of command lines the two parsers agree.
//
// palyra links no TOML decoder, so run reads the short forms of a
// reference (vault://, env:, file:) and hands a command line whose
// references include a TOML inline table (in --env or in the --env-file)
// to palyra-extra, before it resolves or runs anything; likewise one
// whose --env-file is not a regular file (a pipe such as <(...) can be
// read only once).
package lean

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/internal/cli/delegate"
	"github.com/palyra/palyra-vault/internal/cli/factory"
	"github.com/palyra/palyra-vault/internal/cli/jsonout"
	"github.com/palyra/palyra-vault/internal/cli/report"
	"github.com/palyra/palyra-vault/internal/cli/secrets/delete/deleterun"
	"github.com/palyra/palyra-vault/internal/cli/secrets/get/getrun"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	"github.com/palyra/palyra-vault/internal/cli/secrets/list/listrun"
	"github.com/palyra/palyra-vault/internal/cli/secrets/lookup"
	"github.com/palyra/palyra-vault/internal/cli/secrets/run/runrun"
	"github.com/palyra/palyra-vault/internal/cli/secrets/set/setrun"
	"github.com/palyra/palyra-vault/internal/cli/secrets/vaultflags"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/internal/version"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/vault/backend"
)

// Main runs palyra with the process's arguments and streams and returns
// the exit code; cmd/palyra passes it to os.Exit. A command line it does
// not serve replaces the process with palyra-extra (a child on Windows).
func Main() int {
	return Run(context.Background(), iostreams.System(), os.Args[1:], delegate.Exec)
}

// Run runs palyra with args (without the program name) on ios and returns
// the exit code: a command line Parse understands runs here, any other
// goes to handOver (delegate.Exec, whose words are nil here), whose
// failure to start palyra-extra is reported as palyra's error.
func Run(ctx context.Context, ios *iostreams.IOStreams, args []string, handOver func(words, args []string) error) int {
	f := factory.New(ios)
	f.Args = args
	inv, ok := Parse(args)
	if !ok {
		return report.Finish(ios.ErrOut, f, "", handOver(nil, args))
	}
	return report.Finish(ios.ErrOut, f, inv.Path(), inv.run(ctx, f, func() error { return handOver(nil, args) }))
}

// Invocation is a command line that the lean front serves, as parsed.
type Invocation struct {
	// Version is "palyra --version"; nothing else is set then.
	Version bool
	// Verb is the name of the verb of "palyra secrets" ("delete" for
	// "rm").
	Verb string
	// Group holds the persistent flags.
	Group Group

	// jsonP is the verb's --json, which --output-format json sets unless
	// it was given (jsonSet).
	jsonP *bool
	// jsonNeeds is the flag the verb's --json depends on (run's
	// --dry-run, as cmdutil.JSONNeedsAnnotation), nil for none:
	// --output-format json sets --json only when it is on.
	jsonNeeds *bool
	jsonSet   bool
	// The options of the verb that runs; the others are nil.
	Get    *getrun.Options
	Set    *setrun.Options
	List   *listrun.Options
	Delete *deleterun.Options
	Run    *runrun.Options
}

// Group holds the persistent flags that a verb of "palyra secrets"
// accepts: the root's --output-format and the group's vault flags.
type Group struct {
	OutputFormat        string
	VaultDir            string
	StateRoot           string
	Backend             string
	PalyraVault         string
	PalyraIdentityStore string
	PassphraseFile      string
	LockTimeout         time.Duration
	LockTimeoutSet      bool
}

// Path returns the command's path as cobra names it ("palyra secrets
// delete"), for the hint that points at its --help.
func (inv *Invocation) Path() string {
	if inv.Version {
		return "palyra"
	}
	return "palyra secrets " + inv.Verb
}

// flags returns the persistent flags, bound to g, with the names and
// short forms of the cobra tree (cmdutil.AddOutputFormatFlag, and package
// secrets' persistent flags).
func (g *Group) flags() []*flag {
	return []*flag{
		{name: "output-format", stringP: &g.OutputFormat},
		{name: keyflags.VaultPassphraseFileFlag, stringP: &g.PassphraseFile},
		{name: "vault-dir", stringP: &g.VaultDir},
		{name: "state-root", stringP: &g.StateRoot},
		{name: "palyra-vault", stringP: &g.PalyraVault},
		{name: "palyra-identity-store", stringP: &g.PalyraIdentityStore},
		{name: "lock-timeout", durationP: &g.LockTimeout, changed: &g.LockTimeoutSet},
		{name: "backend", stringP: &g.Backend},
	}
}

// Parse returns the command line args (without the program name) as an
// Invocation, or false when the lean front does not serve it: palyra-extra
// must. It reads nothing but args and touches nothing.
func Parse(args []string) (*Invocation, bool) {
	if len(args) == 1 && args[0] == "--version" {
		return &Invocation{Version: true}, true
	}
	inv := &Invocation{Group: Group{OutputFormat: "text", LockTimeout: vaultflags.DefaultLockTimeout}}
	// A global --output-format before "secrets", as Palyra's scripts write
	// it, is read with the verb's flags.
	var lead []string
	switch {
	case len(args) >= 2 && args[0] == "--output-format":
		lead, args = args[:2], args[2:]
	case len(args) >= 1 && strings.HasPrefix(args[0], "--output-format="):
		lead, args = args[:1], args[1:]
	}
	if len(args) < 2 || args[0] != "secrets" {
		return nil, false
	}
	rest := append(append([]string(nil), lead...), args[2:]...)
	v, ok := inv.verb(args[1])
	if !ok {
		return nil, false
	}
	pos, ok := parseFlags(rest, v.flags, v.interspersed)
	if !ok {
		return nil, false
	}
	// --output-format json sets the verb's --json before the verb checks
	// its flags, as the cobra tree's pre-run does before the verb runs.
	asJSON, _, err := jsonout.OutputFormat(inv.Group.OutputFormat)
	if err != nil {
		return nil, false
	}
	if asJSON && !inv.jsonSet && (inv.jsonNeeds == nil || *inv.jsonNeeds) {
		*inv.jsonP = true
	}
	if v.complete(pos) != nil {
		return nil, false
	}
	return inv, true
}

// verbSpec is how the lean front reads one verb's command line: the flags
// it accepts (the persistent ones too), bound to the Invocation, its
// options' Complete, and whether flags may follow positional arguments
// (false: they end at the first one, pflag's SetInterspersed(false)).
type verbSpec struct {
	flags        []*flag
	complete     func([]string) error
	interspersed bool
}

// verb sets inv's verb to the one called name (or by its alias) and
// returns how to read its command line; false when the lean front does
// not serve it. Each verb's flags are those of its cobra command
// (NewCmdGet, NewCmdSet, NewCmdList, NewCmdDelete, NewCmdRun), with the
// same names, short forms and defaults.
func (inv *Invocation) verb(name string) (verbSpec, bool) {
	flags := inv.Group.flags()
	jsonFlag := func(p *bool) *flag {
		inv.jsonP = p
		return &flag{name: "json", boolP: p, changed: &inv.jsonSet}
	}
	switch name {
	case "get":
		o := &getrun.Options{Daemon: lookup.DefaultDaemonMode}
		inv.Verb, inv.Get = "get", o
		return verbSpec{append(flags,
			&flag{name: "reveal", boolP: &o.Reveal},
			jsonFlag(&o.JSON),
			&flag{name: "daemon", stringP: &o.Daemon},
		), o.Complete, true}, true
	case "set":
		o := &setrun.Options{}
		inv.Verb, inv.Set = "set", o
		return verbSpec{append(flags,
			&flag{name: "value-stdin", boolP: &o.ValueStdin},
			&flag{name: "trim-newline", boolP: &o.TrimNewline},
			&flag{name: "keep-newline", boolP: &o.KeepNewline},
			jsonFlag(&o.JSON),
		), o.Complete, true}, true
	case "list":
		o := &listrun.Options{}
		inv.Verb, inv.List = "list", o
		return verbSpec{append(flags,
			&flag{name: "recursive", short: 'r', boolP: &o.Recursive},
			jsonFlag(&o.JSON),
			&flag{name: "json-array", boolP: &o.JSONArray},
		), o.Complete, true}, true
	case "delete", "rm":
		o := &deleterun.Options{}
		inv.Verb, inv.Delete = "delete", o
		return verbSpec{append(flags,
			&flag{name: "strict", boolP: &o.Strict},
			&flag{name: "missing-ok", boolP: &o.MissingOK},
			&flag{name: "force", short: 'f', boolP: &o.MissingOK},
			jsonFlag(&o.JSON),
		), o.Complete, true}, true
	case "run":
		o := &runrun.Options{Daemon: lookup.DefaultDaemonMode}
		inv.Verb, inv.Run, inv.jsonNeeds = "run", o, &o.DryRun
		return verbSpec{append(flags,
			&flag{name: "daemon", stringP: &o.Daemon},
			&flag{name: "env", short: 'e', stringsP: &o.Env},
			&flag{name: "env-file", stringP: &o.EnvFile},
			&flag{name: "trusted-dir", stringsP: &o.TrustedDirs},
			&flag{name: "pass-env", stringsP: &o.PassEnv},
			&flag{name: "no-masking", boolP: &o.NoMasking},
			&flag{name: "dry-run", boolP: &o.DryRun},
			jsonFlag(&o.JSON),
		), o.Complete, false}, true
	}
	return verbSpec{}, false
}

// FlagNames returns the flags the lean front reads for the verb called
// name, each as its long name, followed by "/-x" when it has the short
// form -x; nil when it does not serve that verb. A test compares them with
// the cobra command's.
func FlagNames(name string) []string {
	v, ok := new(Invocation).verb(name)
	if !ok {
		return nil
	}
	names := make([]string, len(v.flags))
	for i, f := range v.flags {
		names[i] = f.name
		if f.short != 0 {
			names[i] += "/-" + string(f.short)
		}
	}
	return names
}

// run runs inv on f, as the cobra command would: the persistent flags take
// effect (Prepare), then the verb runs. A run that needs palyra-extra (a
// TOML inline table among its references, or an --env-file that is not a
// regular file: see the package doc) calls handOver instead, before it
// resolves or runs anything.
func (inv *Invocation) run(ctx context.Context, f *factory.Factory, handOver func() error) error {
	if inv.Version {
		_, err := fmt.Fprintln(f.IOStreams.Out, version.Get())
		return err
	}
	if inv.Run != nil && !isRegularFile(inv.Run.EnvFile) {
		return handOver()
	}
	if err := inv.Prepare(f); err != nil {
		return err
	}
	switch {
	case inv.Get != nil:
		return getrun.Run(ctx, inv.Get)
	case inv.Set != nil:
		return setrun.Run(ctx, inv.Set)
	case inv.List != nil:
		return listrun.Run(ctx, inv.List)
	case inv.Delete != nil:
		return deleterun.Run(ctx, inv.Delete)
	case inv.Run != nil:
		// With no ParseRef, runrun reads the short forms of a reference and
		// stops at a TOML inline table before it resolves or runs anything.
		err := runrun.Run(ctx, inv.Run)
		if errors.Is(err, resolve.ErrInlineTable) {
			return handOver()
		}
		return err
	}
	return fmt.Errorf("lean: no verb to run") // unreachable: Parse sets one
}

// isRegularFile reports whether run's --env-file, when given, is a
// regular file (after symbolic links), which palyra-extra can read again
// if the file holds a TOML inline table; a pipe (<(...), /dev/stdin on a
// pipe) can be read only once, and anything else (a missing file) is
// palyra-extra's to report. An empty path (no --env-file) counts as
// regular.
func isRegularFile(path string) bool {
	if path == "" {
		return true
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// Prepare does on f what the cobra tree does before a verb of "palyra
// secrets" runs: --output-format ndjson makes JSON compact, the vault flags
// fill f's vault configuration and take effect (vaultflags.Prepare, which
// hands an etcd vault's command line to palyra-extra), and the verb's
// options get their dependencies from f (Bind).
func (inv *Invocation) Prepare(f *factory.Factory) error {
	g := inv.Group
	if _, compact, _ := jsonout.OutputFormat(g.OutputFormat); compact {
		f.IOStreams.CompactJSON = true
	}
	f.VaultConfig.Root, f.VaultConfig.StateRoot, f.VaultConfig.Backend = g.VaultDir, g.StateRoot, backend.Kind(g.Backend)
	f.PalyraVault, f.PalyraIdentityStore = g.PalyraVault, g.PalyraIdentityStore
	err := vaultflags.Prepare(f, vaultflags.Options{
		Verb:           inv.Verb,
		LockTimeout:    g.LockTimeout,
		LockTimeoutSet: g.LockTimeoutSet,
		PassphraseFile: func() (string, error) { return g.PassphraseFile, nil },
	})
	if err != nil {
		return err
	}
	switch {
	case inv.Get != nil:
		inv.Get.Bind(f)
	case inv.Set != nil:
		inv.Set.Bind(f)
	case inv.List != nil:
		inv.List.Bind(f)
	case inv.Delete != nil:
		inv.Delete.Bind(f)
	case inv.Run != nil:
		inv.Run.Bind(f)
	}
	return nil
}
