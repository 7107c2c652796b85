// Package report ends a palyra command: it decides the exit code from the
// command's error, in this one place, and prints the error in palyra's
// format ("palyra: error: …" then "palyra: hint: …" lines on stderr). The
// cobra command tree (package cli) and the lean front of palyra (package
// lean) both end with Finish, so an error reads and exits alike whichever
// ran the command. It links no command-line library.
package report

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/cli/factory"
	"github.com/palyra/palyra-vault/internal/cli/secrets/keyflags"
	"github.com/palyra/palyra-vault/internal/cli/secrets/vaultflags"
	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// Exit codes of the palyra command. They are decided only by Code; a
// command that returns a *clierr.ExitError chooses its own ("secrets run"
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

// Finish ends a command that ran on f and returned err: it closes f's
// vault (a failure to close after a success is a warning: the command's
// writes are already durable), prints err with its hints on w unless it is
// a silent *clierr.ExitError, and returns the exit code. commandPath
// ("palyra secrets get") is the command that ran, for the hint that points
// at its --help after a usage error; "" when none is known.
func Finish(w io.Writer, f *factory.Factory, commandPath string, err error) int {
	if cerr := f.Close(); cerr != nil && err == nil {
		fmt.Fprintf(w, "palyra: warning: closing the vault: %v\n", cerr)
	}
	if err == nil {
		return ExitOK
	}
	if _, silent, ok := clierr.ExitCode(err); !ok || !silent {
		Print(w, commandPath, err)
	}
	return Code(err)
}

// Code maps an error to the documented exit code.
func Code(err error) int {
	var usage *clierr.UsageError
	if code, _, ok := clierr.ExitCode(err); ok {
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

// Print writes err as "palyra: error: …" (one such line per line of
// the message), then each hint as "palyra: hint: …".
func Print(w io.Writer, commandPath string, err error) {
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(err.Error(), "\n"), "\n") {
		b.WriteString("palyra: error: " + line + "\n")
	}
	for _, h := range hintsFor(commandPath, err) {
		b.WriteString("palyra: hint: " + h + "\n")
	}
	_, _ = io.WriteString(w, b.String())
}

// hintsFor returns the hints a command attached to err, else the default
// hints of err's sentinel; a usage error also points at commandPath's --help.
func hintsFor(commandPath string, err error) []string {
	hints := clierr.Hints(err)
	if len(hints) == 0 {
		hints = defaultHints(err)
	}
	var usage *clierr.UsageError
	if errors.As(err, &usage) || Code(err) == ExitUsage {
		if commandPath != "" {
			hints = append(hints, fmt.Sprintf("run %q for usage", commandPath+" --help"))
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
			"another palyra process held the vault's lock all that time: let it finish. A lock file is named above (find its holder with lsof or fuser on it); on a vault shared on etcd, the host and process named above hold its key-state lock",
			"to wait longer, set --lock-timeout or $" + vaultflags.EnvLockTimeout + " (0 waits as long as it takes)",
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
