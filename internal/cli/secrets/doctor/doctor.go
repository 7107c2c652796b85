// Package doctor implements "palyra secrets doctor": explain which backends
// and key sources work on this host, why the others do not, and what to
// install, start or unlock.
package doctor

import (
	"context"
	"fmt"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// DoctorOptions are the dependencies and flags of "palyra secrets doctor".
type DoctorOptions struct {
	IO *iostreams.IOStreams
	// Probe examines the host (vault.Doctor with the factory's vault
	// configuration, for the session bus).
	Probe func(context.Context) vault.HostReport
	JSON  bool
}

// NewCmdDoctor returns the "doctor" command. When runF is not nil it is
// called with the parsed options instead of doctorRun.
func NewCmdDoctor(f *cmdutil.Factory, runF func(*DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{IO: f.IOStreams, Probe: func(ctx context.Context) vault.HostReport { return vault.Doctor(ctx, f.VaultConfig) }}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Explain which backends and key sources work on this host",
		Long: `Probe every backend and key source on this host (really reaching each
service, with a timeout) and say which work, why the others do not, and
what to install, start or unlock. A backend counts as working only when
it can be used now with no prompt, as auto selection requires: a Secret
Service whose collection is locked and needs a prompt to unlock (a keyring
over SSH) is marked "no ... (locked)", with how to unlock it. doctor opens no vault
and leaves nothing behind (the Secret Service probe stores and deletes one
item); the exit status is 0 whatever it finds, except 5 when the vault's
shared store (an etcd cluster) did not answer within its deadline.`,
		Example: `  palyra secrets doctor
  palyra secrets doctor --json | jq '.backends[] | select(.available | not)'`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the findings as JSON")
	return cmd
}

func doctorRun(ctx context.Context, opts *DoctorOptions) error {
	rep := opts.Probe(ctx)
	out := opts.IO.Out
	if opts.JSON {
		if err := cmdutil.PrintJSON(opts.IO, rep); err != nil {
			return err
		}
		return unreachable(rep)
	}
	section := func(title string, checks []vault.HostCheck) {
		fmt.Fprintln(out, title)
		for _, c := range checks {
			mark, state := "ok  ", ""
			if !c.Available {
				mark = "no  "
			}
			if c.Locked {
				state = " (locked)"
			}
			fmt.Fprintf(out, "  %s%s%s\n", mark, c.Name, state)
			if c.Reason != "" {
				fmt.Fprintf(out, "        why: %s\n", c.Reason)
			}
			if c.Advice != "" {
				fmt.Fprintf(out, "        fix: %s\n", c.Advice)
			}
		}
	}
	section("backends:", rep.Backends)
	fmt.Fprintf(out, "  a new vault with backend auto uses %s\n", rep.Auto)
	section("key sources:", rep.KeySources)
	return unreachable(rep)
}

// unreachable returns an error wrapping vault.ErrUnreachable (exit code 5)
// when the vault's shared store did not answer, after the report is out.
func unreachable(rep vault.HostReport) error {
	for _, c := range rep.Backends {
		if c.Unreachable {
			return fmt.Errorf("%w: %s", vault.ErrUnreachable, c.Reason)
		}
	}
	return nil
}
