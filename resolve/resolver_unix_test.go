//go:build unix

package resolve

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/secret"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot create symlinks here: %v", err)
	}
}

func TestResolveFile(t *testing.T) {
	root := t.TempDir()
	trusted := filepath.Join(root, "trusted")
	outside := filepath.Join(root, "outside")
	writeFile(t, filepath.Join(trusted, "key"), secretValue+"\n")
	writeFile(t, filepath.Join(trusted, "crlf"), secretValue+"\r\n")
	writeFile(t, filepath.Join(trusted, "sub", "key"), secretValue)
	writeFile(t, filepath.Join(trusted, "empty"), "")
	writeFile(t, filepath.Join(trusted, "big"), strings.Repeat("x", 100))
	writeFile(t, filepath.Join(outside, "key"), secretValue)
	symlink(t, filepath.Join(trusted, "key"), filepath.Join(trusted, "link-in"))
	symlink(t, filepath.Join(outside, "key"), filepath.Join(trusted, "link-out"))
	symlink(t, outside, filepath.Join(trusted, "dirlink"))
	symlink(t, filepath.Join(trusted, "key"), filepath.Join(outside, "link-to-trusted"))
	symlink(t, trusted, filepath.Join(root, "trusted-link"))
	if err := syscall.Mkfifo(filepath.Join(trusted, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}

	ref := func(name string, mod func(*Ref)) Ref {
		r := FileRef(filepath.Join(trusted, name), trusted)
		if mod != nil {
			mod(&r)
		}
		return r
	}
	symlinksOK := func(r *Ref) { r.AllowSymlinks = true }
	tests := []struct {
		name string
		ref  Ref
		kind Kind
		want string
	}{
		{"file in trusted dir, newline trimmed", ref("key", nil), 0, secretValue},
		{"crlf trimmed", ref("crlf", nil), 0, secretValue},
		{"trim_newline false keeps it", ref("key", func(r *Ref) { r.KeepNewline = true }), 0, secretValue + "\n"},
		{"subdirectory", ref("sub/key", nil), 0, secretValue},
		{"missing file", ref("nope", nil), Missing, ""},
		{"empty file is missing", ref("empty", nil), Missing, ""},
		{"larger than max_bytes", ref("big", func(r *Ref) { r.MaxBytes = 99 }), TooLarge, ""},
		{"exactly max_bytes", ref("big", func(r *Ref) { r.MaxBytes = 100 }), 0, strings.Repeat("x", 100)},
		{"symlink refused by default", ref("link-in", nil), Blocked, ""},
		{"symlinked directory refused by default", ref("dirlink/key", nil), Blocked, ""},
		{"symlink allowed to a file inside", ref("link-in", symlinksOK), 0, secretValue},
		{"allowed symlink pointing outside is blocked", ref("link-out", symlinksOK), Blocked, ""},
		{"allowed symlinked dir pointing outside is blocked", ref("dirlink/key", symlinksOK), Blocked, ""},
		{"file outside the trusted dir", FileRef(filepath.Join(outside, "key"), trusted), Blocked, ""},
		{"dot-dot escape", FileRef(trusted+"/../outside/key", trusted), Blocked, ""},
		{"dot-dot escape with symlinks allowed", func() Ref { r := FileRef(trusted+"/sub/../../outside/key", trusted); r.AllowSymlinks = true; return r }(), Blocked, ""},
		{"trusted dir itself is not a file", FileRef(trusted, trusted), Blocked, ""},
		{"a fifo is not read", ref("fifo", nil), Blocked, ""},
		{"a directory is not read", ref("sub", nil), Blocked, ""},
		{"link outside into trusted dir, symlinks allowed", func() Ref {
			r := FileRef(filepath.Join(outside, "link-to-trusted"), trusted)
			r.AllowSymlinks = true
			return r
		}(), 0, secretValue},
		{"link outside into trusted dir, symlinks refused", FileRef(filepath.Join(outside, "link-to-trusted"), trusted), Blocked, ""},
		{"trusted dir reached through a link", FileRef(filepath.Join(root, "trusted-link", "key"), filepath.Join(root, "trusted-link")), 0, secretValue},
		{"no trusted dirs anywhere", FileRef(filepath.Join(trusted, "key")), Blocked, ""},
	}
	r := New(nil, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Resolve(context.Background(), tt.ref)
			checkResult(t, got, err, tt.kind, tt.want)
		})
	}
}

