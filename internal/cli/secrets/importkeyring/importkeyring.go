// Package importkeyring implements "palyra secrets import-keyring": copy
// secrets that other tools keep in the freedesktop Secret Service into a
// scope of the vault, leaving the originals in place.
package importkeyring

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// ImportKeyringOptions are the dependencies and flags of "palyra secrets
// import-keyring".
type ImportKeyringOptions struct {
	IO     *iostreams.IOStreams
	Config *vault.Config
	Vault  func(context.Context) (*vault.Vault, error)

	Scope        string
	Service      string
	Attrs        []string
	KeyAttribute string
	OnConflict   string
	JSON         bool
}

// NewCmdImportKeyring returns the "import-keyring" command. When runF is
// not nil it is called with the parsed options instead of importRun.
func NewCmdImportKeyring(f *cmdutil.Factory, runF func(*ImportKeyringOptions) error) *cobra.Command {
	opts := &ImportKeyringOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "import-keyring --scope SCOPE (--service NAME | --attr NAME=VALUE...)",
		Short: "Copy secrets other tools keep in the Secret Service into a scope",
		Long: `Copy items that other tools keep in the freedesktop Secret Service
(gnome-keyring, KeePassXC) into the vault, under --scope, one secret per
item. The items are never changed or deleted.

--service NAME selects the items zalando/go-keyring and Python's keyring
store for that service (attribute service=NAME); each item's "username"
attribute becomes its key. --attr NAME=VALUE selects items by any
attributes, such as those given to "secret-tool store"; name the attribute
that becomes the key with --key-attribute. Keys are lowercased and other
characters become "-".

Everything is read and checked before anything is written; existing
secrets make it fail unless --on-conflict is skip or overwrite.`,
		Example: `  palyra secrets import-keyring --scope plugins/github --service github
  palyra secrets import-keyring --scope global --attr app=deploy --key-attribute name`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			scope, err := secret.ParseScope(opts.Scope)
			if err != nil {
				return &cmdutil.UsageError{Err: fmt.Errorf("--scope: %w", err)}
			}
			opts.Scope = scope
			if opts.Service == "" && len(opts.Attrs) == 0 {
				return cmdutil.UsageErrorf("choose the items with --service NAME or --attr NAME=VALUE")
			}
			for _, a := range opts.Attrs {
				if k, _, ok := strings.Cut(a, "="); !ok || k == "" {
					return cmdutil.UsageErrorf("--attr: each must be NAME=VALUE, with a name")
				}
			}
			switch opts.OnConflict {
			case vault.OnConflictFail, vault.OnConflictSkip, vault.OnConflictOverwrite:
			default:
				return cmdutil.UsageErrorf("--on-conflict: must be one of fail, skip, overwrite")
			}
			opts.Config, opts.Vault = &f.VaultConfig, f.Vault
			if runF != nil {
				return runF(opts)
			}
			return importRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Scope, "scope", "", "the scope that receives the secrets (required)")
	fl.StringVar(&opts.Service, "service", "", "import the go-keyring / Python keyring items of this service")
	fl.StringArrayVar(&opts.Attrs, "attr", nil, "import items with this attribute, NAME=VALUE; repeatable")
	fl.StringVar(&opts.KeyAttribute, "key-attribute", "", `the attribute whose value becomes the key (default "username")`)
	fl.StringVar(&opts.OnConflict, "on-conflict", vault.OnConflictFail, "what to do with secrets that exist: fail, skip or overwrite")
	// The vault passphrase: --vault-passphrase-file of "palyra secrets".
	keyflags.AddOldPassphraseFile(fl)
	fl.BoolVar(&opts.JSON, "json", false, "print what was imported as JSON")
	return cmd
}

func importRun(ctx context.Context, opts *ImportKeyringOptions) error {
	attrs := map[string]string{}
	if opts.Service != "" {
		attrs["service"] = opts.Service
	}
	for _, a := range opts.Attrs {
		k, v, _ := strings.Cut(a, "=")
		attrs[k] = v
	}
	v, err := opts.Vault(ctx)
	if err != nil {
		return cmdutil.WithHints(err, keyflags.Hints(err)...)
	}
	rep, err := v.ImportKeyring(ctx, vault.KeyringImportOptions{
		Scope: opts.Scope, Attributes: attrs, KeyAttribute: opts.KeyAttribute, OnConflict: opts.OnConflict,
	})
	switch {
	case errors.Is(err, vault.ErrConflict):
		return cmdutil.WithHints(err, "add --on-conflict skip to keep the existing secrets, or --on-conflict overwrite to replace them")
	case errors.Is(err, vault.ErrNotFound):
		return cmdutil.WithHints(err, `list what is there with "secret-tool search --all service NAME" (libsecret-tools)`)
	case errors.Is(err, vault.ErrBackendUnavailable):
		return cmdutil.WithHints(err, `run "palyra secrets doctor" to see what the host's Secret Service needs`)
	case err != nil:
		return err
	}
	if opts.JSON {
		return cmdutil.PrintJSON(opts.IO, rep)
	}
	for _, k := range rep.Keys {
		fmt.Fprintf(opts.IO.Out, "%s\t%s\n", secret.Ref{Scope: opts.Scope, Key: k.Key}, k.Label)
	}
	fmt.Fprintf(opts.IO.ErrOut, "palyra: imported %d secrets (%d overwritten, %d skipped); the keyring items are unchanged\n", rep.Imported+rep.Overwritten, rep.Overwritten, rep.Skipped)
	return nil
}
