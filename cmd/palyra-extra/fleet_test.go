package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
	"github.com/palyra/palyra-vault/vault/backend/etcdconf"
)

// The fleet tests run the real programs, built by scripts/build.sh: palyra,
// which hands every command on an etcd vault to palyra-extra beside it,
// against the real 3-member cluster of etcdproc. Two hosts are two state
// roots used by separate processes.

var binDir string

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "palyra-fleet-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		return etcdproc.Main(m)
	}()
	os.Exit(code)
}

// build builds palyra and palyra-extra into binDir once.
func build(t testing.TB) string {
	t.Helper()
	palyra := filepath.Join(binDir, "palyra")
	if _, err := os.Stat(palyra); err == nil {
		return palyra
	}
	cmd := exec.Command("bash", "../../scripts/build.sh", "-o", palyra)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building palyra: %v\n%s", err, out)
	}
	return palyra
}

type host struct {
	t      testing.TB
	palyra string
	state  string
}

const passphrase = "correct horse battery staple"

func newHost(t testing.TB) host {
	return host{t: t, palyra: build(t), state: t.TempDir()}
}

type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func (h host) run(stdin string, args ...string) result {
	h.t.Helper()
	cmd := exec.Command(h.palyra, args...)
	cmd.Env = h.env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		h.t.Fatalf("running palyra %v: %v", args, err)
	}
	return r
}

// env is the environment of h's palyra processes.
func (h host) env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + h.state, "PALYRA_STATE_ROOT=" + h.state,
		"PALYRA_VAULT_PASSPHRASE=" + passphrase, "PALYRA_VAULT_NEW_PASSPHRASE=" + passphrase,
		"PALYRA_BACKUP_PASSPHRASE=" + passphrase,
	}
}

func (h host) ok(stdin string, args ...string) string {
	h.t.Helper()
	r := h.run(stdin, args...)
	if r.code != 0 {
		h.t.Fatalf("palyra %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

func initArgs(c *etcdproc.Cluster, prefix string) []string {
	return []string{"secrets", "init", "--backend", "etcd", "--key-source", "passphrase",
		"--etcd-endpoints", strings.Join(c.Endpoints(), ","), "--etcd-prefix", prefix,
		"--etcd-ca", c.CAFile, "--etcd-cert", c.CertFile, "--etcd-key", c.KeyFile,
		"--etcd-user", etcdproc.User, "--etcd-password-file", c.PasswordFile}
}

// TestTwoHostsUseOneVaultThroughPalyra: every verb on an etcd vault works
// through palyra (handed to palyra-extra) from two hosts.
func TestTwoHostsUseOneVaultThroughPalyra(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	a, b := newHost(t), newHost(t)
	if out := a.ok("", initArgs(c, prefix)...); !strings.Contains(out, "backend etcd, key source passphrase") {
		t.Fatalf("init on host a: %q", out)
	}
	if fi, err := os.Stat(filepath.Join(a.state, "vault", etcdconf.FileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("etcd.json: %v, %v; want mode 0600", fi, err)
	}
	b.ok("", initArgs(c, prefix)...)
	a.ok("value-from-a", "secrets", "set", "global", "api_key")
	if got := b.ok("", "secrets", "get", "global", "api_key", "--reveal"); got != "value-from-a" {
		t.Fatalf("host b reads %q", got)
	}
	b.ok("value-from-b", "secrets", "set", "global", "api_key")
	if got := a.ok("", "secrets", "get", "vault://global/api_key", "--reveal"); got != "value-from-b" {
		t.Fatalf("host a reads %q after host b's write", got)
	}
	if out := a.ok("", "secrets", "list", "--json"); !strings.Contains(out, `"api_key"`) {
		t.Fatalf("list: %s", out)
	}
	if out := b.ok("", "secrets", "verify"); !strings.Contains(out, "1 secrets, 1 healthy") {
		t.Fatalf("verify: %s", out)
	}
	if out := b.ok("", "secrets", "backend"); !strings.Contains(out, "etcd") || !strings.Contains(out, prefix) {
		t.Fatalf("backend: %s", out)
	}
	if out := b.ok("", "secrets", "doctor"); !strings.Contains(out, "ok  etcd") {
		t.Fatalf("doctor does not find the etcd cluster healthy:\n%s", out)
	}
	b.ok("", "secrets", "delete", "global", "api_key")
	if r := a.run("", "secrets", "get", "global", "api_key"); r.code != 3 {
		t.Fatalf("get after delete on the other host: exit %d, want 3 (not found)\n%s", r.code, r.stderr)
	}
}

// TestStoppedClusterFailsEveryVerbWithItsExitCode: with every etcd member
// stopped (killed), every verb fails within about its deadline with exit
// code 5 and an error naming the endpoints; with the members back, every
// verb works again.
func TestStoppedClusterFailsEveryVerbWithItsExitCode(t *testing.T) {
	c := etcdproc.Shared(t)
	a := newHost(t)
	a.ok("", initArgs(c, etcdproc.NewPrefix())...)
	a.ok("v", "secrets", "set", "global", "k")
	root := filepath.Join(a.state, "vault")
	st, err := etcdconf.Read(root)
	if err != nil {
		t.Fatal(err)
	}
	st.Timeout = "500ms"
	if err := etcdconf.Write(root, st); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(a.state, "backup.age")
	verbs := [][]string{
		{"secrets", "get", "global", "k", "--reveal"},
		{"secrets", "set", "global", "k2"},
		{"secrets", "list"},
		{"secrets", "delete", "global", "k2"},
		{"secrets", "verify"},
		{"secrets", "rotate-key"},
		{"secrets", "export", "-o", backup, "--force"},
		{"secrets", "doctor"},
	}
	restart := c.Outage(t)
	for _, args := range verbs {
		r := a.run("x", args...)
		if r.code != 5 || !strings.Contains(r.stderr, c.Endpoints()[0]) {
			t.Errorf("palyra %s with every member stopped: exit %d, stderr %q; want exit 5 naming the endpoints", strings.Join(args, " "), r.code, r.stderr)
		}
		// A bound far above the deadline: a hang, not a slow run.
		if r.took > 10*time.Second {
			t.Errorf("palyra %s took %s with a deadline of 500ms", strings.Join(args, " "), r.took)
		}
	}
	restart()
	for _, args := range verbs {
		a.ok("x", args...)
	}
	if got := a.ok("", "secrets", "get", "global", "k", "--reveal"); got != "v" {
		t.Fatalf("after the members came back: %q", got)
	}
	// The backup export made restores into the shared vault: the secret
	// deleted since comes back, the one still there is kept.
	a.ok("", "secrets", "delete", "global", "k")
	a.ok("", "secrets", "import", backup, "--on-conflict", "skip")
	if got := a.ok("", "secrets", "get", "global", "k", "--reveal"); got != "v" {
		t.Fatalf("after import of the backup: %q", got)
	}
}
