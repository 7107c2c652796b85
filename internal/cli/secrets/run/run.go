// Package run implements "palyra secrets run": resolve secret references
// into environment variables and run a command with them set, in the
// child's environment only.
//
// The child's standard output and standard error pass through a masker
// that replaces every resolved value with [REDACTED], so a program that
// prints its credentials (a debug log, a crash dump) does not leak them to
// a terminal or a CI log. When palyra's standard output is a terminal the
// child runs on a pseudo-terminal of its own, so it still sees a terminal
// (colours, line editing, full-screen programs) while its output is
// masked. Signals are forwarded, and palyra exits with the child's exit
// status (128+N when the child was killed by signal N), printing nothing
// of its own.
package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// Exit codes of a child that could not be started, as shells report them.
const (
	// ExitCannotExecute means the program exists but could not be run.
	ExitCannotExecute = 126
	// ExitCommandNotFound means the program was not found.
	ExitCommandNotFound = 127
)

// RunOptions are the dependencies and flags of "palyra secrets run".
type RunOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)
	// VaultConfig says which vault; a vault that does not exist is never
	// created, its references are missing.
	VaultConfig vault.Config

	// Env are the --env NAME=<reference> flags, in order.
	Env []string
	// EnvFile is --env-file: NAME=<reference> lines.
	EnvFile string
	// TrustedDirs are the directories file: references may read from.
	TrustedDirs []string
	// PassEnv are the --pass-env NAME flags: variables that carry key
	// material (secret.KeyMaterialEnv) that the command gets all the same.
	PassEnv []string
	// NoMasking passes the child's output on unmasked.
	NoMasking bool
	// DryRun resolves every reference and reports, without running.
	DryRun bool
	// JSON prints the dry-run report as JSON.
	JSON bool
	// Command is the program and its arguments.
	Command []string

	// Hold is how long the masker keeps back a possible start of a secret;
	// 0 means DefaultHold.
	Hold time.Duration

	// Daemon is --daemon: whether vault references are asked of a running
	// palyra daemon ("auto", "never" or "require"; see shared.DaemonModes).
	Daemon string
	// Lookup reads vault references; nil reads the vault directly.
	Lookup resolve.VaultLookup
}

// NewCmdRun returns the "run" command. When runF is not nil it is called
// with the parsed options instead of runRun, so tests can check parsing.
func NewCmdRun(f *cmdutil.Factory, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "run [--env NAME=<ref>]... [--env-file FILE] [flags] -- <command> [args...]",
		Short: "Run a command with secrets in its environment, masking them in its output",
		Long: `Resolve secret references and run a command with them as environment
variables. The variables are set in the command's environment only, never
in palyra's own, and never on a command line.

A reference is vault://<scope>/<key>, env:<NAME>, file:<path> or a TOML
inline table such as { exec = ["pass", "show", "openai"] } (see
docs/REFERENCES.md). Give them with --env NAME=<ref> (repeatable) or in an
--env-file of NAME=<ref> lines (blank lines and # comments are ignored; a
leading "export " and quotes around the reference are allowed); --env wins
over the file for the same name. file: references are read only inside a
--trusted-dir (or the reference's own trusted_dirs). Every reference is
resolved before the command starts: one that fails stops everything, and
the command is not run. An optional reference (required = false) that is
missing leaves its variable unset.

Daemon: with --daemon auto (the default) vault references are asked of the
palyra daemon when one runs on this state root (its policy applies, see
docs/DAEMON.md), and read from the vault directly when none answers or
when --vault-dir or $PALYRA_VAULT_DIR names a vault; --daemon never reads
the vault only, --daemon require fails without a daemon.

Masking: every resolved value that the command writes to its standard
output or standard error is replaced with [REDACTED], even when it is
split across writes. Output that might be the start of a secret is held
back until the next bytes decide it, or for at most 150 ms when nothing
follows. --no-masking turns masking off and connects the command straight
to palyra's streams.

Terminals: when standard output is a terminal (and masking is on), the
command runs on a pseudo-terminal of its own, so it sees a terminal
(colours, prompts, full-screen programs keep working) while its output is
masked; palyra's terminal is put in raw mode and keystrokes pass through.
Otherwise the command gets pipes.

Signals: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to
palyra are passed to the command; a window size change resizes its
pseudo-terminal. With pipes, Ctrl-C typed at the terminal already reaches
the command (it shares palyra's process group), so it is not sent twice.

Exit status: the command's own; 128+N when it was killed by signal N;
126 when it could not be executed and 127 when it was not found. palyra
prints nothing of its own after a command that ran.

Key material: the command does not get the variables that carry key
material (PALYRA_VAULT_PASSPHRASE, PALYRA_VAULT_NEW_PASSPHRASE,
PALYRA_BACKUP_PASSPHRASE), which would let it open the whole vault, unless
one is named with --pass-env NAME. Their values are masked in its output
like resolved secrets, passed or not.

--dry-run resolves everything and prints each variable's name, reference
and size (never a value) instead of running; add --json for scripts.`,
		Example: `  # One variable from the vault
  palyra secrets run --env OPENAI_API_KEY=vault://global/openai_api_key -- python agent.py

  # Many from a file; masking shows [REDACTED] if the program prints one
  palyra secrets run --env-file .env.refs -- ./deploy.sh --prod

  # Check that every reference resolves, without running anything
  palyra secrets run --env-file .env.refs --dry-run --json`,
		Args: func(cmd *cobra.Command, args []string) error { return nil },
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Command = args
			if err := checkFlags(opts); err != nil {
				return err
			}
			if err := shared.CheckDaemonMode(opts.Daemon); err != nil {
				return err
			}
			opts.Vault = f.Vault
			opts.VaultConfig = f.VaultConfig
			direct := &shared.ExistingVault{Config: opts.VaultConfig, Open: opts.Vault}
			opts.Lookup = shared.NewVaultLookup(f, opts.Daemon, direct.Get)
			if runF != nil {
				return runF(opts)
			}
			return runRun(cmd.Context(), opts)
		},
	}
	// Flags after the program's name belong to the program.
	cmd.Flags().SetInterspersed(false)
	shared.DaemonFlag(cmd, &opts.Daemon)
	cmd.Flags().StringArrayVarP(&opts.Env, "env", "e", nil, "set `NAME=<ref>` in the command's environment (repeatable)")
	cmd.Flags().StringVar(&opts.EnvFile, "env-file", "", "read NAME=<ref> lines from `FILE`")
	cmd.Flags().StringArrayVar(&opts.TrustedDirs, "trusted-dir", nil, "a `DIR` that file: references may read from (repeatable)")
	cmd.Flags().StringArrayVar(&opts.PassEnv, "pass-env", nil, "give the command `NAME`, a variable that carries key material (such as PALYRA_VAULT_PASSPHRASE), which it does not get otherwise (repeatable)")
	cmd.Flags().BoolVar(&opts.NoMasking, "no-masking", false, "pass the command's output on without masking secrets")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "resolve every reference and report, without running the command")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the --dry-run report as JSON")
	return cmd
}

