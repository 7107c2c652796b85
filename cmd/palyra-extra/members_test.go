package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
)

func memberInitArgs(c *etcdproc.Cluster, prefix string) []string {
	args := initArgs(c, prefix)
	for i, a := range args {
		if a == "passphrase" && args[i-1] == "--key-source" {
			args[i] = "member"
		}
	}
	return args
}

// recipient runs host-key --json on h and returns its recipient.
func (h host) recipient() string {
	h.t.Helper()
	var out struct {
		Recipient    string `json:"recipient"`
		IdentityFile string `json:"identity_file"`
	}
	if err := json.Unmarshal([]byte(h.ok("", "secrets", "host-key", "--json")), &out); err != nil {
		h.t.Fatal(err)
	}
	if !strings.HasPrefix(out.Recipient, "age1") || !strings.HasPrefix(out.IdentityFile, h.state) {
		h.t.Fatalf("host-key --json: %+v", out)
	}
	if plain := strings.TrimSpace(h.ok("", "secrets", "host-key")); plain != out.Recipient {
		h.t.Fatalf("host-key prints %q, --json %q", plain, out.Recipient)
	}
	return out.Recipient
}

// TestMembersThroughPalyra: two hosts (two state roots, separate
// processes) through palyra: the initialising host is the first member; a
// joining host is told its recipient and the command that adds it; once
// added it reads; once removed it cannot read what is written afterwards.
func TestMembersThroughPalyra(t *testing.T) {
	c := etcdproc.Shared(t)
	prefix := etcdproc.NewPrefix()
	a, b := newHost(t), newHost(t)
	if out := a.ok("", memberInitArgs(c, prefix)...); !strings.Contains(out, "key source member") {
		t.Fatalf("init on host a: %q", out)
	}
	ra := a.recipient()
	if got := a.ok("", "secrets", "members", "list"); got != ra+"\n" {
		t.Fatalf("members list after init: %q; want the initialising host %s", got, ra)
	}
	a.ok("before", "secrets", "set", "global", "before")

	rb := b.recipient()
	addCmd := "palyra secrets members add " + rb
	r := b.run("", memberInitArgs(c, prefix)...)
	if r.code != 0 || !strings.Contains(r.stderr, addCmd) {
		t.Fatalf("init on host b: exit %d, stderr %q; want a notice naming %q", r.code, r.stderr, addCmd)
	}
	r = b.run("", "secrets", "get", "global", "before", "--reveal")
	if r.code != 1 || !strings.Contains(r.stderr, addCmd) || strings.Contains(r.stdout, "before") {
		t.Fatalf("get on a non-member: exit %d, stdout %q, stderr %q; want exit 1 naming %q", r.code, r.stdout, r.stderr, addCmd)
	}
	if r := b.run("", "secrets", "members", "add", rb); r.code == 0 {
		t.Fatal("a non-member added itself")
	}
	if r := a.run("", "secrets", "members", "add", "age1notarecipient"); r.code != 2 {
		t.Fatalf("members add with a malformed recipient: exit %d, want 2 (usage)\n%s", r.code, r.stderr)
	}

	var added struct {
		Recipient string `json:"recipient"`
		Added     bool   `json:"added"`
	}
	if err := json.Unmarshal([]byte(a.ok("", "secrets", "members", "add", rb, "--json")), &added); err != nil || !added.Added || added.Recipient != rb {
		t.Fatalf("members add --json: %+v, %v", added, err)
	}
	if got := b.ok("", "secrets", "get", "global", "before", "--reveal"); got != "before" {
		t.Fatalf("added member reads %q", got)
	}
	var list struct{ Members []string }
	if err := json.Unmarshal([]byte(b.ok("", "secrets", "members", "list", "--json")), &list); err != nil || len(list.Members) != 2 {
		t.Fatalf("members list --json: %+v, %v", list, err)
	}

	var rep struct {
		Recipient string `json:"recipient"`
		OldKeyID  string `json:"old_key_id"`
		NewKeyID  string `json:"new_key_id"`
		Rewrapped int    `json:"rewrapped"`
	}
	if err := json.Unmarshal([]byte(a.ok("", "secrets", "members", "remove", rb, "--json")), &rep); err != nil || rep.Rewrapped != 1 || rep.OldKeyID == rep.NewKeyID {
		t.Fatalf("members remove --json: %+v, %v", rep, err)
	}
	a.ok("after", "secrets", "set", "global", "after")
	for _, key := range []string{"after", "before"} {
		r := b.run("", "secrets", "get", "global", key, "--reveal")
		if r.code != 1 || !strings.Contains(r.stderr, addCmd) || r.stdout != "" {
			t.Fatalf("removed host getting %s: exit %d, stdout %q, stderr %q", key, r.code, r.stdout, r.stderr)
		}
	}
	if got := a.ok("", "secrets", "members", "list"); got != ra+"\n" {
		t.Fatalf("members list after removal: %q", got)
	}
	if out := a.ok("", "secrets", "verify"); !strings.Contains(out, "2 secrets, 2 healthy") {
		t.Fatalf("verify after removal: %s", out)
	}
}
