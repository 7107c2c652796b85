package clitest

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/vault"
	"github.com/spf13/cobra"
)

// Execute runs cmd with args as a test of its flag and argument parsing:
// cobra's own output is discarded, and the error is returned as the
// command's RunE (or cobra) produced it.
func Execute(cmd *cobra.Command, args ...string) error {
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	return cmd.Execute()
}

// The errors of the openers of the Factory that Parse passes: a test calls
// the Vault its options received to learn which opener the command took.
var (
	ErrVaultOpener         = errors.New("clitest: opened with Factory.Vault (creates a vault)")
	ErrExistingVaultOpener = errors.New("clitest: opened with Factory.ExistingVault (creates nothing)")
)

// Parse runs the command newCmd builds with args, through its runF hook, and
// returns the options runF received (nil when parsing failed) with the
// Factory the command was given. The Factory has test streams, and openers
// that open nothing and fail with ErrVaultOpener and ErrExistingVaultOpener;
// its VaultConfig names a root that is never created, so that a test can
// tell it from a zero config.
func Parse[O any](newCmd func(*cmdutil.Factory, func(*O) error) *cobra.Command, args ...string) (*O, *cmdutil.Factory, error) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{
		IOStreams:     ios,
		VaultConfig:   vault.Config{Root: "clitest-vault-root-never-created"},
		Vault:         func(context.Context) (*vault.Vault, error) { return nil, ErrVaultOpener },
		ExistingVault: func(context.Context) (*vault.Vault, error) { return nil, ErrExistingVaultOpener },
	}
	var got *O
	cmd := newCmd(f, func(o *O) error { got = o; return nil })
	err := Execute(cmd, args...)
	if err != nil {
		got = nil
	}
	return got, f, err
}

// Opener names the opener open is, as Parse's Factory built it: "Vault",
// "ExistingVault", "nil", or "other".
func Opener(open func(context.Context) (*vault.Vault, error)) string {
	if open == nil {
		return "nil"
	}
	switch _, err := open(context.Background()); {
	case errors.Is(err, ErrVaultOpener):
		return "Vault"
	case errors.Is(err, ErrExistingVaultOpener):
		return "ExistingVault"
	}
	return "other"
}

// CheckUsageError fails t unless err is a *cmdutil.UsageError (which exits
// with status 2) whose message contains want.
func CheckUsageError(t testing.TB, err error, want string) {
	t.Helper()
	var usage *cmdutil.UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want a usage error containing %q", err, want)
	}
}

// ParseTest is one case of a table that ParseTests runs.
type ParseTest[O any] struct {
	Name string
	Args []string
	// Want is the options runF receives, less what wiring clears.
	Want O
	// WantErr, when not "", expects a usage error containing it.
	WantErr string
}

// ParseTests runs each test through Parse, as a subtest. A failing parse
// must be the expected usage error. A successful one is handed to wiring,
// which checks the fields the command takes from the Factory (its streams,
// openers, config) and clears them; what remains must equal Want.
func ParseTests[O any](t *testing.T, newCmd func(*cmdutil.Factory, func(*O) error) *cobra.Command, tests []ParseTest[O], wiring func(t *testing.T, got *O, f *cmdutil.Factory)) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			got, f, err := Parse(newCmd, tt.Args...)
			if tt.WantErr != "" {
				CheckUsageError(t, err, tt.WantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wiring(t, got, f)
			if !reflect.DeepEqual(*got, tt.Want) {
				t.Fatalf("options = %+v, want %+v", *got, tt.Want)
			}
		})
	}
}

// CheckWiring fails t unless io is f's streams and open is the opener of f
// that opener names ("Vault" or "ExistingVault"; "" for none to check).
func CheckWiring(t testing.TB, f *cmdutil.Factory, io *iostreams.IOStreams, open func(context.Context) (*vault.Vault, error), opener string) {
	t.Helper()
	if io != f.IOStreams {
		t.Errorf("options carry other streams than the factory's")
	}
	if opener == "" {
		return
	}
	if got := Opener(open); got != opener {
		t.Errorf("opens the vault with %s, want %s", got, opener)
	}
}

// CheckConfig fails t unless cfg is the Factory's own VaultConfig, which
// its Vault opener opens (and which commands such as init complete).
func CheckConfig(t testing.TB, f *cmdutil.Factory, cfg *vault.Config) {
	t.Helper()
	if cfg != &f.VaultConfig {
		t.Errorf("options carry a config other than the factory's")
	}
}
