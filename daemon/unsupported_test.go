//go:build !linux && !darwin

package daemon

import (
	"context"
	"errors"
	"testing"

	"github.com/palyra/palyra-vault/daemon/internal/peercred"
)

func TestStartRefusesWhereCallersCannotBeIdentified(t *testing.T) {
	_, err := Start(context.Background(), Options{})
	if !errors.Is(err, peercred.ErrUnsupported) {
		t.Fatalf("Start = %v, want an error wrapping peercred.ErrUnsupported", err)
	}
}
