// Package initcmd implements "palyra secrets init": create the vault with a
// chosen key source (device, passphrase or os) before anything is stored.
package initcmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/etcdconf"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// InitOptions are the dependencies and flags of "palyra secrets init".
type InitOptions struct {
	IO *iostreams.IOStreams
	// Config is the factory's vault config, which init completes.
	Config *vault.Config
	Vault  func(context.Context) (*vault.Vault, error)

	// KeySource is device, passphrase or os; "" means
	// $PALYRA_VAULT_KEY_SOURCE, else device.
	KeySource string
	// NewPassphraseFile holds the passphrase of a passphrase vault.
	NewPassphraseFile string
	// JSON prints the new vault's description as JSON.
	JSON bool
	// Etcd holds the --etcd-* flags: the connection settings of a vault
	// on backend etcd, written to etcd.json in the vault root.
	Etcd etcdconf.Settings
	// EtcdFlags reports whether any --etcd-* flag was given.
	EtcdFlags bool
}

// NewCmdInit returns the "init" command. When runF is not nil it is called
// with the parsed options instead of initRun.
func NewCmdInit(f *cmdutil.Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the vault, choosing where its key comes from",
		Long: `Create the vault with a key source, which decides what the vault protects
against (docs/SECURITY.md):

  device      32 random bytes in a file under the state root (the default);
              works headless, in CI and in containers
  passphrase  derived from a passphrase with Argon2id; nothing stored
  os          kept by the host's secret store (the Secret Service on Linux,
              the keychain on macOS, DPAPI on Windows)

The passphrase comes from --new-passphrase-file, else
$PALYRA_VAULT_NEW_PASSPHRASE, else a prompt (asked twice); never from the
command line. A vault keeps its key source; change it later with
"palyra secrets rotate-key --to".

With --backend etcd the vault lives in an etcd cluster that many hosts
share (docs/FLEET.md): the --etcd-* flags are this host's connection
settings, written to etcd.json beside backend.kind (mode 0600). Run init on
each host with the same endpoints and prefix: the first creates the shared
vault, the others join it. Use the passphrase key source: a device or os
key stays on the host that made it, so other hosts could not read what it
sealed. The etcd password comes from --etcd-password-file, else
$PALYRA_ETCD_PASSWORD; never from the command line.`,
		Example: `  palyra secrets init --key-source passphrase
  palyra secrets init --key-source os --backend encrypted_file
  palyra secrets init --backend etcd --key-source passphrase \
      --etcd-endpoints https://10.0.0.1:2379,https://10.0.0.2:2379 --etcd-prefix /palyra/team-a/ \
      --etcd-ca /etc/palyra/etcd-ca.pem --etcd-cert /etc/palyra/host.pem --etcd-key /etc/palyra/host-key.pem \
      --etcd-user palyra --etcd-password-file /etc/palyra/etcd-password`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.KeySource != "" && !slices.Contains(vault.KeySources(), opts.KeySource) {
				return cmdutil.UsageErrorf("--key-source: must be one of %s", strings.Join(vault.KeySources(), ", "))
			}
			opts.Config, opts.Vault = &f.VaultConfig, f.Vault
			cmd.Flags().Visit(func(fl *pflag.Flag) {
				if strings.HasPrefix(fl.Name, "etcd-") {
					opts.EtcdFlags = true
				}
			})
			if runF != nil {
				return runF(opts)
			}
			return initRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.KeySource, "key-source", "", fmt.Sprintf("where the key comes from: %s (default $%s, else device)", strings.Join(vault.KeySources(), ", "), vault.EnvKeySource))
	keyflags.AddNewPassphraseFile(cmd.Flags(), &opts.NewPassphraseFile, "read the passphrase of a passphrase vault from this file")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the new vault's description as JSON")
	AddEtcdFlags(cmd.Flags(), &opts.Etcd)
	_ = cmd.RegisterFlagCompletionFunc("key-source", cobra.FixedCompletions(vault.KeySources(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// AddEtcdFlags adds the --etcd-* flags, the connection settings of a vault
// on backend etcd, to fs (init, and migrate --to etcd).
func AddEtcdFlags(fs *pflag.FlagSet, s *etcdconf.Settings) {
	fs.StringSliceVar(&s.Endpoints, "etcd-endpoints", nil, "etcd members' client URLs, comma-separated (https://host:2379,...), for --backend etcd")
	fs.StringVar(&s.Prefix, "etcd-prefix", "", "key prefix of the shared vault in etcd, starting and ending with / (/palyra/team-a/)")
	fs.StringVar(&s.CAFile, "etcd-ca", "", "PEM file of the CA that signed the etcd members' certificates (absolute path)")
	fs.StringVar(&s.CertFile, "etcd-cert", "", "this host's etcd client certificate, PEM (absolute path)")
	fs.StringVar(&s.KeyFile, "etcd-key", "", "this host's etcd client key, PEM, mode 0600 (absolute path)")
	fs.StringVar(&s.User, "etcd-user", "", "etcd user (its password: --etcd-password-file, else $"+etcdconf.EnvPassword+")")
	fs.StringVar(&s.PasswordFile, "etcd-password-file", "", "file holding the etcd user's password, mode 0600 (absolute path)")
	fs.StringVar(&s.Timeout, "etcd-timeout", "", fmt.Sprintf("deadline of every etcd call (default %s)", etcdconf.DefaultTimeout))
}

func initRun(ctx context.Context, opts *InitOptions) error {
	exists, root, err := vault.Exists(*opts.Config)
	if err != nil {
		return err
	}
	if exists {
		return cmdutil.WithHints(fmt.Errorf("a vault already exists at %s", root),
			`a vault keeps its key source; change it with "palyra secrets rotate-key --to <source>"`)
	}
	if opts.Config.Backend == backend.KindEtcd {
		if err := opts.Etcd.Check(); err != nil {
			return cmdutil.UsageErrorf("%v", err)
		}
		if err := fsutil.EnsurePrivateDir(root); err != nil {
			return err
		}
		if err := etcdconf.Write(root, &opts.Etcd); err != nil {
			return err
		}
	} else if opts.EtcdFlags {
		return cmdutil.UsageErrorf("the --etcd-* flags go with --backend etcd")
	}
	if opts.KeySource != "" { // else $PALYRA_VAULT_KEY_SOURCE, applied to the config
		opts.Config.KeySource = opts.KeySource
	}
	opts.Config.Passphrase = keyflags.NewVaultPassphrase(opts.IO, opts.NewPassphraseFile)
	v, err := opts.Vault(ctx)
	if err != nil {
		return err
	}
	info := v.Info()
	if info.KeySource == vault.KeySourceMember {
		// A host joining a member-keyed vault is not a member until one adds it.
		if _, err := v.Members(ctx); errors.Is(err, vault.ErrNotMember) {
			r, _ := vault.HostRecipient(info.StateRoot)
			fmt.Fprintf(opts.IO.ErrOut, "palyra: notice: this host is not a member of the shared vault yet: on a member host run: palyra secrets members add %s\n", r)
		}
	}
	if opts.JSON {
		return cmdutil.PrintJSON(opts.IO, info)
	}
	_, err = fmt.Fprintf(opts.IO.Out, "created vault %s (backend %s, key source %s)\n", info.Root, info.Backend, info.KeySource)
	return err
}
