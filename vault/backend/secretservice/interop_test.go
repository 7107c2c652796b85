package secretservice

import (
	"bytes"
	"os"
	"os/exec"
	"testing"

	"github.com/palyra/palyra-vault/vault/backend"
)

// interopValues are values that would break a tool that is not binary-safe:
// NULs, a trailing newline, bytes that are not UTF-8.
var interopValues = []struct {
	name  string
	value []byte
}{
	{"text", []byte("sk-test-0123456789")},
	{"trailing newline", []byte("line one\nline two\n")},
	{"nul bytes", []byte("a\x00b\x00\x00c")},
	{"every byte value", allBytes()},
}

func TestSecretToolLookupPrintsWhatPutStored(t *testing.T) {
	tool := secretTool(t)
	s := openStore(t, Options{})
	for _, v := range interopValues {
		t.Run(v.name, func(t *testing.T) {
			ctx := testCtx(t)
			id := newID(t)
			if err := s.Put(ctx, id, v.value); err != nil {
				t.Fatalf("Put: %v", err)
			}
			cmd := exec.CommandContext(ctx, tool, "lookup", AttrSchema, Schema, AttrObjectID, string(id))
			cmd.Env = secretToolEnv(t)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("secret-tool lookup: %v; stderr: %s", err, stderr.Bytes())
			}
			if !bytes.Equal(out, v.value) {
				t.Fatalf("secret-tool printed %d bytes that differ from the %d put", len(out), len(v.value))
			}
		})
	}
}

func TestGetReadsWhatSecretToolStored(t *testing.T) {
	tool := secretTool(t)
	s := openStore(t, Options{})
	for _, v := range interopValues {
		t.Run(v.name, func(t *testing.T) {
			ctx := testCtx(t)
			id := newID(t)
			secretToolStore(t, tool, id, v.value)
			got, err := s.Get(ctx, id)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if !bytes.Equal(got, v.value) {
				t.Fatalf("Get returned %d bytes that differ from the %d secret-tool stored", len(got), len(v.value))
			}
		})
	}
}

func TestPutReplacesItemSecretToolStored(t *testing.T) {
	tool := secretTool(t)
	s := openStore(t, Options{})
	ctx := testCtx(t)
	id := newID(t)
	secretToolStore(t, tool, id, []byte("from secret-tool"))
	if err := s.Put(ctx, id, []byte("from palyra")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if n := len(itemsFor(t, s, s.itemAttributes(id))); n != 1 {
		t.Errorf("%d items carry the object id, want 1", n)
	}
	got, err := s.Get(ctx, id)
	if err != nil || string(got) != "from palyra" {
		t.Errorf("Get = %q, %v; want \"from palyra\"", got, err)
	}
}

// secretToolStore stores value under id with `secret-tool store`, the value
// on stdin (never in argv).
func secretToolStore(t *testing.T, tool string, id backend.ObjectID, value []byte) {
	t.Helper()
	cmd := exec.CommandContext(testCtx(t), tool, "store", "--label=x", AttrSchema, Schema, AttrObjectID, string(id))
	cmd.Env = secretToolEnv(t)
	cmd.Stdin = bytes.NewReader(value)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("secret-tool store: %v: %s", err, out)
	}
}

// secretToolEnv is the environment for secret-tool: ours, pointed at the
// private bus.
func secretToolEnv(t *testing.T) []string {
	return append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+keyringBus(t))
}
