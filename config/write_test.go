package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func TestWriteConfigRotatesBackupsNewestFirst(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte("v = 0\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 6; i++ {
		if err := writeConfig(path, []byte("v = "+strconv.Itoa(i)+"\n"), 3); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if got := readString(t, path); got != "v = 6\n" {
		t.Errorf("config holds %q", got)
	}
	if m := mode(t, path).Perm(); m != 0o640 {
		t.Errorf("config mode %04o, want the original 0640", m)
	}
	for n, want := range map[int]string{1: "v = 5\n", 2: "v = 4\n", 3: "v = 3\n"} {
		bak := BackupPath(path, n)
		if got := readString(t, bak); got != want {
			t.Errorf("%s holds %q, want %q", filepath.Base(bak), got, want)
		}
		if m := mode(t, bak).Perm(); m != 0o600 {
			t.Errorf("%s mode %04o, want 0600", filepath.Base(bak), m)
		}
	}
	if _, err := os.Lstat(BackupPath(path, 4)); err == nil {
		t.Error("a fourth backup was kept")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestWriteConfigNewFileIsPrivateAndHasNoBackup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config", "palyra")
	path := filepath.Join(dir, FileName)
	if err := writeConfig(path, []byte("a = 1\n"), DefaultBackups); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, path).Perm(); m != 0o600 {
		t.Errorf("new config mode %04o, want 0600", m)
	}
	if m := mode(t, dir).Perm(); m != 0o700 {
		t.Errorf("new config directory mode %04o, want 0700", m)
	}
	if _, err := os.Lstat(BackupPath(path, 1)); err == nil {
		t.Error("a backup of nothing was written")
	}
}

func TestWriteConfigWithoutBackupsLeavesOldBackupsAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte("a = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(BackupPath(path, 1), []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeConfig(path, []byte("a = 2\n"), 0); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, BackupPath(path, 1)); got != "old\n" {
		t.Errorf(".bak.1 = %q, want it untouched", got)
	}
}

func TestWriteConfigWritesThroughASymlinkAndKeepsIt(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", FileName)
	if err := os.MkdirAll(filepath.Dir(real), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("a = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, FileName)
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := writeConfig(link, []byte("a = 2\n"), 2); err != nil {
		t.Fatal(err)
	}
	if mode(t, link)&fs.ModeSymlink == 0 {
		t.Error("the symlink was replaced by a file")
	}
	if got := readString(t, real); got != "a = 2\n" {
		t.Errorf("target holds %q", got)
	}
	if got := readString(t, BackupPath(real, 1)); got != "a = 1\n" {
		t.Errorf("backup next to the target holds %q", got)
	}
}

func TestWriteConfigRefusesBadArguments(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte("a = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		path    string
		data    []byte
		backups int
		msg     string
	}{
		{"negative backups", path, []byte("a = 2\n"), -1, "backups -1 is not between 0 and 100"},
		{"too many backups", path, []byte("a = 2\n"), MaxBackups + 1, "is not between 0 and 100"},
		{"too large", path, make([]byte, MaxSize+1), 1, "limit"},
		{"a directory", dir, []byte("a = 2\n"), 1, "not a regular file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := writeConfig(tt.path, tt.data, tt.backups)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("WriteConfig = %v, want an error saying %q", err, tt.msg)
			}
			if got := readString(t, path); got != "a = 1\n" {
				t.Errorf("config changed to %q", got)
			}
			if _, err := os.Lstat(BackupPath(path, 1)); err == nil {
				t.Error("a backup was written")
			}
		})
	}
}
