package etcdstore_test

// This file runs this test binary again as child processes in named roles
// (a lock holder to kill -9, a writer of a vault), speaking one line at a
// time on stdout. A child finds its host's vault root (whose etcd.json
// names the cluster) in its environment.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/vault/backend/etcdconf"
	"github.com/palyra/palyra-vault/vault/backend/etcdstore"
)

const (
	childRoleEnv  = "PALYRA_ETCD_TEST_CHILD"
	childRootEnv  = "PALYRA_ETCD_TEST_ROOT"
	childStateEnv = "PALYRA_ETCD_TEST_STATE"
)

// childRoles maps a role to the function a child runs; its result is the
// child's exit code.
var childRoles = map[string]func() int{}

// emit writes one line to stdout in one write(2), so the parent gets the
// whole line or none of it even when the child is killed right after.
func emit(format string, args ...any) {
	if _, err := os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n"); err != nil {
		os.Exit(3)
	}
}

// optionsFrom builds store options from a host's settings, as etcdstore.Open
// does, reading the password from the settings' file.
func optionsFrom(st *etcdconf.Settings) (etcdstore.Options, error) {
	o := etcdstore.Options{Endpoints: st.Endpoints, Prefix: st.Prefix, User: st.User, Timeout: st.Deadline()}
	cert, err := tls.LoadX509KeyPair(st.CertFile, st.KeyFile)
	if err != nil {
		return o, err
	}
	pem, err := os.ReadFile(st.CAFile)
	if err != nil {
		return o, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
	pw, err := os.ReadFile(st.PasswordFile)
	if err != nil {
		return o, err
	}
	o.Password = strings.TrimSpace(string(pw))
	return o, nil
}

// child is a running copy of this test binary in some role.
type child struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, line by line; closed at EOF
	stderr *testutil.SyncBuffer
	waited bool
}

// startChild runs this test binary in role for the host h, with extra
// environment entries. The child is killed at the end of the test if it
// still runs.
func startChild(t *testing.T, name, role string, h host, env ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childRoleEnv+"="+role, childRootEnv+"="+h.root, childStateEnv+"="+h.state, "PALYRA_TEST_CHEAP_KDF=1")
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

// childLineTimeout is a deadlock guard, not a timing assertion.
const childLineTimeout = 2 * time.Minute

// next returns the child's next line, or ok false at EOF.
func (c *child) next(t *testing.T) (string, bool) {
	t.Helper()
	select {
	case line, ok := <-c.lines:
		return line, ok
	case <-time.After(childLineTimeout):
		_ = c.cmd.Process.Kill()
		c.wait()
		t.Fatalf("child %s printed nothing for %v; stderr:\n%s", c.name, childLineTimeout, c.stderr)
		return "", false
	}
}

// expect reads the next line and fails the test unless it is want.
func (c *child) expect(t *testing.T, want string) {
	t.Helper()
	if line, ok := c.next(t); !ok || line != want {
		t.Fatalf("child %s printed %q (open %v), want %q; stderr:\n%s", c.name, line, ok, want, c.stderr)
	}
}

func (c *child) wait() error {
	c.waited = true
	return c.cmd.Wait()
}

// childContext is the context of a child's work: until its stdin closes.
func childContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	return ctx
}
