// Package migrate implements "palyra secrets migrate": move every secret of
// the vault to another backend without ever leaving it half-moved.
package migrate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/initcmd"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/etcdconf"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// targets are the values --to accepts.
var targets = []backend.Kind{backend.KindEncryptedFile, backend.KindSecretService, backend.KindKeychain, backend.KindDPAPI, backend.KindEtcd}

// MigrateOptions are the dependencies and flags of "palyra secrets migrate".
type MigrateOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)

	// To is the target backend.
	To backend.Kind
	// JSON prints the migration report as JSON.
	JSON bool
	// DeleteSource removes the shared secrets after a migration off etcd.
	DeleteSource bool
	// Etcd holds the --etcd-* flags, for --to etcd.
	Etcd etcdconf.Settings
	// EtcdFlags reports whether any --etcd-* flag was given.
	EtcdFlags bool
	// Config is the vault's configuration (for its root).
	Config *vault.Config
}

// NewCmdMigrate returns the "migrate" command. When runF is not nil it is
// called with the parsed options instead of migrateRun.
func NewCmdMigrate(f *cmdutil.Factory, runF func(*MigrateOptions) error) *cobra.Command {
	opts := &MigrateOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "migrate --to <backend>",
		Short: "Move every secret to another backend",
		Long: `Move every secret of the vault to another backend. The secrets move sealed,
as they are: nothing is decrypted.

The migration copies every object to the target and reads each back to
compare it, then switches the vault's backend.kind marker atomically, then
removes the old copies. If it is interrupted at any point (even by kill -9
or a power cut) the vault still opens, on the old backend or on the new
one, with every secret readable. Run the same command again to finish an
interrupted migration.

Every secret must fit the target's size limit (see "palyra secrets backend");
if one does not, nothing is switched.

To etcd (docs/FLEET.md): give the --etcd-* flags as init takes them; they
are written to etcd.json in the vault root. The prefix must hold no vault
(or this one, from an interrupted attempt). The shared vault gets a member
key wrapped to this host alone, under which every secret's data key is
rewrapped; add the other hosts with "palyra secrets members add".

Off etcd, on one host: every secret is copied into a local vault for this
host, keyed with its device key; the shared vault and its secrets stay for
the other hosts. --delete-source also removes the shared secrets, and is
refused while other hosts are members.`,
		Example: `  # Move from the encrypted-file store into the Secret Service
  palyra secrets migrate --to linux_secret_service

  # And back
  palyra secrets migrate --to encrypted_file --json

  # Share this vault on etcd, then leave it on this host only
  palyra secrets migrate --to etcd --etcd-endpoints https://10.0.0.1:2379 --etcd-prefix /palyra/team-a/ \
      --etcd-ca /etc/palyra/ca.pem --etcd-cert /etc/palyra/host.pem --etcd-key /etc/palyra/host-key.pem
  palyra secrets migrate --to encrypted_file`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.To == "" {
				return cmdutil.UsageErrorf("--to is required: one of %s", targetList())
			}
			if !slices.Contains(targets, opts.To) {
				return cmdutil.UsageErrorf("--to: must be one of %s", targetList())
			}
			cmd.Flags().Visit(func(fl *pflag.Flag) {
				if strings.HasPrefix(fl.Name, "etcd-") {
					opts.EtcdFlags = true
				}
			})
			if opts.EtcdFlags && opts.To != backend.KindEtcd {
				return cmdutil.UsageErrorf("the --etcd-* flags go with --to etcd")
			}
			if opts.DeleteSource && opts.To == backend.KindEtcd {
				return cmdutil.UsageErrorf("--delete-source goes with a migration off etcd")
			}
			// migrate acts on the vault as its marker says: --backend
			// (or $PALYRA_VAULT_BACKEND) would ask Open to re-create an
			// empty vault elsewhere, or refuse one that holds secrets.
			f.VaultConfig.Backend = ""
			opts.Vault, opts.Config = f.Vault, &f.VaultConfig
			if runF != nil {
				return runF(opts)
			}
			return migrateRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar((*string)(&opts.To), "to", "", "target backend: "+targetList())
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the migration report as JSON")
	cmd.Flags().BoolVar(&opts.DeleteSource, "delete-source", false, "off etcd: also remove the shared secrets (refused while other hosts are members)")
	initcmd.AddEtcdFlags(cmd.Flags(), &opts.Etcd)
	_ = cmd.RegisterFlagCompletionFunc("to", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, k := range targets {
			out = append(out, string(k))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func targetList() string {
	names := make([]string, len(targets))
	for i, k := range targets {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// prepareEtcd writes etcd.json for --to etcd beside the local vault's
// marker, where only a vault on etcd reads it. A vault already on etcd (an
// interrupted migration being finished) keeps its settings.
func prepareEtcd(opts *MigrateOptions) error {
	exists, root, err := vault.Exists(*opts.Config)
	if err != nil || !exists {
		if err == nil {
			err = fmt.Errorf("there is no vault at %s to migrate", root)
		}
		return err
	}
	if kind, err := vault.MarkerOf(*opts.Config); err != nil || kind == backend.KindEtcd {
		return err
	}
	if !opts.EtcdFlags {
		if _, err := etcdconf.Read(root); err != nil {
			return cmdutil.WithHints(err, "give the --etcd-* flags (as palyra secrets init takes them) to say which etcd cluster and prefix to migrate to")
		}
		return nil
	}
	if err := opts.Etcd.Check(); err != nil {
		return cmdutil.UsageErrorf("%v", err)
	}
	return etcdconf.Write(root, &opts.Etcd)
}

func migrateRun(ctx context.Context, opts *MigrateOptions) error {
	if opts.To == backend.KindEtcd && opts.Config != nil {
		if err := prepareEtcd(opts); err != nil {
			return err
		}
	}
	v, err := opts.Vault(ctx)
	if err != nil {
		return err
	}
	rep, err := v.MigrateWith(ctx, opts.To, vault.MigrateOptions{DeleteSource: opts.DeleteSource})
	if err != nil {
		if on := v.Info().Backend; on == opts.To && rep.From != opts.To {
			return cmdutil.WithHints(err, fmt.Sprintf("the vault now uses %s with every secret; run the same command again to remove the old copies from %s", on, rep.From))
		}
		return cmdutil.WithHints(err, fmt.Sprintf("the vault still uses %s with every secret; run the command again once the cause is fixed", v.Info().Backend))
	}
	ios := opts.IO
	if opts.JSON {
		return cmdutil.PrintJSON(ios, rep)
	}
	if rep.Resumed {
		fmt.Fprintf(ios.Out, "finished an interrupted migration from %s to %s: removed %d old copies\n", rep.From, rep.To, rep.Removed)
		return nil
	}
	if vault.IsShared(rep.From) && !opts.DeleteSource {
		fmt.Fprintf(ios.Out, "migrated %d secrets from %s to %s (each read back and compared); the shared secrets stay for the other hosts\n", rep.Copied, rep.From, rep.To)
	} else {
		fmt.Fprintf(ios.Out, "migrated %d secrets from %s to %s (each read back and compared); removed %d old copies\n", rep.Copied, rep.From, rep.To, rep.Removed)
	}
	if rep.Stale > 0 {
		fmt.Fprintf(ios.ErrOut, "palyra: removed %d stale objects an earlier, interrupted migration had left in %s\n", rep.Stale, rep.To)
	}
	return nil
}
