package backendtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/palyra/palyra-vault/vault/backend"
)

// variantEnv selects a deliberately broken fakeMemBackend for
// TestRunAgainstFakeBackend when this test binary is re-run as a child.
const variantEnv = "BACKENDTEST_FAKE_VARIANT"

// fakeMemBackend is an in-memory backend used only to test the suite
// itself. With variant "" it is correct; each other variant breaks one rule
// of the contract.
type fakeMemBackend struct {
	variant string
	mu      sync.Mutex
	objects map[backend.ObjectID][]byte
}

const fakeMax = 4096

func (f *fakeMemBackend) Kind() backend.Kind {
	if f.variant == "unknown-kind" {
		return "memory"
	}
	return backend.KindEncryptedFile
}

func (f *fakeMemBackend) MaxBlobSize() int { return fakeMax }

func (f *fakeMemBackend) check(id backend.ObjectID) error {
	if f.variant == "accepts-invalid-ids" {
		return nil
	}
	return backend.CheckID(id)
}

func (f *fakeMemBackend) Put(_ context.Context, id backend.ObjectID, blob []byte) error {
	if err := f.check(id); err != nil {
		return err
	}
	if len(blob) > fakeMax && f.variant != "no-size-check" {
		return fmt.Errorf("storing %q: %d bytes: %w", id, len(blob), backend.ErrTooLarge)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch f.variant {
	case "appends-on-put":
		f.objects[id] = append(f.objects[id], blob...)
	case "keeps-caller-buffer":
		f.objects[id] = blob
	default:
		f.objects[id] = append([]byte{}, blob...)
	}
	return nil
}

func (f *fakeMemBackend) Get(_ context.Context, id backend.ObjectID) ([]byte, error) {
	if err := f.check(id); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	blob, ok := f.objects[id]
	if !ok {
		if f.variant == "missing-not-wrapped" {
			return nil, errors.New("no such object")
		}
		return nil, fmt.Errorf("reading %q: %w", id, backend.ErrNotFound)
	}
	if f.variant == "get-shares-memory" {
		return blob, nil
	}
	return append([]byte{}, blob...), nil
}

func (f *fakeMemBackend) GetPrefix(ctx context.Context, id backend.ObjectID, n int) ([]byte, error) {
	blob, err := f.Get(ctx, id)
	if err != nil || f.variant == "prefix-ignores-n" {
		return blob, err
	}
	return blob[:min(n, len(blob))], nil
}

func (f *fakeMemBackend) Delete(_ context.Context, id backend.ObjectID) (bool, error) {
	if err := f.check(id); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.objects[id]
	delete(f.objects, id)
	return ok || f.variant == "delete-always-true", nil
}

func (f *fakeMemBackend) List(context.Context) ([]backend.ObjectID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []backend.ObjectID
	for id := range f.objects {
		ids = append(ids, id)
		if f.variant == "list-duplicates" {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (f *fakeMemBackend) Close() error { return nil }

// TestRunAgainstFakeBackend passes for the correct fake; as a child process
// with variantEnv set it runs a broken variant, which must fail.
func TestRunAgainstFakeBackend(t *testing.T) {
	variant := os.Getenv(variantEnv)
	Run(t, func(t *testing.T) backend.Backend {
		return &fakeMemBackend{variant: variant, objects: map[backend.ObjectID][]byte{}}
	})
}

func TestRunFailsBrokenBackends(t *testing.T) {
	tests := []struct {
		variant     string
		wantFailing string // the subtest that must catch it
	}{
		{"unknown-kind", "KindIsKnown"},
		{"appends-on-put", "PutReplacesExistingBlob"},
		{"keeps-caller-buffer", "PutAndGetCopyTheBlob"},
		{"get-shares-memory", "PutAndGetCopyTheBlob"},
		{"missing-not-wrapped", "GetMissingWrapsErrNotFound"},
		{"delete-always-true", "DeleteReportsWhetherObjectExisted"},
		{"list-duplicates", "ListReturnsExactlyStoredIDs"},
		{"accepts-invalid-ids", "InvalidObjectIDIsRefusedWithoutTouchingStore"},
		{"no-size-check", "BlobOverMaxSizeFailsWithErrTooLargeAndStoresNothing"},
		{"prefix-ignores-n", "HeaderReaderReturnsPrefix"},
	}
	for _, tt := range tests {
		t.Run(tt.variant, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestRunAgainstFakeBackend$", "-test.v")
			cmd.Env = append(os.Environ(), variantEnv+"="+tt.variant)
			out, err := cmd.CombinedOutput()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) {
				t.Fatalf("suite run against %q did not fail (err %v); output:\n%s", tt.variant, err, out)
			}
			want := "--- FAIL: TestRunAgainstFakeBackend/" + tt.wantFailing + " "
			if !strings.Contains(string(out), want) {
				t.Errorf("subtest %s did not fail for variant %q; output:\n%s", tt.wantFailing, tt.variant, out)
			}
		})
	}
}
