package report

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

func TestExitCodeIsDecidedBySentinel(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"plain failure", errors.New("boom"), ExitError},
		{"usage error", clierr.UsageErrorf("bad flag"), ExitUsage},
		{"invalid scope", fmt.Errorf("x: %w", secret.ErrInvalidScope), ExitUsage},
		{"invalid key", secret.ErrInvalidKey, ExitUsage},
		{"invalid ref", secret.ErrInvalidRef, ExitUsage},
		{"not found", fmt.Errorf("reading: %w", vault.ErrNotFound), ExitNotFound},
		{"not found with hints", clierr.WithHints(vault.ErrNotFound, "h"), ExitNotFound},
		{"too large", vault.ErrTooLarge, ExitError},
		{"permission", vault.ErrPermission, ExitError},
		{"corrupt", vault.ErrCorrupt, ExitError},
		{"wrong key", vault.ErrWrongKey, ExitError},
		{"backend unavailable", vault.ErrBackendUnavailable, ExitError},
		{"interrupted", fmt.Errorf("%w; nothing was stored", iostreams.ErrInterrupted), ExitInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Code(tt.err); got != tt.want {
				t.Fatalf("Code(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestPrintPrefixesEveryLineAndPrintsHints(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"attached hints win", clierr.WithHints(fmt.Errorf("x: %w", vault.ErrNotFound), "one", "two"),
			"palyra: error: x: secret not found\npalyra: hint: one\npalyra: hint: two\n"},
		{"default hint from the sentinel", fmt.Errorf("x: %w", vault.ErrNotFound),
			"palyra: error: x: secret not found\npalyra: hint: run \"palyra secrets list\" to see what is stored\n"},
		{"lock timeout, file or etcd lock", fmt.Errorf("%w: another host is changing the vault's key: held by host-b pid 42", vault.ErrLockTimeout),
			"palyra: error: timed out waiting for a lock: another host is changing the vault's key: held by host-b pid 42\n" +
				"palyra: hint: another palyra process held the vault's lock all that time: let it finish. A lock file is named above (find its holder with lsof or fuser on it); on a vault shared on etcd, the host and process named above hold its key-state lock\n" +
				"palyra: hint: to wait longer, set --lock-timeout or $PALYRA_VAULT_LOCK_TIMEOUT (0 waits as long as it takes)\n"},
		{"multi-line error", errors.Join(errors.New("a"), errors.New("b")),
			"palyra: error: a\npalyra: error: b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			Print(&b, "", tt.err)
			if b.String() != tt.want {
				t.Fatalf("printed %q, want %q", b.String(), tt.want)
			}
		})
	}
}

func TestPrintPointsAUsageErrorAtTheCommandsHelp(t *testing.T) {
	var b bytes.Buffer
	Print(&b, "palyra secrets get", clierr.UsageErrorf("bad"))
	if want := "palyra: error: bad\npalyra: hint: run \"palyra secrets get --help\" for usage\n"; b.String() != want {
		t.Fatalf("printed %q, want %q", b.String(), want)
	}
}
