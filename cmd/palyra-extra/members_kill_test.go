//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
)

// membersKillSecrets is how many secrets the killed removal rewraps: enough
// that the rotation is still rewrapping when the kill lands.
const membersKillSecrets = 60

// TestMembersRemoveKilledMidRotationIsFinishedByARerun kills (SIGKILL) a
// palyra-extra process in the middle of "members remove", once its
// rotation is pending in etcd: every secret still verifies on the
// remaining member, a write made while the rotation is pending is beyond
// the removed host, and rerunning "members remove" or "rotate-key"
// finishes the removal: the removed host then reads nothing written after
// it, and every secret verifies.
func TestMembersRemoveKilledMidRotationIsFinishedByARerun(t *testing.T) {
	c := etcdproc.Shared(t)
	root, err := c.Root()
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	tests := []struct {
		name  string
		rerun func(rb string) []string
	}{
		{"members remove again", func(rb string) []string { return []string{"secrets", "members", "remove", rb} }},
		{"rotate-key", func(string) []string { return []string{"secrets", "rotate-key"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := etcdproc.NewPrefix()
			a, b := newHost(t), newHost(t)
			a.ok("", memberInitArgs(c, prefix)...)
			for i := range membersKillSecrets {
				a.ok(fmt.Sprintf("value-%d", i), "secrets", "set", "global", fmt.Sprintf("k%d", i))
			}
			rb := b.recipient()
			b.run("", memberInitArgs(c, prefix)...)
			a.ok("", "secrets", "members", "add", rb)
			b.ok("from-b", "secrets", "set", "global", "from-b")

			// Start the removal; kill it once its rotation is pending in
			// etcd, after a random further delay inside the rewrapping.
			cmd := exec.Command(a.palyra, "secrets", "members", "remove", rb)
			cmd.Env = a.env()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			stateKey := prefix + "meta/keysource.json"
			deadline := time.Now().Add(20 * time.Second)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				resp, err := root.Get(ctx, stateKey)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.Kvs) == 1 && strings.Contains(string(resp.Kvs[0].Value), `"pending"`) {
					break
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatal("the removal's rotation never became pending")
				}
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			var exit *exec.ExitError
			if err := cmd.Wait(); !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the removal was not killed mid-rotation (%v): raise membersKillSecrets", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			resp, err := root.Get(ctx, stateKey)
			cancel()
			if err != nil || len(resp.Kvs) != 1 || !strings.Contains(string(resp.Kvs[0].Value), `"pending"`) {
				t.Fatalf("after the kill the rotation is not pending: %v", err)
			}

			// Every secret opens; verify names the unfinished rotation.
			total := membersKillSecrets + 1
			if r := a.run("", "secrets", "verify"); r.code != 1 || !strings.Contains(r.stdout, fmt.Sprintf("%d secrets, %d healthy", total, total)) ||
				!strings.Contains(r.stdout, "rotation_pending") {
				t.Fatalf("verify after the kill: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			// Written while the removal is pending: sealed under the new
			// key, which the removed host has no copy of.
			a.ok("during", "secrets", "set", "global", "during")
			if r := b.run("", "secrets", "get", "global", "during", "--reveal"); r.code == 0 || r.stdout != "" {
				t.Fatalf("the host being removed read a write made during its removal: exit %d, stdout %q", r.code, r.stdout)
			}

			// The rerun waits for the killed holder's lease to expire.
			a.ok("", tt.rerun(rb)...)
			if got := a.ok("", "secrets", "members", "list"); got != a.recipient()+"\n" {
				t.Fatalf("members after the rerun: %q", got)
			}
			a.ok("after", "secrets", "set", "global", "after")
			for _, key := range []string{"during", "after", "k0", "from-b"} {
				if r := b.run("", "secrets", "get", "global", key, "--reveal"); r.code == 0 || r.stdout != "" {
					t.Fatalf("removed host read %s after the removal: exit %d, stdout %q", key, r.code, r.stdout)
				}
			}
			total += 2
			if out := a.ok("", "secrets", "verify"); !strings.Contains(out, fmt.Sprintf("%d secrets, %d healthy", total, total)) {
				t.Fatalf("verify after the rerun: %s", out)
			}
			for _, k := range []string{"k0", fmt.Sprintf("k%d", membersKillSecrets-1)} {
				want := "value-" + strings.TrimPrefix(k, "k")
				if got := a.ok("", "secrets", "get", "global", k, "--reveal"); got != want {
					t.Fatalf("get %s: %q, want %q", k, got, want)
				}
			}
			ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
			resp, err = root.Get(ctx, stateKey)
			cancel()
			if err != nil || len(resp.Kvs) != 1 || strings.Contains(string(resp.Kvs[0].Value), `"pending"`) {
				t.Fatalf("the rotation is still pending after the rerun: %v", err)
			}
		})
	}
}
