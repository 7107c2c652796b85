package vault

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/fsutil"
)

func init() { childRoles["lock-holder"] = lockHolderChild }

// lockHolderChild takes the vault's writer lock as any palyra writer does
// (flock(2) on the lock file), prints "locked", and holds it until its
// stdin reaches EOF; then it prints "released".
func lockHolderChild() int {
	unlock, err := fsutil.LockExclusive(context.Background(), filepath.Join(childConfig().Root, lockFile))
	if err != nil {
		emit("error %v", err)
		return 1
	}
	emit("locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString(0) // until EOF
	if err := unlock(); err != nil {
		emit("error %v", err)
		return 1
	}
	emit("released")
	return 0
}

// TestWriteWaitingForAnotherProcessesLockTellsAndTimesOut holds the writer
// lock in another process and checks that a write calls OnLockWait once
// with the lock's path, gives up after LockTimeout with ErrLockTimeout and
// changes nothing, and that a write whose holder lets go in time succeeds.
func TestWriteWaitingForAnotherProcessesLockTellsAndTimesOut(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "k", "before")
	lockPath := filepath.Join(cfg.Root, lockFile)

	tests := []struct {
		name     string
		timeout  time.Duration
		release  bool // the holder lets go when the writer is told it waits
		wantErr  error
		wantWait int // calls of OnLockWait
		want     string
	}{
		{name: "holder never lets go", timeout: LockWaitNotice + 500*time.Millisecond, wantErr: ErrLockTimeout, wantWait: 1, want: "before"},
		{name: "holder lets go", timeout: time.Minute, release: true, wantWait: 1, want: "after"},
		{name: "timeout before the notice", timeout: 200 * time.Millisecond, wantErr: ErrLockTimeout, wantWait: 0, want: "after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			holder := startChild(t, "holder", "lock-holder", cfg)
			holder.expect(t, "locked")
			var (
				mu    sync.Mutex
				paths []string
			)
			wcfg := cfg
			wcfg.LockTimeout = tt.timeout
			wcfg.OnLockWait = func(p string) {
				mu.Lock()
				paths = append(paths, p)
				mu.Unlock()
				if tt.release {
					_ = holder.stdin.Close()
				}
			}
			w := openTest(t, wcfg)
			_, err := w.Put(context.Background(), "global", "k", []byte(tt.want))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put = %v, want %v", err, tt.wantErr)
			}
			if err != nil && (!strings.Contains(err.Error(), fmt.Sprintf("%q", lockPath)) || !strings.Contains(err.Error(), tt.timeout.String())) {
				t.Errorf("error %q does not name the lock %s and the timeout %s", err, lockPath, tt.timeout)
			}
			mu.Lock()
			if len(paths) != tt.wantWait || tt.wantWait > 0 && paths[0] != lockPath {
				t.Errorf("OnLockWait calls = %q, want %d with %q", paths, tt.wantWait, lockPath)
			}
			mu.Unlock()
			_ = holder.stdin.Close()
			holder.expect(t, "released")
			if err := holder.wait(); err != nil {
				t.Fatalf("holder: %v; stderr:\n%s", err, holder.stderr)
			}
			if got := mustGet(t, v, "global", "k"); got != tt.want {
				t.Fatalf("value = %q, want %q", got, tt.want)
			}
		})
	}
}