func TestResolveFileUsesDefaultTrustedDirs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "key"), secretValue)
	r := New(nil, Options{TrustedDirs: []string{dir}})
	got, err := r.Resolve(context.Background(), FileRef(filepath.Join(dir, "key")))
	checkResult(t, got, err, 0, secretValue)
	// A reference's own trusted_dirs replace the defaults.
	got, err = r.Resolve(context.Background(), FileRef(filepath.Join(dir, "key"), t.TempDir()))
	checkResult(t, got, err, Blocked, "")
}

func TestResolveFileExpandsHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	writeFile(t, filepath.Join(home, ".secrets", "key"), secretValue)
	got, err := New(nil, Options{}).Resolve(context.Background(), FileRef("~/.secrets/key", "~/.secrets"))
	checkResult(t, got, err, 0, secretValue)
}

func TestResolveExec(t *testing.T) {
	t.Setenv("PALYRA_TEST_PASSED", "passed-value")
	t.Setenv("PALYRA_TEST_HIDDEN", "hidden-value")
	dir := t.TempDir()
	sh := func(script string, mod func(*Ref)) Ref {
		r := ExecRef("/bin/sh", "-c", script)
		if mod != nil {
			mod(&r)
		}
		return r
	}
	tests := []struct {
		name string
		ref  Ref
		kind Kind
		want string
	}{
		{"stdout with trailing newline trimmed", sh("echo "+secretValue, nil), 0, secretValue},
		{"only one newline trimmed", sh("printf 'a\\n\\n'", nil), 0, "a\n"},
		{"trim_newline false keeps it", sh("echo "+secretValue, func(r *Ref) { r.KeepNewline = true }), 0, secretValue + "\n"},
		{"environment cleared apart from pass_env", ExecRef("/usr/bin/env"), Missing, ""},
		{"pass_env passes listed variables only", func() Ref {
			r := ExecRef("/usr/bin/env")
			r.PassEnv = []string{"PALYRA_TEST_PASSED", "PALYRA_TEST_UNSET_XYZ"}
			return r
		}(), 0, "PALYRA_TEST_PASSED=passed-value"},
		{"working directory", sh("pwd", func(r *Ref) { r.Dir = dir }), 0, dir},
		{"non-zero exit fails and hides stderr", sh("echo "+secretValue+"; echo STDERR-SECRET >&2; exit 3", nil), IO, ""},
		{"killed by a signal", sh("kill -9 $$", nil), IO, ""},
		{"empty output is missing", sh("true", nil), Missing, ""},
		{"output larger than max_bytes is cut off", ExecRef("/usr/bin/yes"), TooLarge, ""},
		{"exactly max_bytes", sh("printf 12345", func(r *Ref) { r.MaxBytes = 5 }), 0, "12345"},
		{"one byte over", sh("printf 123456", func(r *Ref) { r.MaxBytes = 5 }), TooLarge, ""},
		{"executable not found", ExecRef("/nonexistent/palyra-helper"), IO, ""},
		{"name looked up in PATH", ExecRef("echo", secretValue), 0, secretValue},
		{"working directory missing", sh("pwd", func(r *Ref) { r.Dir = filepath.Join(dir, "nope") }), IO, ""},
		{"timeout", sh("sleep 30", func(r *Ref) { r.Timeout = 100 * time.Millisecond }), Timeout, ""},
	}
	r := New(nil, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Resolve(context.Background(), tt.ref)
			checkResult(t, got, err, tt.kind, tt.want)
		})
	}
}

func TestResolveExecErrorNamesExitStatusOnly(t *testing.T) {
	ref := ExecRef("/bin/sh", "-c", "echo STDERR-SECRET >&2; exit 3", "arg-SECRET")
	_, err := New(nil, Options{}).Resolve(context.Background(), ref)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("error = %v, want one naming exit status 3", err)
	}
	for _, leak := range []string{"STDERR-SECRET", "arg-SECRET", "/bin/sh"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error %q shows %q", err, leak)
		}
	}
	if !strings.Contains(err.Error(), ref.String()) {
		t.Errorf("error %q does not name %s", err, ref)
	}
}

