package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
)

// etcdFlags are the --etcd-* flags of initArgs, for migrate --to etcd.
func etcdFlags(c *etcdproc.Cluster, prefix string) []string {
	args := initArgs(c, prefix)
	for i, a := range args {
		if strings.HasPrefix(a, "--etcd-") {
			return args[i:]
		}
	}
	panic("initArgs has no --etcd-* flag")
}

// TestMigrateToEtcdAndOffThroughPalyra: a local vault moves onto etcd
// through palyra (handed to palyra-extra), keyed with a member key of this
// host; a second host joins and reads; moving off etcd on the first host
// copies every secret into a local vault and leaves the shared secrets to
// the second; --delete-source is refused while the second is a member.
func TestMigrateToEtcdAndOffThroughPalyra(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	a, b := newHost(t), newHost(t)
	keys := []string{"one", "two", "three"}
	for _, k := range keys {
		a.ok("value-"+k, "secrets", "set", "global", k, "--backend", "encrypted_file")
	}
	localID, err := os.ReadFile(filepath.Join(a.state, "vault", "vault.id"))
	if err != nil {
		t.Fatal(err)
	}

	// Without the etcd settings there is nothing to migrate to.
	if r := a.run("", "secrets", "migrate", "--to", "etcd"); r.code == 0 || !strings.Contains(r.stderr, "--etcd-") {
		t.Fatalf("migrate --to etcd without settings: exit %d\n%s", r.code, r.stderr)
	}
	out := a.ok("", append([]string{"secrets", "migrate", "--to", "etcd", "--json"}, etcdFlags(c, prefix)...)...)
	var rep struct {
		From, To        string
		Copied, Removed int
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.From != "encrypted_file" || rep.To != "etcd" || rep.Copied != 3 || rep.Removed != 3 {
		t.Fatalf("migrate --to etcd --json: %q (%v)", out, err)
	}
	if files, _ := filepath.Glob(filepath.Join(a.state, "vault", "objects", "*")); len(files) != 0 {
		t.Fatalf("local copies left after the switch: %v", files)
	}
	if got := a.ok("", "secrets", "backend"); !strings.Contains(got, "etcd") || !strings.Contains(got, prefix) {
		t.Fatalf("backend after migrating: %s", got)
	}
	for _, k := range keys {
		if got := a.ok("", "secrets", "get", "global", k, "--reveal"); got != "value-"+k {
			t.Fatalf("get %s on etcd: %q", k, got)
		}
	}
	ra := a.recipient()
	if got := a.ok("", "secrets", "members", "list"); got != ra+"\n" {
		t.Fatalf("members after migrating: %q; want this host alone", got)
	}
	if again := a.run("", append([]string{"secrets", "migrate", "--to", "etcd"}, etcdFlags(c, prefix)...)...); again.code == 0 || !strings.Contains(again.stderr, "already uses etcd") {
		t.Fatalf("migrating to etcd twice: exit %d\n%s", again.code, again.stderr)
	}

	// A second local vault cannot be migrated onto the same prefix.
	other := newHost(t)
	other.ok("x", "secrets", "set", "global", "x", "--backend", "encrypted_file")
	if r := other.run("", append([]string{"secrets", "migrate", "--to", "etcd"}, etcdFlags(c, prefix)...)...); r.code == 0 || !strings.Contains(r.stderr, "already holds another vault") {
		t.Fatalf("migrating a second vault onto the prefix: exit %d\n%s", r.code, r.stderr)
	}
	if got := other.ok("", "secrets", "get", "global", "x", "--reveal"); got != "x" {
		t.Fatalf("the refused vault reads %q", got)
	}

	// A second host joins the migrated vault.
	b.run("", memberInitArgs(c, prefix)...)
	a.ok("", "secrets", "members", "add", b.recipient())
	if got := b.ok("", "secrets", "get", "global", "two", "--reveal"); got != "value-two" {
		t.Fatalf("host b reads %q", got)
	}
	if got := b.ok("", "secrets", "verify"); !strings.Contains(got, "3 secrets, 3 healthy") {
		t.Fatalf("verify on host b: %s", got)
	}

	// Off etcd on host a: refused with --delete-source while b is a member.
	if r := a.run("", "secrets", "migrate", "--to", "encrypted_file", "--delete-source"); r.code == 0 || !strings.Contains(r.stderr, "other hosts are members") {
		t.Fatalf("--delete-source with another member: exit %d\n%s", r.code, r.stderr)
	}
	if got := a.ok("", "secrets", "backend"); !strings.Contains(got, "etcd") {
		t.Fatalf("the refused migration moved the vault: %s", got)
	}
	b.ok("from-b", "secrets", "set", "global", "b-only")
	out = a.ok("", "secrets", "migrate", "--to", "encrypted_file")
	if !strings.Contains(out, "migrated 4 secrets from etcd to encrypted_file") || !strings.Contains(out, "stay for the other hosts") {
		t.Fatalf("migrate off etcd: %q", out)
	}
	if id, _ := os.ReadFile(filepath.Join(a.state, "vault", "vault.id")); string(id) != string(localID) {
		t.Fatalf("local vault id %q after the round trip, was %q", id, localID)
	}
	for _, k := range append(keys, "b-only") {
		want := "value-" + k
		if k == "b-only" {
			want = "from-b"
		}
		if got := a.ok("", "secrets", "get", "global", k, "--reveal"); got != want {
			t.Fatalf("get %s locally after migrating off etcd: %q", k, got)
		}
	}
	if got := a.ok("", "secrets", "verify"); !strings.Contains(got, "4 secrets, 4 healthy") {
		t.Fatalf("verify on host a after migrating off: %s", got)
	}
	// The local vault is a copy: a write there does not reach etcd, and
	// host b still has every shared secret.
	a.ok("local-only", "secrets", "set", "global", "one")
	if got := b.ok("", "secrets", "get", "global", "one", "--reveal"); got != "value-one" {
		t.Fatalf("host b reads %q after host a left", got)
	}
	if got := b.ok("", "secrets", "verify"); !strings.Contains(got, "4 secrets, 4 healthy") {
		t.Fatalf("verify on host b after host a left: %s", got)
	}
}

// TestMigrateOffEtcdDeleteSource: the sole member moving off etcd with
// --delete-source removes the shared secrets once the local copy is whole.
func TestMigrateOffEtcdDeleteSource(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	a, b := newHost(t), newHost(t)
	a.ok("", memberInitArgs(c, prefix)...)
	a.ok("v1", "secrets", "set", "global", "k1")
	a.ok("v2", "secrets", "set", "team", "k2")
	out := a.ok("", "secrets", "migrate", "--to", "encrypted_file", "--delete-source")
	if !strings.Contains(out, "migrated 2 secrets from etcd to encrypted_file") || !strings.Contains(out, "removed 2 old copies") {
		t.Fatalf("migrate --delete-source: %q", out)
	}
	if got := a.ok("", "secrets", "get", "team", "k2", "--reveal"); got != "v2" {
		t.Fatalf("local get: %q", got)
	}
	// A host joining the prefix now finds no secret (it uses a passphrase
	// vault's settings only to list headers).
	b.run("", memberInitArgs(c, prefix)...)
	if got := b.ok("", "secrets", "list"); strings.Contains(got, "k1") || strings.Contains(got, "k2") {
		t.Fatalf("shared secrets left after --delete-source: %q", got)
	}
}
