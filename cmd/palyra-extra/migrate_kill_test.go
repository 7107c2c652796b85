//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
)

// migrateKillSecrets is how many secrets the killed migrations copy.
const migrateKillSecrets = 60

// TestMigrateToEtcdKilledAtAnyPointKeepsTheVaultWhole kills (SIGKILL)
// "migrate --to etcd" at several points: after a few objects are in etcd,
// after most, and once the marker has switched. After every kill the vault
// opens, where the marker says, with every secret verifying; a rerun of
// the same command finishes the migration, leaving every secret on etcd
// and none in the local store.
func TestMigrateToEtcdKilledAtAnyPointKeepsTheVaultWhole(t *testing.T) {
	c := etcdproc.Shared(t)
	root, err := c.Root()
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	tests := []struct {
		name string
		// killed reports, polled while the migration runs, when to kill.
		killed func(objects int64, marker []byte) bool
	}{
		{"after a few objects", func(n int64, _ []byte) bool { return n >= 3 }},
		{"after most objects", func(n int64, _ []byte) bool { return n >= migrateKillSecrets*3/4 }},
		{"after the switch", func(_ int64, m []byte) bool { return bytes.Contains(m, []byte("etcd")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := etcdproc.NewPrefix()
			a := newHost(t)
			for i := range migrateKillSecrets {
				a.ok(fmt.Sprintf("value-%d", i), "secrets", "set", "global", fmt.Sprintf("k%d", i), "--backend", "encrypted_file")
			}
			args := append([]string{"secrets", "migrate", "--to", "etcd"}, etcdFlags(c, prefix)...)
			cmd := exec.Command(a.palyra, args...)
			cmd.Env = a.env()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			marker := filepath.Join(a.state, "vault", "backend.kind")
			deadline := time.Now().Add(20 * time.Second)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				resp, err := root.Get(ctx, prefix+"obj/", clientv3.WithPrefix(), clientv3.WithCountOnly())
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				m, _ := os.ReadFile(marker)
				if tt.killed(resp.Count, m) {
					break
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("the migration never reached the kill point (%d objects in etcd)", resp.Count)
				}
				time.Sleep(500 * time.Microsecond)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			var exit *exec.ExitError
			if err := cmd.Wait(); !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the migration was not killed (%v): raise migrateKillSecrets\n%s", err, stderr.String())
			}

			// Whatever the instant, the vault opens with every secret.
			healthy := fmt.Sprintf("%d secrets, %d healthy", migrateKillSecrets, migrateKillSecrets)
			if r := a.run("", "secrets", "verify"); !strings.Contains(r.stdout, healthy) {
				t.Fatalf("verify after the kill: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			if got := a.ok("", "secrets", "get", "global", "k7", "--reveal"); got != "value-7" {
				t.Fatalf("get after the kill: %q", got)
			}

			a.ok("", args...)
			if got := a.ok("", "secrets", "backend"); !strings.Contains(got, prefix) {
				t.Fatalf("backend after the rerun: %s", got)
			}
			if files, _ := filepath.Glob(filepath.Join(a.state, "vault", "objects", "*")); len(files) != 0 {
				t.Fatalf("%d local copies left after the rerun", len(files))
			}
			if _, err := os.Stat(filepath.Join(a.state, "vault", "migrate.from")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("migrate.from after the rerun: %v", err)
			}
			if out := a.ok("", "secrets", "verify"); !strings.Contains(out, healthy) {
				t.Fatalf("verify after the rerun: %s", out)
			}
			for _, i := range []int{0, migrateKillSecrets / 2, migrateKillSecrets - 1} {
				if got := a.ok("", "secrets", "get", "global", fmt.Sprintf("k%d", i), "--reveal"); got != fmt.Sprintf("value-%d", i) {
					t.Fatalf("get k%d after the rerun: %q", i, got)
				}
			}
		})
	}
}

// TestMigrateOffEtcdKilledAtAnyPointKeepsTheVaultWhole kills "migrate --to
// encrypted_file --delete-source" on the sole member: after a few local
// copies, and once the marker has switched. After every kill the vault
// opens with every secret; a rerun finishes: every secret local, none left
// under the prefix.
func TestMigrateOffEtcdKilledAtAnyPointKeepsTheVaultWhole(t *testing.T) {
	c := etcdproc.Shared(t)
	root, err := c.Root()
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	tests := []struct {
		name   string
		killed func(local int, marker []byte) bool
	}{
		{"after a few copies", func(n int, _ []byte) bool { return n >= 3 }},
		{"after the switch", func(_ int, m []byte) bool { return bytes.Contains(m, []byte("encrypted_file")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := etcdproc.NewPrefix()
			a := newHost(t)
			a.ok("", memberInitArgs(c, prefix)...)
			for i := range migrateKillSecrets {
				a.ok(fmt.Sprintf("value-%d", i), "secrets", "set", "global", fmt.Sprintf("k%d", i))
			}
			args := []string{"secrets", "migrate", "--to", "encrypted_file", "--delete-source"}
			cmd := exec.Command(a.palyra, args...)
			cmd.Env = a.env()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			vdir := filepath.Join(a.state, "vault")
			deadline := time.Now().Add(20 * time.Second)
			for {
				files, _ := filepath.Glob(filepath.Join(vdir, "objects", "*"))
				m, _ := os.ReadFile(filepath.Join(vdir, "backend.kind"))
				if tt.killed(len(files), m) {
					break
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("the migration never reached the kill point (%d local objects)", len(files))
				}
				time.Sleep(200 * time.Microsecond)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			var exit *exec.ExitError
			if err := cmd.Wait(); !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the migration was not killed (%v): raise migrateKillSecrets", err)
			}
			healthy := fmt.Sprintf("%d secrets, %d healthy", migrateKillSecrets, migrateKillSecrets)
			if r := a.run("", "secrets", "verify"); !strings.Contains(r.stdout, healthy) {
				t.Fatalf("verify after the kill: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}

			a.ok("", args...)
			if got := a.ok("", "secrets", "backend"); strings.Contains(got, prefix) {
				t.Fatalf("still on etcd after the rerun: %s", got)
			}
			if r := a.run("", "secrets", "verify"); r.code != 0 || !strings.Contains(r.stdout, healthy) {
				t.Fatalf("verify after the rerun: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if got := a.ok("", "secrets", "get", "global", "k9", "--reveal"); got != "value-9" {
				t.Fatalf("get after the rerun: %q", got)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			resp, err := root.Get(ctx, prefix+"obj/", clientv3.WithPrefix(), clientv3.WithCountOnly())
			cancel()
			if err != nil || resp.Count != 0 {
				t.Fatalf("shared objects left after --delete-source: %v, %v", resp, err)
			}
		})
	}
}