// processGone reports whether pid has exited (it no longer exists, or it is
// a zombie waiting for a reaper that is not us).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d is still running", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestResolveExecTimeoutKillsTheProcessGroup(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The shell starts a grandchild and waits for it; both must die.
	ref := ExecRef("/bin/sh", "-c", "sleep 60 & echo $! > "+pidFile+"; echo $$ >> "+pidFile+"; wait")
	ref.Timeout = 1500 * time.Millisecond // long enough for a loaded machine to start the shell
	got, err := New(nil, Options{}).Resolve(context.Background(), ref)
	checkResult(t, got, err, Timeout, "")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the command did not start: %v", err)
	}
	pids := strings.Fields(string(data))
	if len(pids) != 2 {
		t.Fatalf("pid file holds %q", data)
	}
	for _, p := range pids {
		pid, err := strconv.Atoi(p)
		if err != nil {
			t.Fatal(err)
		}
		waitGone(t, pid)
	}
}

func TestResolveExecOverflowKillsAGrandchildHoldingStdout(t *testing.T) {
	// The grandchild floods stdout forever; only killing the group ends it.
	ref := ExecRef("/bin/sh", "-c", "yes & wait")
	ref.MaxBytes = 1000
	got, err := New(nil, Options{}).Resolve(context.Background(), ref)
	checkResult(t, got, err, TooLarge, "")
}

func TestResolveExecHonoursCallerCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, err := New(nil, Options{}).Resolve(ctx, ExecRef("/bin/sh", "-c", "sleep 30"))
	if err == nil || got.Len() != 0 {
		t.Fatalf("Resolve with a canceled context = %v", err)
	}
}

// TestResolveExecTimeoutCoversTheOutput runs a shell that prints, exits at
// once and leaves a grandchild in a session of its own (out of reach of the
// process-group kill) holding standard output open. The timeout must still
// end the resolution with Timeout, and the pipe must be closed behind it:
// the grandchild, writing more than a pipe holds, must get an error rather
// than block.
func TestResolveExecTimeoutCoversTheOutput(t *testing.T) {
	dir := t.TempDir()
	pidFile, statusFile := filepath.Join(dir, "pid"), filepath.Join(dir, "status")
	grandchild := `trap "" PIPE; echo $$ > ` + pidFile + `; sleep 1; head -c 1000000 /dev/zero; echo $? > ` + statusFile
	ref := ExecRef("/bin/sh", "-c", `(setsid /bin/sh -c '`+grandchild+`' &); echo hi`)
	ref.Timeout = 300 * time.Millisecond
	t.Cleanup(func() {
		if data, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})

	done := make(chan struct{})
	var got secretResult
	go func() {
		defer close(done)
		got.val, got.err = New(nil, Options{}).Resolve(context.Background(), ref)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Resolve still waits for the grandchild's output 10 s after a 300 ms timeout")
	}
	checkResult(t, got.val, got.err, Timeout, "")

	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := os.ReadFile(statusFile)
		if err == nil && strings.HasSuffix(string(data), "\n") {
			if status := strings.TrimSpace(string(data)); status == "0" {
				t.Fatal("the grandchild wrote 1 MB to the output after Resolve returned: its read end is still open and read")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the grandchild is still blocked writing to the command's output 10 s after Resolve returned: the pipe was not closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type secretResult struct {
	val secret.SensitiveBytes
	err error
}

// TestReferencesNeverReadKeyMaterial: neither an env: reference nor an exec
// reference's pass_env hands on a variable that carries key material
// (secret.KeyMaterialEnv), whatever its case.
func TestReferencesNeverReadKeyMaterial(t *testing.T) {
	for _, name := range secret.KeyMaterialEnv() {
		t.Setenv(name, secretValue)
	}
	type test struct {
		name string
		ref  Ref
	}
	var tests []test
	for _, name := range append(secret.KeyMaterialEnv(), strings.ToLower(secret.EnvVaultPassphrase)) {
		exec := ExecRef("/usr/bin/env")
		exec.PassEnv = []string{"HOME", name}
		tests = append(tests, test{"env:" + name, EnvRef(name)}, test{"pass_env " + name, exec})
	}
	r := New(nil, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Resolve(context.Background(), tt.ref)
			checkResult(t, got, err, Blocked, "")
			if !strings.Contains(err.Error(), "--pass-env") {
				t.Errorf("error %q does not say how to pass the variable on purpose", err)
			}
		})
	}
}
