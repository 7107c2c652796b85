// Package inject implements "palyra secrets inject": fill the secret
// references in a template ("{{ vault://scope/key }}") with their values
// and write the result to a file (atomically, mode 0600) or to stdout.
// Every reference is resolved before anything is written, so a reference
// that fails writes nothing at all.
package inject

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/internal/readlimit"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// MaxTemplateSize bounds the template: 4 MiB.
const MaxTemplateSize = 4 << 20

// InjectOptions are the dependencies and flags of "palyra secrets inject".
type InjectOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)
	// VaultConfig says which vault; one that does not exist is never
	// created, its references are missing.
	VaultConfig vault.Config

	// Input is -i: the template file, "-" for stdin.
	Input string
	// Output is -o: the file to write, "" or "-" for stdout.
	Output string
	// TrustedDirs are the directories file: references may read from.
	TrustedDirs []string
	// JSON prints what was written as JSON (with -o only).
	JSON bool

	// Daemon is --daemon: whether vault references are asked of a running
	// palyra daemon ("auto", "never" or "require"; see shared.DaemonModes).
	Daemon string
	// Lookup reads vault references; nil reads the vault directly.
	Lookup resolve.VaultLookup
}

// NewCmdInject returns the "inject" command. When runF is not nil it is
// called with the parsed options instead of injectRun, so tests can check
// parsing.
func NewCmdInject(f *cmdutil.Factory, runF func(*InjectOptions) error) *cobra.Command {
	opts := &InjectOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "inject -i TEMPLATE [-o OUT]",
		Short: "Fill the secret references in a template with their values",
		Long: `Copy a template, replacing each placeholder {{ <reference> }} with the
secret it names, and write the result to OUT (or to stdout).

A placeholder is "{{", optional blanks, a reference, optional blanks, "}}",
all on one line. The reference is any string form (docs/REFERENCES.md):

  {{ vault://global/openai_api_key }}      a secret in the vault
  {{ env:DATABASE_PASSWORD }}              an environment variable
  {{ file:/run/secrets/tls.key }}          a file inside a --trusted-dir
  {{ { exec = ["pass", "show", "x"] } }}   any reference as a TOML inline table

Other "{{ … }}" (Go templates, Jinja, Mustache) are copied as they are, so a
template for another tool can carry palyra references too. The value is
inserted byte for byte, without quoting or escaping.

With --daemon auto (the default) vault references are asked of a running
palyra daemon, as "palyra secrets get" does; --daemon never reads the vault
only, --daemon require fails without a daemon.

Every reference is resolved before anything is written: if one fails
(missing, blocked, invalid), the command fails, names the placeholder's
line and column, and writes nothing; an existing OUT is left as it was.
An optional reference (required = false) that is missing becomes empty.

OUT is written atomically (temporary file, fsync, rename) with mode 0600,
whatever its previous mode; it may not be the template itself. Without
-o (or with -o -) the result goes to stdout. The template is read from
stdin with -i -.`,
		Example: `  # Render an env file for docker compose
  palyra secrets inject -i .env.tmpl -o .env

  # A config file from a template on stdin, to stdout
  printf 'api_key = "{{ vault://global/openai_api_key }}"\n' | palyra secrets inject -i -

  # Report what was written, for scripts
  palyra secrets inject -i app.yaml.tmpl -o app.yaml --json`,
		Args: cmdutil.MaxArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Input == "" {
				return cmdutil.WithHints(cmdutil.UsageErrorf("missing -i TEMPLATE"), "use -i - to read the template from stdin")
			}
			if opts.JSON && toStdout(opts.Output) {
				return cmdutil.UsageErrorf("--json describes the file written with -o; without -o the result itself goes to stdout")
			}
			if err := shared.CheckTrustedDirs(opts.TrustedDirs); err != nil {
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
			return injectRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Input, "in", "i", "", "the template `FILE` (- for stdin)")
	cmd.Flags().StringVarP(&opts.Output, "out", "o", "", "write the result to `FILE` (mode 0600) instead of stdout")
	cmd.Flags().StringArrayVar(&opts.TrustedDirs, "trusted-dir", nil, "a `DIR` that file: references may read from (repeatable)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print what was written as JSON (with -o)")
	shared.DaemonFlag(cmd, &opts.Daemon)
	return cmd
}

func toStdout(out string) bool { return out == "" || out == "-" }

// injectJSON is the JSON form of inject's result: never a value.
type injectJSON struct {
	Output     string   `json:"output"`
	Bytes      int      `json:"bytes"`
	References []string `json:"references"`
}

