//go:build unix

package vault

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/internal/testutil/secretservicetest"
	"github.com/palyra/palyra-vault/vault/backend"
)

// requireSecretService skips the test when no Secret Service is reachable,
// or fails it under CI, where a missing real component is a failure.
func requireSecretService(t *testing.T) {
	t.Helper()
	secretservicetest.Require(t)
}

// fillVault stores n secrets and returns their values by ref.
func fillVault(t *testing.T, v *Vault, n int) map[Ref]string {
	t.Helper()
	want := map[Ref]string{}
	for i := range n {
		r := Ref{Scope: []string{"global", "plugins/github", "principal:alice"}[i%3], Key: fmt.Sprintf("key-%03d", i)}
		want[r] = fmt.Sprintf("value %d of %s", i, r)
		mustPut(t, v, r.Scope, r.Key, want[r])
	}
	return want
}

// checkVault opens the vault as a user would and checks it holds exactly want.
func checkVault(t *testing.T, cfg Config, want map[Ref]string) backend.Kind {
	t.Helper()
	cfg.Backend = ""
	v, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("vault does not open: %v", err)
	}
	defer v.Close()
	list, err := v.List(context.Background(), "")
	if err != nil || len(list) != len(want) {
		t.Fatalf("on %s: List = %d secrets, %v; want %d", v.Info().Backend, len(list), err, len(want))
	}
	for r, value := range want {
		if got := mustGet(t, v, r.Scope, r.Key); got != value {
			t.Fatalf("on %s: %s = %q, want %q", v.Info().Backend, r, got, value)
		}
	}
	return v.Info().Backend
}

func TestMigrateMovesEverySecretAndBack(t *testing.T) {
	requireSecretService(t)
	cfg := testConfig(t)
	v := openTest(t, cfg)
	want := fillVault(t, v, 12)
	ctx := context.Background()

	rep, err := v.Migrate(ctx, backend.KindSecretService)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Copied != 12 || rep.Removed != 12 || rep.From != backend.KindEncryptedFile {
		t.Fatalf("report %+v", rep)
	}
	if entries, _ := os.ReadDir(filepath.Join(cfg.Root, "objects")); len(entries) != 0 {
		t.Fatalf("%d object files left in the file store after migrating away", len(entries))
	}
	// The same handle keeps working on the new backend.
	mustPut(t, v, "global", "after", "written after migration")
	want[Ref{Scope: "global", Key: "after"}] = "written after migration"
	if got := checkVault(t, cfg, want); got != backend.KindSecretService {
		t.Fatalf("vault opens on %s", got)
	}
	if _, err := v.Migrate(ctx, backend.KindSecretService); err == nil || !strings.Contains(err.Error(), "already uses") {
		t.Fatalf("migrating to the current backend: %v", err)
	}
	if _, err := v.Migrate(ctx, backend.KindEncryptedFile); err != nil {
		t.Fatal(err)
	}
	if got := checkVault(t, cfg, want); got != backend.KindEncryptedFile {
		t.Fatalf("vault opens on %s", got)
	}
	cleanupVault(t, cfg)
}

func TestStaleHandleRefusesToWriteAfterAnotherMigrated(t *testing.T) {
	requireSecretService(t)
	cfg := testConfig(t)
	stale := openTest(t, cfg)
	mover := openTest(t, cfg)
	mustPut(t, mover, "global", "k", "v")
	if _, err := mover.Migrate(context.Background(), backend.KindSecretService); err != nil {
		t.Fatal(err)
	}
	_, err := stale.Put(context.Background(), "global", "k", []byte("lost?"))
	if !errors.Is(err, ErrBackendUnavailable) || !strings.Contains(err.Error(), "open it again") {
		t.Fatalf("Put through a handle opened before the migration = %v", err)
	}
	checkVault(t, cfg, map[Ref]string{{Scope: "global", Key: "k"}: "v"})
	cleanupVault(t, cfg)
}

func TestMigrateRefusesUnknownTarget(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "k", "v")
	before := hashTree(t, cfg.Root)
	for _, to := range []backend.Kind{"floppy", backend.KindAuto} {
		if _, err := v.Migrate(context.Background(), to); !errors.Is(err, ErrBackendUnavailable) {
			t.Fatalf("Migrate(%q) = %v", to, err)
		}
	}
	if hashTree(t, cfg.Root) != before {
		t.Fatal("a refused migration changed the vault")
	}
}

