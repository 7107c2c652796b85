// Package configure implements "palyra secrets configure": store a secret
// and point a palyra.toml setting at it, so that the file holds
// "<setting>_vault_ref = "vault://scope/key"" and no plaintext.
//
// The steps are ordered so that a failure leaves a consistent state: the
// new configuration is computed (and verified) first, so a file that cannot
// be rewritten is refused before anything is stored; then the value is read
// and stored; then the configuration is written atomically with rotating
// backups. When that last write fails, the error says that the secret is
// stored, that the file is unchanged, and how to finish by hand.
package configure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/config"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/secrets/shared"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// ConfigureOptions are the dependencies and flags of "palyra secrets
// configure".
type ConfigureOptions struct {
	IO    *iostreams.IOStreams
	Vault func(context.Context) (*vault.Vault, error)
	// UpdateConfig rewrites the configuration under its lock:
	// config.UpdateConfig, unless a test replaces it.
	UpdateConfig func(ctx context.Context, path string, o config.UpdateOptions, edit config.EditFunc) (existed, wrote bool, err error)
	// LockTimeout bounds the wait for another process's rewrite of the
	// file (--lock-timeout, $PALYRA_VAULT_LOCK_TIMEOUT); 0 waits as long
	// as it takes.
	LockTimeout time.Duration

	// Setting is the dotted setting to point at the vault (a preset
	// already expanded).
	Setting string
	// Preset is the preset name the user gave, or "".
	Preset string
	// Ref is where the secret is stored.
	Ref secret.Ref
	// ConfigPath is --config; "" means $PALYRA_CONFIG, else the default.
	ConfigPath string
	// Backups is how many rotating backups of the file to keep.
	Backups int
	// ValueStdin reads the value from stdin even when it is a terminal.
	ValueStdin bool
	// TrimNewline removes one trailing newline from a value read on stdin.
	TrimNewline bool
	// KeepNewline keeps a trailing newline of a piped value without a
	// warning.
	KeepNewline bool
	// FromConfig takes the value from the setting's current plaintext in
	// the file instead of stdin or the prompt.
	FromConfig bool
	// JSON prints the result as JSON.
	JSON bool
}

const usageLine = "palyra secrets configure <setting> <scope> <key>"

