// Package daemon builds "palyra daemon": run the daemon in the foreground
// (the command itself) and ask a running one how it is ("palyra daemon
// status"). The daemon is package github.com/palyra/palyra-vault/daemon;
// docs/DAEMON.md is its manual.
package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/config"
	"github.com/palyra/palyra-vault/daemon"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	statusCmd "github.com/palyra/palyra-vault/internal/cli/daemon/status"
	"github.com/palyra/palyra-vault/internal/cli/delegate"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// Log formats and levels --log-format and --log-level accept.
var (
	logFormats = []string{"text", "json"}
	logLevels  = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
)

// RunOptions are the dependencies and flags of "palyra daemon".
type RunOptions struct {
	IO *iostreams.IOStreams
	// Daemon is what the daemon serves: configuration, vault, socket.
	Daemon daemon.Options
	// LogFormat is "text" or "json"; LogLevel one of debug, info, warn, error.
	LogFormat string
	LogLevel  string
}

// NewCmdDaemon returns the "daemon" command and its "status" subcommand.
// When runF is not nil it is called with the parsed options instead of
// running the daemon, so tests can check parsing.
func NewCmdDaemon(f *cmdutil.Factory, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: f.IOStreams}
	var (
		passphraseFile string
		daemonFlags    *statusCmd.DaemonFlags
	)
	cmd := &cobra.Command{
		Use:   delegate.Daemon.Use,
		Short: delegate.Daemon.Short,
		Long: `Run the palyra daemon in the foreground, as systemd and launchd expect.

It reads palyra.toml, resolves every secret reference in it by its refresh
policy (on_startup, on_reload, on_change, per_use) and serves the values
over HTTP on a Unix socket only its own user (and the uids in [daemon]
allowed_uids) may call, recording every request in an audit log. On a
shared vault (etcd) it follows the vault's changes for on_change
references and says in its status when they are stale. A required reference that
does not resolve stops the start, one line per failure; optional ones are
logged as warnings.

Signals: SIGHUP re-reads the configuration (a broken one is refused and the
previous one kept); SIGTERM or SIGINT stop accepting, finish the requests in
flight, wipe every held value and exit 0.

Logs go to stderr. docs/DAEMON.md describes the API, the access policy and
the audit log.`,
		Example: `  palyra daemon --config ~/.config/palyra/palyra.toml
  palyra daemon status
  curl --unix-socket "$(palyra daemon status --json | jq -r .socket)" http://palyra/v1/health`,
		Args: cmdutil.NoSubcommand,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.ApplyOutputFormat(cmd, f.IOStreams); err != nil {
				return err
			}
			f.VaultConfig = f.VaultConfig.WithEnv() // flags win over the environment
			opts.Daemon.Vault = f.VaultConfig
			opts.Daemon.Vault.Passphrase = keyflags.VaultPassphrase(f.IOStreams, passphraseFile, "--"+keyflags.VaultPassphraseFileFlag)
			opts.Daemon.Socket = daemonFlags.Socket
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(logFormats, opts.LogFormat) {
				return cmdutil.UsageErrorf("--log-format: must be one of %s", strings.Join(logFormats, ", "))
			}
			if _, ok := logLevels[opts.LogLevel]; !ok {
				return cmdutil.UsageErrorf("--log-level: must be one of debug, info, warn, error")
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Daemon.ConfigPath, "config", "", fmt.Sprintf("configuration file (default $%s, else the per-user config directory's palyra/%s)", config.EnvConfig, config.FileName))
	fl.StringVar(&opts.LogFormat, "log-format", "text", "log format on stderr: text or json")
	fl.StringVar(&opts.LogLevel, "log-level", "info", "least severe log level shown: debug, info, warn or error")
	keyflags.AddVaultPassphraseFile(fl, &passphraseFile) // read once, at start
	daemonFlags = statusCmd.AddDaemonFlags(cmd, f)
	cmd.AddCommand(statusCmd.NewCmdStatus(f, daemonFlags.SocketPath, nil))
	return cmd
}

func run(cmd *cobra.Command, opts *RunOptions) error {
	hopts := &slog.HandlerOptions{Level: logLevels[opts.LogLevel]}
	var h slog.Handler
	if opts.LogFormat == "json" {
		h = slog.NewJSONHandler(opts.IO.ErrOut, hopts)
	} else {
		h = slog.NewTextHandler(opts.IO.ErrOut, hopts)
	}
	logger := slog.New(h).With("component", "palyra-daemon")
	opts.Daemon.Logger = logger
	if opts.Daemon.Vault.OnTightened == nil {
		// The vault tightens what other users can only read on every open
		// (docs/SECURITY.md); the daemon says so in its log.
		opts.Daemon.Vault.OnTightened = func(path string, from, to fs.FileMode) {
			logger.Warn("tightened a vault path other users could read", "path", path,
				"from", fmt.Sprintf("%04o", uint32(from.Perm())), "to", fmt.Sprintf("%04o", uint32(to.Perm())))
		}
	}
	if opts.Daemon.Vault.OnBackendNotice == nil {
		opts.Daemon.Vault.OnBackendNotice = func(n vault.BackendNotice) {
			if n.Replaced != "" {
				logger.Warn("the vault held no secret and moved to the backend asked for", "root", n.Root, "backend", string(n.Chosen), "was", string(n.Replaced))
			}
			for _, s := range n.Skipped {
				logger.Warn("a new vault's auto selection skipped a backend", "root", n.Root, "backend", string(n.Chosen),
					"skipped", string(s.Kind), "locked", s.Locked, "reason", s.Reason, "advice", s.Advice)
			}
		}
	}
	err := daemon.Run(cmd.Context(), opts.Daemon)
	var le *daemon.LoadError
	if errors.As(err, &le) && errors.Is(le.Err, fs.ErrNotExist) {
		return cmdutil.WithHints(err, noConfigHints(opts.Daemon.ConfigPath, os.Getenv(config.EnvConfig))...)
	}
	return err
}

// noConfigHints says how to create the configuration file the daemon did
// not find, or how to point it at another one, given --config (flag) and
// $PALYRA_CONFIG (env) as they were when it looked.
func noConfigHints(flag, env string) []string {
	create := `create it with "palyra secrets configure <setting> <scope> <key>", which stores a secret and writes the file with a reference to it, ` +
		`or write it yourself, mode 0600 (an empty file starts a daemon that serves nothing)`
	switch {
	case flag != "":
		return []string{
			strings.Replace(create, "<key>", "<key> --config "+shared.ShellQuote(flag), 1),
			"or check the path given with --config",
		}
	case env != "":
		return []string{create, fmt.Sprintf("$%s names this file: unset it for the default, or pass --config <file> to read another", config.EnvConfig)}
	default:
		return []string{create, fmt.Sprintf("this is the default path; pass --config <file> or set $%s to read another", config.EnvConfig)}
	}
}