// TestMigrationKilledBeforeTheSwitchLeavesNoStaleRecord is the state a
// kill -9 leaves between recording migrate.from and switching the marker:
// the record names the backend the vault is still on. Rerunning the
// migration to that backend drops the stale record (it once failed as
// corrupt, found by TestKillNineDuringMigrationLeavesEverySecretReadable).
func TestMigrationKilledBeforeTheSwitchLeavesNoStaleRecord(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "k", "v")
	from := filepath.Join(cfg.Root, migrateFromFile)
	if err := fsutil.WriteFileAtomic(from, []byte(string(backend.KindEncryptedFile)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := v.Migrate(context.Background(), backend.KindEncryptedFile)
	if err == nil || !strings.Contains(err.Error(), "already uses") {
		t.Fatalf("Migrate to the backend the vault is on, with a stale record: %v, want \"already uses\"", err)
	}
	if _, err := os.Lstat(from); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the stale %s is still there: %v", migrateFromFile, err)
	}
	checkVault(t, cfg, map[Ref]string{{Scope: "global", Key: "k"}: "v"})
}

// cleanupVault deletes every secret, so that nothing is left in a shared
// store such as the Secret Service.
func cleanupVault(t *testing.T, cfg Config) {
	t.Helper()
	cfg.Backend = ""
	v, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	list, _ := v.List(context.Background(), "")
	for _, m := range list {
		v.Delete(context.Background(), m.Scope, m.Key)
	}
}

func init() { childRoles["migrator"] = migrator }

// migrator opens the vault, says "ready", waits for a target on stdin and
// migrates to it, then says "done".
func migrator() int {
	cfg := childConfig()
	cfg.Backend = ""
	v, err := Open(context.Background(), cfg)
	if err != nil {
		emit("error %v", err)
		return 1
	}
	emit("ready")
	var to string
	if _, err := fmt.Scanln(&to); err != nil {
		return 1
	}
	if _, err := v.Migrate(context.Background(), backend.Kind(to)); err != nil {
		emit("error %v", err)
		return 1
	}
	emit("done")
	return 0
}

// TestKillNineDuringMigrationLeavesEverySecretReadable kills a migrating
// process at random moments, back and forth between the file store and the
// real Secret Service, and checks after each kill that the vault opens on
// one backend or the other with every secret; a rerun then completes.
func TestKillNineDuringMigrationLeavesEverySecretReadable(t *testing.T) {
	requireSecretService(t)
	cfg := testConfig(t)
	v := openTest(t, cfg)
	want := fillVault(t, v, 24)
	v.Close()
	defer cleanupVault(t, cfg)

	// Time one whole migration, so the kills spread over all its steps.
	c := startChild(t, "timing", "migrator", cfg)
	c.expect(t, "ready")
	start := time.Now()
	fmt.Fprintln(c.stdin, backend.KindSecretService)
	c.expect(t, "done")
	span := time.Since(start)
	c.wait()

	const rounds = 24
	kinds := map[backend.Kind]int{}
	next := startChild(t, "round 0", "migrator", cfg)
	for round := range rounds {
		c := next
		c.expect(t, "ready")
		on := currentMarker(t, cfg)
		to := backend.KindEncryptedFile
		if on == backend.KindEncryptedFile {
			to = backend.KindSecretService
		}
		fmt.Fprintln(c.stdin, to)
		time.Sleep(time.Duration(rand.Int64N(int64(span) + 1)))
		c.cmd.Process.Signal(syscall.SIGKILL)
		c.wait()
		kinds[checkVault(t, cfg, want)]++
		if round+1 < rounds {
			next = startChild(t, fmt.Sprintf("round %d", round+1), "migrator", cfg)
		}
	}
	t.Logf("after %d kills the vault opened on %v", rounds, kinds)

	// Finish whatever the last kill interrupted: migrating to the backend
	// the marker names completes a pending cleanup, if any.
	v = openTest(t, Config{Root: cfg.Root, StateRoot: cfg.StateRoot, SessionBus: cfg.SessionBus})
	if _, err := v.Migrate(context.Background(), v.Info().Backend); err != nil && !strings.Contains(err.Error(), "already uses") {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Root, migrateFromFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("migrate.from still there after the rerun: %v", err)
	}
	checkVault(t, cfg, want)
}

func currentMarker(t *testing.T, cfg Config) backend.Kind {
	t.Helper()
	k, err := readMarker(cfg.Root)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
