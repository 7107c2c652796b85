//go:build linux || darwin

package peercred

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestGetReportsTheConnectingProcess(t *testing.T) {
	dir, err := os.MkdirTemp("", "pc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "s"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	cred, err := Get(server)
	if err != nil {
		t.Fatal(err)
	}
	if cred.UID != uint32(os.Geteuid()) || cred.PID != int32(os.Getpid()) {
		t.Fatalf("Get = %+v, want uid %d pid %d", cred, os.Geteuid(), os.Getpid())
	}
	if runtime.GOOS == "linux" {
		self, _ := os.Executable()
		if got := Executable(cred.PID); got != self {
			t.Fatalf("Executable = %q, want %q", got, self)
		}
		if got := Executable(0); got != "" {
			t.Fatalf("Executable(0) = %q", got)
		}
	}
}
