package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func readRecords(t *testing.T, path string) []Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: line %q is not a JSON record: %v", path, sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func TestWriteAppendsOneJSONLinePerRecordWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		{UID: 1000, PID: 42, Exe: "/usr/bin/app", Path: "a.b_vault_ref", Ref: "vault#01234567", Decision: Allowed, Status: 200},
		{UID: 65534, Decision: Denied, Status: 403, Reason: "uid 65534 may not call this daemon"},
	}
	for _, r := range want {
		if err := l.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening appends.
	l, err = Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(want[0]); err != nil {
		t.Fatal(err)
	}
	l.Close()
	got := readRecords(t, path)
	if len(got) != 3 {
		t.Fatalf("%d records, want 3", len(got))
	}
	for i, g := range got {
		w := want[i%2]
		if g.Time.IsZero() || g.UID != w.UID || g.Decision != w.Decision || g.Ref != w.Ref || g.Reason != w.Reason || g.Exe != w.Exe {
			t.Fatalf("record %d = %+v, want %+v with a time", i, g, w)
		}
	}
	if runtime.GOOS != "windows" {
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
		}
	}
}

func TestRotationKeepsNewestFilesUpToKeep(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	l, err := Open(Options{Path: path, MaxBytes: MinMaxBytes, Keep: 3})
	if err != nil {
		t.Fatal(err)
	}
	reason := strings.Repeat("r", 200)
	const n = 200 // ~250 bytes each: ~12 files' worth
	for i := range n {
		if err := l.Write(Record{UID: uint32(i), Decision: Denied, Reason: reason}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if fmt.Sprint(names) != "[audit.log audit.log.1 audit.log.2 audit.log.3]" {
		t.Fatalf("files %v, want audit.log and 3 rotated", names)
	}
	// Newest records are in audit.log, older ones in .1, .2, .3; every file
	// is within the limit and the uids run consecutively across them.
	var uids []uint32
	for _, name := range []string{"audit.log.3", "audit.log.2", "audit.log.1", "audit.log"} {
		fi, _ := os.Stat(filepath.Join(dir, name))
		if fi.Size() > MinMaxBytes {
			t.Fatalf("%s is %d bytes, over the %d limit", name, fi.Size(), MinMaxBytes)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v", name, fi.Mode().Perm())
		}
		for _, r := range readRecords(t, filepath.Join(dir, name)) {
			uids = append(uids, r.UID)
		}
	}
	if uids[len(uids)-1] != n-1 {
		t.Fatalf("last uid %d, want %d", uids[len(uids)-1], n-1)
	}
	for i := 1; i < len(uids); i++ {
		if uids[i] != uids[i-1]+1 {
			t.Fatalf("records out of order or lost across rotation at %d: %d then %d", i, uids[i-1], uids[i])
		}
	}
}

func TestShrinkingKeepDropsOlderFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	l, err := Open(Options{Path: path, MaxBytes: MinMaxBytes, Keep: 5})
	if err != nil {
		t.Fatal(err)
	}
	write := func(n int) {
		for range n {
			if err := l.Write(Record{Decision: Denied, Reason: strings.Repeat("x", 300)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(100)
	if err := l.SetLimits(MinMaxBytes, 2); err != nil {
		t.Fatal(err)
	}
	write(20)
	l.Close()
	for i := 3; i <= 5; i++ {
		if _, err := os.Stat(rotated(path, i)); !os.IsNotExist(err) {
			t.Fatalf("%s still exists after keep shrank to 2", rotated(path, i))
		}
	}
	if _, err := os.Stat(rotated(path, 2)); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentWritesKeepLinesWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(Options{Path: path, MaxBytes: 64 << 10, Keep: 50})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if err := l.Write(Record{UID: uint32(g), PID: int32(i), Decision: Allowed}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	l.Close()
	total := 0
	matches, _ := filepath.Glob(path + "*")
	for _, m := range matches {
		total += len(readRecords(t, m)) // fails on any torn line
	}
	if total != 1600 {
		t.Fatalf("%d records, want 1600", total)
	}
}

func TestOpenRefusesUnsafeFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("modes and symlinks are Unix checks")
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{"world readable", func(t *testing.T, p string) { os.WriteFile(p, nil, 0o644); os.Chmod(p, 0o644) }, "chmod"},
		{"symlink", func(t *testing.T, p string) {
			target := filepath.Join(filepath.Dir(p), "elsewhere")
			os.WriteFile(target, nil, 0o600)
			os.Symlink(target, p)
		}, "opening audit log"},
		{"directory", func(t *testing.T, p string) { os.Mkdir(p, 0o700) }, "opening audit log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			tt.setup(t, path)
			_, err := Open(Options{Path: path})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestOpenRefusesLimitsOutOfRange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	for _, o := range []Options{{Path: path, MaxBytes: 1}, {Path: path, MaxBytes: MaxMaxBytes + 1}, {Path: path, Keep: -1}, {Path: path, Keep: MaxKeep + 1}} {
		if _, err := Open(o); err == nil {
			t.Fatalf("Open(%+v) accepted", o)
		}
	}
}