func checkFlags(opts *RunOptions) error {
	if opts.JSON && !opts.DryRun {
		return cmdutil.UsageErrorf("--json prints the --dry-run report; add --dry-run")
	}
	if len(opts.Command) == 0 && !opts.DryRun {
		return cmdutil.WithHints(cmdutil.UsageErrorf("missing the command to run"),
			"put it after the flags: palyra secrets run --env NAME=<ref> -- <command> [args...]")
	}
	if err := shared.CheckTrustedDirs(opts.TrustedDirs); err != nil {
		return err
	}
	for i, name := range opts.PassEnv {
		if !secret.IsKeyMaterialEnv(name) {
			return cmdutil.WithHints(cmdutil.UsageErrorf("--pass-env #%d: only a variable that carries key material is held back from the command, and this one is not", i+1),
				"the variables --pass-env takes: "+strings.Join(secret.KeyMaterialEnv(), ", "),
				"every other variable of palyra's environment reaches the command already")
		}
	}
	return nil
}

// resolved is a binding with its value.
type resolved struct {
	binding
	value secret.SensitiveBytes
	unset bool // optional and missing
}

// collect reads the env file, then the --env flags; a flag replaces the
// file's binding of the same name.
func collect(opts *RunOptions) ([]binding, error) {
	var out []binding
	index := map[string]int{}
	if opts.EnvFile != "" {
		bs, err := parseEnvFile(opts.EnvFile)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			index[b.Name] = len(out)
			out = append(out, b)
		}
	}
	flagSeen := map[string]bool{}
	for i, e := range opts.Env {
		b, err := parseBinding(e, fmt.Sprintf("--env #%d", i+1))
		if err != nil {
			return nil, &cmdutil.UsageError{Err: err}
		}
		if flagSeen[b.Name] {
			return nil, cmdutil.UsageErrorf("--env #%d: %s is given twice", i+1, b.Name)
		}
		flagSeen[b.Name] = true
		if j, ok := index[b.Name]; ok {
			out[j] = b
			continue
		}
		index[b.Name] = len(out)
		out = append(out, b)
	}
	return out, nil
}

