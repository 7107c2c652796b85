// Package extra is the command line of palyra-extra: palyra's whole
// command tree, with the commands that palyra hands over (package
// delegate: the daemon, backups) built for real. It links what palyra
// does not: net/http for the daemon's server, filippo.io/age for backups
// and member keys, the etcd client.
package extra

import (
	"context"
	"os"

	"github.com/palyra/palyra-vault/internal/cli"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	daemonCmd "github.com/palyra/palyra-vault/internal/cli/daemon"
	"github.com/palyra/palyra-vault/internal/cli/delegate"
	"github.com/palyra/palyra-vault/internal/cli/secrets/export"
	"github.com/palyra/palyra-vault/internal/cli/secrets/importcmd"
	"github.com/palyra/palyra-vault/internal/cli/secrets/members"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/etcdconf"
	"github.com/palyra/palyra-vault/vault/backend/etcdstore"
	"github.com/palyra/palyra-vault/vault/hostkey"
	"github.com/spf13/cobra"
)

// Commands returns the builders of the commands palyra-extra holds, by
// their delegate.Command path.
func Commands() map[string]func(*cmdutil.Factory) *cobra.Command {
	return map[string]func(*cmdutil.Factory) *cobra.Command{
		delegate.Daemon.Path:  func(f *cmdutil.Factory) *cobra.Command { return daemonCmd.NewCmdDaemon(f, nil) },
		delegate.Export.Path:  func(f *cmdutil.Factory) *cobra.Command { return export.NewCmdExport(f, nil) },
		delegate.Import.Path:  func(f *cmdutil.Factory) *cobra.Command { return importcmd.NewCmdImport(f, nil) },
		delegate.HostKey.Path: func(f *cmdutil.Factory) *cobra.Command { return members.NewCmdHostKey(f, nil) },
		delegate.Members.Path: func(f *cmdutil.Factory) *cobra.Command { return members.NewCmdMembers(f, nil) },
	}
}

// Main runs palyra-extra with the process's arguments and streams and
// returns the exit code. It registers the etcd backend first: palyra-extra
// is the one program that links the etcd client.
func Main() int {
	RegisterBackends(iostreams.System())
	return cli.MainWith(Commands())
}

// RegisterBackends registers with package vault the backends only
// palyra-extra links: etcd, whose user's password, when the settings name
// no file and $PALYRA_ETCD_PASSWORD is empty, is asked on the terminal of
// ios; and the host keys of the member key source (age).
func RegisterBackends(ios *iostreams.IOStreams) {
	hostkey.Register()
	vault.RegisterBackend(backend.KindEtcd, vault.ExternalBackend{Open: func(ctx context.Context, root string) (backend.Backend, error) {
		return etcdstore.Open(ctx, root, etcdPassword(ios, os.Getenv(etcdconf.EnvPassword)))
	}})
}

// etcdPassword returns the source of the etcd user's password when the
// settings name no password file: env (the value of
// $PALYRA_ETCD_PASSWORD) when it is set, else a no-echo prompt on ios's
// terminal, else nil (no source: opening fails saying how to give one).
func etcdPassword(ios *iostreams.IOStreams, env string) func(user string) ([]byte, error) {
	switch {
	case env != "":
		return func(string) ([]byte, error) { return []byte(env), nil }
	case ios.CanPrompt():
		return func(user string) ([]byte, error) { return ios.ReadSecret("etcd password for " + user + ": ") }
	}
	return nil
}
