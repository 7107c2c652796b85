package keychain

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/palyra/palyra-vault/vault/backend"
)

// Backend is the macos_keychain backend. It is safe for concurrent use:
// every call runs its own security process, and the keychain serialises
// changes to one item.
type Backend struct {
	opts   Options
	run    runner
	closed atomic.Bool
}

var _ backend.Backend = (*Backend)(nil)

// newBackend validates opts and returns a backend driving the security
// executable opts.SecurityPath. It does not run it.
func newBackend(opts Options) (*Backend, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("opening macos_keychain backend: %w", err)
	}
	return &Backend{opts: o, run: runner{path: o.SecurityPath, timeout: o.Timeout}}, nil
}

// Kind returns backend.KindKeychain.
func (b *Backend) Kind() backend.Kind { return backend.KindKeychain }

// MaxBlobSize returns MaxBlobSize.
func (b *Backend) MaxBlobSize() int { return MaxBlobSize }

// check refuses a closed backend, a done context and an invalid id.
func (b *Backend) check(ctx context.Context, id *backend.ObjectID) error {
	if b.closed.Load() {
		return fmt.Errorf("macos_keychain backend is closed: %w", backend.ErrUnavailable)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if id != nil {
		return backend.CheckID(*id)
	}
	return nil
}

// statusError turns a failed run of security into an error: statuses that
// mean the keychain cannot be used wrap backend.ErrUnavailable. Every
// occurrence of redact in security's stderr is hidden.
func statusError(op string, res result, redact string) error {
	msg := describeStderr(res.stderr, redact)
	if strings.Contains(string(res.stderr), valuePrefix) {
		msg = "[message withheld: it may quote the value]"
	}
	if why, ok := unavailableStatuses[res.code]; ok {
		return fmt.Errorf("%s: %s (security exited with status %d: %s): %w", op, why, res.code, msg, backend.ErrUnavailable)
	}
	return fmt.Errorf("%s: security exited with status %d: %s", op, res.code, msg)
}

// Put stores blob as the password of the item for id, creating or
// replacing it in one keychain update. The value goes to security's
// standard input, never its argv. It fails with backend.ErrTooLarge when
// blob is longer than MaxBlobSize, and with backend.ErrUnavailable when the
// keychain is locked, missing, or does not answer in time.
func (b *Backend) Put(ctx context.Context, id backend.ObjectID, blob []byte) error {
	if err := b.check(ctx, &id); err != nil {
		return err
	}
	op := fmt.Sprintf("putting object %q", id)
	if len(blob) > MaxBlobSize {
		return fmt.Errorf("%s: blob is %d bytes, more than the %d-byte limit: %w", op, len(blob), MaxBlobSize, backend.ErrTooLarge)
	}
	value := encodeValue(blob)
	line, err := addLine(b.opts.Service, string(id), value, b.opts.Keychain)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	res, err := b.run.run(ctx, []byte(line), "-i")
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if res.code != 0 {
		return statusError(op, res, value)
	}
	return nil
}

// Get returns the blob stored for id. It fails with an error wrapping
// backend.ErrNotFound when there is no such item (security exit status
// 44), backend.ErrUnavailable when the keychain cannot be used, and a
// plain error when the item's password is not one this package wrote.
func (b *Backend) Get(ctx context.Context, id backend.ObjectID) ([]byte, error) {
	if err := b.check(ctx, &id); err != nil {
		return nil, err
	}
	op := fmt.Sprintf("getting object %q", id)
	res, err := b.run.run(ctx, nil, findArgs(b.opts.Service, string(id), b.opts.Keychain)...)
	defer clear(res.stdout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	switch res.code {
	case 0:
	case exitItemNotFound:
		return nil, fmt.Errorf("%s: %w", op, backend.ErrNotFound)
	default:
		return nil, statusError(op, res, "")
	}
	blob, err := decodeValue(res.stdout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return blob, nil
}

// Delete removes the item for id and reports whether it existed.
func (b *Backend) Delete(ctx context.Context, id backend.ObjectID) (bool, error) {
	if err := b.check(ctx, &id); err != nil {
		return false, err
	}
	op := fmt.Sprintf("deleting object %q", id)
	res, err := b.run.run(ctx, nil, deleteArgs(b.opts.Service, string(id), b.opts.Keychain)...)
	if err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	switch res.code {
	case 0:
		return true, nil
	case exitItemNotFound:
		return false, nil
	default:
		return false, statusError(op, res, "")
	}
}

// List returns the object IDs of the items of our service, read from
// `security dump-keychain` (attributes only, no passwords).
func (b *Backend) List(ctx context.Context) ([]backend.ObjectID, error) {
	if err := b.check(ctx, nil); err != nil {
		return nil, err
	}
	const op = "listing objects"
	res, err := b.run.run(ctx, nil, dumpArgs(b.opts.Keychain)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if res.code != 0 {
		return nil, statusError(op, res, "")
	}
	ids, err := parseDump(res.stdout, b.opts.Service)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return ids, nil
}

// Close marks the backend closed; later calls fail with an error wrapping
// backend.ErrUnavailable. No process outlives a call, so it cannot fail.
func (b *Backend) Close() error {
	b.closed.Store(true)
	return nil
}

// probeAccount names the item Probe writes and removes. It is not a valid
// object ID, so List never reports it.
const probeAccount = "palyra-vault-probe"

// probeBlob is what Probe stores and reads back.
var probeBlob = []byte("palyra-vault macos_keychain probe")

// Probe checks that the keychain really works here: it stores an item
// (account "palyra-vault-probe"), reads it back and deletes it. It returns
// nil, or an error wrapping backend.ErrUnavailable that says what failed.
// It may show an unlock dialog when the keychain is locked.
func (b *Backend) Probe(ctx context.Context) error {
	if err := b.check(ctx, nil); err != nil {
		return err
	}
	fail := func(step string, err error) error {
		return fmt.Errorf("probing macos_keychain: %s: %w: %w", step, backend.ErrUnavailable, err)
	}
	value := encodeValue(probeBlob)
	line, err := addLine(b.opts.Service, probeAccount, value, b.opts.Keychain)
	if err != nil {
		return fail("building the add command", err)
	}
	res, err := b.run.run(ctx, []byte(line), "-i")
	if err == nil && res.code != 0 {
		err = statusError("storing a probe item", res, value)
	}
	if err != nil {
		return fail("storing a probe item", err)
	}
	res, err = b.run.run(ctx, nil, findArgs(b.opts.Service, probeAccount, b.opts.Keychain)...)
	if err == nil && res.code != 0 {
		err = statusError("reading the probe item", res, "")
	}
	if err == nil {
		var got []byte
		if got, err = decodeValue(res.stdout); err == nil && !bytes.Equal(got, probeBlob) {
			err = fmt.Errorf("the probe item read back differs from what was stored")
		}
	}
	if err != nil {
		return fail("reading the probe item", err)
	}
	res, err = b.run.run(ctx, nil, deleteArgs(b.opts.Service, probeAccount, b.opts.Keychain)...)
	if err == nil && res.code != 0 {
		err = statusError("deleting the probe item", res, "")
	}
	if err != nil {
		return fail("deleting the probe item", err)
	}
	return nil
}
