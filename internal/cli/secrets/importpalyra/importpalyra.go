// Package importpalyra implements "palyra secrets import-palyra": copy
// every secret of a vault the Rust Palyra wrote into this vault, with its
// exact bytes, scope, key and times, leaving the Rust vault as it was.
package importpalyra

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/palyrars"
	"github.com/spf13/cobra"
)

// Options are the dependencies and flags of "palyra secrets import-palyra".
type Options struct {
	IO     *iostreams.IOStreams
	Config *vault.Config
	Vault  func(context.Context) (*vault.Vault, error)

	From          string
	IdentityStore string
	DryRun        bool
	JSON          bool
}

// NewCmdImportPalyra returns the "import-palyra" command. When runF is not
// nil it is called with the parsed options instead of Run.
func NewCmdImportPalyra(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "import-palyra [--from DIR] [--identity-store DIR] [--dry-run] [--json]",
		Short: "Copy every secret of a vault the Rust Palyra wrote into this vault",
		Long: `Copy every secret of a vault that the Rust Palyra platform wrote into this
vault, with its exact bytes, scope, key and creation and update times. The
Rust vault and its identity store are only read: no file, mode or keyring
item of theirs changes.

--from is the Rust vault's directory (default <Palyra state root>/vault) and
--identity-store the identity store its key comes from (default the
directory "identity" beside --from; without --from, <Palyra state
root>/identity). Palyra's state root is $PALYRA_STATE_ROOT, else
$XDG_STATE_HOME/palyra or ~/.local/state/palyra (macOS too), or
%LOCALAPPDATA%\Palyra on Windows.

A secret this vault already holds with the same value and times is left
alone, so running the import again changes nothing; one it holds otherwise
is a conflict, left alone and reported. Every secret that cannot be taken
(a name this vault's grammar refuses, a damaged envelope, a value too
large) is named. When the vault key cannot be derived, or opens none of the
secrets, nothing is written. The exit status is 0 only when every secret
was imported or already there.`,
		Example: `  palyra secrets import-palyra --dry-run
  palyra secrets import-palyra --from ~/.local/state/palyra/vault --json`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config, opts.Vault = &f.VaultConfig, f.Vault
			if runF != nil {
				return runF(opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.From, "from", "", "the Rust Palyra's vault directory (default <Palyra state root>/vault)")
	fl.StringVar(&opts.IdentityStore, "identity-store", "", `the Rust Palyra's identity store (default "identity" beside --from)`)
	fl.BoolVar(&opts.DryRun, "dry-run", false, "read everything and report what would be imported, writing nothing")
	keyflags.AddOldPassphraseFile(fl)
	fl.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	return cmd
}

// NotTaken names a secret that was not imported, and why.
type NotTaken struct {
	// Ref is the secret's scope and key as the Rust vault stores them,
	// quoted when this vault's grammar refuses them.
	Ref    string `json:"ref"`
	Reason string `json:"reason"`
}

// Report is what import-palyra prints with --json.
type Report struct {
	From          string     `json:"from"`
	IdentityStore string     `json:"identity_store"`
	Backend       string     `json:"backend"`
	DryRun        bool       `json:"dry_run"`
	Imported      []string   `json:"imported"`
	Unchanged     []string   `json:"unchanged"`
	Conflicts     []string   `json:"conflicts"`
	NotTaken      []NotTaken `json:"not_taken"`
	Warnings      []string   `json:"warnings"`
}

// Paths returns the Rust vault and identity store the options name, with
// the defaults filled in.
func Paths(from, identity string) (string, string, error) {
	if from == "" {
		defFrom, defIdent, err := palyrars.DefaultPaths()
		if err != nil {
			return "", "", err
		}
		from = defFrom
		if identity == "" {
			identity = defIdent
		}
	}
	if identity == "" {
		identity = palyrars.IdentityStoreFor(from)
	}
	var err error
	if from, err = filepath.Abs(from); err != nil {
		return "", "", err
	}
	if identity, err = filepath.Abs(identity); err != nil {
		return "", "", err
	}
	return from, identity, nil
}

// Run reads the whole Rust vault, then imports what it can.
func Run(ctx context.Context, opts *Options) error {
	from, ident, err := Paths(opts.From, opts.IdentityStore)
	if err != nil {
		return err
	}
	rv, err := palyrars.Open(ctx, palyrars.Options{Root: from, IdentityStore: ident, SessionBus: opts.Config.SessionBus})
	if err != nil {
		return cmdutil.WithHints(fmt.Errorf("nothing was imported: %w", err), hints(err)...)
	}
	defer rv.Close()
	recs, err := rv.ReadAll(ctx)
	if err != nil {
		return cmdutil.WithHints(fmt.Errorf("nothing was imported: %w", err), hints(err)...)
	}
	defer palyrars.WipeRecords(recs)

	rep := Report{From: from, IdentityStore: ident, Backend: string(rv.Kind()), DryRun: opts.DryRun,
		Imported: []string{}, Unchanged: []string{}, Conflicts: []string{}, NotTaken: []NotTaken{}, Warnings: append([]string{}, rv.Warnings()...)}
	var todo []vault.ForeignSecret
	for _, r := range recs {
		if r.Err != nil {
			rep.NotTaken = append(rep.NotTaken, NotTaken{quoteRef(r.Entry), r.Err.Error()})
			continue
		}
		scope, err := secret.ParseScope(r.Entry.Scope)
		if err == nil {
			err = secret.ValidateKey(r.Entry.Key)
		}
		if err != nil {
			rep.NotTaken = append(rep.NotTaken, NotTaken{quoteRef(r.Entry), "this vault's grammar refuses the name: " + err.Error()})
			continue
		}
		todo = append(todo, vault.ForeignSecret{Scope: scope, Key: r.Entry.Key, Value: r.Value.Reveal(), Created: r.Entry.Created, Updated: r.Entry.Updated})
	}

	exists, _, err := vault.Exists(*opts.Config)
	if err != nil {
		return err
	}
	if opts.DryRun && !exists {
		// Nothing to compare with: every secret would be new, and opening
		// the vault would create it.
		for _, s := range todo {
			rep.Imported = append(rep.Imported, secret.Ref{Scope: s.Scope, Key: s.Key}.String())
		}
	} else if len(todo) > 0 {
		v, err := opts.Vault(ctx)
		if err != nil {
			return cmdutil.WithHints(err, keyflags.Hints(err)...)
		}
		if same(v.Info().Root, from) {
			return fmt.Errorf("nothing was imported: --from %s is this vault's own directory", from)
		}
		ok := todo[:0]
		for _, s := range todo {
			if err := v.CheckImportable(s); err != nil {
				rep.NotTaken = append(rep.NotTaken, NotTaken{secret.Ref{Scope: s.Scope, Key: s.Key}.String(), err.Error()})
				continue
			}
			ok = append(ok, s)
		}
		res, err := v.ImportSecrets(ctx, ok, opts.DryRun)
		rep.Imported, rep.Unchanged, rep.Conflicts = refs(res.Imported), refs(res.Unchanged), refs(res.Conflicts)
		if err != nil {
			return err
		}
	}
	if err := printReport(opts, &rep); err != nil {
		return err
	}
	if n := len(rep.Conflicts) + len(rep.NotTaken); n > 0 {
		return cmdutil.WithHints(fmt.Errorf("%d of the Rust vault's %d secrets were not imported (listed above)", n, len(recs)),
			"a conflict is a secret this vault already holds with another value or times: delete or rename it here, then run the import again",
			"the Rust vault is unchanged: it keeps every secret")
	}
	return nil
}

func refs(rs []vault.Ref) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

// quoteRef names a Rust secret whose name may be outside this vault's
// grammar: quoted, so that no control character reaches the terminal.
func quoteRef(e palyrars.Entry) string {
	r := secret.Ref{Scope: e.Scope, Key: e.Key}
	if r.Validate() == nil {
		return r.String()
	}
	return strconv.QuoteToASCII(e.Scope + "/" + e.Key)
}

func same(a, b string) bool {
	return filepath.Clean(a) == filepath.Clean(b)
}

func hints(err error) []string {
	switch {
	case errors.Is(err, palyrars.ErrNoKey):
		return []string{"the vault key comes from the Rust Palyra's identity store: give the one of the installation that wrote this vault with --identity-store DIR"}
	case errors.Is(err, palyrars.ErrNotVault):
		return []string{"give the Rust Palyra's vault directory with --from DIR (it holds backend.kind and metadata.json)"}
	}
	return nil
}

func printReport(opts *Options, rep *Report) error {
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, rep, opts.IO.IsStdoutTTY())
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(opts.IO.ErrOut, "palyra: warning: %s\n", w)
	}
	verb := "imported"
	if rep.DryRun {
		verb = "would-import"
	}
	for _, r := range rep.Imported {
		fmt.Fprintf(opts.IO.Out, "%s\t%s\n", verb, r)
	}
	for _, r := range rep.Unchanged {
		fmt.Fprintf(opts.IO.Out, "unchanged\t%s\n", r)
	}
	for _, r := range rep.Conflicts {
		fmt.Fprintf(opts.IO.Out, "conflict\t%s\n", r)
	}
	for _, n := range rep.NotTaken {
		fmt.Fprintf(opts.IO.Out, "not-taken\t%s\t%s\n", n.Ref, strings.ReplaceAll(n.Reason, "\n", " "))
	}
	what := "imported"
	if rep.DryRun {
		what = "would import"
	}
	fmt.Fprintf(opts.IO.ErrOut, "palyra: %s %d secrets from the Rust vault at %s (%d already here, %d conflicts, %d not taken); the Rust vault is unchanged\n",
		what, len(rep.Imported), rep.From, len(rep.Unchanged), len(rep.Conflicts), len(rep.NotTaken))
	return nil
}