// NewCmdConfigure returns the "configure" command. When runF is not nil it
// is called with the parsed options instead of configureRun, so tests can
// check parsing.
func NewCmdConfigure(f *cmdutil.Factory, runF func(*ConfigureOptions) error) *cobra.Command {
	opts := &ConfigureOptions{IO: f.IOStreams, UpdateConfig: config.UpdateConfig}
	cmd := &cobra.Command{
		Use:   "configure (<setting> | <preset>) (<scope> <key> | vault://<scope>/<key>)",
		Short: "Store a secret and point a palyra.toml setting at it",
		Long: `Store a secret in the vault, then rewrite palyra.toml so that the setting
reads it from there: the field <setting>_vault_ref is set to
"vault://<scope>/<key>" and any plaintext value of the setting is removed.
A preset makes the edits Palyra's own "palyra secrets configure" makes, so
the file stays valid for the Rust platform: it writes the bare
"<scope>/<key>" form, and openai-api-key also sets model_provider.kind =
"openai_compatible", sets model_provider.openai_base_url to
https://api.openai.com/v1 when it holds none, and removes the auth profile
settings (auth_profile_id, auth_profile_ref, auth_provider_kind). A
setting that a *_secret_ref table supplies is refused: a setting has one
value.

The setting is a dotted name in TOML key syntax (model_provider.openai_api_key,
servers."eu.west".token) or one of these presets:

` + presetTable() + `
The value is read like "palyra secrets set" reads it: all of stdin when it
is piped (byte for byte; --trim-newline drops one trailing newline, and
--keep-newline keeps it without a warning), else
typed twice at a no-echo prompt. It never comes from the command line.
With --from-config the value is the setting's current plaintext string in
the file: it moves into the vault without passing through a shell.

The rewrite changes only the setting's line (or adds one): every comment,
blank line, key order and formatting elsewhere is kept. The file is written
atomically with its permission bits (0600 for a new file; missing
directories are created), and the previous version is kept as
<file>.bak.1 … <file>.bak.N (--backups N, default 5, 0 for none; backups
are 0600 because they may hold the removed plaintext).

Order of work: the new file is computed and checked first, so a file that
cannot be rewritten (not valid TOML, or the setting inside an inline table
or an array) is refused before anything is stored; then the secret is
stored; then, under an exclusive lock on .palyra.toml.lock beside the file
(so concurrent runs apply their changes one after the other and none is
lost), the file is read again, the change is applied to what it holds now,
and the file is written. A run that finds the lock held says so after a
second and gives up after --lock-timeout. If the setting itself changed
while the secret was being stored, or the write fails, the secret stays
stored, the file is unchanged, and the error says how to finish.

The file is --config, else $PALYRA_CONFIG, else palyra/palyra.toml in the
user's config directory.`,
		Example: `  # Move the OpenAI key out of palyra.toml (its value is piped in)
  printf '%s' "$OPENAI_API_KEY" | palyra secrets configure openai-api-key global openai_api_key

  # Move the plaintext already in the file into the vault
  palyra secrets configure openai-api-key global openai_api_key --from-config

  # Any dotted setting; type the value at a no-echo prompt
  palyra secrets configure tool_call.browser_service.state_key global browser_state_key

  # An explicit file, keeping two backups, as JSON
  palyra secrets configure model_provider.anthropic_api_key vault://global/anthropic_api_key \
      --config ./palyra.toml --backups 2 --json < key.txt`,
		Args: configureArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			err := parseArgs(opts, args)
			if err != nil {
				return err
			}
			if opts.FromConfig && (opts.ValueStdin || opts.TrimNewline || opts.KeepNewline) {
				return cmdutil.UsageErrorf("--from-config takes the value from the file; it cannot be combined with --value-stdin, --trim-newline or --keep-newline")
			}
			if err := shared.CheckNewlineFlags(opts.TrimNewline, opts.KeepNewline); err != nil {
				return err
			}
			if opts.Backups < 0 || opts.Backups > config.MaxBackups {
				return cmdutil.UsageErrorf("--backups %d: must be between 0 and %d", opts.Backups, config.MaxBackups)
			}
			if opts.ConfigPath, err = shared.ConfigPathFlag(cmd); err != nil {
				return err
			}
			opts.Vault = f.Vault
			opts.LockTimeout = f.VaultConfig.LockTimeout // set by the group's pre-run
			if runF != nil {
				return runF(opts)
			}
			return configureRun(cmd.Context(), opts)
		},
	}
	shared.AddConfigPathFlags(cmd)
	cmd.Flags().IntVar(&opts.Backups, "backups", config.DefaultBackups, "rotating backups of the configuration to keep (0 for none)")
	cmd.Flags().BoolVar(&opts.ValueStdin, "value-stdin", false, "read the value from stdin even when it is a terminal")
	shared.AddNewlineFlags(cmd.Flags(), &opts.TrimNewline, &opts.KeepNewline)
	cmd.Flags().BoolVar(&opts.FromConfig, "from-config", false, "move the setting's current plaintext value from the file into the vault (no stdin, no prompt)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	return cmd
}

func presetTable() string {
	var b strings.Builder
	for _, name := range config.PresetNames() {
		setting, _ := config.Preset(name)
		fmt.Fprintf(&b, "  %-18s %s\n", name, setting)
	}
	return b.String()
}

// configureArgs checks the argument count without repeating the arguments:
// a mistaken extra argument may be the secret itself.
func configureArgs(cmd *cobra.Command, args []string) error {
	n := len(args)
	if n == 2 || n == 3 {
		return nil
	}
	err := cmdutil.UsageErrorf("expected <setting> followed by <scope> <key> or one vault://<scope>/<key>, got %d arguments", n)
	if n > 3 {
		return cmdutil.WithHints(err,
			`secret values are never read from the command line; pipe them on stdin: printf '%s' "$VALUE" | `+usageLine,
			"if an extra argument was a secret, it may now be in your shell history")
	}
	return err
}

