// Package runrun is what "palyra secrets run" does: resolve secret
// references into environment variables and run a command with them set,
// in the command's environment only. The cobra command (package run) and
// the lean front of palyra (package lean) both parse into Options and call
// Complete, Bind and Run, so the two cannot drift. It links no
// command-line library and no TOML decoder (see Options.ParseRef).
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
package runrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/cli/factory"
	"github.com/palyra/palyra-vault/internal/cli/jsonout"
	"github.com/palyra/palyra-vault/internal/cli/secrets/lookup"
	"github.com/palyra/palyra-vault/internal/cli/secrets/refread"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// Exit codes of a child that could not be started, as shells report them.
const (
	// ExitCannotExecute means the program exists but could not be run.
	ExitCannotExecute = 126
	// ExitCommandNotFound means the program was not found.
	ExitCommandNotFound = 127
)

// Options are the dependencies and flags of "palyra secrets run".
type Options struct {
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
	// palyra daemon ("auto", "never" or "require"; see lookup.DaemonModes).
	Daemon string
	// Lookup reads vault references; nil reads the vault directly.
	Lookup resolve.VaultLookup
	// ParseRef parses the reference of each NAME=<ref> binding. Nil means
	// resolve.ParseString, which reads vault://, env: and file: and
	// refuses a TOML inline table with an error matching
	// resolve.ErrInlineTable: Run then fails with it before it resolves
	// anything (the lean front hands the command line to palyra-extra).
	// The cobra command sets tomlref.Parse, which reads every form.
	ParseRef func(string) (resolve.Ref, error)
}

// Complete takes the command to run from the positional arguments args
// (everything from the first one on, flags of the command included) and
// checks the flags: what the command does with its command line,
// whichever parser read it. Its errors are usage errors and it touches
// nothing.
func (o *Options) Complete(args []string) error {
	o.Command = args
	if o.JSON && !o.DryRun {
		return clierr.UsageErrorf("--json prints the --dry-run report; add --dry-run")
	}
	if len(o.Command) == 0 && !o.DryRun {
		return clierr.WithHints(clierr.UsageErrorf("missing the command to run"),
			"put it after the flags: palyra secrets run --env NAME=<ref> -- <command> [args...]")
	}
	if err := refread.CheckTrustedDirs(o.TrustedDirs); err != nil {
		return err
	}
	for i, name := range o.PassEnv {
		if !secret.IsKeyMaterialEnv(name) {
			return clierr.WithHints(clierr.UsageErrorf("--pass-env #%d: only a variable that carries key material is held back from the command, and this one is not", i+1),
				"the variables --pass-env takes: "+strings.Join(secret.KeyMaterialEnv(), ", "),
				"every other variable of palyra's environment reaches the command already")
		}
	}
	return lookup.CheckMode(o.Daemon)
}

// Bind gives o its dependencies from f, after the vault flags took effect
// (vaultflags.Prepare): the streams, the vault, which run never creates
// (a reference into a vault that does not exist is missing), and the
// daemon lookup.
func (o *Options) Bind(f *factory.Factory) {
	o.IO = f.IOStreams
	o.Vault = f.Vault
	o.VaultConfig = f.VaultConfig
	direct := &refread.ExistingVault{Config: o.VaultConfig, Open: o.Vault}
	o.Lookup = lookup.New(f, o.Daemon, direct.Get)
}

// resolved is a binding with its value.
type resolved struct {
	binding
	value secret.SensitiveBytes
	unset bool // optional and missing
}

