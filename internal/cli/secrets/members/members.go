// Package members implements "palyra secrets host-key" and "palyra secrets
// members list|add|remove": the hosts that hold a copy of a shared vault's
// member key (docs/FLEET.md, "Member keys"). Both run in palyra-extra,
// which links age.
package members

import (
	"context"
	"errors"
	"fmt"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/delegate"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// HostKeyOptions are the dependencies and flags of "palyra secrets
// host-key".
type HostKeyOptions struct {
	IO     *iostreams.IOStreams
	Config *vault.Config
	JSON   bool
}

// NewCmdHostKey returns the "host-key" command. When runF is not nil it is
// called with the parsed options instead of hostKeyRun.
func NewCmdHostKey(f *cmdutil.Factory, runF func(*HostKeyOptions) error) *cobra.Command {
	opts := &HostKeyOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   delegate.HostKey.Use,
		Short: delegate.HostKey.Short,
		Long: `Print this host's recipient (its public key, age1...), which a member of a
shared vault keyed by member keys adds with "palyra secrets members add".
The host's identity (its private key) is made on first use in
keys/host.agekey under the state root, mode 0600; it never leaves the host.`,
		Example: `  palyra secrets host-key
  palyra secrets host-key --json`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config = &f.VaultConfig
			if runF != nil {
				return runF(opts)
			}
			return hostKeyRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, `print {"recipient": ..., "identity_file": ...}`)
	return cmd
}

// hostKey is what host-key --json prints.
type hostKey struct {
	Recipient    string `json:"recipient"`
	IdentityFile string `json:"identity_file"`
}

func hostKeyRun(opts *HostKeyOptions) error {
	stateRoot, _, err := vault.Paths(*opts.Config)
	if err != nil {
		return err
	}
	r, err := vault.HostRecipient(stateRoot)
	if err != nil {
		return err
	}
	if opts.JSON {
		return cmdutil.PrintJSON(opts.IO, hostKey{Recipient: r, IdentityFile: vault.HostIdentityPath(stateRoot)})
	}
	_, err = fmt.Fprintln(opts.IO.Out, r)
	return err
}

// MembersOptions are the dependencies and flags of "palyra secrets
// members".
type MembersOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)

	// Verb is list, add or remove; Recipient the host added or removed.
	Verb      string
	Recipient string
	JSON      bool
}

// NewCmdMembers returns the "members" group with list, add and remove.
// When runF is not nil it is called with the parsed options instead of
// membersRun.
func NewCmdMembers(f *cmdutil.Factory, runF func(*MembersOptions) error) *cobra.Command {
	group := &cobra.Command{
		Use:   delegate.Members.Use,
		Short: delegate.Members.Short,
		Long: `Manage the hosts of a shared vault keyed by member keys ("init --backend
etcd --key-source member", or "rotate-key --to member"): each member holds
a copy of the vault's key wrapped to its own recipient ("palyra secrets
host-key" prints it). Only a member can add a host. Removing a host rotates
the vault's key and rewraps every secret, so the removed host can read
nothing written afterwards; an interrupted removal is finished by running
it again. Without a subcommand, members lists them.`,
		Args: cmdutil.NoSubcommand,
	}
	group.Example = `  palyra secrets host-key            # on the new host
  palyra secrets members add age1...  # on a member host
  palyra secrets members list --json
  palyra secrets members remove age1...`
	sub := func(c delegate.Command, example string, nargs int) *cobra.Command {
		opts := &MembersOptions{IO: f.IOStreams}
		cmd := &cobra.Command{
			Use:     c.Use,
			Short:   c.Short,
			Example: example,
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) != nargs {
					if nargs == 0 {
						return cmdutil.UsageErrorf("accepts no arguments, got %d", len(args))
					}
					return cmdutil.UsageErrorf("expected one recipient (age1...), got %d arguments", len(args))
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				opts.Verb, opts.Vault = cmd.Name(), f.Vault
				if nargs == 1 {
					opts.Recipient = args[0]
					if err := vault.CheckRecipient(opts.Recipient); err != nil {
						return cmdutil.UsageErrorf("%v", err)
					}
				}
				if runF != nil {
					return runF(opts)
				}
				return membersRun(cmd.Context(), opts)
			},
		}
		cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
		return cmd
	}
	// Without a subcommand, members lists them.
	listOpts := &MembersOptions{IO: f.IOStreams, Verb: "list"}
	group.Flags().BoolVar(&listOpts.JSON, "json", false, "print the members as JSON (as members list --json)")
	group.RunE = func(cmd *cobra.Command, args []string) error {
		listOpts.Vault = f.Vault
		if runF != nil {
			return runF(listOpts)
		}
		return membersRun(cmd.Context(), listOpts)
	}
	group.AddCommand(
		sub(delegate.MembersList, "  palyra secrets members list --json", 0),
		sub(delegate.MembersAdd, "  palyra secrets members add age1...", 1),
		sub(delegate.MembersRemove, "  palyra secrets members remove age1...", 1),
	)
	return group
}

// addResult is what members add --json prints.
type addResult struct {
	Recipient string `json:"recipient"`
	Added     bool   `json:"added"`
}

// removeResult is what members remove --json prints.
type removeResult struct {
	Recipient string `json:"recipient"`
	vault.RotateReport
}

func membersRun(ctx context.Context, opts *MembersOptions) error {
	v, err := opts.Vault(ctx)
	if err != nil {
		return err
	}
	switch opts.Verb {
	case "list":
		ms, err := v.Members(ctx)
		if err != nil {
			return err
		}
		if opts.JSON {
			return cmdutil.PrintJSON(opts.IO, map[string][]string{"members": ms})
		}
		for _, m := range ms {
			if _, err := fmt.Fprintln(opts.IO.Out, m); err != nil {
				return err
			}
		}
		return nil
	case "add":
		added, err := v.AddMember(ctx, opts.Recipient)
		if err != nil {
			return withRotationHint(err)
		}
		if opts.JSON {
			return cmdutil.PrintJSON(opts.IO, addResult{Recipient: opts.Recipient, Added: added})
		}
		what := "added member"
		if !added {
			what = "already a member:"
		}
		_, err = fmt.Fprintf(opts.IO.Out, "%s %s\n", what, opts.Recipient)
		return err
	default: // remove
		rep, err := v.RemoveMember(ctx, opts.Recipient)
		if err != nil {
			return withRotationHint(err)
		}
		if opts.JSON {
			return cmdutil.PrintJSON(opts.IO, removeResult{Recipient: opts.Recipient, RotateReport: rep})
		}
		_, err = fmt.Fprintf(opts.IO.Out, "removed member %s: vault key %s -> %s; %d secrets rewrapped, %d already done\n",
			opts.Recipient, rep.OldKeyID[:8], rep.NewKeyID[:8], rep.Rewrapped, rep.Skipped)
		return err
	}
}

func withRotationHint(err error) error {
	if errors.Is(err, vault.ErrRotationPending) {
		return cmdutil.WithHints(err, `run "palyra secrets rotate-key" (or the interrupted "palyra secrets members remove") to finish it`)
	}
	return err
}
