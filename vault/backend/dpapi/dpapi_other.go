//go:build !windows

package dpapi

import (
	"context"

	"github.com/palyra/palyra-vault/vault/backend"
)

// Backend is the windows_dpapi backend. On this operating system New never
// returns one; its methods exist so that code naming the type compiles
// everywhere, and they fail with an error wrapping backend.ErrUnavailable.
type Backend struct{}

var _ backend.Backend = (*Backend)(nil)

// New fails with an error wrapping backend.ErrUnavailable: windows_dpapi is
// only available on Windows.
func New(root string, opts Options) (*Backend, error) { return nil, errNotWindows }

// Probe fails with an error wrapping backend.ErrUnavailable: windows_dpapi
// is only available on Windows.
func Probe() error { return errNotWindows }

// Kind returns backend.KindDPAPI.
func (b *Backend) Kind() backend.Kind { return backend.KindDPAPI }

// MaxBlobSize returns MaxBlobSize.
func (b *Backend) MaxBlobSize() int { return MaxBlobSize }

// Dir returns "": there is no object directory on this operating system.
func (b *Backend) Dir() string { return "" }

// Put fails with an error wrapping backend.ErrUnavailable.
func (b *Backend) Put(context.Context, backend.ObjectID, []byte) error { return errNotWindows }

// Get fails with an error wrapping backend.ErrUnavailable.
func (b *Backend) Get(context.Context, backend.ObjectID) ([]byte, error) { return nil, errNotWindows }

// Delete fails with an error wrapping backend.ErrUnavailable.
func (b *Backend) Delete(context.Context, backend.ObjectID) (bool, error) {
	return false, errNotWindows
}

// List fails with an error wrapping backend.ErrUnavailable.
func (b *Backend) List(context.Context) ([]backend.ObjectID, error) { return nil, errNotWindows }

// RemoveStaleTemps fails with an error wrapping backend.ErrUnavailable.
func (b *Backend) RemoveStaleTemps() (int, error) { return 0, errNotWindows }

// Close does nothing.
func (b *Backend) Close() error { return nil }
