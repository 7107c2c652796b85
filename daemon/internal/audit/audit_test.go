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
	// Allowed records go to path, denied ones to its -denied file.
	got := readRecords(t, path)
	denied := readRecords(t, DeniedPath(path))
	if len(got) != 2 || len(denied) != 1 {
		t.Fatalf("%d allowed and %d denied records, want 2 and 1", len(got), len(denied))
	}
	got = append(got, denied...)
	for i, g := range got {
		w := want[0]
		if i == 2 {
			w = want[1]
		}
		if g.Time.IsZero() || g.UID != w.UID || g.Decision != w.Decision || g.Ref != w.Ref || g.Reason != w.Reason || g.Exe != w.Exe {
			t.Fatalf("record %d = %+v, want %+v with a time", i, g, w)
		}
	}
	if runtime.GOOS != "windows" {
		for _, p := range []string{path, DeniedPath(path)} {
			fi, _ := os.Stat(p)
			if fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: mode %v, want 0600", p, fi.Mode().Perm())
			}
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
		if err := l.Write(Record{UID: uint32(i), Decision: Allowed, Reason: reason}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if fmt.Sprint(names) != "[audit-denied.log audit.log audit.log.1 audit.log.2 audit.log.3]" {
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
			if err := l.Write(Record{Decision: Allowed, Reason: strings.Repeat("x", 300)}); err != nil {
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

// TestDenialFloodNeverRotatesAnAllowedRecordAway floods the log with the
// denied requests of one uid, then of many, and checks that the allowed
// record written first is still in the allowed file, that the flood was
// summed up rather than written line by line, and that the summaries
// count every denial.
func TestDenialFloodNeverRotatesAnAllowedRecordAway(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	l, err := Open(Options{Path: path, MaxBytes: MinMaxBytes, Keep: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(Record{UID: 1000, Ref: "vault#01234567", Decision: Allowed, Status: 200}); err != nil {
		t.Fatal(err)
	}
	const flood = 20000
	floods := map[uint32]int{65534: flood, 65533: 3}
	for uid, n := range floods {
		for range n {
			if err := l.Write(Record{UID: uid, Decision: Denied, Status: 403, Reason: strings.Repeat("d", 40)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	allowed := readRecords(t, path)
	if len(allowed) != 1 || allowed[0].Decision != Allowed || allowed[0].Ref != "vault#01234567" {
		t.Fatalf("allowed file: %+v", allowed)
	}
	if _, err := os.Stat(rotated(path, 1)); !os.IsNotExist(err) {
		t.Fatalf("the allowed file rotated during a flood of denials: %v", err)
	}
	full, counted := map[uint32]int{}, map[uint32]int{}
	// The denied file may have rotated once (Keep 1): read both.
	denied := readRecords(t, DeniedPath(path))
	if _, err := os.Stat(rotated(DeniedPath(path), 1)); err == nil {
		denied = append(denied, readRecords(t, rotated(DeniedPath(path), 1))...)
	}
	for _, r := range denied {
		if r.Decision != Denied {
			t.Fatalf("an allowed record in the denied file: %+v", r)
		}
		if r.Suppressed > 0 {
			if r.Since == nil || r.Since.After(r.Time) || !strings.Contains(r.Reason, "more denied requests") {
				t.Fatalf("summary record: %+v", r)
			}
			counted[r.UID] += r.Suppressed
			continue
		}
		full[r.UID]++
	}
	// Every denial is counted once; a small flood is written in full, a
	// big one mostly summed up (DenialBurst per DenialWindow, however slow
	// the machine).
	for uid, n := range floods {
		if full[uid]+counted[uid] != n || full[uid] < min(n, DenialBurst) {
			t.Fatalf("uid %d: %d written in full and %d summed up, want %d in all, at least %d in full", uid, full[uid], counted[uid], n, min(n, DenialBurst))
		}
	}
	if full[65533] != 3 || full[65534] > flood/10 {
		t.Fatalf("written in full: %d of 3 and %d of %d; want all of a small flood and at most a tenth of a big one", full[65533], full[65534], flood)
	}
}

func TestWritesAfterCloseFail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	for _, d := range []string{Allowed, Denied} {
		if err := l.Write(Record{Decision: d}); err == nil {
			t.Fatalf("a %s record written after Close", d)
		}
	}
}

// A refresh record has no decision and no caller's uid to rate-limit by:
// it goes to the allowed file, whole, however many there are.
func TestRefreshRecordsGoToTheAllowedFileWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	want := Record{Event: EventRefresh, UID: 1000, PID: 7, Path: "a.b", Ref: "vault#01234567", Scope: "global", Key: "k",
		Trigger: "change", Result: "failed", Reason: "the vault's backend is unavailable"}
	for range DenialBurst + 5 {
		if err := l.Write(want); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	got := readRecords(t, path)
	if denied := readRecords(t, DeniedPath(path)); len(denied) != 0 {
		t.Fatalf("%d refresh records in the denied file", len(denied))
	}
	if len(got) != DenialBurst+5 {
		t.Fatalf("%d refresh records, want %d", len(got), DenialBurst+5)
	}
	g := got[0]
	g.Time = want.Time
	if g != want {
		t.Fatalf("record = %+v, want %+v", g, want)
	}
	raw, _ := os.ReadFile(path)
	if line, _, _ := strings.Cut(string(raw), "\n"); strings.Contains(line, `"decision"`) || !strings.Contains(line, `"event":"refresh"`) {
		t.Fatalf("refresh line %s: want event refresh and no decision", line)
	}
}
