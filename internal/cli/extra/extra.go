// Package extra is the command line of palyra-extra: palyra's whole
// command tree, with the commands that palyra hands over (package
// delegate: the daemon, backups) built for real. It links what palyra
// does not: net/http for the daemon's server, filippo.io/age for backups.
package extra

import (
	"github.com/palyra/palyra-vault/internal/cli"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	daemonCmd "github.com/palyra/palyra-vault/internal/cli/daemon"
	"github.com/palyra/palyra-vault/internal/cli/delegate"
	"github.com/palyra/palyra-vault/internal/cli/secrets/export"
	"github.com/palyra/palyra-vault/internal/cli/secrets/importcmd"
	"github.com/spf13/cobra"
)

// Commands returns the builders of the commands palyra-extra holds, by
// their delegate.Command path.
func Commands() map[string]func(*cmdutil.Factory) *cobra.Command {
	return map[string]func(*cmdutil.Factory) *cobra.Command{
		delegate.Daemon.Path: func(f *cmdutil.Factory) *cobra.Command { return daemonCmd.NewCmdDaemon(f, nil) },
		delegate.Export.Path: func(f *cmdutil.Factory) *cobra.Command { return export.NewCmdExport(f, nil) },
		delegate.Import.Path: func(f *cmdutil.Factory) *cobra.Command { return importcmd.NewCmdImport(f, nil) },
	}
}

// Main runs palyra-extra with the process's arguments and streams and
// returns the exit code.
func Main() int { return cli.MainWith(Commands()) }
