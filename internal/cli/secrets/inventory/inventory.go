// Package inventory implements "palyra secrets inventory": every reference
// palyra.toml configures, as Palyra's configured-secret records (redacted:
// never a value, never the source's text).
package inventory

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/palyra/palyra-vault/config"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// InventoryOptions are the dependencies and flags of "palyra secrets
// inventory".
type InventoryOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)
	// VaultConfig says which vault; it is never created.
	VaultConfig vault.Config

	// ConfigPath is --config (--path); "" means $PALYRA_CONFIG, else the
	// default.
	ConfigPath string
	// JSON prints Palyra's ConfiguredSecretListEnvelope.
	JSON bool
}

// NewCmdInventory returns the "inventory" command. When runF is not nil it
// is called with the parsed options instead of inventoryRun.
func NewCmdInventory(f *cmdutil.Factory, runF func(*InventoryOptions) error) *cobra.Command {
	opts := &InventoryOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "inventory [--config FILE] [--json]",
		Short: "List the secrets palyra.toml configures, redacted",
		Long: `List every reference of palyra.toml (*_vault_ref fields, *_secret_ref
tables, inline reference tables) with Palyra's configured-secret id
("<config path>:<fingerprint>", which "palyra secrets explain" takes), its
component, source kind, policy and whether it resolves now: healthy,
missing, blocked or failed (exec references are not run: unchecked).
Never a value, nor the source's text (a variable's name, a path, a
command). Broken references are not listed; "palyra secrets audit" reports
them.

--json prints Palyra's configured-secret list: {"contract",
"generated_at_unix_ms", "snapshot_generation", "secrets": [...], "page"}.
Palyra asks its running daemon; this command reads the file and resolves
each reference itself (vault values are decrypted, then wiped), so it
works with no daemon running.`,
		Example: `  palyra secrets inventory
  palyra secrets inventory --json | jq -r '.secrets[].secret_id'`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.ConfigPath, err = shared.ConfigPathFlag(cmd); err != nil {
				return err
			}
			opts.Vault = f.Vault
			opts.VaultConfig = f.VaultConfig
			if runF != nil {
				return runF(opts)
			}
			return inventoryRun(cmd.Context(), opts)
		},
	}
	shared.AddConfigPathFlags(cmd)
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print Palyra's configured-secret list as JSON")
	return cmd
}

// listJSON is Palyra's ConfiguredSecretListEnvelope, with the file beside.
type listJSON struct {
	Contract           shared.ContractJSON           `json:"contract"`
	GeneratedAtMS      int64                         `json:"generated_at_unix_ms"`
	SnapshotGeneration uint64                        `json:"snapshot_generation"`
	Secrets            []shared.ConfiguredSecretJSON `json:"secrets"`
	Page               shared.PageJSON               `json:"page"`
	Config             string                        `json:"config"`
}

// Records resolves every valid reference of doc and describes it as
// Palyra's configured-secret record; exec references run only when exec
// is set. It never holds a value past the call.
func Records(ctx context.Context, doc *config.Document, lookup resolve.VaultLookup, exec bool) []shared.ConfiguredSecretJSON {
	found, _ := config.References(doc) // broken ones are audit's to report
	r := resolve.New(lookup, resolve.Options{})
	out := make([]shared.ConfiguredSecretJSON, 0, len(found))
	for _, f := range found {
		if f.Ref.Source == resolve.SourceExec && !exec {
			out = append(out, shared.ConfiguredSecret(f, shared.StatusUnchecked, time.Time{}, "", "", 0))
			continue
		}
		v, err := r.Resolve(ctx, f.Ref)
		if err == nil {
			v.Wipe()
		}
		status, kind := shared.ResolveStatus(err)
		text := ""
		if err != nil {
			text = err.Error()
		}
		out = append(out, shared.ConfiguredSecret(f, status, time.Now(), kind, text, 0))
	}
	return out
}

func inventoryRun(ctx context.Context, opts *InventoryOptions) error {
	doc, err := shared.LoadConfig(opts.ConfigPath)
	if err != nil {
		return err
	}
	lookup := &shared.ExistingVault{Config: opts.VaultConfig, Open: opts.Vault}
	recs := Records(ctx, doc, lookup, false)
	if opts.JSON {
		return cmdutil.PrintJSON(opts.IO, listJSON{
			Contract: shared.Contract(), GeneratedAtMS: time.Now().UnixMilli(), Secrets: recs,
			Page: shared.PageJSON{Limit: len(recs), Returned: len(recs)}, Config: doc.Path(),
		})
	}
	if len(recs) == 0 {
		_, err := fmt.Fprintf(opts.IO.Out, "%s: no references\n", doc.Path())
		return err
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SECRET ID\tKIND\tSTATUS\tLINE")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", r.SecretID, r.Source.Kind, r.Status, r.Line)
	}
	return tw.Flush()
}
