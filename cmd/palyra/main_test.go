package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/cli/extra"
	"github.com/palyra/palyra-vault/internal/cli/lean"
	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/internal/testhook"
	"github.com/palyra/palyra-vault/vault/backend/filestore"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testhook.MarkTestBinary() // the scripts' palyra honours PALYRA_TEST_CHEAP_KDF
	testscript.Main(m, map[string]func(){
		"palyra":       func() { os.Exit(lean.Main()) },
		"palyra-extra": func() { os.Exit(extra.Main()) }, // beside palyra, as installed
		"holdlock":     holdLock,
	})
}

// TestScripts runs every testdata/*.txtar script against the real palyra
// binary, each in its own throwaway vault on the encrypted_file backend.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("PALYRA_STATE_ROOT", filepath.Join(e.WorkDir, "state"))
			e.Setenv("PALYRA_VAULT_DIR", filepath.Join(e.WorkDir, "vault"))
			e.Setenv("PALYRA_VAULT_BACKEND", "encrypted_file")
			// A -race binary sleeps a second at exit by default; palyra runs
			// hundreds of times here.
			e.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":  cmdExitcode,
			"vaulthash": cmdVaulthash,
			"writefile": cmdWritefile,
			"mkbig":     cmdMkbig,
			"damage":    cmdDamage,
			"waitheld":  cmdWaitheld,
			"jsonfield": cmdJSONField,
			"rustvault": cmdRustvault,
			"treehash":  cmdTreehash,
		},
	})
}

// cmdExitcode runs a program like exec and fails unless it exits with the
// given status: "exitcode 3 palyra secrets get global missing".
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode status program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: bad status %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("running %s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdVaulthash writes to a file one line per entry of the state root and
// the vault root (path, mode, and a SHA-256 of a file's contents or a
// symlink's target), so that "cmp before after" proves a command changed
// nothing on disk. A root that does not exist is recorded as absent. The
// encrypted_file header cache (filestore.CacheFile) is left out: it is not
// vault state but a copy of headers that any listing may rewrite
// (docs/FORMAT.md, "The header cache").
func cmdVaulthash(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: vaulthash file")
	}
	var b strings.Builder
	for _, env := range []string{"PALYRA_STATE_ROOT", "PALYRA_VAULT_DIR"} {
		root := ts.Getenv(env)
		if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(&b, "$%s absent\n", env)
			continue
		}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := os.Lstat(path)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			if name := d.Name(); name == filestore.CacheFile || strings.HasPrefix(name, fsutil.TempPrefix+filestore.CacheFile+"-") {
				return nil
			}
			var what string
			switch {
			case info.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(path)
				if err != nil {
					return err
				}
				what = "-> " + target
			case info.Mode().IsRegular():
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				what = fmt.Sprintf("sha256:%x", sha256.Sum256(data))
			}
			fmt.Fprintf(&b, "$%s/%s %v %s\n", env, filepath.ToSlash(rel), info.Mode(), what)
			return nil
		})
		ts.Check(err)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o600))
}

// cmdWritefile writes text to a file exactly, interpreting Go escapes
// (\n, \x00, ...) and adding no newline: "writefile v.txt 'sk-test-123'".
func cmdWritefile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: writefile file text")
	}
	text, err := strconv.Unquote(`"` + strings.ReplaceAll(args[1], `"`, `\"`) + `"`)
	if err != nil {
		ts.Fatalf("writefile: bad escapes in %q: %v", args[1], err)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(text), 0o600))
}

// cmdMkbig writes a file of n bytes 'x': "mkbig big.txt 65537".
func cmdMkbig(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkbig file size")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 0 {
		ts.Fatalf("mkbig: bad size %q", args[1])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Repeat("x", n)), 0o600))
}

// cmdDamage overwrites every regular file in a directory with bytes that
// are not an envelope, keeping its mode: "damage $PALYRA_VAULT_DIR/objects".
func cmdDamage(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: damage dir")
	}
	entries, err := os.ReadDir(ts.MkAbs(args[0]))
	ts.Check(err)
	for _, e := range entries {
		if e.Type().IsRegular() {
			ts.Check(os.WriteFile(filepath.Join(ts.MkAbs(args[0]), e.Name()), []byte("not an envelope"), 0o600))
		}
	}
}

// holdLock is the "holdlock PATH" program: another process holding a lock
// file as a palyra writer does (flock(2) through fsutil), until it is
// killed. Start it in the background, then wait for it with waitheld:
// "! exec holdlock vault/lock &holder&", "waitheld vault/lock", ...,
// "kill holder", "wait holder".
func holdLock() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: holdlock PATH")
		os.Exit(2)
	}
	if _, err := fsutil.LockExclusive(context.Background(), os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	select {}
}

// cmdWaitheld waits until another process holds the lock file at PATH
// (a try finds it taken), so that a script knows holdlock has it; it fails
// after a minute, a deadlock guard rather than a timing assertion.
func cmdWaitheld(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitheld path")
	}
	done, cancel := context.WithCancel(context.Background())
	cancel() // one try, no waiting
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		unlock, err := fsutil.LockExclusive(done, ts.MkAbs(args[0]))
		if errors.Is(err, context.Canceled) {
			return // another holder has it
		}
		ts.Check(err)
		ts.Check(unlock())
	}
	ts.Fatalf("no other process took the lock %s within a minute", args[0])
}

// cmdJSONField checks one field of the JSON object on the last command's
// stdout (its first line when it holds several): "jsonfield count 2",
// "jsonfield entries.0.key openai_api_key", "jsonfield summary.ok true".
// The path is keys and array indices joined by dots; the value is compared
// with the field's JSON text, strings unquoted. "! jsonfield path" wants the
// field absent.
func cmdJSONField(ts *testscript.TestScript, neg bool, args []string) {
	if (!neg && len(args) != 2) || (neg && len(args) != 1) {
		ts.Fatalf("usage: jsonfield path value | ! jsonfield path")
	}
	out := ts.ReadFile("stdout")
	var v any
	if err := json.NewDecoder(strings.NewReader(out)).Decode(&v); err != nil {
		ts.Fatalf("jsonfield: stdout is not JSON: %v", err)
	}
	for _, k := range strings.Split(args[0], ".") {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[k]; !ok {
				if neg {
					return
				}
				ts.Fatalf("jsonfield: no field %q (of %s)", k, args[0])
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				ts.Fatalf("jsonfield: no element %q (of %s) in an array of %d", k, args[0], len(c))
			}
			v = c[i]
		default:
			ts.Fatalf("jsonfield: %s: %q is inside a %T", args[0], k, v)
		}
	}
	if neg {
		ts.Fatalf("jsonfield: %s is present", args[0])
	}
	got, _ := json.Marshal(v)
	if s, ok := v.(string); ok {
		got = []byte(s)
	}
	if string(got) != args[1] {
		ts.Fatalf("jsonfield: %s = %s, want %s", args[0], got, args[1])
	}
}
