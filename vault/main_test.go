package vault

// This file holds TestMain and what the multi-process tests share: running
// this test binary again as a child process in a named role, the line
// protocol children speak on stdout, and self-describing test values whose
// bytes say which write produced them, so a torn, mixed or stale value can
// never pass for a good one.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testhook"
	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/vault/backend"
)

// Environment variables of a child process. childRoleEnv selects the role;
// the others carry the vault's location and the role's parameters.
const (
	childRoleEnv  = "PALYRA_VAULT_TEST_CHILD"
	childRootEnv  = "PALYRA_VAULT_TEST_ROOT"
	childStateEnv = "PALYRA_VAULT_TEST_STATE"
)

// childRoles maps a role name to the function a child runs; its result is
// the child's exit code. Test files register their roles in init.
var childRoles = map[string]func() int{}

func TestMain(m *testing.M) {
	testhook.MarkTestBinary() // ConfigFromEnv honours PALYRA_TEST_CHEAP_KDF in this binary
	if role, ok := os.LookupEnv(childRoleEnv); ok {
		run := childRoles[role]
		if run == nil {
			fmt.Fprintf(os.Stderr, "unknown child role %q\n", role)
			os.Exit(2)
		}
		os.Exit(run())
	}
	code := m.Run()
	removeBenchFixtures()
	os.Exit(code)
}

// childConfig is the vault config a child reads from its environment.
func childConfig() Config {
	return Config{
		Root:      os.Getenv(childRootEnv),
		StateRoot: os.Getenv(childStateEnv),
		Backend:   backend.KindEncryptedFile,
		// The parent's Secret Service, for children that migrate to it.
		SessionBus: ConfigFromEnv().SessionBus,
	}
}

// childEnvInt reads a numeric parameter of a child; a missing or malformed
// one ends the child with exit code 2.
func childEnvInt(name string) uint64 {
	n, err := strconv.ParseUint(os.Getenv(name), 10, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "child parameter %s: %v\n", name, err)
		os.Exit(2)
	}
	return n
}

// emit writes one protocol line to stdout in a single write(2), so the
// parent either gets the whole line or none of it, even when the child is
// killed right after. A child whose parent is gone exits.
func emit(format string, args ...any) {
	if _, err := os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n"); err != nil {
		os.Exit(3)
	}
}

// child is a running copy of this test binary in some role.
type child struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, line by line; closed at EOF
	stderr *testutil.SyncBuffer
	waited bool
	err    error // from Wait
}

// startChild runs this test binary in role on the vault of cfg, with extra
// environment entries ("NAME=value"). The child is killed at the end of the
// test if it still runs.
func startChild(t testing.TB, name, role string, cfg Config, env ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childRoleEnv+"="+role, childRootEnv+"="+cfg.Root, childStateEnv+"="+cfg.StateRoot)
	cmd.Env = append(cmd.Env, env...)
	c := &child{name: name, cmd: cmd, lines: make(chan string, 1<<16), stderr: new(testutil.SyncBuffer)}
	cmd.Stderr = c.stderr
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting child %s: %v", name, err)
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if !c.waited {
			_ = c.cmd.Process.Kill()
			c.wait()
		}
	})
	return c
}

// childLineTimeout bounds how long a parent waits for one line; it is a
// deadlock guard, far above any expected delay, not a timing assertion.
const childLineTimeout = 2 * time.Minute

// next returns the child's next stdout line, or ok false at EOF. It fails
// the test if no line comes within childLineTimeout.
func (c *child) next(t testing.TB) (line string, ok bool) {
	t.Helper()
	select {
	case line, ok = <-c.lines:
		return line, ok
	case <-time.After(childLineTimeout):
		_ = c.cmd.Process.Kill()
		c.wait()
		t.Fatalf("child %s printed nothing for %v; stderr:\n%s", c.name, childLineTimeout, c.stderr)
		return "", false
	}
}

// expect reads the next line and fails the test unless it is want.
func (c *child) expect(t testing.TB, want string) {
	t.Helper()
	line, ok := c.next(t)
	if !ok || line != want {
		_ = c.cmd.Process.Kill()
		c.wait()
		t.Fatalf("child %s printed %q (open %v), want %q; stderr:\n%s", c.name, line, ok, want, c.stderr)
	}
}

// rest reads every line up to EOF.
func (c *child) rest(t testing.TB) []string {
	t.Helper()
	var out []string
	for {
		line, ok := c.next(t)
		if !ok {
			return out
		}
		out = append(out, line)
	}
}

// wait waits for the child to exit, once, and records its status.
func (c *child) wait() error {
	if !c.waited {
		c.waited = true
		c.err = c.cmd.Wait()
	}
	return c.err
}

// testValue returns the self-describing value named tag: the tag, a newline,
// a pseudo-random body and the SHA-256 of everything before it. Everything is
// derived from the tag, so the same tag always gives the same bytes, and a
// reader can recompute the exact value from the tag it finds inside. Body
// sizes vary: most are under 512 bytes, one in four reaches up to 8 KiB.
func testValue(tag string) []byte {
	seed := sha256.Sum256([]byte("palyra-vault test value\x00" + tag))
	rng := rand.New(rand.NewChaCha8(seed))
	size := rng.IntN(512)
	if rng.IntN(4) == 0 {
		size = rng.IntN(8 << 10)
	}
	v := make([]byte, 0, len(tag)+1+size+sha256.Size)
	v = append(v, tag...)
	v = append(v, '\n')
	for range size / 8 {
		v = binary.LittleEndian.AppendUint64(v, rng.Uint64())
	}
	for range size % 8 {
		v = append(v, byte(rng.Uint32()))
	}
	sum := sha256.Sum256(v)
	return append(v, sum[:]...)
}

// errNotTestValue is returned by parseTestValue for bytes no testValue call
// produced: truncated, spliced from two values, or otherwise damaged.
var errNotTestValue = errors.New("not a test value")

// parseTestValue returns the tag of a value made by testValue. It fails
// unless the bytes are exactly testValue(tag).
func parseTestValue(v []byte) (string, error) {
	tag, _, ok := bytes.Cut(v, []byte{'\n'})
	if !ok || len(v) < sha256.Size {
		return "", fmt.Errorf("%w: %d bytes without a tag line", errNotTestValue, len(v))
	}
	if !bytes.Equal(v, testValue(string(tag))) {
		return "", fmt.Errorf("%w: %d bytes claiming tag %q differ from that value", errNotTestValue, len(v), tag)
	}
	return string(tag), nil
}

// valueHash is the short hash children report for a value they wrote.
func valueHash(v []byte) string {
	sum := sha256.Sum256(v)
	return fmt.Sprintf("%x", sum[:8])
}

// readValue gets scope/key and returns its tag, "" for not found, or the
// error; a value that is not a whole test value is an error.
func readValue(ctx context.Context, v *Vault, scope, key string) (string, error) {
	s, _, err := v.Get(ctx, scope, key)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer s.Wipe()
	tag, err := parseTestValue(s.Reveal())
	if err != nil {
		return "", fmt.Errorf("reading %s/%s: %w", scope, key, err)
	}
	return tag, nil
}

// fields splits a protocol line, failing the test on a wrong field count.
func fields(t testing.TB, line string, n int) []string {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != n {
		t.Fatalf("malformed child line %q: want %d fields", line, n)
	}
	return f
}
