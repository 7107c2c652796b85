package vault

import (
	"errors"
	"testing"

	"github.com/palyra/palyra-vault/secret"
)

func TestPathsRefuseParentDir(t *testing.T) {
	for _, cfg := range []Config{
		{StateRoot: "/tmp/s/../t"},
		{StateRoot: t.TempDir(), Root: "../vault"},
	} {
		if _, _, err := Paths(cfg); !errors.Is(err, secret.ErrParentDir) {
			t.Errorf("Paths(%+v) = %v, want secret.ErrParentDir", cfg, err)
		}
	}
}
