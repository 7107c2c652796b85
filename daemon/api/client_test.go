package api

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestClientWithoutDaemon checks that every request to a socket nobody
// listens on fails with ErrNotRunning naming the socket: when no file is
// there (answered by a stat, before any request is built), when a stale
// socket file is left by a daemon that died, and when the path is a
// plain file.
func TestClientWithoutDaemon(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix sockets as files: not on Windows")
	}
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		socket string
	}{
		{"no file", filepath.Join(dir, "missing.sock")},
		{"no directory", filepath.Join(dir, "missing", "d.sock")},
		{"stale socket", stale},
		{"plain file", plain},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient(tt.socket)
			defer c.Close()
			_, rerr := c.Resolve(ctx, ResolveRequest{Ref: "vault://global/a"})
			_, herr := c.Health(ctx)
			for _, err := range []error{rerr, herr} {
				if !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), "nothing listens on "+tt.socket) {
					t.Errorf("err = %v, want ErrNotRunning naming %s", err, tt.socket)
				}
			}
		})
	}
}
