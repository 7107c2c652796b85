//go:build !darwin

package keychain

import (
	"errors"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/vault/backend"
)

func TestNewOutsideMacOSIsUnavailable(t *testing.T) {
	b, err := New(Options{})
	if b != nil || !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "only available on macOS") {
		t.Fatalf("New = %v, %v; want nil and ErrUnavailable saying it is only available on macOS", b, err)
	}
}