// collect reads the env file, then the --env flags; a flag replaces the
// file's binding of the same name.
func collect(opts *Options) ([]binding, error) {
	var out []binding
	index := map[string]int{}
	if opts.EnvFile != "" {
		bs, err := parseEnvFile(opts.parseRef, opts.EnvFile)
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
		b, err := parseBinding(opts.parseRef, e, fmt.Sprintf("--env #%d", i+1))
		if err != nil {
			return nil, &clierr.UsageError{Err: err}
		}
		if flagSeen[b.Name] {
			return nil, clierr.UsageErrorf("--env #%d: %s is given twice", i+1, b.Name)
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
func resolveAll(ctx context.Context, opts *Options, bs []binding) ([]resolved, error) {
	var vl resolve.VaultLookup = &refread.ExistingVault{Config: opts.VaultConfig, Open: opts.Vault}
	if opts.Lookup != nil {
		vl = opts.Lookup
	}
	r := resolve.New(vl, resolve.Options{TrustedDirs: opts.TrustedDirs})
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
			errs = append(errs, fmt.Sprintf("%s (%s, %s): %v", b.Name, b.Origin, refread.DisplayRef(b.Ref), err))
		}
	}
	if len(errs) > 0 {
		wipe(out)
		msg := "cannot resolve " + errs[0]
		if len(errs) > 1 {
			msg = fmt.Sprintf("cannot resolve %d references:\n%s", len(errs), strings.Join(errs, "\n"))
		}
		hints := append([]string{"nothing was run"}, refread.ResolveHints(first)...)
		return nil, clierr.WithHints(&refread.ListError{Msg: msg, First: first}, hints...)
	}
	return out, nil
}

// parseRef parses a binding's reference with ParseRef, else
// resolve.ParseString.
func (opts *Options) parseRef(s string) (resolve.Ref, error) {
	if opts.ParseRef != nil {
		return opts.ParseRef(s)
	}
	return resolve.ParseString(s)
}

func wipe(rs []resolved) {
	for _, r := range rs {
		r.value.Wipe()
	}
}

// Run runs the command with o, whose Complete and Bind have been called:
// it reads the --env-file, then the --env flags (a flag replaces the
// file's binding of the same name), resolves every reference (one that
// fails stops everything: nothing is run), and runs the command with them
// set, or with --dry-run reports them. A command that ran and exited
// non-zero is a silent *clierr.ExitError with its status. With a nil
// ParseRef, a reference written as a TOML inline table fails with an error
// matching resolve.ErrInlineTable before anything is resolved or run.
func Run(ctx context.Context, opts *Options) error {
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
			fmt.Fprintf(opts.IO.ErrOut, "palyra: warning: %s is not set: its optional reference (%s) has no value\n", r.Name, refread.DisplayRef(r.Ref))
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
		return &clierr.ExitError{Code: code}
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
		return "", &clierr.ExitError{Code: ExitCommandNotFound, Err: clierr.WithHints(
			fmt.Errorf("command %q not found", name), "check the name and $PATH; nothing was run")}
	}
	return "", &clierr.ExitError{Code: ExitCannotExecute, Err: fmt.Errorf("cannot run %q: %w", name, errors.Unwrap(err))}
}

// startError turns a failed Start into the shell's exit codes.
func startError(name string, err error) error {
	code := ExitCannotExecute
	if errors.Is(err, os.ErrNotExist) {
		code = ExitCommandNotFound
	}
	return &clierr.ExitError{Code: code, Err: fmt.Errorf("cannot run %q: %w", name, unwrapExec(err))}
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

func report(opts *Options, rs []resolved) error {
	if opts.JSON {
		out := make([]dryRunJSON, len(rs))
		for i, r := range rs {
			out[i] = dryRunJSON{Name: r.Name, Ref: refread.DisplayRef(r.Ref), Source: string(r.Ref.Source), Fingerprint: r.Ref.String(), Set: !r.unset, Size: r.value.Len()}
		}
		return jsonout.Print(opts.IO, out)
	}
	var b strings.Builder
	for _, r := range rs {
		state := fmt.Sprintf("%d bytes", r.value.Len())
		if r.unset {
			state = "not set (optional, missing)"
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\n", r.Name, refread.DisplayRef(r.Ref), state)
	}
	_, err := fmt.Fprint(opts.IO.Out, b.String())
	return err
}
