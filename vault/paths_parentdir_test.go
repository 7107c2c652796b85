package vault

import (
	"errors"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/secret"
)

func TestPathsRefuseParentDir(t *testing.T) {
	for _, cfg := range []Config{
		{StateRoot: "/tmp/s/../t"},
		{StateRoot: testutil.TempDir(t), Root: "../vault"}, // testutil: Wine cannot always remove t.TempDir
	} {
		if _, _, err := Paths(cfg); !errors.Is(err, secret.ErrParentDir) {
			t.Errorf("Paths(%+v) = %v, want secret.ErrParentDir", cfg, err)
		}
	}
}