// resolveAll resolves every binding. It fails, wiping what it resolved,
// when any required one fails; the error lists every failure.
func resolveAll(ctx context.Context, opts *RunOptions, bs []binding) ([]resolved, error) {
	var lookup resolve.VaultLookup = &shared.ExistingVault{Config: opts.VaultConfig, Open: opts.Vault}
	if opts.Lookup != nil {
		lookup = opts.Lookup
	}
	r := resolve.New(lookup, resolve.Options{TrustedDirs: opts.TrustedDirs})
	out := make([]resolved, 0, len(bs))
	var errs []string
	var first error
	for _, b := range bs {
		v, err := r.Resolve(ctx, b.Ref)
		switch {
		case err == nil:
			out = append(out, resolved{binding: b, value: v})
		case !b.Ref.Required() && errors.Is(err, resolve.ErrMissing):
			out = append(out, resolved{binding: b, unset: true})
		default:
			if first == nil {
				first = err
			}
			errs = append(errs, fmt.Sprintf("%s (%s, %s): %v", b.Name, b.Origin, shared.DisplayRef(b.Ref), err))
		}
	}
	if len(errs) > 0 {
		wipe(out)
		msg := "cannot resolve " + errs[0]
		if len(errs) > 1 {
			msg = fmt.Sprintf("cannot resolve %d references:\n%s", len(errs), strings.Join(errs, "\n"))
		}
		hints := append([]string{"nothing was run"}, shared.ResolveHints(first)...)
		return nil, cmdutil.WithHints(&shared.ListError{Msg: msg, First: first}, hints...)
	}
	return out, nil
}

func wipe(rs []resolved) {
	for _, r := range rs {
		r.value.Wipe()
	}
}

func runRun(ctx context.Context, opts *RunOptions) error {
	bs, err := collect(opts)
	if err != nil {
		return err
	}
	rs, err := resolveAll(ctx, opts, bs)
	if err != nil {
		return err
	}
	defer wipe(rs)
	for _, r := range rs {
		if r.unset {
			fmt.Fprintf(opts.IO.ErrOut, "palyra: warning: %s is not set: its optional reference (%s) has no value\n", r.Name, shared.DisplayRef(r.Ref))
		}
	}
	if opts.DryRun {
		return report(opts, rs)
	}

	env := childEnv(os.Environ(), opts.PassEnv)
	var secrets [][]byte
	if !opts.NoMasking {
		keys := secret.KeyMaterialValues()
		defer func() {
			for _, k := range keys {
				clear(k)
			}
		}()
		secrets = append(secrets, keys...)
	}
	for _, r := range rs {
		if r.unset {
			continue
		}
		env = setEnv(env, r.Name, string(r.value.Reveal()))
		if !opts.NoMasking {
			secrets = append(secrets, r.value.Reveal())
		}
	}
	code, err := execute(ctx, opts, env, secrets)
	if err != nil {
		return err
	}
	if code != 0 {
		return &cmdutil.ExitError{Code: code}
	}
	return nil
}

// childEnv returns env without the variables that carry key material
// (secret.IsKeyMaterialEnv), apart from those named in pass (--pass-env).
func childEnv(env, pass []string) []string { return secret.WithoutKeyMaterial(env, pass...) }

// setEnv returns env with name set to value, replacing an earlier entry.
func setEnv(env []string, name, value string) []string {
	prefix := name + "="
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return append(out, prefix+value)
}

// lookPath finds the program, turning failures into the shell's exit codes.
func lookPath(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err == nil {
		return path, nil
	}
	if errors.Is(err, exec.ErrNotFound) {
		return "", &cmdutil.ExitError{Code: ExitCommandNotFound, Err: cmdutil.WithHints(
			fmt.Errorf("command %q not found", name), "check the name and $PATH; nothing was run")}
	}
	return "", &cmdutil.ExitError{Code: ExitCannotExecute, Err: fmt.Errorf("cannot run %q: %w", name, errors.Unwrap(err))}
}

// startError turns a failed Start into the shell's exit codes.
func startError(name string, err error) error {
	code := ExitCannotExecute
	if errors.Is(err, os.ErrNotExist) {
		code = ExitCommandNotFound
	}
	return &cmdutil.ExitError{Code: code, Err: fmt.Errorf("cannot run %q: %w", name, unwrapExec(err))}
}

func unwrapExec(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// dryRunJSON is one variable of the --dry-run --json report. It never
// holds the value.
type dryRunJSON struct {
	Name        string `json:"name"`
	Ref         string `json:"ref"`
	Source      string `json:"source"`
	Fingerprint string `json:"fingerprint"`
	Set         bool   `json:"set"`
	Size        int    `json:"size"`
}

func report(opts *RunOptions, rs []resolved) error {
	if opts.JSON {
		out := make([]dryRunJSON, len(rs))
		for i, r := range rs {
			out[i] = dryRunJSON{Name: r.Name, Ref: shared.DisplayRef(r.Ref), Source: string(r.Ref.Source), Fingerprint: r.Ref.String(), Set: !r.unset, Size: r.value.Len()}
		}
		return cmdutil.PrintJSON(opts.IO, out)
	}
	var b strings.Builder
	for _, r := range rs {
		state := fmt.Sprintf("%d bytes", r.value.Len())
		if r.unset {
			state = "not set (optional, missing)"
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\n", r.Name, shared.DisplayRef(r.Ref), state)
	}
	_, err := fmt.Fprint(opts.IO.Out, b.String())
	return err
}