func parseArgs(opts *ConfigureOptions, args []string) error {
	name := args[0]
	if setting, ok := config.Preset(name); ok {
		opts.Setting, opts.Preset = setting, name
	} else {
		if !strings.ContainsAny(name, `."'`) && strings.Contains(name, "-") {
			// Not repeated: a mistaken argument may be a secret.
			return cmdutil.WithHints(cmdutil.UsageErrorf("argument 1 (the setting): unknown preset"),
				"presets: "+strings.Join(config.PresetNames(), ", ")+`; any other setting is a dotted name such as "model_provider.openai_api_key"`)
		}
		if _, err := config.ParseDotted(name); err != nil {
			return cmdutil.ArgError(1, "the setting", err)
		}
		if strings.HasSuffix(name, config.RefSuffix) {
			return cmdutil.UsageErrorf("setting %q: name the setting itself, not its %s field", name, config.RefSuffix)
		}
		opts.Setting = name
	}
	ref, err := cmdutil.ParseRefArgsAt(args[1:], 2)
	if err != nil {
		return err
	}
	opts.Ref = ref
	return nil
}

// configureJSON is the JSON form of configure's result. It never holds the
// value.
type configureJSON struct {
	shared.SecretJSON
	Setting string `json:"setting"`
	Field   string `json:"field"`
	Config  string `json:"config"`
	// ConfigCreated is true when the file did not exist before.
	ConfigCreated bool `json:"config_created"`
	// ConfigChanged is false when the file already pointed at the ref.
	ConfigChanged bool `json:"config_changed"`
	// Replaced says what the setting held before: "none", "plaintext",
	// "reference" (an inline reference table) or "vault_ref" (an earlier
	// _vault_ref field).
	Replaced string `json:"replaced"`
	// Backup is the file holding the previous version, or "".
	Backup string `json:"backup"`

	// Palyra's fields: the preset's component ("openai_api_key",
	// "browser_state_key"; the setting for others), the file, the backups
	// kept, and true.
	Component          string `json:"component"`
	Path               string `json:"path"`
	Backups            int    `json:"backups"`
	VaultRefConfigured bool   `json:"vault_ref_configured"`
}

// component names what configure pointed at the vault as Palyra's JSON
// does: the preset with "_" for "-", else the setting.
func component(opts *ConfigureOptions) string {
	if opts.Preset != "" {
		return strings.ReplaceAll(opts.Preset, "-", "_")
	}
	return opts.Setting
}