func injectRun(ctx context.Context, opts *InjectOptions) error {
	src, err := readTemplate(opts)
	if err != nil {
		return err
	}
	if !toStdout(opts.Output) && opts.Input != "-" && sameFile(opts.Input, opts.Output) {
		return cmdutil.UsageErrorf("-o %q is the template itself; write the result to another file", opts.Output)
	}
	phs, err := parseTemplate(src)
	if err != nil {
		return fmt.Errorf("template %s: %w; nothing was written", name(opts.Input), err)
	}

	values, err := resolveAll(ctx, opts, phs)
	if err != nil {
		return err
	}
	defer func() {
		for _, v := range values {
			v.Wipe()
		}
	}()

	size := len(src)
	for _, ph := range phs {
		size += values[ph.text].Len() - (ph.end - ph.start)
	}
	out := make([]byte, 0, size)
	defer clear(out[:cap(out)])
	pos := 0
	for _, ph := range phs {
		out = append(out, src[pos:ph.start]...)
		out = append(out, values[ph.text].Reveal()...)
		pos = ph.end
	}
	out = append(out, src[pos:]...)

	if toStdout(opts.Output) {
		if opts.IO.IsStdoutTTY() && len(phs) > 0 {
			fmt.Fprintln(opts.IO.ErrOut, "palyra: warning: printing secret values to the terminal; they may stay in the scrollback")
		}
		if _, err := opts.IO.Out.Write(out); err != nil {
			return fmt.Errorf("writing the result: %w", err)
		}
		return nil
	}
	if err := fsutil.WriteFileAtomic(opts.Output, out, 0o600); err != nil {
		if errors.Is(err, fsutil.ErrUnsafe) {
			return cmdutil.WithHints(fmt.Errorf("%w; nothing was written", err), "palyra writes results only to regular files, never through a symbolic link")
		}
		return fmt.Errorf("%w; nothing was written", err)
	}
	if opts.JSON {
		refs := make([]string, 0, len(phs))
		seen := map[string]bool{}
		for _, ph := range phs {
			if d := shared.DisplayRef(ph.ref); !seen[d] {
				seen[d] = true
				refs = append(refs, d)
			}
		}
		return cmdutil.PrintJSON(opts.IO, injectJSON{Output: opts.Output, Bytes: len(out), References: refs})
	}
	_, err = fmt.Fprintf(opts.IO.Out, "wrote %s (%d bytes, %d %s replaced)\n", opts.Output, len(out), len(phs), plural(len(phs), "placeholder", "placeholders"))
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func name(input string) string {
	if input == "-" {
		return "on stdin"
	}
	return fmt.Sprintf("%q", input)
}

func readTemplate(opts *InjectOptions) ([]byte, error) {
	var r io.Reader = opts.IO.In
	if opts.Input != "-" {
		f, err := os.Open(opts.Input)
		if err != nil {
			return nil, fmt.Errorf("reading the template: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := readlimit.ReadAll(r, MaxTemplateSize, 0)
	if errors.Is(err, readlimit.ErrTooLarge) {
		return nil, fmt.Errorf("the template %s is larger than %d bytes; nothing was written", name(opts.Input), MaxTemplateSize)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the template %s: %w", name(opts.Input), err)
	}
	return data, nil
}

// sameFile reports whether a and b name the same existing file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(fa, fb)
}

// resolveAll resolves each distinct reference once, keyed by its text. On
// any failure it wipes what it resolved and lists every failure by
// position.
func resolveAll(ctx context.Context, opts *InjectOptions, phs []placeholder) (map[string]secret.SensitiveBytes, error) {
	var lookup resolve.VaultLookup = &shared.ExistingVault{Config: opts.VaultConfig, Open: opts.Vault}
	if opts.Lookup != nil {
		lookup = opts.Lookup
	}
	r := resolve.New(lookup, resolve.Options{TrustedDirs: opts.TrustedDirs})
	values := map[string]secret.SensitiveBytes{}
	failed := map[string]bool{}
	var errs []string
	var first error
	for _, ph := range phs {
		if _, done := values[ph.text]; done || failed[ph.text] {
			continue
		}
		v, err := r.Resolve(ctx, ph.ref)
		switch {
		case err == nil:
			values[ph.text] = v
		case !ph.ref.Required() && errors.Is(err, resolve.ErrMissing):
			values[ph.text] = secret.SensitiveBytes{}
		default:
			failed[ph.text] = true
			if first == nil {
				first = err
			}
			errs = append(errs, fmt.Sprintf("line %d, column %d (%s): %v", ph.line, ph.col, shared.DisplayRef(ph.ref), err))
		}
	}
	if len(errs) == 0 {
		return values, nil
	}
	for _, v := range values {
		v.Wipe()
	}
	msg := fmt.Sprintf("template %s: cannot resolve %s", name(opts.Input), errs[0])
	if len(errs) > 1 {
		msg = fmt.Sprintf("template %s: cannot resolve %d references:\n%s", name(opts.Input), len(errs), strings.Join(errs, "\n"))
	}
	hints := append([]string{"nothing was written"}, shared.ResolveHints(first)...)
	return nil, cmdutil.WithHints(&shared.ListError{Msg: msg, First: first}, hints...)
}
