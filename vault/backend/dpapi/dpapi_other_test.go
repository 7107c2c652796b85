//go:build !windows

package dpapi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/vault/backend"
)

func TestNewOutsideWindowsIsUnavailable(t *testing.T) {
	root := t.TempDir()
	b, err := New(root, Options{})
	if b != nil || !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "only available on Windows") {
		t.Fatalf("New = %v, %v; want nil and ErrUnavailable saying it is only available on Windows", b, err)
	}
	if err := Probe(); !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("Probe = %v; want ErrUnavailable", err)
	}
}

func TestStubMethodsAreUnavailable(t *testing.T) {
	var b Backend
	ctx := context.Background()
	id := backend.ObjectID("obj_" + strings.Repeat("0", 64))
	errs := map[string]error{"Put": b.Put(ctx, id, nil)}
	_, errs["Get"] = b.Get(ctx, id)
	_, errs["Delete"] = b.Delete(ctx, id)
	_, errs["List"] = b.List(ctx)
	for op, err := range errs {
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("%s = %v; want ErrUnavailable", op, err)
		}
	}
	if b.Kind() != backend.KindDPAPI {
		t.Errorf("Kind = %q, want %q", b.Kind(), backend.KindDPAPI)
	}
}