func configureRun(ctx context.Context, opts *ConfigureOptions) error {
	loc, err := config.Find(opts.ConfigPath)
	if err != nil {
		return fmt.Errorf("%w; nothing was stored", err)
	}
	path := loc.Path

	// 1. Compute the new file; refuse before anything is stored.
	src, err := config.ReadFile(path)
	created := false
	switch {
	case errors.Is(err, fs.ErrNotExist):
		created, src = true, nil
	case err != nil:
		return fmt.Errorf("%w; nothing was stored", err)
	}
	out, err := opts.edit(src)
	if err != nil {
		return refusal(err, path, created)
	}
	replaced, plain, err := previousValue(src, opts.Setting)
	if err != nil {
		return refusal(err, path, created)
	}
	var fromConfig []byte
	if opts.FromConfig {
		s, ok := plain.(string)
		if !ok || s == "" {
			return cmdutil.WithHints(
				fmt.Errorf("--from-config: %s holds no plaintext string in %s; nothing was stored and the file is unchanged", opts.Setting, path),
				fmt.Sprintf(`pipe the value in instead: printf '%%s' "$VALUE" | %s`, usageLine))
		}
		fromConfig = []byte(s)
	}
	changed := created || !bytes.Equal(src, out)

	// 2. Read and store the value.
	v, err := opts.Vault(ctx)
	if err != nil {
		return fmt.Errorf("%w; nothing was stored and %s is unchanged", err, path)
	}
	value := fromConfig
	if value == nil {
		value, err = shared.ReadValue(shared.ValueInput{
			IO:          opts.IO,
			ForceStdin:  opts.ValueStdin,
			TrimNewline: opts.TrimNewline,
			KeepNewline: opts.KeepNewline,
			MaxSize:     v.Info().MaxSecretSize,
			Ref:         opts.Ref,
			Usage:       usageLine,
		})
		if err != nil {
			return err
		}
	}
	md, err := v.Put(ctx, opts.Ref.Scope, opts.Ref.Key, value)
	clear(value)
	if err != nil {
		return fmt.Errorf("%w; nothing was stored and %s is unchanged", err, path)
	}

	// 3. Under the configuration's lock, apply the change to the file as it
	// is now and write it. Another run may have rewritten the file while
	// the secret was stored (another setting: its change is kept, ours is
	// applied on top); but if this setting itself changed, writing would
	// overwrite a value nobody moved into the vault, so the run stops.
	existed, wrote, err := opts.UpdateConfig(ctx, path, config.UpdateOptions{
		Backups:     opts.Backups,
		LockTimeout: opts.LockTimeout,
		OnLockWait:  configLockNotice(opts.IO.ErrOut, path, opts.LockTimeout),
	}, func(now []byte, exists bool) ([]byte, bool, error) {
		if exists == !created && bytes.Equal(now, src) {
			return out, changed, nil // as it was read in step 1
		}
		if !exists {
			return nil, false, errors.New("the file was removed while the secret was being stored")
		}
		next, err := opts.edit(now)
		if err != nil {
			return nil, false, err
		}
		if bytes.Equal(next, now) {
			return nil, false, nil // another run already pointed it at the ref
		}
		nowReplaced, nowValue, err := previousValue(now, opts.Setting)
		if err != nil {
			return nil, false, err
		}
		if nowReplaced != replaced || !reflect.DeepEqual(nowValue, plain) {
			return nil, false, errors.New("the setting changed while the secret was being stored")
		}
		return next, true, nil
	})
	if err != nil {
		return storedButNotWritten(opts, path, err)
	}
	created, changed = !existed, wrote
	backup := ""
	if wrote && existed && opts.Backups > 0 {
		backup = config.BackupPath(path, 1)
	}

	if replaced == "plaintext" && backup != "" {
		fmt.Fprintf(opts.IO.ErrOut, "palyra: warning: the previous configuration, with the plaintext value, is kept in %s (mode 0600); delete the backups once the new configuration works\n", backup)
	}
	field := fieldName(opts.Setting)
	if opts.JSON {
		return cmdutil.PrintJSON(opts.IO, configureJSON{
			SecretJSON:    shared.FromMetadata(md),
			Setting:       opts.Setting,
			Field:         field,
			Config:        path,
			ConfigCreated: created,
			ConfigChanged: changed,
			Replaced:      replaced,
			Backup:        backup,

			Component:          component(opts),
			Path:               path,
			Backups:            opts.Backups,
			VaultRefConfigured: true,
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "stored %s (updated %s)\n", md.Ref(), shared.FormatTime(md.Updated))
	switch {
	case !changed:
		fmt.Fprintf(&b, "%s already reads %s; %s is unchanged\n", opts.Setting, md.Ref(), path)
	default:
		verb := "updated"
		if created {
			verb = "created"
		}
		fmt.Fprintf(&b, "%s %s: %s = %q", verb, path, field, opts.refText())
		switch replaced {
		case "plaintext":
			b.WriteString(" (the plaintext value was removed)")
		case "reference":
			b.WriteString(" (replacing an inline reference)")
		case "vault_ref":
			b.WriteString(" (replacing the previous reference)")
		}
		b.WriteString("\n")
	}
	_, err = fmt.Fprint(opts.IO.Out, b.String())
	return err
}

// edit returns src rewritten to point the setting at the reference: a
// preset makes the edits of Palyra's own handler (config.ApplyPreset: the
// bare <scope>/<key> form, and for openai-api-key the provider's kind and
// base URL), any other setting gets config.SetVaultRef's.
func (opts *ConfigureOptions) edit(src []byte) ([]byte, error) {
	if opts.Preset != "" {
		return config.ApplyPreset(src, opts.Preset, opts.Ref)
	}
	return config.SetVaultRef(src, opts.Setting, opts.Ref)
}

// refText is the reference as the edit writes it.
func (opts *ConfigureOptions) refText() string {
	if opts.Preset != "" {
		return config.BareRef(opts.Ref)
	}
	return opts.Ref.String()
}

// configLockNotice returns the OnLockWait of the configuration's lock: one
// warning line on stderr saying what the run waits for, and for how long at
// most.
func configLockNotice(w io.Writer, path string, timeout time.Duration) func(string) {
	limit := "until it is released"
	if timeout > 0 {
		limit = "giving up after " + timeout.String()
	}
	return func(lockPath string) {
		fmt.Fprintf(w, "palyra: warning: waiting for the configuration's lock %s: another palyra process is rewriting %s (%s)\n", lockPath, path, limit)
	}
}

// refusal explains why the file cannot be rewritten; nothing was stored.
func refusal(err error, path string, created bool) error {
	state := fmt.Sprintf("%s is unchanged", path)
	if created {
		state = fmt.Sprintf("%s was not created", path)
	}
	var pe *config.ParseError
	if errors.As(err, &pe) && pe.Path == "" {
		pe.Path = path
	}
	err = fmt.Errorf("%w; nothing was stored and %s", err, state)
	switch {
	case errors.Is(err, config.ErrUnsupportedLayout):
		return cmdutil.WithHints(err,
			"change the layout as the error says, or edit the file by hand: store the value with \"palyra secrets set <scope> <key>\" and write <setting>_vault_ref = \"vault://<scope>/<key>\" in place of the plaintext")
	case pe != nil:
		return cmdutil.WithHints(err, "fix the TOML syntax at the position above, then run the command again")
	}
	return err
}

// storedButNotWritten reports a configuration write that failed after the
// secret was stored: both are consistent (the secret is stored, the file
// is as it was), and the hints say how to finish.
func storedButNotWritten(opts *ConfigureOptions, path string, cause error) error {
	err := fmt.Errorf("the secret was stored as %s, but writing the configuration failed: %w; %s is unchanged", opts.Ref, cause, path)
	retry := fmt.Sprintf("palyra secrets configure %s %s", shared.ShellQuote(firstNonEmpty(opts.Preset, opts.Setting)), shared.RefArgs(opts.Ref))
	if opts.ConfigPath != "" {
		retry += " --config " + shared.ShellQuote(opts.ConfigPath)
	}
	var hints []string
	if errors.Is(cause, config.ErrLockTimeout) {
		hints = append(hints, "another palyra process held the configuration's lock (the file named above) all that time: let it finish, or find it with lsof or fuser on that file; to wait longer, set --lock-timeout or $PALYRA_VAULT_LOCK_TIMEOUT (0 waits as long as it takes)")
	}
	return cmdutil.WithHints(err, append(hints,
		fmt.Sprintf("to finish, fix the problem above and run %q again (it asks for the value again)", retry),
		fmt.Sprintf("or edit %s by hand: set %s = %q and remove any plaintext %s", path, fieldName(opts.Setting), opts.refText(), opts.Setting))...)
}

// previousValue says what the setting holds in src: "none", "plaintext",
// "reference" or "vault_ref", and returns a plaintext value itself.
func previousValue(src []byte, setting string) (string, any, error) {
	if len(bytes.TrimSpace(src)) == 0 {
		return "none", nil, nil
	}
	doc, err := config.Parse(src)
	if err != nil {
		return "", nil, err
	}
	parts, err := config.ParseDotted(setting)
	if err != nil {
		return "", nil, err
	}
	m := doc.Tree()
	for _, k := range parts[:len(parts)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return "none", nil, nil
		}
		m = next
	}
	last := parts[len(parts)-1]
	if v, ok := m[last]; ok {
		if t, isTable := v.(map[string]any); isTable && resolve.IsRefTable(t) {
			return "reference", nil, nil
		}
		return "plaintext", v, nil
	}
	if _, ok := m[last+config.RefSuffix]; ok {
		return "vault_ref", nil, nil
	}
	return "none", nil, nil
}

// fieldName returns the dotted name of the setting's _vault_ref field.
func fieldName(setting string) string {
	parts, err := config.ParseDotted(setting)
	if err != nil {
		return setting + config.RefSuffix
	}
	parts[len(parts)-1] += config.RefSuffix
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = renderKey(p)
	}
	return strings.Join(out, ".")
}

func renderKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return strconv.Quote(k)
		}
	}
	return k
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
