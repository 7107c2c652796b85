package keychain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/backendtest"
)

// newFakeBackend returns a backend driven by a fresh fake-security.
func newFakeBackend(t *testing.T, opts Options) (*Backend, *fakeSecurity) {
	t.Helper()
	fake := newFakeSecurity(t)
	opts.SecurityPath = fake.path
	b, err := newBackend(opts)
	if err != nil {
		t.Fatalf("newBackend: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b, fake
}

func TestConformanceAgainstFakeSecurity(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		fake := newFakeSecurity(t)
		b, err := newBackend(Options{SecurityPath: fake.path})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func testID(name string) backend.ObjectID {
	sum := sha256.Sum256([]byte(name))
	return backend.ObjectID("obj_" + hex.EncodeToString(sum[:]))
}

var secretBlob = []byte("SECRET-MARKER sk-live-0123456789 SECRET-MARKER")

func TestPutGetRoundTripsBytesExactly(t *testing.T) {
	b, _ := newFakeBackend(t, Options{})
	ctx := context.Background()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, MaxBlobSize)
	for i := range big {
		big[i] = byte(i * 7)
	}
	tests := []struct {
		name string
		blob []byte
	}{
		{"empty", []byte{}},
		{"all 256 byte values", all},
		{"newlines", []byte("\n\nline\r\n\n")},
		{"quotes", []byte(`"'"'""`)},
		{"backslashes", []byte(`\\\"\n\`)},
		{"nul bytes", []byte{0, 0, 'a', 0}},
		{"max size", big},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := testID(tc.name)
			if err := b.Put(ctx, id, tc.blob); err != nil {
				t.Fatalf("Put: %v", err)
			}
			got, err := b.Get(ctx, id)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if !bytes.Equal(got, tc.blob) {
				t.Fatalf("Get = %q, want %q", got, tc.blob)
			}
		})
	}
}

// TestSecurityGetsNoKeyMaterial: security(1) runs with palyra's
// environment minus the variables that carry key material
// (secret.KeyMaterialEnv).
func TestSecurityGetsNoKeyMaterial(t *testing.T) {
	for _, name := range secret.KeyMaterialEnv() {
		t.Setenv(name, "a passphrase")
	}
	t.Setenv("PALYRA_TEST_OTHER", "kept")
	b, fake := newFakeBackend(t, Options{})
	if _, err := b.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := fake.calls(t)
	if len(calls) == 0 {
		t.Fatal("fake-security never ran")
	}
	for _, c := range calls {
		if !slices.Contains(c.Env, "PALYRA_TEST_OTHER") {
			t.Errorf("%q did not get the environment: %q", c.Argv, c.Env)
		}
		for _, name := range c.Env {
			if secret.IsKeyMaterialEnv(name) {
				t.Errorf("%q got %s", c.Argv, name)
			}
		}
	}
}

func TestSecretGoesThroughStdinNeverArgv(t *testing.T) {
	b, fake := newFakeBackend(t, Options{})
	ctx := context.Background()
	id := testID("argv")
	if err := b.Put(ctx, id, secretBlob); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := b.List(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	value := encodeValue(secretBlob)
	forbidden := []string{value, base64.StdEncoding.EncodeToString(secretBlob), "SECRET-MARKER", valuePrefix}
	calls := fake.calls(t)
	if len(calls) != 4 {
		t.Fatalf("fake-security ran %d times, want 4 (put, get, list, delete)", len(calls))
	}
	for _, c := range calls {
		for _, arg := range c.Argv {
			for _, f := range forbidden {
				if strings.Contains(arg, f) {
					t.Errorf("argv %q contains %q", c.Argv, f)
				}
			}
		}
	}
	put := calls[0]
	if !slices.Equal(put.Argv, []string{fakeSecurityName, "-i"}) {
		t.Errorf("Put ran %q, want security -i", put.Argv)
	}
	if !bytes.Contains(put.Stdin, []byte(`"-w" "`+value+`"`)) {
		t.Errorf("Put's stdin %q does not carry the value after -w", put.Stdin)
	}
	for _, c := range calls[1:] {
		if len(c.Stdin) != 0 {
			t.Errorf("%q got stdin %q, want none", c.Argv, c.Stdin)
		}
	}
}

func TestInteractiveQuotingCarriesEveryByteThroughSecurity(t *testing.T) {
	// The backend only ever sends base64 text, but the quoting must be
	// right for every byte the protocol can carry: store one raw through
	// the fake's interactive mode and read it back (the fake, like
	// security, prints a non-printable password as hex).
	b, _ := newFakeBackend(t, Options{})
	ctx := context.Background()
	value := allCarriableBytes()
	line, err := interactiveLine("add-generic-password", "-s", Service, "-a", "raw", "-w", value)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.run.run(ctx, []byte(line), "-i")
	if err != nil || res.code != 0 {
		t.Fatalf("security -i add: %v, status %d, stderr %q", err, res.code, res.stderr)
	}
	res, err = b.run.run(ctx, nil, findArgs(Service, "raw", "")...)
	if err != nil || res.code != 0 {
		t.Fatalf("find: %v, status %d", err, res.code)
	}
	got, err := hex.DecodeString(strings.TrimSuffix(string(res.stdout), "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != value {
		t.Fatalf("security stored %q, want %q", got, value)
	}
}

func TestMissingObjectIsErrNotFound(t *testing.T) {
	b, _ := newFakeBackend(t, Options{})
	ctx := context.Background()
	id := testID("missing")
	if _, err := b.Get(ctx, id); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Get of a missing object: %v; want ErrNotFound", err)
	}
	existed, err := b.Delete(ctx, id)
	if err != nil || existed {
		t.Fatalf("Delete of a missing object = %v, %v; want false, nil", existed, err)
	}
	if err := b.Put(ctx, id, secretBlob); err != nil {
		t.Fatal(err)
	}
	existed, err = b.Delete(ctx, id)
	if err != nil || !existed {
		t.Fatalf("Delete of a stored object = %v, %v; want true, nil", existed, err)
	}
	if _, err := b.Get(ctx, id); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Get after Delete: %v; want ErrNotFound", err)
	}
}

func TestListReturnsOnlyThisServicesObjects(t *testing.T) {
	b, fake := newFakeBackend(t, Options{})
	ctx := context.Background()
	ids := []backend.ObjectID{testID("one"), testID("two")}
	for _, id := range ids {
		if err := b.Put(ctx, id, secretBlob); err != nil {
			t.Fatal(err)
		}
	}
	fake.putRaw(t, "com.example.other", string(testID("foreign")), []byte("x"))
	fake.putRaw(t, Service, "not-an-object-id", []byte("x"))
	fake.putRaw(t, Service+"2", string(testID("near miss")), []byte("x"))
	got, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Fatalf("List = %v, want %v", got, ids)
	}
}

func TestServiceOptionSeparatesVaults(t *testing.T) {
	fake := newFakeSecurity(t)
	open := func(service string) *Backend {
		b, err := newBackend(Options{SecurityPath: fake.path, Service: service})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, other := open("dev.palyra.vault/a"), open("dev.palyra.vault/b")
	ctx := context.Background()
	id := testID("shared name")
	if err := a.Put(ctx, id, secretBlob); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Get(ctx, id); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Get through another service: %v; want ErrNotFound", err)
	}
	if ids, err := other.List(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("List through another service = %v, %v; want nothing", ids, err)
	}
}

func TestGetOfForeignPasswordFailsWithoutQuotingIt(t *testing.T) {
	b, fake := newFakeBackend(t, Options{})
	id := testID("foreign")
	fake.putRaw(t, Service, string(id), []byte("hunter2-not-ours"))
	_, err := b.Get(context.Background(), id)
	if err == nil || !strings.Contains(err.Error(), "not written by palyra-vault") {
		t.Fatalf("Get of a foreign password: %v; want an error saying so", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %q quotes the password", err)
	}
}

func TestPutErrorDoesNotRepeatSecurityQuotingTheValue(t *testing.T) {
	b, fake := newFakeBackend(t, Options{})
	fake.setMode(t, "leaky")
	err := b.Put(context.Background(), testID("leak"), secretBlob)
	if err == nil {
		t.Fatal("Put succeeded against a failing security")
	}
	for _, f := range []string{encodeValue(secretBlob), base64.StdEncoding.EncodeToString(secretBlob)[:16], valuePrefix} {
		if strings.Contains(err.Error(), f) {
			t.Fatalf("Put error %q contains %q", err, f)
		}
	}
	if !strings.Contains(err.Error(), "status 45") {
		t.Fatalf("Put error %q does not give security's status", err)
	}
}

func TestLockedKeychainIsUnavailable(t *testing.T) {
	b, fake := newFakeBackend(t, Options{})
	fake.setMode(t, "locked")
	ctx := context.Background()
	id := testID("locked")
	errs := map[string]error{"Put": b.Put(ctx, id, secretBlob), "Probe": b.Probe(ctx)}
	_, errs["Get"] = b.Get(ctx, id)
	_, errs["Delete"] = b.Delete(ctx, id)
	_, errs["List"] = b.List(ctx)
	for op, err := range errs {
		if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "locked") {
			t.Errorf("%s on a locked keychain: %v; want ErrUnavailable saying it is locked", op, err)
		}
		if errors.Is(err, backend.ErrNotFound) {
			t.Errorf("%s on a locked keychain wraps ErrNotFound: %v", op, err)
		}
	}
}

func TestUnknownKeychainIsUnavailable(t *testing.T) {
	b, _ := newFakeBackend(t, Options{Keychain: "/nowhere/none.keychain-db"})
	_, err := b.Get(context.Background(), testID("x"))
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "keychain does not exist") {
		t.Fatalf("Get in a missing keychain: %v; want ErrUnavailable saying it does not exist", err)
	}
}

func TestKeychainOptionIsPassedToEveryCommand(t *testing.T) {
	b, fake := newFakeBackend(t, Options{Keychain: "login.keychain"})
	ctx := context.Background()
	id := testID("kc")
	if err := b.Put(ctx, id, secretBlob); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := b.List(ctx); err != nil {
		t.Fatal(err)
	}
	calls := fake.calls(t)
	if !bytes.HasSuffix(calls[0].Stdin, []byte(` "login.keychain"`+"\n")) {
		t.Errorf("add line %q does not end with the keychain", calls[0].Stdin)
	}
	for _, c := range calls[1:] {
		if c.Argv[len(c.Argv)-1] != "login.keychain" {
			t.Errorf("%q does not end with the keychain", c.Argv)
		}
	}
}

func TestHangingSecurityTimesOutAsUnavailable(t *testing.T) {
	b, fake := newFakeBackend(t, Options{Timeout: 200 * time.Millisecond})
	fake.setMode(t, "hang")
	_, err := b.Get(context.Background(), testID("hang"))
	if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("Get with a hanging security: %v; want ErrUnavailable saying it did not answer", err)
	}
}

func TestCancelledContextStopsSecurity(t *testing.T) {
	b, fake := newFakeBackend(t, Options{})
	fake.setMode(t, "hang")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := b.Get(ctx, testID("cancel"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get with an expiring context: %v; want context.DeadlineExceeded", err)
	}
}

func TestMissingSecurityExecutableIsUnavailable(t *testing.T) {
	b, err := newBackend(Options{SecurityPath: filepath.Join(t.TempDir(), "no-such-security")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(context.Background(), testID("x")); !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("Get without a security executable: %v; want ErrUnavailable", err)
	}
}

func TestPutOfOversizedBlobRunsNothing(t *testing.T) {
	b, fake := newFakeBackend(t, Options{})
	err := b.Put(context.Background(), testID("big"), make([]byte, MaxBlobSize+1))
	if !errors.Is(err, backend.ErrTooLarge) {
		t.Fatalf("Put of MaxBlobSize+1 bytes: %v; want ErrTooLarge", err)
	}
	if calls := fake.calls(t); len(calls) != 0 {
		t.Fatalf("security ran %d times for a refused Put", len(calls))
	}
}

func TestInvalidObjectIDRunsNothing(t *testing.T) {
	b, fake := newFakeBackend(t, Options{})
	ctx := context.Background()
	for _, id := range []backend.ObjectID{"", "obj_x", `obj_" -w "x`, backend.ObjectID("obj_" + strings.Repeat("A", 64))} {
		if err := b.Put(ctx, id, secretBlob); err == nil {
			t.Errorf("Put(%q) succeeded", id)
		}
		if _, err := b.Get(ctx, id); err == nil {
			t.Errorf("Get(%q) succeeded", id)
		}
	}
	if calls := fake.calls(t); len(calls) != 0 {
		t.Fatalf("security ran %d times for invalid ids", len(calls))
	}
}

func TestProbeRoundTripsAndLeavesNothing(t *testing.T) {
	b, fake := newFakeBackend(t, Options{})
	ctx := context.Background()
	if err := b.Probe(ctx); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	calls := fake.calls(t)
	if len(calls) != 3 {
		t.Fatalf("Probe ran security %d times, want 3 (add, find, delete)", len(calls))
	}
	res, err := b.run.run(ctx, nil, findArgs(Service, probeAccount, "")...)
	if err != nil || res.code != exitItemNotFound {
		t.Fatalf("probe item still there after Probe (status %d, %v)", res.code, err)
	}
}

func TestClosedBackendIsUnavailable(t *testing.T) {
	b, fake := newFakeBackend(t, Options{})
	b.Close()
	ctx := context.Background()
	id := testID("closed")
	errs := map[string]error{"Put": b.Put(ctx, id, secretBlob), "Probe": b.Probe(ctx)}
	_, errs["Get"] = b.Get(ctx, id)
	_, errs["Delete"] = b.Delete(ctx, id)
	_, errs["List"] = b.List(ctx)
	for op, err := range errs {
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("%s after Close: %v; want ErrUnavailable", op, err)
		}
	}
	if calls := fake.calls(t); len(calls) != 0 {
		t.Fatalf("security ran %d times after Close", len(calls))
	}
}

func TestLongestAcceptedLineReachesSecurityWhole(t *testing.T) {
	// A line of exactly maxLineLen bytes must be read by security -i as one
	// command (its readline keeps 4095 bytes, so one byte more would leave
	// the newline for a second, empty command).
	b, _ := newFakeBackend(t, Options{})
	ctx := context.Background()
	args := []string{"add-generic-password", "-U", "-s", Service, "-a", "long", "-w"}
	prefix, err := interactiveLine(append(args, "")...)
	if err != nil {
		t.Fatal(err)
	}
	value := strings.Repeat("v", maxLineLen-(len(prefix)-1))
	line, err := interactiveLine(append(args, value)...)
	if err != nil {
		t.Fatal(err)
	}
	if len(line) != maxLineLen+1 {
		t.Fatalf("test bug: line is %d bytes, want %d", len(line), maxLineLen+1)
	}
	res, err := b.run.run(ctx, []byte(line), "-i")
	if err != nil || res.code != 0 {
		t.Fatalf("security -i: %v, status %d, stderr %q", err, res.code, res.stderr)
	}
	res, err = b.run.run(ctx, nil, findArgs(Service, "long", "")...)
	if err != nil || res.code != 0 || string(res.stdout) != value+"\n" {
		t.Fatalf("find: %v, status %d, %d bytes; want the %d-byte value", err, res.code, len(res.stdout), len(value))
	}
}

func TestLineOneByteOverLimitWouldHideSecurityStatus(t *testing.T) {
	// Why maxLineLen is 4094: at 4095 bytes security runs the command, then
	// the leftover newline as an empty command whose status 0 replaces the
	// real one. Shown with a lookup of a missing item (status 44).
	b, _ := newFakeBackend(t, Options{})
	for _, tc := range []struct {
		length     int
		wantStatus int
	}{
		{maxLineLen, exitItemNotFound},
		{maxLineLen + 1, 0},
	} {
		head := `find-generic-password -s "` + Service + `" -a "`
		line := head + strings.Repeat("m", tc.length-len(head)-1) + "\"\n"
		res, err := b.run.run(context.Background(), []byte(line), "-i")
		if err != nil {
			t.Fatal(err)
		}
		if res.code != tc.wantStatus {
			t.Errorf("%d-byte line: status %d, want %d", tc.length, res.code, tc.wantStatus)
		}
	}
}
