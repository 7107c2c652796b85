// Package cli is the palyra command line: Main builds the command tree with
// injected streams, runs it, prints any error in palyra's format and decides
// the exit code, all in this one place.
//
// UI rules (docs/CLI.md has the full list): results go to stdout and
// nothing else does; errors, hints and warnings go to stderr prefixed with
// "palyra: ", one hint per line; prompts go to the terminal; a secret value
// is printed only by "get --reveal" and never appears in an error.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// Exit codes of the palyra command. They are decided only by exitCode; a
// command that returns a *cmdutil.ExitError chooses its own ("secrets run"
// passes on its child's exit status).
const (
	// ExitOK means the command did what it was asked.
	ExitOK = 0
	// ExitError means the command failed for any reason not listed below:
	// the vault could not be opened, a value was empty or too large, an
	// object was damaged, a key was wrong.
	ExitError = 1
	// ExitUsage means the command line was wrong: an unknown command or
	// flag, a wrong number of arguments, or a scope, key or ref that breaks
	// the naming rules.
	ExitUsage = 2
	// ExitNotFound means the secret asked for is not stored.
	ExitNotFound = 3
	// ExitUnreachable means the vault's shared store (an etcd cluster) did
	// not answer within its deadline; the error names the endpoints.
	ExitUnreachable = 5
	// ExitInterrupted means the user pressed Ctrl-C at a prompt (128+SIGINT,
	// as shells report it).
	ExitInterrupted = 130
)

// Main runs palyra with the process's arguments and streams and returns the
// exit code; cmd/palyra passes it to os.Exit.
func Main() int { return MainWith(nil) }

// MainWith is Main for a program that builds the commands in extra itself
// (cmdutil.Factory.Extra): palyra-extra passes them, palyra none.
func MainWith(extra map[string]func(*cmdutil.Factory) *cobra.Command) int {
	return RunWith(context.Background(), iostreams.System(), os.Args[1:], extra)
}

// Run runs palyra with args (without the program name) on ios and returns
// the exit code. It never calls os.Exit, so tests run it in-process.
func Run(ctx context.Context, ios *iostreams.IOStreams, args []string) int {
	return RunWith(ctx, ios, args, nil)
}

// RunWith is Run with the commands in extra built for real (MainWith).
func RunWith(ctx context.Context, ios *iostreams.IOStreams, args []string, extra map[string]func(*cmdutil.Factory) *cobra.Command) int {
	return runWith(ctx, ios, args, extra, newCmdRootFor)
}

// runWith is RunWith with the function that builds the command tree for args.
func runWith(ctx context.Context, ios *iostreams.IOStreams, args []string, extra map[string]func(*cmdutil.Factory) *cobra.Command, build func(*cmdutil.Factory, []string) *cobra.Command) int {
	f := cmdutil.NewFactory(ios)
	f.Extra = extra
	f.Args = args
	root := build(f, args)
	root.SetFlagErrorFunc(flagErrorFor(args))
	root.SetArgs(args)
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)

	cmd, err := root.ExecuteContextC(ctx)
	if cerr := f.Close(); cerr != nil {
		if err == nil {
			// The command's writes are already durable; say so rather than fail.
			fmt.Fprintf(ios.ErrOut, "palyra: warning: closing the vault: %v\n", cerr)
		}
	}
	if err == nil {
		return ExitOK
	}
	if _, silent, ok := cmdutil.ExitCode(err); !ok || !silent {
		printError(ios.ErrOut, cmd, err)
	}
	return exitCode(err)
}

// exitCode maps an error to the documented exit code.
func exitCode(err error) int {
	var usage *cmdutil.UsageError
	if code, _, ok := cmdutil.ExitCode(err); ok {
		// A command's chosen code: "secrets run" passes on its child's.
		return code
	}
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &usage),
		errors.Is(err, secret.ErrInvalidScope),
		errors.Is(err, secret.ErrInvalidKey),
		errors.Is(err, secret.ErrInvalidRef):
		return ExitUsage
	case errors.Is(err, vault.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, vault.ErrUnreachable):
		return ExitUnreachable
	case errors.Is(err, iostreams.ErrInterrupted):
		return ExitInterrupted
	default:
		return ExitError
	}
}

// printError writes err as "palyra: error: …" (one such line per line of
// the message), then each hint as "palyra: hint: …".
func printError(w io.Writer, cmd *cobra.Command, err error) {
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(err.Error(), "\n"), "\n") {
		b.WriteString("palyra: error: " + line + "\n")
	}
	for _, h := range hintsFor(cmd, err) {
		b.WriteString("palyra: hint: " + h + "\n")
	}
	_, _ = io.WriteString(w, b.String())
}

// hintsFor returns the hints a command attached to err, else the default
// hints of err's sentinel; a usage error also points at --help.
func hintsFor(cmd *cobra.Command, err error) []string {
	hints := cmdutil.Hints(err)
	if len(hints) == 0 {
		hints = defaultHints(err)
	}
	var usage *cmdutil.UsageError
	if errors.As(err, &usage) || exitCode(err) == ExitUsage {
		if cmd != nil {
			hints = append(hints, fmt.Sprintf("run %q for usage", cmd.CommandPath()+" --help"))
		}
	}
	return hints
}

func defaultHints(err error) []string {
	switch {
	case errors.Is(err, vault.ErrWrongPassphrase), errors.Is(err, vault.ErrPassphraseRequired):
		// The vault asks for its passphrase at the first Get or Put, not
		// when it is opened, so any verb may meet these.
		return keyflags.Hints(err)
	case errors.Is(err, vault.ErrNotFound):
		return []string{`run "palyra secrets list" to see what is stored`}
	case errors.Is(err, vault.ErrPermission):
		hints := []string{"palyra keeps its directories at mode 0700 and its files at 0600, owned by you and reached through no symlink"}
		var unsafe *fsutil.UnsafeError
		if errors.As(err, &unsafe) && unsafe.Fix != "" {
			hints = append(hints, "to fix it: "+unsafe.Fix)
		}
		return hints
	case errors.Is(err, vault.ErrNotMember):
		return []string{`a host becomes a member when a member host runs the command above; "palyra secrets host-key" prints this host's recipient`}
	case errors.Is(err, vault.ErrWrongKey):
		return []string{"the secret was sealed under another key: restore the device key (keys/device.key under the state root) that wrote it, or point --state-root at it"}
	case errors.Is(err, vault.ErrCorrupt):
		return []string{"the stored object was damaged, truncated, edited or moved; restore it from a backup, or delete the secret and set it again"}
	case errors.Is(err, vault.ErrLockTimeout):
		return []string{
			"another palyra process held the vault's writer lock (the file named above) all that time: let it finish, or find it with lsof or fuser on that file",
			"to wait longer, set --lock-timeout or $" + secrets.EnvLockTimeout + " (0 waits as long as it takes)",
		}
	case errors.Is(err, vault.ErrUnreachable):
		return []string{
			"check that the etcd members run and that this host reaches them: \"palyra secrets doctor\" checks each endpoint",
			"this host's connection settings are etcd.json in the vault root; the deadline of every call is its \"timeout\" (default 5s)",
		}
	case errors.Is(err, vault.ErrBackendUnavailable):
		return []string{"a vault keeps the backend named in its backend.kind marker; --backend and $" + vault.EnvBackend + " choose the backend of a new vault only"}
	}
	return nil
}
