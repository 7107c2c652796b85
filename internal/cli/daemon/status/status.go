// Package status implements "palyra daemon status": ask a running daemon
// what it serves, never a value.
package status

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// Timeout bounds the status request.
const Timeout = 10 * time.Second

// StatusOptions are the dependencies and flags of "palyra daemon status".
type StatusOptions struct {
	IO *iostreams.IOStreams
	// Socket returns the socket path to ask.
	Socket func() (string, error)
	// JSON prints the daemon's answer as JSON.
	JSON bool
}

// DaemonFlags are the persistent flags of "palyra daemon", which its
// status subcommand reads too; palyra and palyra-extra define them through
// AddDaemonFlags alike.
type DaemonFlags struct {
	// Socket is --socket as given ("" when not).
	Socket string
	f      *cmdutil.Factory
}

// AddDaemonFlags defines --vault-dir, --state-root and --socket as
// persistent flags of cmd ("palyra daemon"), the first two filling in
// f.VaultConfig.
func AddDaemonFlags(cmd *cobra.Command, f *cmdutil.Factory) *DaemonFlags {
	d := &DaemonFlags{f: f}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.VaultConfig.Root, "vault-dir", "", fmt.Sprintf("vault root (default $%s, else <state root>/vault)", vault.EnvVaultDir))
	pf.StringVar(&f.VaultConfig.StateRoot, "state-root", "", fmt.Sprintf("state root holding the device key and the daemon's directory (default $%s, else the per-user state directory)", secret.EnvStateRoot))
	pf.StringVar(&d.Socket, "socket", "", fmt.Sprintf("socket path (default $%s, else <state root>/daemon/daemon.sock)", api.EnvSocket))
	return d
}

// SocketPath returns the daemon's socket path once the flags are parsed:
// --socket, else $PALYRA_DAEMON_SOCKET, else the state root's.
func (d *DaemonFlags) SocketPath() (string, error) {
	return api.SocketPath(d.Socket, d.f.VaultConfig.StateRoot)
}

// NewCmdStatus returns the "status" command. socket gives the socket path
// once flags are parsed. When runF is not nil it is called with the parsed
// options instead of statusRun, so tests can check parsing.
func NewCmdStatus(f *cmdutil.Factory, socket func() (string, error), runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IOStreams, Socket: socket}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what a running daemon serves, never a value",
		Long: `Ask the running daemon for its status: its pid, socket and configuration,
the last reload, and every reference of the configuration with its dotted
path, source, fingerprint, refresh policy, status and when it was resolved.
With on_change references it also says whether the daemon follows the
vault's changes, and per reference whether it is followed, stale since
when, and its last refresh. Values are never shown.

--json prints the daemon's answer as one JSON object (see docs/DAEMON.md).
The command fails (exit status 1) when no daemon is running.`,
		Example: `  palyra daemon status
  palyra daemon status --json | jq '.references[] | select(.status != "ok")'`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the daemon's status as JSON")
	return cmd
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	socket, err := opts.Socket()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	c := api.NewClient(socket)
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		if errors.Is(err, api.ErrNotRunning) {
			return cmdutil.WithHints(err, "start it with \"palyra daemon\", or point --socket or $"+api.EnvSocket+" at a running one")
		}
		var ae *api.Error
		if errors.As(err, &ae) && ae.Code == api.CodeForbidden {
			return cmdutil.WithHints(err, "the daemon serves its own user and the uids listed in [daemon] allowed_uids of its configuration")
		}
		return err
	}
	if opts.JSON {
		return cmdutil.PrintJSON(opts.IO, st)
	}
	return printText(opts.IO, st)
}

func printText(ios *iostreams.IOStreams, st api.Status) error {
	var b strings.Builder
	fmt.Fprintf(&b, "daemon:       running, pid %d, since %s\n", st.PID, formatTime(st.Started))
	fmt.Fprintf(&b, "socket:       %s\n", st.Socket)
	fmt.Fprintf(&b, "config:       %s (generation %d, loaded %s)\n", st.Config, st.Generation, formatTime(st.Loaded))
	if lr := st.LastReload; lr != nil {
		if lr.OK {
			fmt.Fprintf(&b, "last reload:  ok at %s\n", formatTime(lr.Time))
		} else {
			first, _, _ := strings.Cut(lr.Error, "\n")
			fmt.Fprintf(&b, "last reload:  refused at %s, previous configuration kept: %s\n", formatTime(lr.Time), first)
		}
	}
	counts := map[string]int{}
	for _, r := range st.References {
		counts[r.Status]++
	}
	onChange, stale := 0, 0
	for _, r := range st.References {
		if r.Refresh == string(resolve.RefreshOnChange) {
			onChange++
		}
		if r.Stale {
			stale++
		}
	}
	fmt.Fprintf(&b, "references:   %d (%d ok, %d missing, %d failed", len(st.References), counts[api.StatusOK], counts[api.StatusMissing], counts[api.StatusFailed])
	if onChange > 0 {
		fmt.Fprintf(&b, "; %d on_change, %d stale", onChange, stale)
	}
	b.WriteString(")\n")
	if onChange > 0 {
		fmt.Fprintf(&b, "following:    %s\n", followLine(st.Follow))
	}
	if _, err := fmt.Fprint(ios.Out, b.String()); err != nil {
		return err
	}
	if len(st.References) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(ios.Out, 0, 8, 2, ' ', 0)
	if onChange == 0 {
		fmt.Fprintln(tw, "\nPATH\tFINGERPRINT\tREFRESH\tREQUIRED\tSTATUS\tRESOLVED")
		for _, r := range st.References {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\n", r.Path, r.Fingerprint, r.Refresh, r.Required, r.Status, formatTime(r.ResolvedAt))
		}
		return tw.Flush()
	}
	// With on_change references, three more columns: whether each is
	// followed, stale since when, and its last refresh.
	fmt.Fprintln(tw, "\nPATH\tFINGERPRINT\tREFRESH\tREQUIRED\tSTATUS\tRESOLVED\tFOLLOWED\tSTALE SINCE\tLAST REFRESH")
	for _, r := range st.References {
		followed, staleSince, last := "-", "-", "-"
		if r.Refresh == string(resolve.RefreshOnChange) {
			followed = "no"
			if r.Followed {
				followed = "yes"
			}
		}
		if r.Stale && r.StaleSince != nil {
			staleSince = formatTime(*r.StaleSince)
		}
		if lr := r.LastRefresh; lr != nil {
			last = fmt.Sprintf("%s %s: %s", formatTime(lr.Time), lr.Trigger, lr.Result)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\t%s\t%s\t%s\n", r.Path, r.Fingerprint, r.Refresh, r.Required, r.Status, formatTime(r.ResolvedAt),
			followed, staleSince, last)
	}
	return tw.Flush()
}

// followLine says on one line whether the daemon follows its vault.
func followLine(f *api.Follow) string {
	if f == nil {
		return "not followed"
	}
	switch f.State {
	case api.FollowFollowing:
		return "the vault's changes, since " + formatTime(f.Since)
	case api.FollowLost:
		return "LOST the vault since " + formatTime(f.Since) + " (" + f.Reason + "): held values are served, on_change ones are stale; retrying"
	case api.FollowNotWatchable:
		return "not followed: this vault cannot be watched (only a shared vault on etcd can); on_change acts as on_reload"
	case api.FollowStopped:
		return "stopped at " + formatTime(f.Since) + " (" + f.Reason + "); on_change values are stale until a reload follows again"
	}
	return f.State
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
