// Package backendinfo implements "palyra secrets backend": which backend the
// vault uses, where it lives, where its key comes from, and which backends
// this host really offers, with the reason for each that it does not.
package backendinfo

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// BackendOptions are the dependencies and flags of "palyra secrets backend".
type BackendOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)

	// JSON prints one JSON object.
	JSON bool
}

// Report is the JSON form of the command's output.
type Report struct {
	Active   vault.Info            `json:"active"`
	Backends []vault.BackendStatus `json:"backends"`
}

// NewCmdBackend returns the "backend" command. When runF is not nil it is
// called with the parsed options instead of backendRun.
func NewCmdBackend(f *cmdutil.Factory, runF func(*BackendOptions) error) *cobra.Command {
	opts := &BackendOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "backend",
		Short: "Show the vault's backend and every backend this host offers",
		Long: `Show the backend the vault uses (from its backend.kind marker), the vault
root, the key source, the size limits, and for every backend whether it
really works on this host, now, with no prompt: each is probed the way auto
selection does (the service must answer, its default collection must be
unlocked or unlock without a prompt, and an item must store and read back),
and an unavailable one says why; AVAILABLE is "locked" for a Secret Service
whose collection is locked and needs a prompt to unlock.

The AUTO column is the order in which a new vault with --backend auto tries
the backends on this host; encrypted_file, which works everywhere, is last.
Opening the vault creates it when it does not exist yet.`,
		Example: `  palyra secrets backend
  palyra secrets backend --json | jq -r .active.backend`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Vault = f.Vault
			if runF != nil {
				return runF(opts)
			}
			return backendRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print one JSON object: active vault info and every backend's status")
	return cmd
}

func backendRun(ctx context.Context, opts *BackendOptions) error {
	v, err := opts.Vault(ctx)
	if err != nil {
		return err
	}
	rep := Report{Active: v.Info(), Backends: v.ProbeBackends(ctx)}
	ios := opts.IO
	if opts.JSON {
		return cmdutil.PrintJSON(ios, rep)
	}
	info := rep.Active
	tw := tabwriter.NewWriter(ios.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "backend:\t%s\n", info.Backend)
	if info.BackendDetail != "" {
		fmt.Fprintf(tw, "where:\t%s\n", info.BackendDetail)
	}
	fmt.Fprintf(tw, "vault root:\t%s\n", info.Root)
	fmt.Fprintf(tw, "state root:\t%s\n", info.StateRoot)
	fmt.Fprintf(tw, "key source:\t%s\n", info.KeySource)
	fmt.Fprintf(tw, "vault id:\t%s\n", info.ID)
	fmt.Fprintf(tw, "max secret size:\t%d bytes (vault limit; the backend holds sealed objects up to %d bytes)\n", info.MaxSecretSize, info.BackendMaxBlobSize)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(ios.Out)
	tw = tabwriter.NewWriter(ios.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKEND\tAVAILABLE\tAUTO\tACTIVE\tREASON")
	for _, st := range rep.Backends {
		avail, auto, active := "no", "-", ""
		if st.Available {
			avail = "yes"
		} else if st.Locked {
			avail = "locked"
		}
		if st.AutoRank > 0 {
			auto = fmt.Sprint(st.AutoRank)
		}
		if st.Kind == info.Backend {
			active = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.Kind, avail, auto, active, st.Reason)
	}
	return tw.Flush()
}
